//! The deployment list: create, rename and delete deployments.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::NaiveDateTime;

use crate::domain::Permission;
use crate::domain::ids::DeploymentId;
use crate::operations::deployments::{self, CreateInput, DeploymentPage, PAGE_SIZE, REGIONS};
use crate::web::error::WebError;
use crate::web::extract::{Authorized, OrgAccess, perm};
use crate::web::forms::{FormErrors, NameForm, form_errors};
use crate::web::session::{self, FlashKind};
use crate::web::shell::{self, Done, Shell, post_redirect_get, see_other};
use crate::app::AppState;

/// The deployments pages, under an organization's scope (`/orgs/{org}`).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/deployments").route(web::get().to(index)).route(web::post().to(create)))
        .route("/deployments/{id}", web::post().to(rename))
        .route("/deployments/{id}/delete", web::post().to(delete));
}

struct Row {
    id: String,
    name: String,
    region: String,
    region_label: &'static str,
    created_by: Option<String>,
    created_at: NaiveDateTime,
    /// What the rename form holds: the name, or the refused attempt.
    rename_value: String,
    rename_error: Option<String>,
}

struct RegionOption {
    code: &'static str,
    label: &'static str,
    selected: bool,
}

#[derive(Template)]
#[template(path = "deployments/index.html")]
struct DeploymentsPage {
    shell: Shell,
    org: String,
    can_write: bool,
    rows: Vec<Row>,
    total: i64,
    page: i64,
    pages: i64,
    first_shown: i64,
    last_shown: i64,
    prev: Option<i64>,
    next: Option<i64>,
    regions: Vec<RegionOption>,
    name: String,
    errors: FormErrors,
}

/// The forms of the page as the last request left them.
#[derive(Default)]
struct Attempt {
    create: CreateInput,
    create_errors: FormErrors,
    /// A refused rename: which deployment, the name tried, why.
    rename: Option<(DeploymentId, String, FormErrors)>,
}

async fn page(
    state: &AppState,
    access: &OrgAccess,
    number: i64,
    attempt: Attempt,
) -> Result<DeploymentsPage, WebError> {
    let org = access.org_id;
    let listing: DeploymentPage = state.run(move |db| deployments::list(db, org, number)).await?;
    let (pages, number, total) = (listing.page_count(), listing.page, listing.total);
    let shell = Shell::load(state, access, Some(access), "deployments", "Deployments").await?;
    let rows = listing
        .rows
        .into_iter()
        .map(|r| {
            let d = r.deployment;
            let refused = attempt.rename.as_ref().filter(|(id, _, _)| *id == d.id);
            Row {
                id: d.id.to_string(),
                region_label: deployments::region_label(&d.region),
                rename_value: refused.map_or_else(|| d.name.clone(), |(_, tried, _)| tried.clone()),
                rename_error: refused.and_then(|(_, _, errors)| errors.get("name")).map(str::to_owned),
                name: d.name,
                region: d.region,
                created_by: r.created_by_email,
                created_at: d.created_at,
            }
        })
        .collect::<Vec<_>>();
    let first_shown = (number - 1) * PAGE_SIZE + 1;
    Ok(DeploymentsPage {
        shell,
        org: org.to_string(),
        can_write: access.can(Permission::DeploymentsWrite),
        last_shown: first_shown + rows.len() as i64 - 1,
        first_shown,
        rows,
        total,
        page: number,
        pages,
        prev: (number > 1).then(|| (number - 1).min(pages)),
        next: (number < pages).then_some(number + 1),
        regions: REGIONS
            .iter()
            .map(|(code, label)| RegionOption { code, label, selected: attempt.create.region.trim() == *code })
            .collect(),
        name: attempt.create.name,
        errors: attempt.create_errors,
    })
}

fn list_url(access: &OrgAccess) -> String {
    format!("/orgs/{}/deployments", access.org_id)
}

/// The `{id}` of the path; a malformed one is as unknown as a missing one.
fn deployment_id(path: &(String, String)) -> Result<DeploymentId, WebError> {
    path.1.parse().map_err(|_| WebError::NotFound)
}

#[derive(Debug, serde::Deserialize)]
pub struct ListQuery {
    page: Option<String>,
}

pub async fn index(
    state: web::Data<AppState>,
    access: Authorized<perm::DeploymentsRead>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, WebError> {
    let number = deployments::page_number(query.page.as_deref());
    shell::ok(&page(&state, &access, number, Attempt::default()).await?)
}

pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: Authorized<perm::DeploymentsWrite>,
    form: web::Form<CreateInput>,
) -> Result<HttpResponse, WebError> {
    let input = form.into_inner();
    let (ctx, org, attempt) = (access.ctx(), access.org_id, input.clone());
    let outcome = state.run(move |db| deployments::create(db, &ctx, org, &attempt)).await;
    let done = |d: deployments::Deployment| Done::to(list_url(&access), format!("Deployment “{}” created in {}.", d.name, d.region));
    post_redirect_get(&req, &access.session, outcome, done, |create_errors| async {
        let attempt = Attempt { create: input, create_errors, rename: None };
        shell::unprocessable(&page(&state, &access, 1, attempt).await?)
    })
    .await
}

pub async fn rename(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: Authorized<perm::DeploymentsWrite>,
    path: web::Path<(String, String)>,
    form: web::Form<NameForm>,
) -> Result<HttpResponse, WebError> {
    let id = deployment_id(&path)?;
    let name = form.into_inner().name;
    let (ctx, org, attempt) = (access.ctx(), access.org_id, name.clone());
    match state.run(move |db| deployments::rename(db, &ctx, org, id, &attempt)).await {
        Ok(renamed) if renamed.changed() => {
            let message = format!("Deployment “{}” renamed to “{}”.", renamed.old_name, renamed.new_name);
            session::flash(&access.session, FlashKind::Success, message);
            Ok(see_other(&req, &list_url(&access)))
        }
        Ok(renamed) => {
            session::flash(
                &access.session,
                FlashKind::Info,
                format!("Deployment “{}” already has this name.", renamed.old_name),
            );
            Ok(see_other(&req, &list_url(&access)))
        }
        Err(e) => {
            let errors = form_errors(e)?;
            // show the list where the deployment stands, with its form open on the error
            let number = state.run(move |db| deployments::page_of(db, org, id)).await?.unwrap_or(1);
            let attempt = Attempt { rename: Some((id, name, errors)), ..Attempt::default() };
            shell::unprocessable(&page(&state, &access, number, attempt).await?)
        }
    }
}

pub async fn delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: Authorized<perm::DeploymentsWrite>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, WebError> {
    let id = deployment_id(&path)?;
    let (ctx, org) = (access.ctx(), access.org_id);
    let deleted = state.run(move |db| deployments::delete(db, &ctx, org, id)).await?;
    session::flash(&access.session, FlashKind::Success, format!("Deployment “{}” deleted.", deleted.name));
    Ok(see_other(&req, &list_url(&access)))
}
