//! Custom roles: define, change and delete them (`roles.manage`), give and take them
//! (`members.manage`), and the reads their pages need. Nobody handles a role holding a
//! permission they do not hold themselves.

use serde_json::json;

use crate::domain::custom_roles::{self, Definition};
use crate::domain::policy::{self, Target};
use crate::domain::{AccountId, Invalid, OrgId, Permission, PermissionSet, RoleId};
use crate::operations::access::{lock_and_authorize, permissions_of};
use crate::operations::{Ctx, OpError, all_valid};
use crate::storage::audit::NewEvent;
pub use crate::storage::roles::{CustomRole, RoleInvitation, RoleMember, RoleTag};
use crate::storage::{self, Db, DbConn, audit, members, roles};

pub(crate) fn refuse(r: policy::Refusal) -> OpError {
    OpError::Forbidden(r.message())
}

/// Role ids as a form or a body sends them (repeated `roles`); a malformed one is refused.
pub fn parse_ids<S: AsRef<str>>(raw: &[S]) -> Result<Vec<RoleId>, Invalid> {
    let mut ids = Vec::new();
    for r in raw.iter().map(AsRef::as_ref).map(str::trim).filter(|r| !r.is_empty()) {
        let id: RoleId = r.parse().map_err(|_| Invalid::new("roles", format!("{r:?} is not a role of this organization.")))?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(ids)
}

/// The organization's roles named by `ids`: every one must be the organization's own.
pub(crate) fn resolve(conn: &mut DbConn, org: OrgId, ids: &[RoleId]) -> Result<Vec<CustomRole>, OpError> {
    let found = roles::find_many(conn, org, ids)?;
    if found.len() != ids.len() {
        return Err(Invalid::new("roles", "One of the chosen roles is not a role of this organization (it may have been deleted).").into());
    }
    Ok(found)
}

/// Checks that whoever holds `held` may give or take each of `roles`.
pub(crate) fn may_handle_all(held: PermissionSet, roles: &[CustomRole]) -> Result<(), OpError> {
    roles.iter().try_for_each(|r| policy::can_handle_role(held, r.permissions).map_err(refuse))
}

pub(crate) fn names(roles: &[CustomRole]) -> Vec<String> {
    roles.iter().map(|r| r.name.clone()).collect()
}

fn name_taken() -> OpError {
    Invalid::new("name", "A role with this name already exists in this organization.").into()
}

fn parse<S: AsRef<str>>(name: &str, description: &str, permissions: &[S]) -> Result<Definition, OpError> {
    custom_roles::parse_definition(name, description, permissions).map_err(OpError::Invalid)
}

fn essential(set: PermissionSet) -> Vec<&'static str> {
    set.essential().map(Permission::as_str).collect()
}

pub fn create<S: AsRef<str>>(db: &Db, ctx: &Ctx, org: OrgId, name: &str, description: &str, permissions: &[S]) -> Result<CustomRole, OpError> {
    let def = parse(name, description, permissions)?;
    db.write(|conn| {
        let held = lock_and_authorize(conn, org, &ctx.actor, Permission::RolesManage, None)?;
        policy::can_handle_role(held, def.permissions).map_err(refuse)?;
        let now = storage::now();
        let role = CustomRole {
            id: RoleId::new(),
            org_id: org,
            name_key: custom_roles::name_key(&def.name),
            name: def.name,
            description: def.description,
            permissions: def.permissions,
            created_at: now,
            updated_at: now,
        };
        roles::insert(conn, &role).map_err(|e| if roles::is_name_taken(&e) { name_taken() } else { e.into() })?;
        let event = NewEvent::new("role.created")
            .target(role.name.clone())
            .details(json!({ "role_id": role.id, "permissions": essential(role.permissions) }));
        audit::append(conn, org, &ctx.actor, &ctx.meta, event, now)?;
        Ok(role)
    })
}

/// Changes a role's name, description and permissions; whoever holds it gains or loses what
/// changed at their next request.
pub fn update<S: AsRef<str>>(
    db: &Db,
    ctx: &Ctx,
    org: OrgId,
    id: RoleId,
    name: &str,
    description: &str,
    permissions: &[S],
) -> Result<CustomRole, OpError> {
    let def = parse(name, description, permissions)?;
    db.write(|conn| {
        let (held, old) = changeable_role(conn, ctx, org, id)?;
        replace(conn, ctx, held, old, def)
    })
}

/// What a partial change of a role asks for (the API's PATCH); None keeps that part as the
/// transaction finds it.
#[derive(Debug, Clone, Default)]
pub struct Amendment<'a> {
    pub name: Option<&'a str>,
    pub description: Option<&'a str>,
    pub permissions: Option<&'a [String]>,
}

/// Changes the parts of a role that `change` names, under the same rules as `update`; when
/// nothing differs, nothing is written or recorded.
pub fn amend(db: &Db, ctx: &Ctx, org: OrgId, id: RoleId, change: Amendment<'_>) -> Result<CustomRole, OpError> {
    let name = change.name.map(custom_roles::parse_role_name).transpose();
    let description = change.description.map(custom_roles::parse_description).transpose();
    let permissions = change.permissions.map(custom_roles::parse_permissions).transpose();
    all_valid([
        name.as_ref().map(|_| ()).map_err(Clone::clone),
        description.as_ref().map(|_| ()).map_err(Clone::clone),
        permissions.as_ref().map(|_| ()).map_err(Clone::clone),
    ])?;
    let (name, description, permissions) = (name?, description?, permissions?);
    db.write(|conn| {
        let (held, old) = changeable_role(conn, ctx, org, id)?;
        let def = Definition {
            name: name.unwrap_or_else(|| old.name.clone()),
            description: description.unwrap_or_else(|| old.description.clone()),
            permissions: permissions.unwrap_or(old.permissions),
        };
        // like a member change, a change that changes nothing records nothing
        if (def.name.as_str(), def.description.as_str(), def.permissions) == (old.name.as_str(), old.description.as_str(), old.permissions) {
            return Ok(old);
        }
        replace(conn, ctx, held, old, def)
    })
}

/// The role, read under the lock, after checking the actor may manage roles and holds every
/// permission of this one.
fn changeable_role(conn: &mut DbConn, ctx: &Ctx, org: OrgId, id: RoleId) -> Result<(PermissionSet, CustomRole), OpError> {
    let held = lock_and_authorize(conn, org, &ctx.actor, Permission::RolesManage, None)?;
    let old = roles::find(conn, org, id)?.ok_or(OpError::NotFound)?;
    policy::can_handle_role(held, old.permissions).map_err(refuse)?;
    Ok((held, old))
}

/// Writes the role's new definition and its `role.updated` event.
fn replace(conn: &mut DbConn, ctx: &Ctx, held: PermissionSet, old: CustomRole, def: Definition) -> Result<CustomRole, OpError> {
    policy::can_handle_role(held, def.permissions).map_err(refuse)?;
    let now = storage::now();
    let role = CustomRole {
        name_key: custom_roles::name_key(&def.name),
        name: def.name,
        description: def.description,
        permissions: def.permissions,
        updated_at: now,
        ..old.clone()
    };
    roles::update(conn, &role).map_err(|e| if roles::is_name_taken(&e) { name_taken() } else { e.into() })?;
    let added = essential(old.permissions.lacking(role.permissions));
    let removed = essential(role.permissions.lacking(old.permissions));
    let event = NewEvent::new("role.updated").target(role.name.clone()).details(json!({
        "role_id": role.id,
        "old_name": old.name,
        "permissions": essential(role.permissions),
        "added": added,
        "removed": removed,
    }));
    audit::append(conn, role.org_id, &ctx.actor, &ctx.meta, event, now)?;
    Ok(role)
}

/// Deletes a role after its name is typed; its members keep their base role and lose this
/// one in the same transaction, and pending invitations no longer give it.
pub fn delete(db: &Db, ctx: &Ctx, org: OrgId, id: RoleId, confirm_name: &str) -> Result<CustomRole, OpError> {
    db.write(|conn| {
        let held = lock_and_authorize(conn, org, &ctx.actor, Permission::RolesManage, None)?;
        let role = roles::find(conn, org, id)?.ok_or(OpError::NotFound)?;
        policy::can_handle_role(held, role.permissions).map_err(refuse)?;
        if custom_roles::name_key(confirm_name) != role.name_key {
            return Err(Invalid::new("confirm_name", "Type the role's name exactly to confirm.").into());
        }
        let holders = roles::holder_count(conn, id)?;
        roles::delete(conn, org, id)?;
        let event = NewEvent::new("role.deleted")
            .target(role.name.clone())
            .details(json!({ "role_id": role.id, "permissions": essential(role.permissions), "members": holders }));
        audit::append(conn, org, &ctx.actor, &ctx.meta, event, storage::now())?;
        Ok(role)
    })
}

/// Sets a member's custom roles to exactly `wanted`, inside the caller's transaction, after the
/// caller checked the member may be changed by the actor. Records `member.roles_changed` when
/// anything changed.
pub(crate) fn set_member_roles(
    conn: &mut DbConn,
    ctx: &Ctx,
    held: PermissionSet,
    target: &members::Membership,
    wanted: &[CustomRole],
) -> Result<bool, OpError> {
    let org = target.org_id;
    let current = roles::of_member(conn, org, target.account_id)?;
    let added: Vec<CustomRole> = wanted.iter().filter(|w| !current.iter().any(|c| c.id == w.id)).cloned().collect();
    let removed: Vec<CustomRole> = current.iter().filter(|c| !wanted.iter().any(|w| w.id == c.id)).cloned().collect();
    if added.is_empty() && removed.is_empty() {
        return Ok(false);
    }
    may_handle_all(held, &added)?;
    may_handle_all(held, &removed)?;
    roles::set_of_member(conn, org, target.account_id, &wanted.iter().map(|r| r.id).collect::<Vec<_>>())?;
    let now_held: Vec<String> = names(wanted);
    let event = NewEvent::new("member.roles_changed")
        .target(target.name.clone())
        .target_email(target.email.to_string())
        .details(json!({ "added": names(&added), "removed": names(&removed), "roles": now_held }));
    audit::append(conn, org, &ctx.actor, &ctx.meta, event, storage::now())?;
    Ok(true)
}

/// The member, read under the lock, after checking the actor may change them: not the owner,
/// not themselves, nobody holding more than the actor.
pub(crate) fn changeable_member(
    conn: &mut DbConn,
    ctx: &Ctx,
    held: PermissionSet,
    org: OrgId,
    account: AccountId,
) -> Result<(members::Membership, PermissionSet), OpError> {
    let member = members::find(conn, org, account)?.ok_or(OpError::NotFound)?;
    let permissions = permissions_of(conn, &member)?;
    policy::can_act_on(ctx.actor.account(), held, Target { account, role: member.role, permissions }).map_err(refuse)?;
    Ok((member, permissions))
}

/// Gives the role to a member (from the role's page).
pub fn add_member(db: &Db, ctx: &Ctx, org: OrgId, id: RoleId, raw_account: &str) -> Result<(CustomRole, String), OpError> {
    let account: AccountId =
        raw_account.trim().parse().map_err(|_| Invalid::new("account", "Choose a member of this organization."))?;
    db.write(|conn| {
        let held = lock_and_authorize(conn, org, &ctx.actor, Permission::MembersManage, None)?;
        let role = roles::find(conn, org, id)?.ok_or(OpError::NotFound)?;
        if members::find(conn, org, account)?.is_none() {
            return Err(Invalid::new("account", "Choose a member of this organization.").into());
        }
        let (member, _) = changeable_member(conn, ctx, held, org, account)?;
        let mut wanted = roles::of_member(conn, org, account)?;
        if wanted.iter().any(|r| r.id == id) {
            return Err(OpError::Conflict(format!("{} already holds the role {}.", member.email, role.name)));
        }
        wanted.push(role.clone());
        set_member_roles(conn, ctx, held, &member, &wanted)?;
        Ok((role, member.email.to_string()))
    })
}

/// Takes the role from a member (from the role's page).
pub fn remove_member(db: &Db, ctx: &Ctx, org: OrgId, id: RoleId, account: AccountId) -> Result<(CustomRole, String), OpError> {
    db.write(|conn| {
        let held = lock_and_authorize(conn, org, &ctx.actor, Permission::MembersManage, None)?;
        let role = roles::find(conn, org, id)?.ok_or(OpError::NotFound)?;
        let (member, _) = changeable_member(conn, ctx, held, org, account)?;
        let current = roles::of_member(conn, org, account)?;
        if !current.iter().any(|r| r.id == id) {
            return Err(OpError::NotFound);
        }
        let wanted: Vec<CustomRole> = current.into_iter().filter(|r| r.id != id).collect();
        set_member_roles(conn, ctx, held, &member, &wanted)?;
        Ok((role, member.email.to_string()))
    })
}

/// A custom role with how many members hold it.
#[derive(Debug, Clone)]
pub struct ListedRole {
    pub role: CustomRole,
    pub members: i64,
}

/// The organization's custom roles, by name, with their member counts.
pub fn list(db: &Db, org: OrgId) -> Result<Vec<ListedRole>, OpError> {
    let mut conn = db.conn()?;
    let counts = roles::member_counts(&mut conn, org)?;
    Ok(roles::all(&mut conn, org)?
        .into_iter()
        .map(|role| ListedRole { members: counts.iter().find(|(r, _)| *r == role.id).map_or(0, |(_, n)| *n), role })
        .collect())
}

/// How many members and invitations a role's page shows at most.
pub const DETAILS_LIMIT: i64 = 500;

/// A role's page: the role, its members, the pending invitations giving it, and the members
/// who could be given it.
pub struct Details {
    pub role: CustomRole,
    pub members: Vec<RoleMember>,
    pub invitations: Vec<RoleInvitation>,
    pub candidates: Vec<(AccountId, crate::domain::Email, String)>,
}

pub fn details(db: &Db, org: OrgId, id: RoleId) -> Result<Details, OpError> {
    let mut conn = db.conn()?;
    let role = roles::find(&mut conn, org, id)?.ok_or(OpError::NotFound)?;
    let members = roles::members_of(&mut conn, org, id, DETAILS_LIMIT)?;
    let invitations = roles::pending_invitations_of(&mut conn, id, DETAILS_LIMIT)?;
    let candidates = roles::members_without(&mut conn, org, id, DETAILS_LIMIT)?;
    Ok(Details { role, members, invitations, candidates })
}

pub fn get(db: &Db, org: OrgId, id: RoleId) -> Result<CustomRole, OpError> {
    roles::find(&mut *db.conn()?, org, id)?.ok_or(OpError::NotFound)
}

/// The custom roles a member holds.
pub fn of_member(db: &Db, org: OrgId, account: AccountId) -> Result<Vec<CustomRole>, OpError> {
    Ok(roles::of_member(&mut *db.conn()?, org, account)?)
}

/// A role with how many members hold it and the first `DETAILS_LIMIT` of them by email, for
/// the API.
pub fn with_members(db: &Db, org: OrgId, id: RoleId) -> Result<(ListedRole, Vec<RoleMember>), OpError> {
    let mut conn = db.conn()?;
    let role = roles::find(&mut conn, org, id)?.ok_or(OpError::NotFound)?;
    let holders = roles::members_of(&mut conn, org, id, DETAILS_LIMIT)?;
    let members = roles::member_count(&mut conn, id)?;
    Ok((ListedRole { role, members }, holders))
}

/// A role with how many members hold it, for the API's answer to a change.
pub fn listed(db: &Db, org: OrgId, id: RoleId) -> Result<ListedRole, OpError> {
    let mut conn = db.conn()?;
    let role = roles::find(&mut conn, org, id)?.ok_or(OpError::NotFound)?;
    let members = roles::member_count(&mut conn, id)?;
    Ok(ListedRole { role, members })
}
