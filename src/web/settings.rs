//! The organization's settings: rename, require two-factor, transfer ownership, leave, delete.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::domain::Permission;
use crate::operations;
use crate::operations::members::Membership;
use crate::web::error::WebError;
use crate::web::extract::{Authorized, OrgAccess, perm};
use crate::web::forms::{ConfirmNameForm, FormErrors, NameForm};
use crate::web::session::{self, FlashKind};
use crate::web::shell::{self, Done, Shell, post_redirect_get, see_other};
use crate::app::AppState;

/// How many members the transfer list offers (the owner types to filter in larger ones).
const TRANSFER_CHOICES: i64 = 500;

#[derive(Template)]
#[template(path = "settings/index.html")]
struct SettingsPage {
    shell: Shell,
    org: String,
    org_name: String,
    name: String,
    require_two_factor: bool,
    /// Whether the person looking has two-factor on (else requiring it sends them to turn it on).
    own_two_factor: bool,
    is_owner: bool,
    candidates: Vec<Membership>,
    errors: FormErrors,
}

async fn page(
    state: &AppState,
    access: &OrgAccess,
    name: Option<String>,
    errors: FormErrors,
) -> Result<HttpResponse, WebError> {
    let is_owner = access.can(Permission::OrgOwner);
    let (org, me) = (access.org_id, access.current.id());
    let candidates = if is_owner {
        state.run(move |db| operations::orgs::transfer_candidates(db, org, me, TRANSFER_CHOICES)).await?
    } else {
        Vec::new()
    };
    let shell = Shell::load(state, access, Some(access), "settings", "Settings").await?;
    let status = errors.status();
    shell::render(
        status,
        &SettingsPage {
            shell,
            org: org.to_string(),
            org_name: access.org_name.clone(),
            name: name.unwrap_or_else(|| access.org_name.clone()),
            require_two_factor: access.require_two_factor,
            own_two_factor: access.current.account.two_factor_on(),
            is_owner,
            candidates,
            errors,
        },
    )
}

pub async fn show(state: web::Data<AppState>, access: Authorized<perm::OrgManage>) -> Result<HttpResponse, WebError> {
    page(&state, &access, None, FormErrors::none()).await
}

pub async fn rename(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: Authorized<perm::OrgManage>,
    form: web::Form<NameForm>,
) -> Result<HttpResponse, WebError> {
    let name = form.into_inner().name;
    let (ctx, org, attempt) = (access.ctx(), access.org_id, name.clone());
    let outcome = state.run(move |db| operations::orgs::rename(db, &ctx, org, &attempt)).await;
    let done = |()| Done::to(format!("/orgs/{org}/settings"), "Organization renamed.");
    post_redirect_get(&req, &access.session, outcome, done, |errors| page(&state, &access, Some(name), errors)).await
}

#[derive(Debug, serde::Deserialize)]
pub struct TwoFactorForm {
    /// A checkbox: `on` when ticked, absent when not.
    #[serde(default)]
    required: Option<String>,
}

/// `POST /orgs/{org}/settings/two-factor`: require two-factor of every member, or stop.
pub async fn require_two_factor(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: Authorized<perm::OrgManage>,
    form: web::Form<TwoFactorForm>,
) -> Result<HttpResponse, WebError> {
    let required = match form.into_inner().required.as_deref().map(str::trim) {
        None | Some("") => false,
        Some("on") => true,
        Some(_) => {
            let errors = FormErrors::one("required", "Tick the box to require two-factor authentication, or clear it to stop.");
            return page(&state, &access, None, errors).await;
        }
    };
    let (ctx, org) = (access.ctx(), access.org_id);
    let outcome = state.run(move |db| operations::orgs::set_two_factor_required(db, &ctx, org, required)).await;
    let done = |_changed| {
        let message = if required {
            "Two-factor authentication is now required. Members without it are asked to turn it on before they continue."
        } else {
            "Two-factor authentication is no longer required."
        };
        Done::to(format!("/orgs/{org}/settings"), message)
    };
    post_redirect_get(&req, &access.session, outcome, done, |errors| page(&state, &access, None, errors)).await
}

#[derive(Debug, serde::Deserialize)]
pub struct TransferForm {
    #[serde(default)]
    account: String,
}

pub async fn transfer(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: Authorized<perm::OrgOwner>,
    form: web::Form<TransferForm>,
) -> Result<HttpResponse, WebError> {
    let to = form.into_inner().account;
    let (ctx, org) = (access.ctx(), access.org_id);
    let outcome = state.run(move |db| operations::orgs::transfer(db, &ctx, org, &to)).await;
    let done = |email| Done::to(format!("/orgs/{org}/settings"), format!("{email} is now the owner. You are an admin."));
    post_redirect_get(&req, &access.session, outcome, done, |errors| page(&state, &access, None, errors)).await
}

pub async fn leave(req: HttpRequest, state: web::Data<AppState>, access: OrgAccess) -> Result<HttpResponse, WebError> {
    let (ctx, org, me) = (access.ctx(), access.org_id, access.current.id());
    match state.run(move |db| operations::orgs::leave(db, &ctx, org, me)).await.map_err(WebError::from) {
        Ok(name) => {
            session::flash(&access.session, FlashKind::Success, format!("You left {name}."));
            Ok(see_other(&req, "/orgs"))
        }
        Err(WebError::Forbidden(message)) => {
            session::flash(&access.session, FlashKind::Error, message.clone());
            Err(WebError::Forbidden(message))
        }
        Err(e) => Err(e),
    }
}

pub async fn delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: Authorized<perm::OrgOwner>,
    form: web::Form<ConfirmNameForm>,
) -> Result<HttpResponse, WebError> {
    let typed = form.into_inner().confirm_name;
    let (ctx, org) = (access.ctx(), access.org_id);
    let outcome = state.run(move |db| operations::orgs::delete(db, &ctx, org, &typed)).await;
    let done = |name| Done::to("/orgs", format!("Organization {name} deleted."));
    post_redirect_get(&req, &access.session, outcome, done, |errors| page(&state, &access, None, errors)).await
}
