//! Proving who one is through mailed links: confirming an email address (and sending the link
//! again from the profile), and resetting a forgotten password.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::app::AppState;
use crate::domain::Email;
use crate::domain::links::LinkRefusal;
use crate::operations::{OpError, identity};
use crate::web::error::WebError;
use crate::web::extract::CurrentAccount;
use crate::web::forms::{FormErrors, form_errors};
use crate::web::session::{self, FlashKind};
use crate::web::shell::{self, Done, SignedOutShell, see_other};

/// Which kind of link a refusal is about, for the words of its page.
#[derive(Clone, Copy)]
enum Link {
    Verification,
    Reset,
}

fn refused(session: &Session, link: Link, refusal: LinkRefusal) -> Result<HttpResponse, WebError> {
    let again = match link {
        Link::Verification => "Sign in and send a new link from your profile.",
        Link::Reset => "Ask for a new link with “Forgot password?” on the sign-in page.",
    };
    let (status, heading) = match refusal {
        LinkRefusal::Unknown => (StatusCode::NOT_FOUND, "This link is not valid"),
        LinkRefusal::Used => (StatusCode::GONE, "This link has already been used"),
        LinkRefusal::Expired => (StatusCode::GONE, "This link has expired"),
    };
    let message = match refusal {
        LinkRefusal::Unknown => format!("The link may be mistyped, or a newer one replaced it. {again}"),
        _ => format!("A link works once and for a limited time. {again}"),
    };
    shell::link_gone(session, status, "Link", heading, message)
}

// ---- confirming an email address ----------------------------------------------------------

#[derive(Template)]
#[template(path = "identity/verify_email.html")]
struct VerifyPage {
    shell: SignedOutShell,
    token: String,
    email: String,
}

/// `GET /verify-email/{token}`: one button, so that a mail scanner opening the link confirms
/// nothing.
pub async fn verify_form(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let token = path.into_inner();
    let (t, client, limits) = (token.clone(), state.limits.client(&req), state.limits.clone());
    let link = state
        .run(move |db| {
            limits.acceptance(db, client)?;
            identity::verification_link(db, &t)
        })
        .await?;
    match link {
        Ok(email) => shell::ok(&VerifyPage { shell: SignedOutShell::new(&session, "Confirm your email"), token, email: email.to_string() }),
        Err(refusal) => refused(&session, Link::Verification, refusal),
    }
}

pub async fn verify(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    current: Option<CurrentAccount>,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let token = path.into_inner();
    let (meta, client, limits) = (crate::app::request_meta(&req), state.limits.client(&req), state.limits.clone());
    let verified = state
        .run(move |db| {
            limits.acceptance(db, client)?;
            identity::verify_email(db, &meta, &token)
        })
        .await?;
    match verified {
        Ok(confirmed) => {
            let message = match confirmed {
                identity::Confirmed::Verified => "Your email address is confirmed.".to_string(),
                identity::Confirmed::Changed(email) => format!("Your email address is now {email}."),
            };
            session::flash(&session, FlashKind::Success, message);
            Ok(see_other(&req, if current.is_some() { "/profile" } else { "/login" }))
        }
        Err(refusal) => refused(&session, Link::Verification, refusal),
    }
}

/// `POST /profile/verify-email`: the verification link again, for an unverified account.
pub async fn resend(req: HttpRequest, state: web::Data<AppState>, current: CurrentAccount) -> Result<HttpResponse, WebError> {
    if current.account.email_verified_at.is_some() {
        session::flash(&current.session, FlashKind::Info, "Your email address is already confirmed.");
        return Ok(see_other(&req, "/profile"));
    }
    let (settings, st, account) = (state.identity_settings(), state.get_ref().clone(), current.id());
    state
        .run(move |db| {
            st.limits.verification_resend(db, account)?;
            identity::send_verification(db, &st.mail, &settings, account)
        })
        .await?;
    let message = format!("We sent a new link to {}. It works for three days.", current.account.email);
    session::flash(&current.session, FlashKind::Success, message);
    Ok(see_other(&req, "/profile"))
}

#[derive(Debug, serde::Deserialize)]
pub struct EmailChangeForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

/// `POST /profile/email`: a link to the new address; the change waits for it.
pub async fn change_email(
    req: HttpRequest,
    state: web::Data<AppState>,
    current: CurrentAccount,
    form: web::Form<EmailChangeForm>,
) -> Result<HttpResponse, WebError> {
    let form = form.into_inner();
    let (settings, st, account) = (state.identity_settings(), state.get_ref().clone(), current.id());
    let (email, password) = (form.email.clone(), form.password);
    let outcome = state
        .run(move |db| {
            st.limits.verification_resend(db, account)?;
            identity::request_email_change(db, &st.mail, &settings, account, &email, &password)
        })
        .await;
    let done = |email: Email| {
        Done::to("/profile", format!("We sent a link to {email}. Your address changes when you open it."))
    };
    shell::post_redirect_get(&req, &current.session, outcome, done, |errors| async {
        let page = crate::web::profile::page(&state, &current, None, errors).await?;
        shell::unprocessable(&page)
    })
    .await
}

// ---- resetting a forgotten password -------------------------------------------------------

#[derive(Template)]
#[template(path = "identity/forgot.html")]
struct ForgotPage {
    shell: SignedOutShell,
    email: String,
    errors: FormErrors,
}

pub async fn forgot_form(session: Session) -> Result<HttpResponse, WebError> {
    shell::ok(&ForgotPage { shell: SignedOutShell::new(&session, "Reset your password"), email: String::new(), errors: FormErrors::none() })
}

#[derive(Debug, serde::Deserialize)]
pub struct ForgotForm {
    #[serde(default)]
    email: String,
}

/// `POST /password/forgot`: the same answer, in the same time, whether or not an account has
/// the address: the look-up and the mail happen after the answer, off the request's path.
pub async fn forgot(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    form: web::Form<ForgotForm>,
) -> Result<HttpResponse, WebError> {
    let typed = form.into_inner().email;
    let email = match Email::parse(&typed) {
        Ok(email) => email,
        Err(invalid) => {
            let page = ForgotPage { shell: SignedOutShell::new(&session, "Reset your password"), email: typed, errors: form_errors(OpError::from(invalid))? };
            return shell::unprocessable(&page);
        }
    };
    // checked before the answer, which the mail does not wait for
    let (client, limits, typed) = (state.limits.client(&req), state.limits.clone(), email.clone());
    state.run(move |db| limits.password_reset(db, client, typed.as_str())).await?;
    let (st, settings, to) = (state.get_ref().clone(), state.identity_settings(), email.clone());
    actix_web::rt::task::spawn_blocking(move || {
        if let Err(e) = identity::send_reset(&st.db, &st.mail, &settings, &to) {
            tracing::error!(error = %e, "password reset email not sent");
        }
    });
    let message = format!(
        "If an account exists for {email}, we have sent it a link to choose a new password. Check your inbox; the link works once."
    );
    session::flash(&session, FlashKind::Info, message);
    Ok(see_other(&req, "/password/forgot"))
}

#[derive(Template)]
#[template(path = "identity/reset.html")]
struct ResetPage {
    shell: SignedOutShell,
    token: String,
    email: String,
    errors: FormErrors,
}

pub async fn reset_form(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let token = path.into_inner();
    let (t, client, limits) = (token.clone(), state.limits.client(&req), state.limits.clone());
    let link = state
        .run(move |db| {
            limits.acceptance(db, client)?;
            identity::reset_link(db, &t)
        })
        .await?;
    match link {
        Ok(email) => shell::ok(&ResetPage {
            shell: SignedOutShell::new(&session, "Choose a new password"),
            token,
            email: email.to_string(),
            errors: FormErrors::none(),
        }),
        Err(refusal) => refused(&session, Link::Reset, refusal),
    }
}

#[derive(Debug, serde::Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    password: String,
}

pub async fn reset(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<String>,
    form: web::Form<ResetForm>,
) -> Result<HttpResponse, WebError> {
    let token = path.into_inner();
    let (st, t, password, meta) = (state.get_ref().clone(), token.clone(), form.into_inner().password, crate::app::request_meta(&req));
    let client = state.limits.client(&req);
    let outcome = state
        .run(move |db| {
            st.limits.acceptance(db, client)?;
            identity::reset_password(db, &st.mail, &meta, &t, &password)
        })
        .await;
    match outcome {
        Ok(Ok(())) => {
            // every session of the account is over (its epoch moved on), this browser's too
            session::flash(&session, FlashKind::Success, "Your password has been reset. Sign in with your new password.");
            Ok(see_other(&req, "/login"))
        }
        Ok(Err(refusal)) => refused(&session, Link::Reset, refusal),
        Err(e) => {
            let errors = form_errors(e)?;
            let t = token.clone();
            let email = state.run(move |db| identity::reset_link(db, &t)).await?.map(|e| e.to_string()).unwrap_or_default();
            shell::unprocessable(&ResetPage { shell: SignedOutShell::new(&session, "Choose a new password"), token, email, errors })
        }
    }
}
