//! Organizations: create, rename, require two-factor, transfer ownership, leave, delete.

use serde_json::json;

use crate::storage::{Db, DbConn};
use crate::domain::policy::{self, TransferRefusal};
use crate::domain::{AccountId, Invalid, MembershipStatus, OrgId, Permission, Role, names};
use crate::operations::access::lock_and_authorize;
use crate::operations::{Ctx, OpError};
use crate::storage::audit::NewEvent;
use crate::storage::members::NewMember;
use crate::storage::members::Membership;
use crate::storage::{self, accounts, audit, members, orgs};

/// Creates an organization owned by `owner`, inside the caller's transaction.
pub(crate) fn insert_owned_org(
    conn: &mut DbConn,
    ctx: &Ctx,
    owner: NewMember<'_>,
    name: &str,
) -> Result<OrgId, OpError> {
    let at = storage::now();
    let org = OrgId::new();
    orgs::insert(conn, org, name, at)?;
    members::insert(conn, org, owner, Role::Owner, at)?;
    audit::append(
        conn,
        org,
        &ctx.actor,
        &ctx.meta,
        NewEvent::new("org.created").target(name).details(json!({ "name": name })),
        at,
    )?;
    Ok(org)
}

/// Another organization for a signed-in account, which becomes its owner.
pub fn create(db: &Db, ctx: &Ctx, owner: AccountId, raw_name: &str) -> Result<OrgId, OpError> {
    let name = names::org_name("name", raw_name)?;
    db.write(|conn| {
        let account = accounts::find(conn, owner)?.ok_or(OpError::NotFound)?;
        let who = NewMember { account: owner, email: &account.email, name: &account.name };
        insert_owned_org(conn, ctx, who, &name)
    })
}

pub fn rename(db: &Db, ctx: &Ctx, org: OrgId, raw_name: &str) -> Result<(), OpError> {
    let name = names::org_name("name", raw_name)?;
    db.write(|conn| {
        lock_and_authorize(conn, org, &ctx.actor, Permission::OrgManage, None)?;
        let old = orgs::find(conn, org)?.ok_or(OpError::NotFound)?.name;
        if old == name {
            return Ok(());
        }
        orgs::rename(conn, org, &name)?;
        audit::append(
            conn,
            org,
            &ctx.actor,
            &ctx.meta,
            NewEvent::new("org.renamed").target(name.clone()).details(json!({ "old_name": old, "new_name": name })),
            storage::now(),
        )?;
        Ok(())
    })
}

/// Makes `to` the owner; the old owner becomes an admin.
pub fn transfer(db: &Db, ctx: &Ctx, org: OrgId, to_raw: &str) -> Result<String, OpError> {
    let to: AccountId =
        to_raw.trim().parse().map_err(|_| Invalid::new("account", "Choose the member who will become the owner."))?;
    db.write(|conn| {
        lock_and_authorize(conn, org, &ctx.actor, Permission::OrgOwner, None)?;
        let owner = ctx.actor.account().ok_or(OpError::Forbidden(String::new()))?;
        let target = members::find(conn, org, to)?;
        let active = target.as_ref().is_some_and(|m| m.status == MembershipStatus::Active);
        policy::can_transfer(owner, to, active).map_err(|r| match r {
            TransferRefusal::ToSelf => Invalid::new("account", "You are already the owner."),
            TransferRefusal::NotAnActiveMember => {
                Invalid::new("account", "Ownership can only go to an active member of this organization.")
            }
        })?;
        let target = target.ok_or(OpError::NotFound)?;
        // one owner at all times: the unique index allows no moment with two
        members::set_role(conn, org, owner, Role::Admin)?;
        members::set_role(conn, org, to, Role::Owner)?;
        let from_email = members::find(conn, org, owner)?.map(|m| m.email.to_string()).unwrap_or_default();
        audit::append(
            conn,
            org,
            &ctx.actor,
            &ctx.meta,
            NewEvent::new("org.ownership_transferred")
                .target(target.name.clone())
                .target_email(target.email.to_string())
                .details(json!({ "from": from_email, "to": target.email.as_str(), "previous_role": target.role.as_str() })),
            storage::now(),
        )?;
        Ok(target.email.to_string())
    })
}

/// The member leaves; the owner must transfer ownership first.
pub fn leave(db: &Db, ctx: &Ctx, org: OrgId, account: AccountId) -> Result<String, OpError> {
    db.write(|conn| {
        if !orgs::lock(conn, org)? {
            return Err(OpError::NotFound);
        }
        let me = members::find(conn, org, account)?.ok_or(OpError::NotFound)?;
        if !policy::can_leave(me.role) {
            return Err(OpError::Forbidden(
                "The owner cannot leave. Transfer ownership to another member first, or delete the organization.".into(),
            ));
        }
        members::delete(conn, org, account)?;
        audit::append(
            conn,
            org,
            &ctx.actor,
            &ctx.meta,
            NewEvent::new("member.left")
                .target(me.name.clone())
                .target_email(me.email.to_string())
                .details(json!({ "role": me.role.as_str() })),
            storage::now(),
        )?;
        Ok(orgs::find(conn, org)?.map(|o| o.name).unwrap_or_default())
    })
}

/// Requires two-factor of every member (`required`), or stops requiring it. Returns whether
/// anything changed (saving the setting as it is records nothing).
pub fn set_two_factor_required(db: &Db, ctx: &Ctx, org: OrgId, required: bool) -> Result<bool, OpError> {
    db.write(|conn| {
        lock_and_authorize(conn, org, &ctx.actor, Permission::OrgManage, None)?;
        let current = orgs::find(conn, org)?.ok_or(OpError::NotFound)?;
        if current.require_two_factor == required {
            return Ok(false);
        }
        orgs::set_require_two_factor(conn, org, required)?;
        let action = if required { "org.two_factor_required" } else { "org.two_factor_optional" };
        audit::append(
            conn,
            org,
            &ctx.actor,
            &ctx.meta,
            NewEvent::new(action).target(current.name).details(json!({ "require_two_factor": required })),
            storage::now(),
        )?;
        Ok(true)
    })
}

/// Deletes the organization and everything it holds (memberships, invitations, deployments,
/// keys, events) once its name is typed. Its events go with it, so the deletion itself is
/// recorded in the server log.
pub fn delete(db: &Db, ctx: &Ctx, org: OrgId, confirm_name: &str) -> Result<String, OpError> {
    let name = db.write(|conn| {
        lock_and_authorize(conn, org, &ctx.actor, Permission::OrgOwner, None)?;
        let current = orgs::find(conn, org)?.ok_or(OpError::NotFound)?;
        if confirm_name.trim() != current.name {
            return Err(OpError::from(Invalid::new("confirm_name", "Type the organization's name exactly to confirm.")));
        }
        orgs::delete(conn, org)?;
        Ok(current.name)
    })?;
    let actor = match &ctx.actor {
        crate::domain::Actor::Account { email, .. } => email.to_string(),
        other => other.kind().to_string(),
    };
    tracing::warn!(action = "org.deleted", org = %org, name = %name, actor = %actor, "organization deleted");
    Ok(name)
}

/// The organization's name, None once it is gone.
pub fn name(db: &Db, org: OrgId) -> Result<Option<String>, OpError> {
    Ok(orgs::find(&mut *db.conn()?, org)?.map(|o| o.name))
}

/// The active members ownership can go to: all but `except`, by email, at most `limit`.
pub fn transfer_candidates(db: &Db, org: OrgId, except: AccountId, limit: i64) -> Result<Vec<Membership>, OpError> {
    Ok(members::active_others(&mut *db.conn()?, org, except, limit)?)
}
