//! The profile: name, password, organizations, deleting the account (two-factor has its own
//! page, in `two_factor`).

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::operations::accounts;
use crate::operations::accounts::{ForAccount, OrgOfAccount};
use crate::web::error::WebError;
use crate::web::format;
use crate::web::extract::CurrentAccount;
use crate::web::forms::{FormErrors, form_errors};
use crate::web::session::{self};
use crate::web::shell::{self, Done, Shell, post_redirect_get, see_other};
use crate::app::AppState;

#[derive(Template)]
#[template(path = "profile/index.html")]
pub(crate) struct ProfilePage {
    shell: Shell,
    name: String,
    email: String,
    email_verified: bool,
    two_factor: bool,
    created_at: String,
    orgs: Vec<OrgOfAccount>,
    access: Vec<AccessView>,
    invitations: Vec<ForAccount>,
    owns_org: bool,
    errors: FormErrors,
}

/// "My access" in one organization: the roles and what they allow, in plain words.
pub struct AccessView {
    pub org_id: String,
    pub org_name: String,
    pub role: &'static str,
    pub active: bool,
    pub custom_roles: Vec<String>,
    pub allows: Vec<crate::web::roles::AreaLines>,
    pub invited_by: Option<String>,
}

pub(crate) async fn page(state: &AppState, current: &CurrentAccount, name: Option<String>, errors: FormErrors) -> Result<ProfilePage, WebError> {
    let (orgs, invitations) = shell::account_overview(state, current).await?;
    let account = current.id();
    let access = state
        .run(move |db| accounts::access(db, account))
        .await?
        .into_iter()
        .map(|a| AccessView {
            org_id: a.org_id.to_string(),
            org_name: a.org_name,
            role: a.role.label(),
            active: a.active,
            custom_roles: a.custom_roles,
            allows: crate::web::roles::in_plain_words(a.permissions),
            invited_by: a.invited_by.map(|(name, email)| if name.is_empty() { email } else { format!("{name} ({email})") }),
        })
        .collect();
    let shell = Shell::load(state, current, None, "profile", "Profile").await?;
    Ok(ProfilePage {
        shell,
        name: name.unwrap_or_else(|| current.account.name.clone()),
        email: current.account.email.to_string(),
        email_verified: current.account.email_verified_at.is_some(),
        two_factor: current.account.two_factor_on(),
        created_at: format::date(current.account.created_at),
        owns_org: orgs.iter().any(|o| o.role == crate::domain::Role::Owner),
        orgs,
        access,
        invitations,
        errors,
    })
}

pub async fn show(state: web::Data<AppState>, current: CurrentAccount) -> Result<HttpResponse, WebError> {
    shell::ok(&page(&state, &current, None, FormErrors::none()).await?)
}

#[derive(Debug, serde::Deserialize)]
pub struct ProfileForm {
    #[serde(default)]
    name: String,
}

pub async fn update(
    req: HttpRequest,
    state: web::Data<AppState>,
    current: CurrentAccount,
    form: web::Form<ProfileForm>,
) -> Result<HttpResponse, WebError> {
    let name = form.into_inner().name;
    let (account, attempt) = (current.id(), name.clone());
    let outcome = state.run(move |db| accounts::update_profile(db, account, &attempt)).await;
    let done = |()| Done::to("/profile", "Profile saved.");
    post_redirect_get(&req, &current.session, outcome, done, |errors| async {
        shell::unprocessable(&page(&state, &current, Some(name), errors).await?)
    })
    .await
}

#[derive(Debug, serde::Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
}

pub async fn change_password(
    req: HttpRequest,
    state: web::Data<AppState>,
    current: CurrentAccount,
    form: web::Form<PasswordForm>,
) -> Result<HttpResponse, WebError> {
    let form = form.into_inner();
    let account = current.id();
    let (st, keep, meta) = (state.get_ref().clone(), current.session_id, current.meta.clone());
    let outcome =
        state.run(move |db| accounts::change_password(db, &st.mail, &meta, account, keep, &form.current_password, &form.new_password)).await;
    let done = |epoch| {
        // this session moves to the new epoch; every other one is over
        session::set_epoch(&current.session, epoch);
        Done::to("/profile", "Password changed. Your other sessions have been signed out.")
    };
    post_redirect_get(&req, &current.session, outcome, done, |errors| async {
        shell::unprocessable(&page(&state, &current, None, errors).await?)
    })
    .await
}

#[derive(Debug, serde::Deserialize)]
pub struct DeleteForm {
    #[serde(default)]
    confirm_email: String,
}

pub async fn delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    current: CurrentAccount,
    form: web::Form<DeleteForm>,
) -> Result<HttpResponse, WebError> {
    let confirm = form.into_inner().confirm_email;
    let (account, meta) = (current.id(), current.meta.clone());
    match state.run(move |db| accounts::delete_account(db, &meta, account, &confirm)).await.map_err(WebError::from) {
        Ok(()) => {
            session::sign_out(&current.session);
            Ok(see_other(&req, "/login"))
        }
        Err(WebError::Forbidden(message)) => {
            shell::unprocessable(&page(&state, &current, None, FormErrors::one("confirm_email", message)).await?)
        }
        Err(e) => {
            let errors = form_errors(e)?;
            shell::unprocessable(&page(&state, &current, None, errors).await?)
        }
    }
}
