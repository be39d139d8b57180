//! Memberships: an account in an organization, with a role and a status.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::storage::DbConn;
use crate::storage::schema::{member_roles, memberships, organizations, roles};
use crate::domain::member_list::RoleFilter;
use crate::domain::{AccountId, Email, MembershipStatus, OrgId, PermissionSet, Role};

/// An account in an organization, with its role and status there.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = memberships)]
pub struct Membership {
    pub org_id: OrgId,
    pub account_id: AccountId,
    pub email: Email,
    pub name: String,
    pub role: Role,
    pub status: MembershipStatus,
    pub created_at: NaiveDateTime,
    pub last_active_at: Option<NaiveDateTime>,
}

/// A membership as it is written: the row and its name's search key (which the database
/// cannot fold in all of Unicode's cases itself).
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = memberships)]
pub struct NewRow {
    #[diesel(embed)]
    pub membership: Membership,
    pub name_key: String,
}

impl From<Membership> for NewRow {
    fn from(membership: Membership) -> NewRow {
        let name_key = crate::domain::member_list::search_key(&membership.name);
        NewRow { membership, name_key }
    }
}

/// Who a new membership is for.
#[derive(Debug, Clone)]
pub struct NewMember<'a> {
    pub account: AccountId,
    pub email: &'a Email,
    pub name: &'a str,
}

pub fn insert(conn: &mut DbConn, org: OrgId, who: NewMember<'_>, role: Role, at: NaiveDateTime) -> QueryResult<()> {
    let row = Membership {
        org_id: org,
        account_id: who.account,
        email: who.email.clone(),
        name: who.name.to_string(),
        role,
        status: MembershipStatus::Active,
        created_at: at,
        last_active_at: Some(at),
    };
    diesel::insert_into(memberships::table).values(&NewRow::from(row)).execute(conn).map(|_| ())
}

pub fn find(conn: &mut DbConn, org: OrgId, account: AccountId) -> QueryResult<Option<Membership>> {
    memberships::table
        .find((org, account))
        .select(Membership::as_select())
        .first(conn)
        .optional()
}

/// The caller's membership in an organization with what the organization's door needs of it.
#[derive(Debug, Clone)]
pub struct MembershipInOrg {
    pub membership: Membership,
    pub org_name: String,
    /// Whether the organization requires two-factor of its members.
    pub require_two_factor: bool,
    /// What the member's custom roles allow together.
    pub custom_permissions: PermissionSet,
}

/// The organization, the caller's membership in it and what their custom roles allow, in one
/// query (a row per custom role, or one row without): what every organization page needs to
/// decide who may do what.
pub fn find_with_org(conn: &mut DbConn, org: OrgId, account: AccountId) -> QueryResult<Option<MembershipInOrg>> {
    let rows = memberships::table
        .inner_join(organizations::table)
        .left_join(
            member_roles::table
                .on(member_roles::org_id.eq(memberships::org_id).and(member_roles::account_id.eq(memberships::account_id))),
        )
        .left_join(roles::table.on(roles::id.eq(member_roles::role_id)))
        .filter(memberships::org_id.eq(org))
        .filter(memberships::account_id.eq(account))
        .select((Membership::as_select(), organizations::name, organizations::require_two_factor, roles::permissions.nullable()))
        .load::<(Membership, String, bool, Option<PermissionSet>)>(conn)?;
    let custom_permissions = rows.iter().filter_map(|r| r.3).fold(PermissionSet::EMPTY, PermissionSet::union);
    Ok(rows.into_iter().next().map(|(membership, org_name, require_two_factor, _)| MembershipInOrg {
        membership,
        org_name,
        require_two_factor,
        custom_permissions,
    }))
}

/// Who invited the account into each organization it joined by invitation: (organization,
/// inviter's name, inviter's email).
pub fn inviters_of_account(conn: &mut DbConn, account: AccountId) -> QueryResult<Vec<(OrgId, String, String)>> {
    use crate::storage::schema::accounts;
    memberships::table
        .inner_join(accounts::table.on(memberships::invited_by.eq(accounts::id.nullable())))
        .filter(memberships::account_id.eq(account))
        .select((memberships::org_id, accounts::name, accounts::email))
        .load(conn)
}

/// Records who invited the member, when they joined through an invitation.
pub fn set_invited_by(conn: &mut DbConn, org: OrgId, account: AccountId, inviter: Option<AccountId>) -> QueryResult<()> {
    diesel::update(memberships::table.find((org, account)))
        .set(memberships::invited_by.eq(inviter))
        .execute(conn)
        .map(|_| ())
}

/// Records that the member made a request now. Callers only call it when the stored value is
/// older than a minute, so an active member costs one write a minute, not one per request.
pub fn touch(conn: &mut DbConn, org: OrgId, account: AccountId, at: NaiveDateTime) -> QueryResult<()> {
    diesel::update(memberships::table.find((org, account)))
        .set(memberships::last_active_at.eq(Some(at)))
        .execute(conn)
        .map(|_| ())
}

/// An organization the account belongs to, for the switcher and `/orgs`.
#[derive(Debug, Clone)]
pub struct OrgOfAccount {
    pub org_id: OrgId,
    pub name: String,
    pub role: Role,
    pub status: MembershipStatus,
    pub member_count: i64,
}

pub fn orgs_of_account(conn: &mut DbConn, account: AccountId) -> QueryResult<Vec<OrgOfAccount>> {
    let rows: Vec<(OrgId, String, Role, MembershipStatus)> = memberships::table
        .inner_join(organizations::table)
        .filter(memberships::account_id.eq(account))
        .select((organizations::id, organizations::name, memberships::role, memberships::status))
        .order((organizations::name.asc(), organizations::id.asc()))
        .load(conn)?;
    // the active members of all those organizations, counted in one query
    let counts: Vec<(OrgId, i64)> = memberships::table
        .filter(memberships::org_id.eq_any(rows.iter().map(|r| r.0).collect::<Vec<_>>()))
        .filter(memberships::status.eq(MembershipStatus::Active))
        .group_by(memberships::org_id)
        .select((memberships::org_id, diesel::dsl::count_star()))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(org_id, name, role, status)| OrgOfAccount {
            member_count: counts.iter().find(|(id, _)| *id == org_id).map_or(0, |(_, n)| *n),
            org_id,
            name,
            role,
            status,
        })
        .collect())
}

/// Whether the account owns any organization (an owner cannot delete their account).
pub fn owns_any(conn: &mut DbConn, account: AccountId) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        memberships::table
            .filter(memberships::account_id.eq(account))
            .filter(memberships::role.eq(Role::Owner)),
    ))
    .get_result(conn)
}

/// Keeps the copied name in step with the account's.
pub fn rename_account(conn: &mut DbConn, account: AccountId, name: &str) -> QueryResult<()> {
    diesel::update(memberships::table.filter(memberships::account_id.eq(account)))
        .set((memberships::name.eq(name), memberships::name_key.eq(crate::domain::member_list::search_key(name))))
        .execute(conn)
        .map(|_| ())
}

/// Writes the search key of every name that has none: the names a migration could not fold
/// (outside ASCII), once, when the migration that added the key has just run. Afterwards every
/// write of a name writes its key, so at every other start this is one probe of an empty
/// partial index (`memberships_name_key_missing`).
pub fn fill_name_keys(conn: &mut DbConn) -> QueryResult<usize> {
    const BATCH: i64 = 1_000;
    let mut filled = 0;
    loop {
        let rows: Vec<(OrgId, AccountId, String)> = memberships::table
            .filter(memberships::name_key.is_null())
            .select((memberships::org_id, memberships::account_id, memberships::name))
            .limit(BATCH)
            .load(conn)?;
        if rows.is_empty() {
            return Ok(filled);
        }
        conn.transaction(|conn| {
            for (org, account, name) in &rows {
                diesel::update(memberships::table.find((org, account)))
                    .set(memberships::name_key.eq(crate::domain::member_list::search_key(name)))
                    .execute(conn)?;
            }
            Ok::<_, diesel::result::Error>(())
        })?;
        filled += rows.len();
    }
}

/// Keeps the copied email in step with the account's.
pub fn change_account_email(conn: &mut DbConn, account: AccountId, email: &Email) -> QueryResult<()> {
    diesel::update(memberships::table.filter(memberships::account_id.eq(account)))
        .set(memberships::email.eq(email))
        .execute(conn)
        .map(|_| ())
}

/// The organizations where the account is an active member, for the switcher.
pub fn active_orgs_brief(conn: &mut DbConn, account: AccountId) -> QueryResult<Vec<(OrgId, String)>> {
    memberships::table
        .inner_join(organizations::table)
        .filter(memberships::account_id.eq(account))
        .filter(memberships::status.eq(MembershipStatus::Active))
        .select((organizations::id, organizations::name))
        .order((organizations::name.asc(), organizations::id.asc()))
        .load(conn)
}

pub fn set_role(conn: &mut DbConn, org: OrgId, account: AccountId, role: Role) -> QueryResult<()> {
    diesel::update(memberships::table.find((org, account)))
        .set(memberships::role.eq(role))
        .execute(conn)
        .map(|_| ())
}

pub fn set_status(conn: &mut DbConn, org: OrgId, account: AccountId, status: MembershipStatus) -> QueryResult<()> {
    diesel::update(memberships::table.find((org, account)))
        .set(memberships::status.eq(status))
        .execute(conn)
        .map(|_| ())
}

pub fn delete(conn: &mut DbConn, org: OrgId, account: AccountId) -> QueryResult<usize> {
    diesel::delete(memberships::table.find((org, account))).execute(conn)
}

/// The membership of the account with this email, if any.
pub fn find_by_email(conn: &mut DbConn, org: OrgId, email: &Email) -> QueryResult<Option<Membership>> {
    memberships::table
        .filter(memberships::org_id.eq(org))
        .filter(memberships::email.eq(email))
        .select(Membership::as_select())
        .first(conn)
        .optional()
}

/// The status of each of `emails` that is a member of `org`, in one query: what a list of
/// people to invite is checked against.
pub fn statuses_of_emails(conn: &mut DbConn, org: OrgId, emails: &[Email]) -> QueryResult<Vec<(Email, MembershipStatus)>> {
    if emails.is_empty() {
        return Ok(Vec::new());
    }
    memberships::table
        .filter(memberships::org_id.eq(org))
        .filter(memberships::email.eq_any(emails))
        .select((memberships::email, memberships::status))
        .load(conn)
}

/// The active members of an organization but the given one, by email (for ownership transfer).
pub fn active_others(conn: &mut DbConn, org: OrgId, except: AccountId, limit: i64) -> QueryResult<Vec<Membership>> {
    memberships::table
        .filter(memberships::org_id.eq(org))
        .filter(memberships::status.eq(MembershipStatus::Active))
        .filter(memberships::account_id.ne(except))
        .select(Membership::as_select())
        .order(memberships::email.asc())
        .limit(limit)
        .load(conn)
}

/// Members by email after `after` (a keyset cursor), for the API; `role` is a base role or a
/// custom role the members hold.
pub fn page_by_email(
    conn: &mut DbConn,
    org: OrgId,
    status: Option<MembershipStatus>,
    role: Option<RoleFilter>,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<Membership>> {
    let mut q = memberships::table
        .filter(memberships::org_id.eq(org))
        .select(Membership::as_select())
        .order((memberships::email.asc(), memberships::account_id.asc()))
        .limit(limit)
        .into_boxed();
    if let Some(s) = status {
        q = q.filter(memberships::status.eq(s));
    }
    match role {
        None => {}
        Some(RoleFilter::Base(r)) => q = q.filter(memberships::role.eq(r)),
        Some(RoleFilter::Custom(id)) => {
            let holders = member_roles::table
                .filter(member_roles::org_id.eq(org))
                .filter(member_roles::role_id.eq(id))
                .select(member_roles::account_id);
            q = q.filter(memberships::account_id.eq_any(holders));
        }
    }
    if let Some(after) = after {
        q = q.filter(memberships::email.gt(after.to_string()));
    }
    q.load(conn)
}

/// The first organization (by name) where the account is an active member, and its role there:
/// where a person lands after signing in.
pub fn first_active_org(conn: &mut DbConn, account: AccountId) -> QueryResult<Option<(OrgId, Role)>> {
    memberships::table
        .inner_join(organizations::table)
        .filter(memberships::account_id.eq(account))
        .filter(memberships::status.eq(MembershipStatus::Active))
        .select((organizations::id, memberships::role))
        .order((organizations::name.asc(), organizations::id.asc()))
        .first(conn)
        .optional()
}
