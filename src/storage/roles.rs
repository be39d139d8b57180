//! Custom roles: an organization's named sets of permissions, and which members and pending
//! invitations hold them.
//!
//! Which roles a member holds is kept in `member_roles`, and copied, as the ids joined by
//! commas, into the membership's `custom_role_ids`, so that the member list reads it from the
//! row it reads anyway instead of looking up each row's roles. Only this module writes either,
//! always both together.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::domain::ids::InvitationId;
use crate::domain::{AccountId, Email, InvitationStatus, MembershipStatus, OrgId, PermissionSet, Role, RoleId};
use crate::storage::DbConn;
use crate::storage::schema::{invitation_roles, invitations, member_roles, memberships, roles};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = roles)]
pub struct CustomRole {
    pub id: RoleId,
    pub org_id: OrgId,
    pub name: String,
    pub name_key: String,
    pub description: String,
    pub permissions: PermissionSet,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A custom role as a list shows it beside a member or an invitation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleTag {
    pub id: RoleId,
    pub name: String,
    pub permissions: PermissionSet,
}

/// Whether the error is the organization's unique role name being taken.
pub fn is_name_taken(e: &diesel::result::Error) -> bool {
    matches!(e, diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _))
}

pub fn insert(conn: &mut DbConn, role: &CustomRole) -> QueryResult<()> {
    diesel::insert_into(roles::table).values(role).execute(conn).map(|_| ())
}

pub fn update(conn: &mut DbConn, role: &CustomRole) -> QueryResult<()> {
    diesel::update(roles::table.find(role.id))
        .set((
            roles::name.eq(&role.name),
            roles::name_key.eq(&role.name_key),
            roles::description.eq(&role.description),
            roles::permissions.eq(role.permissions),
            roles::updated_at.eq(role.updated_at),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Deletes the role; its members and invitations lose it with it (the foreign keys cascade),
/// and its members' copies of their role ids are written again first, while they can still be
/// found.
pub fn delete(conn: &mut DbConn, org: OrgId, id: RoleId) -> QueryResult<usize> {
    let holders = member_roles::table.filter(member_roles::role_id.eq(id)).select(member_roles::account_id);
    let holding: std::collections::HashSet<AccountId> = holders.load::<AccountId>(conn)?.into_iter().collect();
    // the other roles of its holders: most hold only this one, and their copy simply empties
    let mut others: Vec<(AccountId, RoleId)> = member_roles::table
        .filter(member_roles::org_id.eq(org))
        .filter(member_roles::role_id.ne(id))
        .select((member_roles::account_id, member_roles::role_id))
        .load::<(AccountId, RoleId)>(conn)?
        .into_iter()
        .filter(|(a, _)| holding.contains(a))
        .collect();
    others.sort();
    diesel::update(memberships::table.filter(memberships::org_id.eq(org)).filter(memberships::account_id.eq_any(holders)))
        .set(memberships::custom_role_ids.eq(None::<String>))
        .execute(conn)?;
    for chunk in others.chunk_by(|a, b| a.0 == b.0) {
        let ids: Vec<RoleId> = chunk.iter().map(|(_, r)| *r).collect();
        write_copy(conn, org, chunk[0].0, &ids)?;
    }
    diesel::delete(roles::table.filter(roles::id.eq(id)).filter(roles::org_id.eq(org))).execute(conn)
}

/// A role of this organization (never another's).
pub fn find(conn: &mut DbConn, org: OrgId, id: RoleId) -> QueryResult<Option<CustomRole>> {
    roles::table
        .filter(roles::id.eq(id))
        .filter(roles::org_id.eq(org))
        .select(CustomRole::as_select())
        .first(conn)
        .optional()
}

/// The organization's roles among `ids` (ids of other organizations are simply not found).
pub fn find_many(conn: &mut DbConn, org: OrgId, ids: &[RoleId]) -> QueryResult<Vec<CustomRole>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    roles::table
        .filter(roles::org_id.eq(org))
        .filter(roles::id.eq_any(ids))
        .select(CustomRole::as_select())
        .order(roles::name_key.asc())
        .load(conn)
}

/// Every custom role of the organization as a tag, by name: for menus and filters.
pub fn tags(conn: &mut DbConn, org: OrgId) -> QueryResult<Vec<RoleTag>> {
    let rows: Vec<(RoleId, String, PermissionSet)> = roles::table
        .filter(roles::org_id.eq(org))
        .select((roles::id, roles::name, roles::permissions))
        .order(roles::name_key.asc())
        .load(conn)?;
    Ok(rows.into_iter().map(|(id, name, permissions)| RoleTag { id, name, permissions }).collect())
}

/// Every custom role of the organization, by name.
pub fn all(conn: &mut DbConn, org: OrgId) -> QueryResult<Vec<CustomRole>> {
    roles::table
        .filter(roles::org_id.eq(org))
        .select(CustomRole::as_select())
        .order(roles::name_key.asc())
        .load(conn)
}

/// How many members hold each of the organization's roles.
pub fn member_counts(conn: &mut DbConn, org: OrgId) -> QueryResult<Vec<(RoleId, i64)>> {
    member_roles::table
        .filter(member_roles::org_id.eq(org))
        .group_by(member_roles::role_id)
        .select((member_roles::role_id, diesel::dsl::count_star()))
        .load(conn)
}

/// The custom roles an account holds in each of its organizations, by name.
pub fn of_account(conn: &mut DbConn, account: AccountId) -> QueryResult<Vec<CustomRole>> {
    member_roles::table
        .inner_join(roles::table)
        .filter(member_roles::account_id.eq(account))
        .select(CustomRole::as_select())
        .order(roles::name_key.asc())
        .load(conn)
}

/// How many members hold the role.
pub fn member_count(conn: &mut DbConn, role: RoleId) -> QueryResult<i64> {
    member_roles::table.filter(member_roles::role_id.eq(role)).count().get_result(conn)
}

/// How many members hold the role.
pub fn holder_count(conn: &mut DbConn, role: RoleId) -> QueryResult<i64> {
    member_roles::table.filter(member_roles::role_id.eq(role)).count().get_result(conn)
}

/// The custom roles a member holds, by name.
pub fn of_member(conn: &mut DbConn, org: OrgId, account: AccountId) -> QueryResult<Vec<CustomRole>> {
    member_roles::table
        .inner_join(roles::table)
        .filter(member_roles::org_id.eq(org))
        .filter(member_roles::account_id.eq(account))
        .select(CustomRole::as_select())
        .order(roles::name_key.asc())
        .load(conn)
}

/// What a member's custom roles allow together: the one read the door of every organization
/// page adds for them.
pub fn permissions_of_member(conn: &mut DbConn, org: OrgId, account: AccountId) -> QueryResult<PermissionSet> {
    let sets: Vec<PermissionSet> = member_roles::table
        .inner_join(roles::table)
        .filter(member_roles::org_id.eq(org))
        .filter(member_roles::account_id.eq(account))
        .select(roles::permissions)
        .load(conn)?;
    Ok(sets.into_iter().fold(PermissionSet::EMPTY, PermissionSet::union))
}

/// The custom roles of each of these members, by name.
pub fn tags_of_members(conn: &mut DbConn, org: OrgId, accounts: &[AccountId]) -> QueryResult<Vec<(AccountId, RoleTag)>> {
    if accounts.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<(AccountId, RoleId, String, PermissionSet)> = member_roles::table
        .inner_join(roles::table)
        .filter(member_roles::org_id.eq(org))
        .filter(member_roles::account_id.eq_any(accounts))
        .select((member_roles::account_id, roles::id, roles::name, roles::permissions))
        .order(roles::name_key.asc())
        .load(conn)?;
    Ok(rows.into_iter().map(|(a, id, name, permissions)| (a, RoleTag { id, name, permissions })).collect())
}

/// The custom roles each of these invitations will give, by name.
pub fn tags_of_invitations(conn: &mut DbConn, ids: &[InvitationId]) -> QueryResult<Vec<(InvitationId, RoleTag)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<(InvitationId, RoleId, String, PermissionSet)> = invitation_roles::table
        .inner_join(roles::table)
        .filter(invitation_roles::invitation_id.eq_any(ids))
        .select((invitation_roles::invitation_id, roles::id, roles::name, roles::permissions))
        .order(roles::name_key.asc())
        .load(conn)?;
    Ok(rows.into_iter().map(|(i, id, name, permissions)| (i, RoleTag { id, name, permissions })).collect())
}

/// The roles an invitation will give when accepted.
pub fn of_invitation(conn: &mut DbConn, invitation: InvitationId) -> QueryResult<Vec<CustomRole>> {
    invitation_roles::table
        .inner_join(roles::table)
        .filter(invitation_roles::invitation_id.eq(invitation))
        .select(CustomRole::as_select())
        .order(roles::name_key.asc())
        .load(conn)
}

/// Sets the member's custom roles to exactly `held`: the rows and the membership's copy.
pub fn set_of_member(conn: &mut DbConn, org: OrgId, account: AccountId, held: &[RoleId]) -> QueryResult<()> {
    diesel::delete(member_roles::table.filter(member_roles::org_id.eq(org)).filter(member_roles::account_id.eq(account)))
        .execute(conn)?;
    for role in held {
        diesel::insert_into(member_roles::table)
            .values((member_roles::org_id.eq(org), member_roles::account_id.eq(account), member_roles::role_id.eq(role)))
            .execute(conn)?;
    }
    write_copy(conn, org, account, held)
}

/// The membership's copy of its role ids: sorted, joined by commas, NULL for none.
fn write_copy(conn: &mut DbConn, org: OrgId, account: AccountId, held: &[RoleId]) -> QueryResult<()> {
    diesel::update(memberships::table.find((org, account)))
        .set(memberships::custom_role_ids.eq(copy_of(held)))
        .execute(conn)
        .map(|_| ())
}

/// The ids as the membership keeps them.
pub fn copy_of(held: &[RoleId]) -> Option<String> {
    let mut ids: Vec<String> = held.iter().map(ToString::to_string).collect();
    ids.sort();
    ids.dedup();
    (!ids.is_empty()).then(|| ids.join(","))
}

pub fn give_to_invitation(conn: &mut DbConn, invitation: InvitationId, roles: &[RoleId]) -> QueryResult<()> {
    for role in roles {
        diesel::insert_into(invitation_roles::table)
            .values((invitation_roles::invitation_id.eq(invitation), invitation_roles::role_id.eq(role)))
            .execute(conn)?;
    }
    Ok(())
}

/// A member holding a role, as the role's page lists them.
#[derive(Debug, Clone, Queryable)]
pub struct RoleMember {
    pub account_id: AccountId,
    pub email: Email,
    pub name: String,
    pub role: Role,
    pub status: MembershipStatus,
}

/// The members holding the role, by email; at most `limit`.
pub fn members_of(conn: &mut DbConn, org: OrgId, role: RoleId, limit: i64) -> QueryResult<Vec<RoleMember>> {
    member_roles::table
        .inner_join(
            memberships::table
                .on(memberships::org_id.eq(member_roles::org_id).and(memberships::account_id.eq(member_roles::account_id))),
        )
        .filter(member_roles::org_id.eq(org))
        .filter(member_roles::role_id.eq(role))
        .select((memberships::account_id, memberships::email, memberships::name, memberships::role, memberships::status))
        .order(memberships::email.asc())
        .limit(limit)
        .load(conn)
}

/// An invitation giving the role, as the role's page lists it.
#[derive(Debug, Clone, Queryable)]
pub struct RoleInvitation {
    pub id: InvitationId,
    pub email: Email,
    pub role: Role,
    pub expires_at: NaiveDateTime,
}

/// The pending invitations (expired ones included) that give the role, by email.
pub fn pending_invitations_of(conn: &mut DbConn, role: RoleId, limit: i64) -> QueryResult<Vec<RoleInvitation>> {
    invitation_roles::table
        .inner_join(invitations::table)
        .filter(invitation_roles::role_id.eq(role))
        .filter(invitations::status.eq(InvitationStatus::Pending))
        .select((invitations::id, invitations::email, invitations::role, invitations::expires_at))
        .order(invitations::email.asc())
        .limit(limit)
        .load(conn)
}

/// Members of the organization who do not hold the role, by email; at most `limit`: whom the
/// role's page offers to add.
pub fn members_without(conn: &mut DbConn, org: OrgId, role: RoleId, limit: i64) -> QueryResult<Vec<(AccountId, Email, String)>> {
    let holders = member_roles::table.filter(member_roles::role_id.eq(role)).select(member_roles::account_id);
    memberships::table
        .filter(memberships::org_id.eq(org))
        .filter(memberships::role.ne(Role::Owner))
        .filter(memberships::account_id.ne_all(holders))
        .select((memberships::account_id, memberships::email, memberships::name))
        .order(memberships::email.asc())
        .limit(limit)
        .load(conn)
}
