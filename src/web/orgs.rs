//! The organization list, creating another organization, and each organization's home.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::operations;
use crate::operations::accounts::{ForAccount, OrgOfAccount};
use crate::web::error::WebError;
use crate::web::extract::{CurrentAccount, OrgAccess};
use crate::web::forms::{FormErrors, NameForm};
use crate::web::shell::{self, Done, Shell, post_redirect_get, see_other};
use crate::app::AppState;

#[derive(Template)]
#[template(path = "orgs/index.html")]
struct OrgsPage {
    shell: Shell,
    orgs: Vec<OrgOfAccount>,
    invitations: Vec<ForAccount>,
    name: String,
    errors: FormErrors,
}

async fn page(
    state: &AppState,
    current: &CurrentAccount,
    name: String,
    errors: FormErrors,
) -> Result<OrgsPage, WebError> {
    let (orgs, invitations) = shell::account_overview(state, current).await?;
    let shell = Shell::load(state, current, None, "orgs", "Organizations").await?;
    Ok(OrgsPage { shell, orgs, invitations, name, errors })
}

pub async fn index(state: web::Data<AppState>, current: CurrentAccount) -> Result<HttpResponse, WebError> {
    shell::ok(&page(&state, &current, String::new(), FormErrors::none()).await?)
}

pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    current: CurrentAccount,
    form: web::Form<NameForm>,
) -> Result<HttpResponse, WebError> {
    let name = form.into_inner().name;
    let (ctx, owner, attempt, limits) = (current.ctx(), current.id(), name.clone(), state.limits.clone());
    let outcome = state
        .run(move |db| {
            limits.org_creation(db, owner)?;
            operations::orgs::create(db, &ctx, owner, &attempt)
        })
        .await;
    let done = |org| Done::to(shell::org_home(org, true), format!("Organization “{}” created.", name.trim()));
    post_redirect_get(&req, &current.session, outcome, done, |errors| async {
        shell::unprocessable(&page(&state, &current, name.clone(), errors).await?)
    })
    .await
}

/// `/orgs/{org}`: the organization's first page for this member.
pub async fn home(req: HttpRequest, access: OrgAccess) -> HttpResponse {
    see_other(&req, &Shell::org_home(&access))
}
