//! `/api/v1/members`

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use crate::api::roles::{RoleTag, tags_of};
use crate::api::{ApiError, ApiKey, Body, Page, Paging, time};
use crate::domain::member_list::RoleFilter;
use crate::domain::{AccountId, MembershipStatus, OrgId, Permission};
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
    /// The custom roles the member holds, by name.
    pub roles: Vec<RoleTag>,
    /// active or inactive
    pub status: String,
    pub created_at: String,
    pub last_active_at: Option<String>,
}

impl Member {
    fn of(m: Membership, roles: Vec<RoleTag>) -> Member {
        Member {
            account_id: m.account_id.to_string(),
            email: m.email.to_string(),
            name: m.name,
            role: m.role.as_str().into(),
            roles,
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
    /// active or inactive (empty: either)
    #[param(pattern = "^(active|inactive)?$")]
    pub status: Option<String>,
    /// owner, admin, editor or viewer, or a custom role's id (empty: any)
    #[param(pattern = "^(owner|admin|editor|viewer|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})?$")]
    pub role: Option<String>,
}

fn account(raw: &str) -> Result<AccountId, ApiError> {
    raw.parse().map_err(|_| ApiError::not_found())
}

/// The organization's members, by email.
#[utoipa::path(get, path = "/api/v1/members", tag = "members", params(MemberFilter, Paging, ("cursor" = Option<String>, Query, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$", description = "The next_cursor of the previous page")),
    responses((status = 200, body = MemberList)),
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
        Some(r) => Some(
            RoleFilter::parse(r)
                .ok_or_else(|| ApiError::invalid_field("role", "Use owner, admin, editor, viewer or a custom role's id."))?,
        ),
    };
    let (org, after) = (key.org, paging.text_cursor()?);
    let (mut rows, tags) = state
        .run(move |db| {
            let rows = operations::members::page_by_email(db, org, status, role, after.as_deref(), limit + 1)?;
            // the custom roles of the page, in one query
            let accounts: Vec<AccountId> = rows.iter().take(limit as usize).map(|m| m.account_id).collect();
            let tags = operations::members::roles_of_members(db, org, &accounts)?;
            Ok::<_, operations::OpError>((rows, tags))
        })
        .await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = if more { rows.last().map(|m| m.email.to_string()) } else { None };
    let data = rows
        .into_iter()
        .map(|m| {
            let roles = tags_of(&m.account_id, &tags);
            Member::of(m, roles)
        })
        .collect();
    Ok(web::Json(Page { data, next_cursor }))
}

async fn load(state: &AppState, org: OrgId, account: AccountId) -> Result<Member, ApiError> {
    let (member, tags) = state
        .run(move |db| {
            let member = operations::members::get(db, org, account)?;
            Ok::<_, operations::OpError>((member, operations::members::roles_of_members(db, org, &[account])?))
        })
        .await?;
    Ok(Member::of(member, tags_of(&account, &tags)))
}

/// One member.
#[utoipa::path(get, path = "/api/v1/members/{account}", tag = "members", params(("account" = uuid::Uuid, Path, description = "Account id")),
    responses((status = 200, body = Member)),
    security(("api_key" = [])))]
pub async fn get(state: web::Data<AppState>, key: ApiKey, path: web::Path<String>) -> Result<web::Json<Member>, ApiError> {
    key.require(Permission::MembersRead)?;
    key.require_org_scope()?;
    Ok(web::Json(load(&state, key.org, account(&path)?).await?))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct MemberUpdate {
    /// admin, editor or viewer (owner only comes by transfer)
    #[schema(pattern = "^(admin|editor|viewer)$")]
    pub role: Option<String>,
    /// The complete list of custom role ids the member should hold ([] takes them all away);
    /// left out, the member keeps theirs
    #[schema(inline, value_type = Option<Vec<uuid::Uuid>>)]
    pub roles: Option<Vec<String>>,
    /// active or inactive
    #[schema(pattern = "^(active|inactive)$")]
    pub status: Option<String>,
}

/// Change a member's role, custom roles or status, all in one change. The owner cannot be
/// changed, and nobody gives or takes a custom role holding a permission they (or the key) do
/// not hold.
#[utoipa::path(patch, path = "/api/v1/members/{account}", tag = "members", params(("account" = uuid::Uuid, Path, description = "Account id")),
    request_body = MemberUpdate,
    responses((status = 200, body = Member),
        (status = 422, description = "The body does not match its schema, or a rule refuses it: a custom role is not one of the organization's", body = crate::api::error::ErrorBody)),
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
    if let Some(ids) = &body.roles {
        crate::api::roles::require_role_ids(ids)?;
    }
    let active = match body.status.as_deref() {
        None => None,
        Some("active") => Some(true),
        Some("inactive") => Some(false),
        Some(_) => return Err(ApiError::invalid_field("status", "Use active or inactive.")),
    };
    let (ctx, org) = (key.ctx.clone(), key.org);
    state
        .run(move |db| {
            let change =
                operations::members::Change { role: body.role.as_deref(), roles: body.roles.as_deref(), active, ..Default::default() };
            operations::members::update(db, &ctx, org, target, change)
        })
        .await?;
    Ok(web::Json(load(&state, org, target).await?))
}

/// Remove a member: the membership ends, the account stays.
#[utoipa::path(delete, path = "/api/v1/members/{account}", tag = "members", params(("account" = uuid::Uuid, Path, description = "Account id")),
    responses((status = 204, description = "Removed")),
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
