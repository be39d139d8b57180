//! Member actions: change role, deactivate, activate, remove.

use serde_json::json;

use crate::db::{Db, DbConn};
use crate::domain::policy::{self, Target};
use crate::domain::{AccountId, Invalid, MembershipStatus, OrgId, Permission, Role};
use crate::ops::access::{account_of, lock_and_authorize};
use crate::ops::{Ctx, OpError};
use crate::store::audit::NewEvent;
use crate::store::members::{self, Membership};
use crate::store::{self, audit};

fn target_of(conn: &mut DbConn, org: OrgId, account: AccountId) -> Result<Membership, OpError> {
    members::find(conn, org, account)?.ok_or(OpError::NotFound)
}

fn refuse(r: policy::Refusal) -> OpError {
    OpError::Forbidden(r.message().to_string())
}

pub fn parse_role(raw: &str) -> Result<Role, Invalid> {
    let role = Role::parse(raw.trim()).ok_or_else(|| Invalid::new("role", "Choose a role: Admin, Editor or Viewer."))?;
    policy::can_grant(role).map_err(|r| Invalid::new("role", r.message()))?;
    Ok(role)
}

fn change_role_in(conn: &mut DbConn, ctx: &Ctx, org: OrgId, target: AccountId, role: Role) -> Result<(), OpError> {
    let t = target_of(conn, org, target)?;
    policy::can_change_role(account_of(&ctx.actor), Target { account: target, role: t.role }, role).map_err(refuse)?;
    if t.role == role {
        return Ok(());
    }
    members::set_role(conn, org, target, role)?;
    audit::append(
        conn,
        org,
        &ctx.actor,
        &ctx.meta,
        NewEvent::new("member.role_changed")
            .target(t.name.clone())
            .target_email(t.email.to_string())
            .details(json!({ "old_role": t.role.as_str(), "new_role": role.as_str() })),
        store::now(),
    )?;
    Ok(())
}

fn set_active_in(conn: &mut DbConn, ctx: &Ctx, org: OrgId, target: AccountId, active: bool) -> Result<(), OpError> {
    let (status, action) = if active {
        (MembershipStatus::Active, "member.activated")
    } else {
        (MembershipStatus::Inactive, "member.deactivated")
    };
    let t = target_of(conn, org, target)?;
    policy::can_act_on(account_of(&ctx.actor), Target { account: target, role: t.role }).map_err(refuse)?;
    if t.status == status {
        return Ok(());
    }
    members::set_status(conn, org, target, status)?;
    audit::append(
        conn,
        org,
        &ctx.actor,
        &ctx.meta,
        NewEvent::new(action).target(t.name.clone()).target_email(t.email.to_string()).details(json!({ "role": t.role.as_str() })),
        store::now(),
    )?;
    Ok(())
}

pub fn change_role(db: &Db, ctx: &Ctx, org: OrgId, target: AccountId, raw_role: &str) -> Result<(), OpError> {
    update(db, ctx, org, target, Some(raw_role), None)
}

pub fn set_active(db: &Db, ctx: &Ctx, org: OrgId, target: AccountId, active: bool) -> Result<(), OpError> {
    update(db, ctx, org, target, None, Some(active))
}

/// Changes a member's role and/or status in one transaction: both or neither.
pub fn update(
    db: &Db,
    ctx: &Ctx,
    org: OrgId,
    target: AccountId,
    raw_role: Option<&str>,
    active: Option<bool>,
) -> Result<(), OpError> {
    let role = raw_role.map(parse_role).transpose()?;
    db.write(|conn| {
        lock_and_authorize(conn, org, &ctx.actor, Permission::MembersManage, None)?;
        if let Some(role) = role {
            change_role_in(conn, ctx, org, target, role)?;
        }
        if let Some(active) = active {
            set_active_in(conn, ctx, org, target, active)?;
        }
        // a member neither changed nor found is still not found
        target_of(conn, org, target).map(|_| ())
    })
}

/// Ends the membership after the typed confirmation; the account stays.
pub fn remove(db: &Db, ctx: &Ctx, org: OrgId, target: AccountId, confirm_email: &str) -> Result<(), OpError> {
    db.write(|conn| {
        lock_and_authorize(conn, org, &ctx.actor, Permission::MembersManage, None)?;
        let t = target_of(conn, org, target)?;
        policy::can_act_on(account_of(&ctx.actor), Target { account: target, role: t.role }).map_err(refuse)?;
        if !t.email.matches_typed(confirm_email) {
            return Err(Invalid::new("confirm_email", "Type the member's email address exactly to confirm.").into());
        }
        members::delete(conn, org, target)?;
        audit::append(
            conn,
            org,
            &ctx.actor,
            &ctx.meta,
            NewEvent::new("member.removed")
                .target(t.name.clone())
                .target_email(t.email.to_string())
                .details(json!({ "role": t.role.as_str(), "status": t.status.as_str() })),
            store::now(),
        )?;
        Ok(())
    })
}

/// A member of the organization, as the edit and remove dialogs show them.
pub fn member(db: &Db, org: OrgId, account: AccountId) -> Result<Membership, OpError> {
    target_of(&mut *db.conn()?, org, account)
}
