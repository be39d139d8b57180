//! Single sign-on pages: the organization's connection (settings), "Sign in with SSO" and its
//! callback, and the link of an existing account, confirmed by its signed-in owner.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use askama::Template;

use crate::app::{AppState, request_meta};
use crate::domain::{Email, OrgId, Role};
use crate::oidc::{self, ClientSettings, Http, OidcError};
use crate::operations::sso::{self as ops, ConnectionInput, ConnectionView, Outcome, ReadyConnection, Verified};
use crate::web::error::WebError;
use crate::web::extract::{Authorized, CurrentAccount, perm};
use crate::web::forms::{FormErrors, form_errors};
use crate::web::session::{self, FlashKind};
use crate::web::shell::{self, Shell, SignedOutShell, safe_next, see_other};

/// The session key holding the hash of the state of the sign-in this browser started: a
/// callback carrying another state (one started elsewhere) is refused.
const PENDING_STATE: &str = "sso_state";

/// Where the provider sends the browser back: the redirect URI to register at the provider.
pub fn redirect_uri(state: &AppState) -> String {
    format!("{}/login/sso/callback", state.config.base_url.trim_end_matches('/'))
}

fn http(state: &AppState) -> Result<Http, OidcError> {
    Http::new(&state.config.sso_allow_private_issuers)
}

// ------------------------------------------------------------------------------- settings

#[derive(Template)]
#[template(path = "settings/sso.html")]
struct SettingsPage {
    shell: Shell,
    org: String,
    org_name: String,
    form: ConnectionInput,
    saved: Option<ConnectionView>,
    roles: Vec<Role>,
    redirect_uri: String,
    /// What a test of the connection found, when one was asked for.
    tested: Option<String>,
    errors: FormErrors,
}

impl SettingsPage {
    fn require_sso_checked(&self) -> bool {
        self.form.require_sso.as_deref() == Some("on")
    }
}

async fn settings_page(
    state: &AppState,
    access: &Authorized<perm::OrgManage>,
    form: Option<ConnectionInput>,
    tested: Option<String>,
    errors: FormErrors,
) -> Result<HttpResponse, WebError> {
    let org = access.org_id;
    let saved = state.run(move |db| ops::connection(db, org)).await?;
    let form = form.unwrap_or_else(|| match &saved {
        Some(c) => ConnectionInput {
            issuer: c.issuer.clone(),
            client_id: c.client_id.clone(),
            client_secret: String::new(),
            domains: c.domains.join(", "),
            base_role: c.base_role.as_str().to_string(),
            require_sso: c.require_sso.then(|| "on".to_string()),
        },
        None => ConnectionInput { base_role: Role::Viewer.as_str().to_string(), ..ConnectionInput::default() },
    });
    let shell = Shell::load(state, access, Some(access), "settings", "Single sign-on").await?;
    let status = errors.status();
    shell::render(
        status,
        &SettingsPage {
            shell,
            org: org.to_string(),
            org_name: access.org_name.clone(),
            form,
            saved,
            roles: Role::GRANTABLE.to_vec(),
            redirect_uri: redirect_uri(state),
            tested,
            errors,
        },
    )
}

/// `GET /orgs/{org}/settings/sso`
pub async fn settings(state: web::Data<AppState>, access: Authorized<perm::OrgManage>) -> Result<HttpResponse, WebError> {
    settings_page(&state, &access, None, None, FormErrors::none()).await
}

#[derive(Debug, serde::Deserialize)]
pub struct SettingsForm {
    #[serde(flatten)]
    input: ConnectionInput,
    /// `test` to test the connection without saving it; anything else saves (after a test).
    #[serde(default)]
    action: String,
}

/// `POST /orgs/{org}/settings/sso`: test the connection (discovery fetched, keys loaded), and,
/// unless only a test was asked for, save it once the test passed.
pub async fn save(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: Authorized<perm::OrgManage>,
    form: web::Form<SettingsForm>,
) -> Result<HttpResponse, WebError> {
    let SettingsForm { mut input, action } = form.into_inner();
    let org = access.org_id;
    let has_connection = state.run(move |db| ops::has_connection(db, org)).await?;
    let valid = match ops::validate(&input, &state.config.sso_allow_private_issuers, has_connection) {
        Ok(valid) => valid,
        Err(e) => {
            input.client_secret.clear();
            return settings_page(&state, &access, Some(input), None, form_errors(e)?).await;
        }
    };
    let tested = match http(&state) {
        Ok(http) => oidc::test_connection(&http, &valid.issuer).await,
        Err(e) => Err(e),
    };
    let tested = match tested {
        Ok(t) => format!("Connection works: {} answered its discovery document and publishes {} signing key(s).", t.issuer, t.keys),
        Err(e) => {
            input.client_secret.clear();
            return settings_page(&state, &access, Some(input), None, FormErrors::one("issuer", e.to_string())).await;
        }
    };
    if action == "test" {
        input.client_secret.clear();
        return settings_page(&state, &access, Some(input), Some(tested), FormErrors::none()).await;
    }
    let (ctx, key) = (access.ctx(), state.sso_key.clone());
    let outcome = state.run(move |db| ops::configure(db, &ctx, org, &key, &valid)).await;
    match outcome {
        Ok(()) => {
            session::flash(&access.session, FlashKind::Success, format!("Single sign-on saved. {tested}"));
            Ok(see_other(&req, &format!("/orgs/{org}/settings/sso")))
        }
        Err(e) => {
            input.client_secret.clear();
            settings_page(&state, &access, Some(input), None, form_errors(e)?).await
        }
    }
}

/// `POST /orgs/{org}/settings/sso/remove`
pub async fn remove(req: HttpRequest, state: web::Data<AppState>, access: Authorized<perm::OrgManage>) -> Result<HttpResponse, WebError> {
    let (ctx, org) = (access.ctx(), access.org_id);
    state.run(move |db| ops::remove(db, &ctx, org)).await?;
    session::flash(&access.session, FlashKind::Success, "Single sign-on removed. Its members sign in with a password from now on.");
    Ok(see_other(&req, &format!("/orgs/{org}/settings/sso")))
}

// -------------------------------------------------------------------------------- sign-in

#[derive(Template)]
#[template(path = "auth/sso_continue.html")]
struct ContinuePage {
    shell: SignedOutShell,
    org_name: String,
    host: String,
    url: String,
}

#[derive(Template)]
#[template(path = "auth/sso_problem.html")]
struct ProblemPage {
    shell: SignedOutShell,
    heading: String,
    message: String,
    /// Where the page leads on, with its words.
    link: (String, String),
}

fn problem(session: &Session, status: StatusCode, heading: &str, message: impl Into<String>) -> Result<HttpResponse, WebError> {
    shell::render(
        status,
        &ProblemPage {
            shell: SignedOutShell::new(session, heading),
            heading: heading.to_string(),
            message: message.into(),
            link: ("/login".to_string(), "Back to sign in".to_string()),
        },
    )
}

/// The page an `OidcError` makes: the provider's fault (unreachable, invalid) is a 502, a
/// token that fails its checks a 400; never a 500.
fn provider_problem(session: &Session, e: &OidcError) -> Result<HttpResponse, WebError> {
    let status = match e {
        OidcError::Unreachable(_) | OidcError::DiscoveryInvalid(_) | OidcError::NoKeys => StatusCode::BAD_GATEWAY,
        OidcError::NotAllowed(_) => StatusCode::FORBIDDEN,
        _ => StatusCode::BAD_REQUEST,
    };
    tracing::warn!(error = %e, "single sign-on failed");
    problem(session, status, "Single sign-on did not work", format!("{e} Nothing was signed in."))
}

#[derive(Debug, serde::Deserialize)]
pub struct StartForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    next: String,
}

/// Sends the browser to the provider: a page with the authorization request's address,
/// followed at once (a form may not redirect to another site under the console's CSP
/// `form-action 'self'`, a plain link may).
async fn go_to_provider(
    state: &AppState,
    session: &Session,
    ready: ReadyConnection,
    hint: Option<String>,
    link_account: Option<crate::domain::AccountId>,
    next: String,
) -> Result<HttpResponse, WebError> {
    let http = match http(state) {
        Ok(http) => http,
        Err(e) => return provider_problem(session, &e),
    };
    let settings = ClientSettings { client_id: ready.client_id.clone(), client_secret: ready.client_secret.clone(), redirect_uri: redirect_uri(state) };
    let started = match oidc::start(&http, &ready.issuer, &settings, hint.as_deref()).await {
        Ok(started) => started,
        Err(e) => return provider_problem(session, &e),
    };
    let (org, st, nonce, verifier) = (ready.org_id, started.state.clone(), started.nonce.clone(), started.pkce_verifier.clone());
    state.run(move |db| ops::begin(db, org, &st, &nonce, &verifier, link_account, &next)).await?;
    let _ = session.insert(PENDING_STATE, crate::crypto::sha256_hex(started.state.as_bytes()));
    shell::ok(&ContinuePage {
        shell: SignedOutShell::new(session, "Continue to your identity provider"),
        org_name: ready.org_name,
        host: ops::host_of(&ready.issuer),
        url: started.url,
    })
}

/// `POST /login/sso`: the organization is found by the address's domain.
pub async fn start(req: HttpRequest, state: web::Data<AppState>, session: Session, form: web::Form<StartForm>) -> Result<HttpResponse, WebError> {
    let form = form.into_inner();
    let next = safe_next(&form.next).unwrap_or_default().to_string();
    let email = match Email::parse(&form.email) {
        Ok(email) => email,
        Err(e) => return crate::web::auth::login_page_sso_error(&state, &session, &form.email, &next, e.message).await,
    };
    let (key, typed) = (state.sso_key.clone(), email.clone());
    let (client, limits) = (state.limits.client(&req), state.limits.clone());
    // the sign-in limits hold here too: each start costs requests to a provider
    let ready = state
        .run(move |db| {
            limits.login(db, client, typed.as_str())?;
            ops::for_email(db, &key, &typed)
        })
        .await;
    let ready = match ready {
        Ok(ready) => ready,
        Err(crate::operations::OpError::Forbidden(why)) => return problem(&session, StatusCode::FORBIDDEN, "Single sign-on is not available", why),
        Err(e) => return Err(e.into()),
    };
    let Some(ready) = ready else {
        let message = format!(
            "No organization signs in {} addresses with single sign-on. Sign in with your password instead.",
            crate::domain::sso::domain_of(&email)
        );
        return crate::web::auth::login_page_sso_error(&state, &session, email.as_str(), &next, message).await;
    };
    go_to_provider(&state, &session, ready, Some(email.into_string()), None, next).await
}

#[derive(Debug, serde::Deserialize)]
pub struct CallbackQuery {
    #[serde(default)]
    state: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    error: String,
    #[serde(default)]
    error_description: String,
}

/// `GET /login/sso/callback`: the provider sends the browser back with a code. The state must
/// be the one this browser's sign-in holds and unused; the code is exchanged on the back
/// channel and only the ID token that passes every check is believed.
pub async fn callback(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    query: web::Query<CallbackQuery>,
) -> Result<HttpResponse, WebError> {
    let query = query.into_inner();
    let pending: Option<String> = session.get(PENDING_STATE).ok().flatten();
    session.remove(PENDING_STATE);
    let hash = crate::crypto::sha256_hex(query.state.as_bytes());
    let ours = pending.is_some_and(|p| crate::crypto::constant_time_eq(p.as_bytes(), hash.as_bytes()));
    // A state this browser did not start is refused before anything is read (so another
    // browser cannot spend it); one it did is taken whatever happens next, so it is good once.
    let raw_state = query.state.clone();
    let flow = if ours { state.run(move |db| ops::take(db, &raw_state)).await? } else { None };
    let Some(flow) = flow else {
        return problem(
            &session,
            StatusCode::BAD_REQUEST,
            "This sign-in cannot be completed",
            "It was used already, has expired, or was started in another browser. Start again from the sign-in page.",
        );
    };
    if !query.error.is_empty() {
        let said = if query.error_description.is_empty() { query.error.clone() } else { query.error_description.clone() };
        return problem(&session, StatusCode::BAD_REQUEST, "The identity provider did not sign you in", format!("It said: {said}"));
    }
    if query.code.is_empty() {
        return problem(&session, StatusCode::BAD_REQUEST, "This sign-in cannot be completed", "The identity provider sent no code back.");
    }
    let (key, org) = (state.sso_key.clone(), flow.org_id);
    let Some(ready) = state.run(move |db| ops::for_org(db, &key, org)).await? else {
        return problem(&session, StatusCode::BAD_REQUEST, "Single sign-on is not available", "The organization's single sign-on was removed meanwhile.");
    };
    let http = match http(&state) {
        Ok(http) => http,
        Err(e) => return provider_problem(&session, &e),
    };
    let settings = ClientSettings { client_id: ready.client_id.clone(), client_secret: ready.client_secret.clone(), redirect_uri: redirect_uri(&state) };
    let identity = match oidc::finish(&http, &ready.issuer, &settings, &query.code, &flow.pkce_verifier, &flow.nonce).await {
        Ok(identity) => identity,
        Err(e) => return provider_problem(&session, &e),
    };
    let who = Verified { subject: identity.subject, email: identity.email, email_verified: identity.email_verified, name: identity.name };
    let meta = request_meta(&req);
    if let Some(account) = flow.link_account {
        return finish_link(&req, &state, &session, org, account, who).await;
    }
    let outcome = state.run(move |db| ops::sign_in(db, &meta, org, &who)).await?;
    match outcome {
        Outcome::SignedIn(account) => {
            let next = safe_next(&flow.next).map(str::to_string);
            if account.two_factor_on() {
                session::start_second_step_after_sso(&session, &account, next.as_deref().unwrap_or_default(), &org.to_string());
                return Ok(see_other(&req, "/login/two-factor"));
            }
            crate::web::auth::start_session(&state, &req, &session, &account).await?;
            session::mark_sso(&session, &org.to_string());
            Ok(see_other(&req, &next.unwrap_or_else(|| format!("/orgs/{org}"))))
        }
        Outcome::NeedsLink { email, org_name } => shell::render(
            StatusCode::CONFLICT,
            &ProblemPage {
                shell: SignedOutShell::new(&session, "Confirm it is your account"),
                heading: "Confirm it is your account".to_string(),
                message: format!(
                    "An account for {email} exists already. Single sign-on does not open an existing account on the identity provider's word alone: sign in with your password, then link your account to {org_name}'s single sign-on from your profile."
                ),
                link: ("/login?next=/profile/sso".to_string(), "Sign in with your password".to_string()),
            },
        ),
        Outcome::Refused(why) => problem(&session, StatusCode::FORBIDDEN, "Single sign-on did not sign you in", why),
    }
}

async fn finish_link(
    req: &HttpRequest,
    state: &AppState,
    session: &Session,
    org: OrgId,
    account: crate::domain::AccountId,
    who: Verified,
) -> Result<HttpResponse, WebError> {
    // the link is for the account that asked for it, signed in now in this browser
    let current = CurrentAccount::extract(req).await?;
    if current.id() != account {
        return problem(session, StatusCode::FORBIDDEN, "This link cannot be completed", "It was started by another account. Start again from your profile.");
    }
    let meta = request_meta(req);
    match state.run(move |db| ops::link(db, &meta, org, account, &who)).await? {
        Ok(org_name) => {
            session::mark_sso(session, &org.to_string());
            session::flash(session, FlashKind::Success, format!("Your account is linked to {org_name}'s single sign-on."));
            Ok(see_other(req, &format!("/orgs/{org}")))
        }
        Err(why) => problem(session, StatusCode::FORBIDDEN, "Your account was not linked", why),
    }
}

// ----------------------------------------------------------------------------- the link

#[derive(Template)]
#[template(path = "profile/sso.html")]
struct LinkPage {
    shell: Shell,
    email: String,
    /// The organization whose single sign-on covers the address, its provider's host, and
    /// whether the account is linked to it already.
    offer: Option<(String, String, bool)>,
}

/// `GET /profile/sso`: the single sign-on covering the account's address, and the button that
/// confirms the link.
pub async fn link_page(state: web::Data<AppState>, current: CurrentAccount) -> Result<HttpResponse, WebError> {
    let (key, account) = (state.sso_key.clone(), current.account.clone());
    let offer = match state.run(move |db| ops::linkable(db, &key, &account)).await {
        Ok(found) => found.map(|(ready, linked)| (ready.org_name, ops::host_of(&ready.issuer), linked)),
        Err(crate::operations::OpError::Forbidden(_)) => None,
        Err(e) => return Err(e.into()),
    };
    let shell = Shell::load(&state, &current, None, "profile", "Single sign-on").await?;
    shell::ok(&LinkPage { shell, email: current.account.email.to_string(), offer })
}

/// `POST /profile/sso`: the signed-in owner confirms the link; they then sign in at the
/// provider as the same address, and the callback links the two.
pub async fn link(state: web::Data<AppState>, current: CurrentAccount) -> Result<HttpResponse, WebError> {
    let (key, account) = (state.sso_key.clone(), current.account.clone());
    let found = match state.run(move |db| ops::linkable(db, &key, &account)).await {
        Ok(found) => found,
        Err(crate::operations::OpError::Forbidden(why)) => return problem(&current.session, StatusCode::FORBIDDEN, "Single sign-on is not available", why),
        Err(e) => return Err(e.into()),
    };
    let Some((ready, _)) = found else {
        return problem(&current.session, StatusCode::UNPROCESSABLE_ENTITY, "No single sign-on covers your address", "No organization signs in addresses of your domain with single sign-on.");
    };
    let email = current.account.email.to_string();
    go_to_provider(&state, &current.session, ready, Some(email), Some(current.id()), String::new()).await
}
