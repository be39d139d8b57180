//! Member actions: change role, deactivate, activate, remove.

use serde_json::json;

use crate::domain::policy::{self, Target};
use crate::domain::{AccountId, Actor, Invalid, MembershipStatus, OrgId, Permission, PermissionSet, Role};
use crate::operations::access::{lock_and_authorize, permissions_of};
use crate::operations::offboarding::{self, Chosen};
use crate::operations::roles::{self, CustomRole, refuse};
use crate::operations::{Ctx, OpError, all_valid};
use crate::storage::audit::NewEvent;
pub use crate::storage::member_list::{Query as ListQuery, Row as ListRow};
pub use crate::storage::members::Membership;
use crate::domain::member_list::RoleFilter;
pub use crate::storage::roles::RoleTag;
use crate::storage::roles as role_rows;
use crate::storage::{member_list, members};
use crate::storage::{self, Db, DbConn, audit};

fn target_of(conn: &mut DbConn, org: OrgId, account: AccountId) -> Result<Membership, OpError> {
    members::find(conn, org, account)?.ok_or(OpError::NotFound)
}

/// A base role as a form or a body names it: `admin`, `editor` or `viewer`.
pub fn parse_role(raw: &str) -> Result<Role, Invalid> {
    let role = Role::parse(raw.trim()).ok_or_else(|| Invalid::new("role", "Choose a role: Admin, Editor or Viewer."))?;
    if role == Role::Owner {
        return Err(Invalid::new("role", policy::Refusal::OwnerOnlyByTransfer.message()));
    }
    Ok(role)
}

/// What a member change asks for; None leaves that part as it is.
#[derive(Debug, Clone, Default)]
pub struct Change<'a> {
    pub role: Option<&'a str>,
    /// The complete list of custom roles the member should hold.
    pub roles: Option<&'a [String]>,
    pub active: Option<bool>,
    /// The keys to revoke and invitations to cancel of what the member leaves behind.
    pub leftovers: Option<&'a Chosen>,
}

/// Changes a member's base role, custom roles and/or status in one transaction: all or
/// nothing. The member is read once, after the authorization, and every rule is checked
/// against that one reading. The keys and invitations chosen of what they leave behind go in
/// the same transaction.
pub fn update(db: &Db, ctx: &Ctx, org: OrgId, target: AccountId, change: Change<'_>) -> Result<(), OpError> {
    let role = change.role.map(parse_role).transpose();
    let role_ids = change.roles.map(roles::parse_ids).transpose();
    all_valid([role.as_ref().map(|_| ()).map_err(Clone::clone), role_ids.as_ref().map(|_| ()).map_err(Clone::clone)])?;
    let (role, role_ids) = (role?, role_ids?);
    let none = Chosen::default();
    let chosen = change.leftovers.unwrap_or(&none);
    db.write(|conn| {
        let held = lock_and_authorize(conn, org, &ctx.actor, Permission::MembersManage, None)?;
        let (t, _) = roles::changeable_member(conn, ctx, held, org, target)?;
        let wanted = role_ids.as_deref().map(|ids| roles::resolve(conn, org, ids)).transpose()?;
        let now = storage::now();
        let leftovers = offboarding::resolve(conn, ctx, org, &t, chosen, now)?;
        if let Some(role) = role.filter(|r| *r != t.role) {
            policy::can_grant(held, role).map_err(refuse)?;
            members::set_role(conn, org, target, role)?;
            let event = NewEvent::new("member.role_changed")
                .target(t.name.clone())
                .target_email(t.email.to_string())
                .details(json!({ "old_role": t.role.as_str(), "new_role": role.as_str() }));
            audit::append(conn, org, &ctx.actor, &ctx.meta, event, now)?;
        }
        if let Some(wanted) = wanted {
            roles::set_member_roles(conn, ctx, held, &t, &wanted)?;
        }
        let status = change.active.map(|a| if a { MembershipStatus::Active } else { MembershipStatus::Inactive });
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
    update(db, ctx, org, target, Change { role: Some(raw_role), ..Change::default() })
}

pub fn set_active(db: &Db, ctx: &Ctx, org: OrgId, target: AccountId, active: bool) -> Result<(), OpError> {
    update(db, ctx, org, target, Change { active: Some(active), ..Change::default() })
}

/// Deactivates a member, revoking and cancelling the keys and invitations `chosen` of what
/// they leave behind in the same transaction.
pub fn deactivate(db: &Db, ctx: &Ctx, org: OrgId, target: AccountId, chosen: &Chosen) -> Result<(), OpError> {
    update(db, ctx, org, target, Change { active: Some(false), leftovers: Some(chosen), ..Change::default() })
}

/// Ends the membership after the typed confirmation; the account stays, and so do its custom
/// roles' definitions (the member simply no longer holds them). The keys and invitations
/// `chosen` of what they leave behind go in the same transaction.
pub fn remove(db: &Db, ctx: &Ctx, org: OrgId, target: AccountId, confirm_email: &str, chosen: &Chosen) -> Result<(), OpError> {
    db.write(|conn| {
        let held = lock_and_authorize(conn, org, &ctx.actor, Permission::MembersManage, None)?;
        let (t, _) = roles::changeable_member(conn, ctx, held, org, target)?;
        if !t.email.matches_typed(confirm_email) {
            return Err(Invalid::new("confirm_email", "Type the member's email address exactly to confirm.").into());
        }
        let held_roles = roles::names(&crate::storage::roles::of_member(conn, org, target)?);
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
                .details(json!({ "role": t.role.as_str(), "roles": held_roles, "status": t.status.as_str() })),
            now,
        )?;
        offboarding::clear(conn, ctx, org, &leftovers, now)?;
        Ok(())
    })
}

/// A member the actor may act on (change, deactivate, remove), as the dialogs show them, with
/// their custom roles: the page's own check, before the change checks again inside its
/// transaction. `held` is what the actor may do.
pub fn actionable(db: &Db, actor: &Actor, held: PermissionSet, org: OrgId, account: AccountId) -> Result<(Membership, Vec<CustomRole>), OpError> {
    let mut conn = db.conn()?;
    let member = target_of(&mut conn, org, account)?;
    let permissions = permissions_of(&mut conn, &member)?;
    policy::can_act_on(actor.account(), held, Target { account, role: member.role, permissions }).map_err(refuse)?;
    let custom = crate::storage::roles::of_member(&mut conn, org, account)?;
    Ok((member, custom))
}

/// One page of the member list with the custom roles of its rows.
pub struct ListPage {
    /// Each row with its custom roles, by name.
    pub rows: Vec<(ListRow, Vec<RoleTag>)>,
    /// Rows matching the query, paging ignored.
    pub total: i64,
    /// Every custom role of the organization, for the role filter.
    pub custom_roles: Vec<RoleTag>,
}

/// One page of the member list (members and their pending or expired invitations), the number
/// of rows matching the query, and the custom roles of what the page shows. An organization
/// without custom roles pays one indexed read for them.
pub fn list(db: &Db, org: OrgId, query: &ListQuery) -> Result<ListPage, OpError> {
    let mut conn = db.conn()?;
    let now = storage::now();
    // counted first: with a search, the count says how the page's rows are best found
    let counted = member_list::count(&mut conn, org, query, now)?;
    let rows = member_list::page(&mut conn, org, query, now, &counted, db.list_anchors())?;
    let total = counted.rows();
    let custom_roles = role_rows::tags(&mut conn, org)?;
    let rows = with_role_tags(rows, &custom_roles);
    Ok(ListPage { rows, total, custom_roles })
}

/// Each row with the custom roles it holds, in the order of `custom_roles` (the organization's,
/// by name).
pub(crate) fn with_role_tags(rows: Vec<ListRow>, custom_roles: &[RoleTag]) -> Vec<(ListRow, Vec<RoleTag>)> {
    let ids: Vec<String> = custom_roles.iter().map(|t| t.id.to_string()).collect();
    rows.into_iter()
        .map(|r| {
            let held: Vec<RoleTag> = custom_roles
                .iter()
                .zip(&ids)
                .filter(|(_, id)| r.custom_role_ids().any(|h| h == id.as_str()))
                .map(|(t, _)| t.clone())
                .collect();
            (r, held)
        })
        .collect()
}

/// The organization's custom roles, by name, for menus and forms.
pub fn custom_roles(db: &Db, org: OrgId) -> Result<Vec<RoleTag>, OpError> {
    Ok(role_rows::tags(&mut *db.conn()?, org)?)
}

/// Members by email after `after` (a keyset cursor), for the API; `role` is a base role or a
/// custom role's id.
pub fn page_by_email(
    db: &Db,
    org: OrgId,
    status: Option<MembershipStatus>,
    role: Option<RoleFilter>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Membership>, OpError> {
    Ok(members::page_by_email(&mut *db.conn()?, org, status, role, after, limit)?)
}

/// The custom roles of these members (a page of the API's list), by name, in one query.
pub fn roles_of_members(db: &Db, org: OrgId, accounts: &[AccountId]) -> Result<Vec<(AccountId, RoleTag)>, OpError> {
    Ok(role_rows::tags_of_members(&mut *db.conn()?, org, accounts)?)
}

/// A member of the organization, for the API.
pub fn get(db: &Db, org: OrgId, account: AccountId) -> Result<Membership, OpError> {
    target_of(&mut *db.conn()?, org, account)
}
