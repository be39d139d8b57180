//! `/api/v1/roles`: the organization's custom roles.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use crate::api::{ApiError, ApiKey, Body, time};
use crate::domain::{OrgId, Permission, PermissionSet, RoleId};
use crate::operations::{self};
use crate::operations::roles::{Amendment, ListedRole, RoleMember};
use crate::app::AppState;

/// A custom role. The built-in roles (owner, admin, editor, viewer) are not among them: they
/// are fixed, and a member's `role` names theirs.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Role {
    pub id: String,
    pub name: String,
    pub description: String,
    /// Permission names, in the order of the permission reference: deployments.read,
    /// deployments.write, audit.view, audit.read, members.read, members.invite, members.manage,
    /// roles.manage, api_keys.read, api_keys.manage, org.manage. A broader one stands for the
    /// finer one it includes (members.manage for members.invite, audit.read for audit.view,
    /// api_keys.manage for api_keys.read).
    pub permissions: Vec<String>,
    /// How many members hold the role.
    pub members: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl From<ListedRole> for Role {
    fn from(l: ListedRole) -> Role {
        let r = l.role;
        Role {
            id: r.id.to_string(),
            name: r.name,
            description: r.description,
            permissions: permission_names(r.permissions),
            members: l.members,
            created_at: time(r.created_at),
            updated_at: time(r.updated_at),
        }
    }
}

fn permission_names(set: PermissionSet) -> Vec<String> {
    set.essential().map(|p| p.as_str().to_string()).collect()
}

/// Every custom role of the organization, by name: not paged.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RoleList {
    pub data: Vec<Role>,
    /// Always null: the list comes whole.
    pub next_cursor: Option<String>,
}

/// A member holding the role.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RoleHolder {
    pub account_id: String,
    pub email: String,
}

impl From<RoleMember> for RoleHolder {
    fn from(m: RoleMember) -> RoleHolder {
        RoleHolder { account_id: m.account_id.to_string(), email: m.email.to_string() }
    }
}

/// One custom role and who holds it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RoleDetail {
    #[serde(flatten)]
    pub role: Role,
    /// The members holding the role, by email: the first 500 (`members` counts them all).
    pub held_by: Vec<RoleHolder>,
}

/// A custom role as a member or an invitation shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RoleTag {
    pub id: String,
    pub name: String,
}

impl From<operations::roles::RoleTag> for RoleTag {
    fn from(t: operations::roles::RoleTag) -> RoleTag {
        RoleTag { id: t.id.to_string(), name: t.name }
    }
}

/// The tags of `key` among `(owner, tag)` pairs, in their order (by name).
pub fn tags_of<K: PartialEq>(key: &K, all: &[(K, operations::roles::RoleTag)]) -> Vec<RoleTag> {
    all.iter().filter(|(k, _)| k == key).map(|(_, t)| RoleTag::from(t.clone())).collect()
}

fn role_id(raw: &str) -> Result<RoleId, ApiError> {
    raw.parse().map_err(|_| ApiError::not_found())
}

async fn load(state: &AppState, org: OrgId, id: RoleId) -> Result<Role, ApiError> {
    Ok(state.run(move |db| operations::roles::listed(db, org, id)).await?.into())
}

/// The organization's custom roles, by name. The built-in roles are not listed: they are
/// fixed, and a member's or an invitation's `role` names theirs.
#[utoipa::path(get, path = "/api/v1/roles", tag = "roles",
    responses((status = 200, body = RoleList)),
    security(("api_key" = [])))]
pub async fn list(state: web::Data<AppState>, key: ApiKey) -> Result<web::Json<RoleList>, ApiError> {
    key.require(Permission::MembersRead)?;
    key.require_org_scope()?;
    let org = key.org;
    let roles = state.run(move |db| operations::roles::list(db, org)).await?;
    Ok(web::Json(RoleList { data: roles.into_iter().map(Role::from).collect(), next_cursor: None }))
}

/// Custom role ids as the API takes them: each a UUID (whether the organization has the role is
/// the operation's to say).
pub fn require_role_ids(ids: &[String]) -> Result<(), ApiError> {
    match ids.iter().find(|id| id.parse::<uuid::Uuid>().is_err()) {
        Some(bad) => Err(ApiError::invalid_field("roles", &format!("{bad:?} is not a role id."))),
        None => Ok(()),
    }
}

/// A permission a custom role can hold (every one but org.owner), as the document names it.
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, pattern = r"^(deployments\.read|deployments\.write|audit\.view|audit\.read|members\.read|members\.invite|members\.manage|roles\.manage|api_keys\.read|api_keys\.manage|org\.manage)$")]
pub struct PermissionName(#[allow(dead_code)] String);

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct NewRole {
    /// 1 to 60 characters, unique in the organization (in any case), never a built-in role's.
    #[schema(required = true, min_length = 1, max_length = 60, pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$")]
    pub name: String,
    /// At most 300 characters.
    #[schema(max_length = 300, pattern = r"^[^\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f]*$")]
    pub description: String,
    /// Permission names, at least one; never org.owner.
    #[schema(required = true, min_items = 1, value_type = Vec<PermissionName>)]
    pub permissions: Vec<String>,
}

/// Create a custom role. Nobody creates a role holding a permission they (or the key) do not
/// hold.
#[utoipa::path(post, path = "/api/v1/roles", tag = "roles", request_body = NewRole,
    responses((status = 201, body = Role),
        (status = 422, description = "The body does not match its schema, or a rule refuses it: the name is taken in the organization (in any case) or is a built-in role's", body = crate::api::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn create(state: web::Data<AppState>, key: ApiKey, body: Body<NewRole>) -> Result<HttpResponse, ApiError> {
    key.require(Permission::RolesManage)?;
    key.require_org_scope()?;
    let body = body.0;
    let (ctx, org) = (key.ctx.clone(), key.org);
    let created =
        state.run(move |db| operations::roles::create(db, &ctx, org, &body.name, &body.description, &body.permissions)).await?;
    Ok(HttpResponse::Created().json(load(&state, org, created.id).await?))
}

/// One custom role, with the members holding it.
#[utoipa::path(get, path = "/api/v1/roles/{role}", tag = "roles", params(("role" = uuid::Uuid, Path, description = "Role id")),
    responses((status = 200, body = RoleDetail)),
    security(("api_key" = [])))]
pub async fn get(state: web::Data<AppState>, key: ApiKey, path: web::Path<String>) -> Result<web::Json<RoleDetail>, ApiError> {
    key.require(Permission::MembersRead)?;
    key.require_org_scope()?;
    let (org, id) = (key.org, role_id(&path)?);
    let (role, holders) = state.run(move |db| operations::roles::with_members(db, org, id)).await?;
    Ok(web::Json(RoleDetail { role: role.into(), held_by: holders.into_iter().map(RoleHolder::from).collect() }))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct RoleUpdate {
    /// 1 to 60 characters, unique in the organization, never a built-in role's.
    #[schema(min_length = 1, max_length = 60, pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$")]
    pub name: Option<String>,
    /// At most 300 characters.
    #[schema(max_length = 300, pattern = r"^[^\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f]*$")]
    pub description: Option<String>,
    /// The complete list of permission names, at least one; never org.owner.
    #[schema(min_items = 1, value_type = Option<Vec<PermissionName>>)]
    pub permissions: Option<Vec<String>>,
}

/// Change a custom role's name, description or permissions; a field left out keeps its value.
/// Whoever holds the role gains or loses what changed at their next request.
#[utoipa::path(patch, path = "/api/v1/roles/{role}", tag = "roles", params(("role" = uuid::Uuid, Path, description = "Role id")),
    request_body = RoleUpdate,
    responses((status = 200, body = Role),
        (status = 422, description = "The body does not match its schema, or a rule refuses it: the name is taken in the organization (in any case) or is a built-in role's", body = crate::api::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn update(
    state: web::Data<AppState>,
    key: ApiKey,
    path: web::Path<String>,
    body: Body<RoleUpdate>,
) -> Result<web::Json<Role>, ApiError> {
    key.require(Permission::RolesManage)?;
    key.require_org_scope()?;
    let id = role_id(&path)?;
    let body = body.0;
    let (ctx, org) = (key.ctx.clone(), key.org);
    state
        .run(move |db| {
            let change = Amendment {
                name: body.name.as_deref(),
                description: body.description.as_deref(),
                permissions: body.permissions.as_deref(),
            };
            operations::roles::amend(db, &ctx, org, id, change)
        })
        .await?;
    Ok(web::Json(load(&state, org, id).await?))
}

/// Delete a custom role. Its members keep their built-in role and lose this one; pending
/// invitations no longer give it.
#[utoipa::path(delete, path = "/api/v1/roles/{role}", tag = "roles", params(("role" = uuid::Uuid, Path, description = "Role id")),
    responses((status = 204, description = "Deleted")),
    security(("api_key" = [])))]
pub async fn delete(state: web::Data<AppState>, key: ApiKey, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    key.require(Permission::RolesManage)?;
    key.require_org_scope()?;
    let id = role_id(&path)?;
    let (ctx, org) = (key.ctx.clone(), key.org);
    state
        .run(move |db| {
            // the console asks a person to type the role's name; a script names the role by id
            let role = operations::roles::get(db, org, id)?;
            operations::roles::delete(db, &ctx, org, id, &role.name)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
