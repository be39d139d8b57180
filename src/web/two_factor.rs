//! Two-factor authentication pages: turning it on (a QR code drawn here, then recovery codes
//! shown once) and off from the profile, and the second step of signing in.

use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::app::AppState;
use crate::domain::AccountId;
use crate::operations::accounts::Account;
use crate::operations::two_factor::{self, Enabled, SecondStep};
use crate::operations::OpError;
use crate::web::error::WebError;
use crate::web::extract::CurrentAccount;
use crate::web::format;
use crate::web::forms::{FormErrors, form_errors};
use crate::web::session::{self, FlashKind};
use crate::web::shell::{self, Shell, SignedOutShell, safe_next, see_other};

const PAGE: &str = crate::web::error::TWO_FACTOR_PAGE;

// ---- the profile's two-factor page --------------------------------------------------------

/// What the page offers while two-factor is off: a secret to scan or type.
struct Offer {
    secret: String,
    uri: String,
    qr_svg: String,
}

#[derive(Template)]
#[template(path = "two_factor/index.html")]
struct TwoFactorPage {
    shell: Shell,
    email: String,
    offer: Option<Offer>,
    enabled: Option<Enabled>,
    enabled_since: String,
    errors: FormErrors,
}

#[derive(Template)]
#[template(path = "two_factor/recovery_codes.html")]
struct RecoveryCodesPage {
    shell: Shell,
    codes: Vec<String>,
}

/// The QR code of `uri` as inline SVG, drawn on the server: no outside service sees the
/// secret, and the page needs no script.
fn qr_svg(uri: &str) -> Result<String, WebError> {
    let code = qrcode::QrCode::new(uri.as_bytes()).map_err(|e| WebError::Internal(format!("QR code: {e}")))?;
    let svg = code.render::<qrcode::render::svg::Color>().min_dimensions(200, 200).build();
    // inline in HTML: no XML declaration, and a name for screen readers
    let start = svg.find("<svg").unwrap_or(0);
    Ok(svg[start..].replacen(
        "<svg ",
        r#"<svg class="qr-code" role="img" aria-label="QR code to add Steward to your authenticator app" "#,
        1,
    ))
}

/// The offer of `secret` to the account, as the page shows it.
fn offer(account: &Account, secret: String) -> Result<Offer, WebError> {
    let uri = two_factor::otpauth_uri(&account.email, &secret);
    let qr_svg = qr_svg(&uri)?;
    Ok(Offer { secret, uri, qr_svg })
}

async fn page(state: &AppState, current: &CurrentAccount, secret: Option<String>, errors: FormErrors) -> Result<TwoFactorPage, WebError> {
    let account = current.account.clone();
    let enabled = state.run(move |db| two_factor::enabled(db, &account)).await?;
    let offer = match (&enabled, secret) {
        (Some(_), _) => None,
        (None, Some(secret)) => Some(offer(&current.account, secret)?),
        (None, None) => {
            let secret = two_factor::new_secret();
            session::offer_secret(&current.session, &current.account, &secret);
            Some(offer(&current.account, secret)?)
        }
    };
    if enabled.is_some() {
        session::forget_offered_secret(&current.session);
    }
    Ok(TwoFactorPage {
        shell: Shell::load(state, current, None, "profile", "Two-factor authentication").await?,
        email: current.account.email.to_string(),
        enabled_since: enabled.as_ref().map(|e| format::date(e.since)).unwrap_or_default(),
        offer,
        enabled,
        errors,
    })
}

/// `GET /profile/two-factor`: off, a new secret (QR code and text) and the form for its code;
/// on, since when, and the form that turns it off.
pub async fn show(state: web::Data<AppState>, current: CurrentAccount) -> Result<HttpResponse, WebError> {
    shell::ok(&page(&state, &current, None, FormErrors::none()).await?)
}

#[derive(Debug, serde::Deserialize)]
pub struct EnableForm {
    #[serde(default)]
    code: String,
}

/// `POST /profile/two-factor`: turns it on when `code` is a current code of the secret on offer
/// in this session, and shows the recovery codes, this once.
pub async fn enable(
    req: HttpRequest,
    state: web::Data<AppState>,
    current: CurrentAccount,
    form: web::Form<EnableForm>,
) -> Result<HttpResponse, WebError> {
    if current.account.two_factor_on() {
        session::flash(&current.session, FlashKind::Info, "Two-factor authentication is already on.");
        return Ok(see_other(&req, PAGE));
    }
    let Some(secret) = session::offered_secret(&current.session, &current.account) else {
        // no secret on offer (the page was not opened in this session): offer one now
        let errors = FormErrors::one("code", "This setup has expired. Scan the new QR code below and enter the code it gives.");
        return shell::unprocessable(&page(&state, &current, None, errors).await?);
    };
    let (st, account, s, code, meta) = (state.get_ref().clone(), current.id(), secret.clone(), form.into_inner().code, current.meta.clone());
    match state.run(move |db| two_factor::enable(db, &st.mail, &meta, account, &s, &code)).await {
        Ok(codes) => {
            session::forget_offered_secret(&current.session);
            let shell = Shell::load(&state, &current, None, "profile", "Save your recovery codes").await?;
            shell::ok(&RecoveryCodesPage { shell, codes })
        }
        Err(OpError::Conflict(message)) => {
            session::flash(&current.session, FlashKind::Info, message);
            Ok(see_other(&req, PAGE))
        }
        Err(e) => {
            let errors = form_errors(e)?;
            // the same secret again: it may be in the app already
            shell::unprocessable(&page(&state, &current, Some(secret), errors).await?)
        }
    }
}

#[derive(Debug, serde::Deserialize)]
pub struct DisableForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    code: String,
}

/// `POST /profile/two-factor/disable`: turns it off given the password and a current code or an
/// unused recovery code.
pub async fn disable(
    req: HttpRequest,
    state: web::Data<AppState>,
    current: CurrentAccount,
    form: web::Form<DisableForm>,
) -> Result<HttpResponse, WebError> {
    if !current.account.two_factor_on() {
        session::flash(&current.session, FlashKind::Info, "Two-factor authentication is already off.");
        return Ok(see_other(&req, PAGE));
    }
    let form = form.into_inner();
    let (st, account, meta) = (state.get_ref().clone(), current.id(), current.meta.clone());
    let disabled = state
        .run(move |db| {
            st.limits.two_factor(db, account)?;
            two_factor::disable(db, &st.mail, &meta, account, &form.password, &form.code)
        })
        .await;
    match disabled {
        Ok(()) => {
            session::flash(&current.session, FlashKind::Success, "Two-factor authentication is off. Your recovery codes no longer work.");
            Ok(see_other(&req, PAGE))
        }
        Err(OpError::Conflict(message)) => {
            session::flash(&current.session, FlashKind::Info, message);
            Ok(see_other(&req, PAGE))
        }
        Err(e) => {
            let errors = form_errors(e)?;
            shell::unprocessable(&page(&state, &current, None, errors).await?)
        }
    }
}

// ---- the second step of signing in --------------------------------------------------------

#[derive(Template)]
#[template(path = "auth/two_factor.html")]
struct SecondStepPage {
    shell: SignedOutShell,
    error: Option<String>,
}

/// Back to the sign-in page, saying why: the second step expired or cannot be finished. (Someone
/// already signed in, who has no second step to take, goes to the console.)
fn start_again(req: &HttpRequest, session: &Session, next: &str) -> HttpResponse {
    if session::signed_in(session).is_some() {
        return see_other(req, "/");
    }
    session::end_second_step(session);
    session::flash(session, FlashKind::Info, "Your sign-in expired. Sign in again.");
    see_other(req, &crate::web::error::login_url(next))
}

/// `GET /login/two-factor`: the code field, while a sign-in waits for it.
pub async fn second_step_form(req: HttpRequest, session: Session) -> Result<HttpResponse, WebError> {
    if session::second_step(&session).is_none() {
        return Ok(start_again(&req, &session, ""));
    }
    shell::ok(&SecondStepPage { shell: SignedOutShell::new(&session, "Two-factor authentication"), error: None })
}

#[derive(Debug, serde::Deserialize)]
pub struct SecondStepForm {
    #[serde(default)]
    code: String,
}

/// `POST /login/two-factor`: a current code or an unused recovery code finishes the sign-in
/// (a fresh session, as `POST /login` makes) and goes where the first step would have gone.
pub async fn second_step(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    form: web::Form<SecondStepForm>,
) -> Result<HttpResponse, WebError> {
    let Some(pending) = session::second_step(&session) else {
        return Ok(start_again(&req, &session, ""));
    };
    let Ok(account) = pending.account_id.parse::<AccountId>() else {
        return Ok(start_again(&req, &session, &pending.next));
    };
    let (epoch, code, meta, limits) = (pending.epoch, form.into_inner().code, crate::app::request_meta(&req), state.limits.clone());
    let via_sso = pending.sso_org.is_some();
    let step = state
        .run(move |db| {
            limits.second_step(db, account)?;
            two_factor::second_step(db, &meta, account, epoch, &code, via_sso)
        })
        .await?;
    match step {
        SecondStep::SignedIn { account, recovery_codes_left } => {
            crate::web::auth::start_session(&state, &req, &session, &account).await?;
            if let Some(org) = &pending.sso_org {
                session::mark_sso(&session, org);
            }
            if let Some(left) = recovery_codes_left {
                let message = match left {
                    0 => "You signed in with your last recovery code. Turn two-factor off and on again from your profile to get new codes.".to_string(),
                    1 => "You signed in with a recovery code; 1 is left.".to_string(),
                    n => format!("You signed in with a recovery code; {n} are left."),
                };
                session::flash(&session, FlashKind::Info, message);
            }
            let target = match safe_next(&pending.next) {
                Some(next) => next.to_string(),
                None => crate::web::auth::landing(&state, account.id).await?,
            };
            Ok(see_other(&req, &target))
        }
        SecondStep::WrongCode => shell::unprocessable(&SecondStepPage {
            shell: SignedOutShell::new(&session, "Two-factor authentication"),
            error: Some(two_factor::wrong_code_message()),
        }),
        SecondStep::Restart => Ok(start_again(&req, &session, &pending.next)),
    }
}
