//! `/api/v1/deployments`

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use crate::api::{ApiError, ApiKey, Body, Page, Paging, time};
use crate::domain::ids::DeploymentId;
use crate::domain::{OrgId, Permission};
use crate::operations::{self};
use crate::operations::deployments::DeploymentListRow;
use crate::app::AppState;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Deployment {
    pub id: String,
    pub name: String,
    /// us-east-1, us-west-2, eu-west-1, eu-central-1, ap-southeast-1 or ap-northeast-1
    pub region: String,
    pub created_at: String,
    pub updated_at: String,
    /// The creator's email (none when an API key created it, or the account is gone).
    pub created_by: Option<String>,
}

impl From<DeploymentListRow> for Deployment {
    fn from(r: DeploymentListRow) -> Deployment {
        let d = r.deployment;
        Deployment {
            id: d.id.to_string(),
            name: d.name,
            region: d.region,
            created_at: time(d.created_at),
            updated_at: time(d.updated_at),
            created_by: r.created_by_email,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeploymentList {
    pub data: Vec<Deployment>,
    pub next_cursor: Option<String>,
}

fn deployment_id(raw: &str) -> Result<DeploymentId, ApiError> {
    raw.parse().map_err(|_| ApiError::not_found())
}

async fn load(state: &AppState, org: OrgId, id: DeploymentId) -> Result<Deployment, ApiError> {
    let row = state.run(move |db| operations::deployments::listed(db, org, id)).await?;
    row.map(Deployment::from).ok_or_else(ApiError::not_found)
}

/// The deployments the key reaches, by name.
#[utoipa::path(get, path = "/api/v1/deployments", tag = "deployments", params(Paging, ("cursor" = Option<String>, Query, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$", description = "The next_cursor of the previous page")),
    responses((status = 200, body = DeploymentList)),
    security(("api_key" = [])))]
pub async fn list(state: web::Data<AppState>, key: ApiKey, paging: web::Query<Paging>) -> Result<web::Json<Page<Deployment>>, ApiError> {
    key.require(Permission::DeploymentsRead)?;
    let limit = paging.limit()?;
    let within = (!key.key.key.all_deployments()).then(|| key.key.deployments.clone());
    let (org, after) = (key.org, paging.text_cursor()?);
    let mut rows = state
        .run(move |db| operations::deployments::page_by_name(db, org, within.as_deref(), after.as_deref(), limit + 1))
        .await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = if more { rows.last().map(|r| r.deployment.name.clone()) } else { None };
    Ok(web::Json(Page { data: rows.into_iter().map(Deployment::from).collect(), next_cursor }))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct NewDeployment {
    /// Lowercase letters, digits and hyphens, starting with a letter; at most 63.
    #[schema(required = true, pattern = "^[a-z][a-z0-9-]{0,62}$")]
    pub name: String,
    #[schema(required = true, pattern = "^(us-east-1|us-west-2|eu-west-1|eu-central-1|ap-southeast-1|ap-northeast-1)$")]
    pub region: String,
}

/// Create a deployment.
#[utoipa::path(post, path = "/api/v1/deployments", tag = "deployments", request_body = NewDeployment,
    responses((status = 201, body = Deployment),
        (status = 422, description = "The body does not match its schema, or a rule refuses it: the organization has a deployment of this name", body = crate::api::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn create(state: web::Data<AppState>, key: ApiKey, body: Body<NewDeployment>) -> Result<HttpResponse, ApiError> {
    if !key.key.key.all_deployments() {
        return Err(ApiError::forbidden("This API key is scoped to selected deployments; it cannot create new ones."));
    }
    let body = body.0;
    let input = operations::deployments::CreateInput { name: body.name, region: body.region };
    let (ctx, org) = (key.ctx.clone(), key.org);
    let created = state.run(move |db| operations::deployments::create(db, &ctx, org, &input)).await?;
    Ok(HttpResponse::Created().json(load(&state, org, created.id).await?))
}

/// One deployment.
#[utoipa::path(get, path = "/api/v1/deployments/{id}", tag = "deployments", params(("id" = uuid::Uuid, Path, description = "Deployment id")),
    responses((status = 200, body = Deployment)),
    security(("api_key" = [])))]
pub async fn get(state: web::Data<AppState>, key: ApiKey, path: web::Path<String>) -> Result<web::Json<Deployment>, ApiError> {
    let id = deployment_id(&path)?;
    let found = load(&state, key.org, id).await?;
    key.require(Permission::DeploymentsRead)?;
    key.require_deployment(id)?;
    Ok(web::Json(found))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct DeploymentUpdate {
    /// Lowercase letters, digits and hyphens, starting with a letter; at most 63.
    #[schema(required = true, pattern = "^[a-z][a-z0-9-]{0,62}$")]
    pub name: String,
}

/// Rename a deployment.
#[utoipa::path(patch, path = "/api/v1/deployments/{id}", tag = "deployments", params(("id" = uuid::Uuid, Path, description = "Deployment id")),
    request_body = DeploymentUpdate,
    responses((status = 200, body = Deployment),
        (status = 422, description = "The body does not match its schema, or a rule refuses it: the organization has another deployment of this name", body = crate::api::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn update(
    state: web::Data<AppState>,
    key: ApiKey,
    path: web::Path<String>,
    body: Body<DeploymentUpdate>,
) -> Result<web::Json<Deployment>, ApiError> {
    let id = deployment_id(&path)?;
    load(&state, key.org, id).await?;
    key.require_deployment(id)?;
    let (ctx, org, name) = (key.ctx.clone(), key.org, body.0.name);
    state.run(move |db| operations::deployments::rename(db, &ctx, org, id, &name)).await?;
    Ok(web::Json(load(&state, org, id).await?))
}

/// Delete a deployment.
#[utoipa::path(delete, path = "/api/v1/deployments/{id}", tag = "deployments", params(("id" = uuid::Uuid, Path, description = "Deployment id")),
    responses((status = 204, description = "Deleted")),
    security(("api_key" = [])))]
pub async fn delete(state: web::Data<AppState>, key: ApiKey, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = deployment_id(&path)?;
    load(&state, key.org, id).await?;
    key.require_deployment(id)?;
    let (ctx, org) = (key.ctx.clone(), key.org);
    state.run(move |db| operations::deployments::delete(db, &ctx, org, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}
