//! `/api/v1/members`

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use crate::api::{ApiError, ApiKey, Body, Page, Paging, time};
use crate::domain::{AccountId, MembershipStatus, Permission, Role};
use crate::operations;
use crate::operations::members::Membership;
use crate::operations::offboarding::Chosen;
use crate::app::AppState;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Member {
    pub account_id: String,
    pub email: String,
    pub name: String,
    /// owner, admin, editor or viewer
    pub role: String,
    /// active or inactive
    pub status: String,
    pub created_at: String,
    pub last_active_at: Option<String>,
}

impl From<Membership> for Member {
    fn from(m: Membership) -> Member {
        Member {
            account_id: m.account_id.to_string(),
            email: m.email.to_string(),
            name: m.name,
            role: m.role.as_str().into(),
            status: m.status.as_str().into(),
            created_at: time(m.created_at),
            last_active_at: m.last_active_at.map(time),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MemberList {
    pub data: Vec<Member>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MemberFilter {
    /// active or inactive
    pub status: Option<String>,
    /// owner, admin, editor or viewer
    pub role: Option<String>,
}

fn account(raw: &str) -> Result<AccountId, ApiError> {
    raw.parse().map_err(|_| ApiError::not_found())
}

/// The organization's members, by email.
#[utoipa::path(get, path = "/api/v1/members", tag = "members", params(MemberFilter, Paging),
    responses((status = 200, body = MemberList), (status = "4XX", body = crate::api::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn list(
    state: web::Data<AppState>,
    key: ApiKey,
    filter: web::Query<MemberFilter>,
    paging: web::Query<Paging>,
) -> Result<web::Json<Page<Member>>, ApiError> {
    key.require(Permission::MembersRead)?;
    key.require_org_scope()?;
    let limit = paging.limit()?;
    let status = match filter.status.as_deref() {
        None | Some("") => None,
        Some(s) => Some(MembershipStatus::parse(s).ok_or_else(|| ApiError::invalid_field("status", "Use active or inactive."))?),
    };
    let role = match filter.role.as_deref() {
        None | Some("") => None,
        Some(r) => Some(Role::parse(r).ok_or_else(|| ApiError::invalid_field("role", "Use owner, admin, editor or viewer."))?),
    };
    let (org, after) = (key.org, paging.cursor.clone());
    let mut rows = state
        .run(move |db| operations::members::page_by_email(db, org, status, role, after.as_deref(), limit + 1))
        .await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = if more { rows.last().map(|m| m.email.to_string()) } else { None };
    Ok(web::Json(Page { data: rows.into_iter().map(Member::from).collect(), next_cursor }))
}

async fn load(state: &AppState, key: &ApiKey, account: AccountId) -> Result<Member, ApiError> {
    let org = key.org;
    Ok(state.run(move |db| operations::members::get(db, org, account)).await?.into())
}

/// One member.
#[utoipa::path(get, path = "/api/v1/members/{account}", tag = "members", params(("account" = String, Path, description = "Account id")),
    responses((status = 200, body = Member), (status = "4XX", body = crate::api::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn get(state: web::Data<AppState>, key: ApiKey, path: web::Path<String>) -> Result<web::Json<Member>, ApiError> {
    key.require(Permission::MembersRead)?;
    key.require_org_scope()?;
    Ok(web::Json(load(&state, &key, account(&path)?).await?))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct MemberUpdate {
    /// admin, editor or viewer (owner only comes by transfer)
    pub role: Option<String>,
    /// active or inactive
    pub status: Option<String>,
}

/// Change a member's role or status. The owner cannot be changed.
#[utoipa::path(patch, path = "/api/v1/members/{account}", tag = "members", params(("account" = String, Path, description = "Account id")),
    request_body = MemberUpdate,
    responses((status = 200, body = Member), (status = "4XX", body = crate::api::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn update(
    state: web::Data<AppState>,
    key: ApiKey,
    path: web::Path<String>,
    body: Body<MemberUpdate>,
) -> Result<web::Json<Member>, ApiError> {
    key.require_org_scope()?;
    let target = account(&path)?;
    let body = body.0;
    let active = match body.status.as_deref() {
        None => None,
        Some("active") => Some(true),
        Some("inactive") => Some(false),
        Some(_) => return Err(ApiError::invalid_field("status", "Use active or inactive.")),
    };
    let (ctx, org) = (key.ctx.clone(), key.org);
    state.run(move |db| operations::members::update(db, &ctx, org, target, operations::members::Change { role: body.role.as_deref(), active, ..Default::default() })).await?;
    Ok(web::Json(load(&state, &key, target).await?))
}

/// Remove a member: the membership ends, the account stays.
#[utoipa::path(delete, path = "/api/v1/members/{account}", tag = "members", params(("account" = String, Path, description = "Account id")),
    responses((status = 204, description = "Removed"), (status = "4XX", body = crate::api::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn remove(state: web::Data<AppState>, key: ApiKey, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    key.require_org_scope()?;
    let target = account(&path)?;
    let (ctx, org) = (key.ctx.clone(), key.org);
    state
        .run(move |db| {
            // the console asks a person to type the email; a script names the member by id
            let member = operations::members::get(db, org, target)?;
            operations::members::remove(db, &ctx, org, target, member.email.as_str(), &Chosen::default())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
