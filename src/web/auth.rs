//! Sign up, sign in (its second step is in `two_factor`), sign out.

use actix_session::Session;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use askama::Template;

use crate::config::Signup;
use crate::domain::Permission;
use crate::operations::accounts::{self, SignupInput};
use crate::operations::sessions;
use crate::web::error::WebError;
use crate::app::request_meta;
use crate::web::extract::CurrentAccount;
use crate::web::forms::FormErrors;
use crate::web::session::{self};
use crate::web::shell::{self, Done, SignedOutShell, post_redirect_get, safe_next, see_other};
use crate::app::AppState;

#[derive(Template)]
#[template(path = "auth/login.html")]
struct LoginPage {
    shell: SignedOutShell,
    email: String,
    next: String,
    error: Option<String>,
    signup_open: bool,
    /// The address typed in "Sign in with SSO", and why it could not be used.
    sso_email: String,
    sso_error: Option<String>,
}

#[derive(Template)]
#[template(path = "auth/signup.html")]
struct SignupPage {
    shell: SignedOutShell,
    form: SignupInput,
    errors: FormErrors,
}

#[derive(Debug, serde::Deserialize)]
pub struct NextQuery {
    #[serde(default)]
    next: String,
}

pub async fn login_form(
    state: web::Data<AppState>,
    session: Session,
    query: web::Query<NextQuery>,
) -> Result<HttpResponse, WebError> {
    let next = safe_next(&query.next).unwrap_or_default().to_string();
    shell::ok(&LoginPage {
        shell: SignedOutShell::new(&session, "Sign in"),
        email: String::new(),
        next,
        error: None,
        signup_open: state.config.signup == Signup::Open,
        sso_email: String::new(),
        sso_error: None,
    })
}

/// The sign-in page again (422), saying why "Sign in with SSO" could not go on.
pub(crate) async fn login_page_sso_error(
    state: &AppState,
    session: &Session,
    email: &str,
    next: &str,
    message: String,
) -> Result<HttpResponse, WebError> {
    shell::unprocessable(&LoginPage {
        shell: SignedOutShell::new(session, "Sign in"),
        email: String::new(),
        next: next.to_string(),
        error: None,
        signup_open: state.config.signup == Signup::Open,
        sso_email: email.trim().to_string(),
        sso_error: Some(message),
    })
}

#[derive(Debug, serde::Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, WebError> {
    let form = form.into_inner();
    let (email, password) = (form.email.clone(), form.password.clone());
    let (meta, client, limits) = (request_meta(&req), state.limits.client(&req), state.limits.clone());
    let next = safe_next(&form.next).map(str::to_string);
    let wants_landing = next.is_none();
    // the whole sign-in in one hand-off, on the sign-in lane: the check, the hash, the
    // session's row and where to land
    let signed_in = state
        .run_sign_in(move |db| {
            limits.login(db, client, &email)?;
            let Some(account) = accounts::sign_in(db, &meta, &email, &password)? else { return Ok(None) };
            if account.two_factor_on() {
                return Ok(Some((account, None)));
            }
            let secret = sessions::start(db, account.id, &meta)?;
            let landing = if wants_landing { Some(accounts::landing_org(db, account.id)?) } else { None };
            Ok::<_, crate::operations::OpError>(Some((account, Some((secret, landing)))))
        })
        .await?;
    let Some((account, started)) = signed_in else {
        return shell::unprocessable(&LoginPage {
            shell: SignedOutShell::new(&session, "Sign in"),
            email: form.email.trim().to_string(),
            next: safe_next(&form.next).unwrap_or_default().to_string(),
            error: Some("The email or password is not correct.".into()),
            signup_open: state.config.signup == Signup::Open,
            sso_email: String::new(),
            sso_error: None,
        });
    };
    let Some((secret, landing)) = started else {
        // not signed in yet: the session holds only the sign-in waiting for its code
        session::start_second_step(&session, &account, next.as_deref().unwrap_or_default());
        return Ok(see_other(&req, "/login/two-factor"));
    };
    session::sign_in(&session, &account, &secret);
    let target = next.unwrap_or_else(|| landing_href(landing.flatten()));
    Ok(see_other(&req, &target))
}

/// Where a person lands after signing in: the member list of their first organization (or its
/// deployments, for a member who cannot see members), else the organization list.
pub(crate) async fn landing(state: &AppState, account: crate::domain::AccountId) -> Result<String, WebError> {
    let first = state.run(move |db| accounts::landing_org(db, account)).await?;
    Ok(landing_href(first))
}

fn landing_href(first: Option<(crate::domain::OrgId, crate::domain::PermissionSet)>) -> String {
    match first {
        Some((org, held)) => shell::org_home(org, held.contains(Permission::MembersRead)),
        None => "/orgs".to_string(),
    }
}

pub async fn signup_form(state: web::Data<AppState>, session: Session) -> Result<HttpResponse, WebError> {
    if state.config.signup == Signup::Closed {
        return Err(WebError::NotFound);
    }
    shell::ok(&SignupPage {
        shell: SignedOutShell::new(&session, "Create your account"),
        form: SignupInput::default(),
        errors: FormErrors::none(),
    })
}

pub async fn signup(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    form: web::Form<SignupInput>,
) -> Result<HttpResponse, WebError> {
    if state.config.signup == Signup::Closed {
        return Err(WebError::NotFound);
    }
    let input = form.into_inner();
    let (meta, client, limits) = (request_meta(&req), state.limits.client(&req), state.limits.clone());
    let (attempt, st, settings) = (input.clone(), state.get_ref().clone(), state.identity_settings());
    let outcome = state
        .run(move |db| {
            // before any work: each sign-up costs an argon2 hash and makes an account
            limits.signup(db, client)?;
            accounts::sign_up(db, &st.mail, &settings, &meta, &attempt)
        })
        .await;
    let outcome = match outcome {
        Ok((account_id, org)) => state.run(move |db| accounts::get(db, account_id)).await.map(|account| (account, org)),
        Err(e) => Err(e),
    };
    let outcome = match outcome {
        Ok((account, org)) => start_session(&state, &req, &session, &account).await.map(|()| (account, org)),
        Err(e) => Err(WebError::from(e)),
    };
    let done = |(account, org): (accounts::Account, _)| {
        let message = format!("Welcome to Steward. Your organization is ready. We sent a link to {} to confirm the address.", account.email);
        Done::to(shell::org_home(org, true), message)
    };
    post_redirect_get(&req, &session, outcome, done, |errors| async {
        let mut form = input;
        form.password.clear();
        shell::unprocessable(&SignupPage { shell: SignedOutShell::new(&session, "Create your account"), form, errors })
    })
    .await
}

/// Signs `account` in on this browser: a new session row, named by a new secret in a renewed
/// cookie.
pub async fn start_session(state: &AppState, req: &HttpRequest, session: &Session, account: &accounts::Account) -> Result<(), WebError> {
    let (id, meta) = (account.id, request_meta(req));
    let secret = state.run(move |db| sessions::start(db, id, &meta)).await?;
    session::sign_in(session, account, &secret);
    Ok(())
}

/// Ends the session's row, so that a copy of the cookie is worthless, then the cookie.
pub async fn logout(req: HttpRequest, state: web::Data<AppState>, session: Session) -> Result<HttpResponse, WebError> {
    if let Some(signed_in) = session::signed_in(&session) {
        let hash = sessions::hash_of(&signed_in.secret);
        state.run(move |db| sessions::end(db, &hash)).await?;
    }
    session::sign_out(&session);
    Ok(see_other(&req, "/login"))
}

/// `/`: the console for the signed in, sign-in for the others.
pub async fn home(req: HttpRequest, state: web::Data<AppState>, session: Session) -> Result<HttpResponse, WebError> {
    match session::signed_in(&session) {
        Some(_) => {
            let current = CurrentAccount::extract(&req).await?;
            Ok(see_other(&req, &landing(&state, current.id()).await?))
        }
        None => Ok(see_other(&req, "/login")),
    }
}
