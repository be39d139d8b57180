//! The API keys page: create (the secret shown once), list, revoke.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::domain::ids::ApiKeyId;
use crate::operations::api_keys::{self as keys, CreateInput, PREFIX};
use crate::operations::api_keys::ListedKey;
use crate::operations::deployments::DeploymentListRow;
use crate::web::format;
use crate::web::error::WebError;
use crate::web::extract::{Authorized, OrgAccess, perm};
use crate::web::forms::{FormErrors, read_form};
use crate::web::session::{self, FlashKind};
use crate::web::shell::{self, Done, Shell, post_redirect_get, see_other};
use crate::app::AppState;

/// Session key of a secret waiting to be shown once.
const NEW_SECRET: &str = "new_api_key";

pub struct KeyView {
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub permissions: String,
    /// The key holds a permission its creator no longer holds (after a demotion or removal).
    pub exceeds_creator: bool,
    pub scope: String,
    pub created_by: String,
    pub created: String,
    pub expires: String,
    pub last_used: String,
    pub status: &'static str,
    pub status_class: &'static str,
}

/// How a key's permissions read on the page.
/// A key's permissions as the pages name them: the preset, or the chosen permissions.
pub(crate) fn permissions_label(key: &keys::ApiKey) -> String {
    match (key.grants, key.permissions.as_str()) {
        (Some(grants), _) => grants.essential().map(|p| p.as_str()).collect::<Vec<_>>().join(", "),
        (None, "read") => "Read".into(),
        (None, "write") => "Write".into(),
        (None, _) => "Read and write".into(),
    }
}

fn view(k: ListedKey, now: chrono::NaiveDateTime) -> KeyView {
    let status = k.key.status(now);
    KeyView {
        id: k.key.id.to_string(),
        prefix: format!("{PREFIX}{}…", k.key.lookup),
        permissions: permissions_label(&k.key),
        exceeds_creator: k.exceeds_creator && status == "active",
        scope: if k.key.all_deployments() { "All deployments".into() } else { k.deployments.join(", ") },
        created_by: k.created_by_email.unwrap_or_else(|| "—".into()),
        created: format::date(k.key.created_at),
        expires: k.key.expires_at.map(format::date).unwrap_or_else(|| "Never".into()),
        last_used: k.key.last_used_at.map(|t| format::ago(t, now)).unwrap_or_else(|| "Never".into()),
        status_class: match status {
            "active" => "badge-green",
            "expired" => "badge-amber",
            _ => "badge-gray",
        },
        status,
        name: k.key.name,
    }
}

#[derive(Template)]
#[template(path = "api_keys/index.html")]
struct KeysPage {
    shell: Shell,
    org: String,
    keys: Vec<KeyView>,
    /// (id, name, chosen in the form)
    deployments: Vec<(String, String, bool)>,
    new_secret: Option<String>,
    form: CreateInput,
    /// The permissions a key with chosen permissions can hold, grouped by area.
    grant_areas: Vec<crate::web::roles::AreaChoices>,
    can_manage: bool,
    errors: FormErrors,
}

async fn page(
    state: &AppState,
    access: &OrgAccess,
    form: CreateInput,
    errors: FormErrors,
) -> Result<HttpResponse, WebError> {
    let org = access.org_id;
    let (listed, deployments) = state.run(move |db| keys::page(db, org)).await?;
    let now = crate::domain::now();
    let new_secret = access.session.remove_as::<String>(NEW_SECRET).and_then(Result::ok);
    let shell = Shell::load(state, access, Some(access), "api-keys", "API keys").await?;
    let status = errors.status();
    shell::render(
        status,
        &KeysPage {
            shell,
            org: org.to_string(),
            keys: listed.into_iter().map(|k| view(k, now)).collect(),
            deployments: deployments
                .into_iter()
                .map(|d: DeploymentListRow| {
                    let id = d.deployment.id.to_string();
                    let chosen = form.deployments.contains(&id);
                    (id, d.deployment.name, chosen)
                })
                .collect(),
            new_secret,
            grant_areas: crate::web::roles::permission_choices(&form.grants, access.permissions),
            can_manage: access.can(crate::domain::Permission::ApiKeysManage),
            form,
            errors,
        },
    )
}

pub async fn index(state: web::Data<AppState>, access: Authorized<perm::ApiKeysRead>) -> Result<HttpResponse, WebError> {
    let form = CreateInput { permissions: "read".into(), scope: "all".into(), lifetime_days: "90".into(), ..CreateInput::default() };
    page(&state, &access, form, FormErrors::none()).await
}

pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: Authorized<perm::ApiKeysManage>,
    body: web::Bytes,
) -> Result<HttpResponse, WebError> {
    let input: CreateInput = read_form(&body)?;
    let (ctx, org, attempt) = (access.ctx(), access.org_id, input.clone());
    let outcome = state.run(move |db| keys::create(db, &ctx, org, &attempt)).await;
    let done = |(key, secret): (keys::ApiKey, String)| {
        // shown on the next page, once, then gone from the session
        let _ = access.session.insert(NEW_SECRET, secret);
        Done::to(format!("/orgs/{org}/api-keys"), format!("API key “{}” created.", key.name))
    };
    post_redirect_get(&req, &access.session, outcome, done, |errors| page(&state, &access, input, errors)).await
}

pub async fn revoke(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: Authorized<perm::ApiKeysManage>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, WebError> {
    let id: ApiKeyId = path.1.parse().map_err(|_| WebError::NotFound)?;
    let (ctx, org) = (access.ctx(), access.org_id);
    let name = state.run(move |db| keys::revoke(db, &ctx, org, id)).await?;
    session::flash(&access.session, FlashKind::Success, format!("API key “{name}” revoked. It stopped working at once."));
    Ok(see_other(&req, &format!("/orgs/{org}/api-keys")))
}
