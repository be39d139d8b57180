//! Member actions: change role, deactivate, activate, remove.

use serde_json::json;

use crate::domain::policy::{self, Target};
use crate::domain::{AccountId, Actor, Invalid, MembershipStatus, OrgId, Permission, Role};
use crate::operations::access::lock_and_authorize;
use crate::operations::offboarding::{self, Chosen};
use crate::operations::{Ctx, OpError};
use crate::storage::audit::NewEvent;
pub use crate::storage::member_list::{Query as ListQuery, Row as ListRow};
pub use crate::storage::members::Membership;
use crate::storage::{member_list, members};
use crate::storage::{self, Db, DbConn, audit};

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

/// Changes a member's role and/or status in one transaction: both or neither. The member is
/// read once, after the authorization, and every rule is checked against that one reading.
/// The keys and invitations `chosen` of what they leave behind go in the same transaction.
pub fn update(
    db: &Db,
    ctx: &Ctx,
    org: OrgId,
    target: AccountId,
    raw_role: Option<&str>,
    active: Option<bool>,
    chosen: &Chosen,
) -> Result<(), OpError> {
    let role = raw_role.map(parse_role).transpose()?;
    db.write(|conn| {
        lock_and_authorize(conn, org, &ctx.actor, Permission::MembersManage, None)?;
        let t = target_of(conn, org, target)?;
        policy::can_act_on(ctx.actor.account(), Target { account: target, role: t.role }).map_err(refuse)?;
        let now = storage::now();
        let leftovers = offboarding::resolve(conn, ctx, org, &t, chosen, now)?;
        if let Some(role) = role.filter(|r| *r != t.role) {
            members::set_role(conn, org, target, role)?;
            let event = NewEvent::new("member.role_changed")
                .target(t.name.clone())
                .target_email(t.email.to_string())
                .details(json!({ "old_role": t.role.as_str(), "new_role": role.as_str() }));
            audit::append(conn, org, &ctx.actor, &ctx.meta, event, now)?;
        }
        let status = active.map(|a| if a { MembershipStatus::Active } else { MembershipStatus::Inactive });
        if let Some(status) = status.filter(|s| *s != t.status) {
            members::set_status(conn, org, target, status)?;
            let action = match status {
                MembershipStatus::Active => "member.activated",
                MembershipStatus::Inactive => "member.deactivated",
            };
            let event = NewEvent::new(action)
                .target(t.name.clone())
                .target_email(t.email.to_string())
                .details(json!({ "role": role.unwrap_or(t.role).as_str() }));
            audit::append(conn, org, &ctx.actor, &ctx.meta, event, now)?;
        }
        offboarding::clear(conn, ctx, org, &leftovers, now)?;
        Ok(())
    })
}

pub fn change_role(db: &Db, ctx: &Ctx, org: OrgId, target: AccountId, raw_role: &str) -> Result<(), OpError> {
    update(db, ctx, org, target, Some(raw_role), None, &Chosen::default())
}

pub fn set_active(db: &Db, ctx: &Ctx, org: OrgId, target: AccountId, active: bool) -> Result<(), OpError> {
    update(db, ctx, org, target, None, Some(active), &Chosen::default())
}

/// Deactivates a member, revoking and cancelling the keys and invitations `chosen` of what
/// they leave behind in the same transaction.
pub fn deactivate(db: &Db, ctx: &Ctx, org: OrgId, target: AccountId, chosen: &Chosen) -> Result<(), OpError> {
    update(db, ctx, org, target, None, Some(false), chosen)
}

/// Ends the membership after the typed confirmation; the account stays. The keys and
/// invitations `chosen` of what they leave behind go in the same transaction.
pub fn remove(db: &Db, ctx: &Ctx, org: OrgId, target: AccountId, confirm_email: &str, chosen: &Chosen) -> Result<(), OpError> {
    db.write(|conn| {
        lock_and_authorize(conn, org, &ctx.actor, Permission::MembersManage, None)?;
        let t = target_of(conn, org, target)?;
        policy::can_act_on(ctx.actor.account(), Target { account: target, role: t.role }).map_err(refuse)?;
        if !t.email.matches_typed(confirm_email) {
            return Err(Invalid::new("confirm_email", "Type the member's email address exactly to confirm.").into());
        }
        let now = storage::now();
        let leftovers = offboarding::resolve(conn, ctx, org, &t, chosen, now)?;
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
            now,
        )?;
        offboarding::clear(conn, ctx, org, &leftovers, now)?;
        Ok(())
    })
}

/// A member the actor may act on (change, deactivate, remove), as the dialogs show them: the
/// page's own check, before the change checks again inside its transaction.
pub fn actionable(db: &Db, actor: &Actor, org: OrgId, account: AccountId) -> Result<Membership, OpError> {
    let member = target_of(&mut *db.conn()?, org, account)?;
    policy::can_act_on(actor.account(), Target { account, role: member.role }).map_err(refuse)?;
    Ok(member)
}

/// One page of the member list (members and their pending or expired invitations) and the
/// number of rows matching the query.
pub fn list(db: &Db, org: OrgId, query: &ListQuery) -> Result<(Vec<ListRow>, i64), OpError> {
    let mut conn = db.conn()?;
    let now = storage::now();
    Ok((member_list::page(&mut conn, org, query, now)?, member_list::count(&mut conn, org, query, now)?))
}

/// Members by email after `after` (a keyset cursor), for the API.
pub fn page_by_email(
    db: &Db,
    org: OrgId,
    status: Option<MembershipStatus>,
    role: Option<Role>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Membership>, OpError> {
    Ok(members::page_by_email(&mut *db.conn()?, org, status, role, after, limit)?)
}

/// A member of the organization, for the API.
pub fn get(db: &Db, org: OrgId, account: AccountId) -> Result<Membership, OpError> {
    target_of(&mut *db.conn()?, org, account)
}
