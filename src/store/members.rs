//! Memberships: an account in an organization, with a role and a status.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::{memberships, organizations};
use crate::domain::{AccountId, Email, MembershipStatus, OrgId, Role};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = memberships)]
pub struct MembershipRow {
    pub org_id: String,
    pub account_id: String,
    pub email: String,
    pub name: String,
    pub role: String,
    pub status: String,
    pub created_at: NaiveDateTime,
    pub last_active_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone)]
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

impl From<MembershipRow> for Membership {
    fn from(r: MembershipRow) -> Membership {
        Membership {
            org_id: r.org_id.parse().unwrap_or_default(),
            account_id: r.account_id.parse().unwrap_or_default(),
            email: Email::from_db(r.email),
            name: r.name,
            // the CHECK constraints keep both columns within their enums
            role: Role::parse(&r.role).unwrap_or(Role::Viewer),
            status: MembershipStatus::parse(&r.status).unwrap_or(MembershipStatus::Inactive),
            created_at: r.created_at,
            last_active_at: r.last_active_at,
        }
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
    let row = MembershipRow {
        org_id: org.to_db(),
        account_id: who.account.to_db(),
        email: who.email.to_string(),
        name: who.name.to_string(),
        role: role.as_str().to_string(),
        status: MembershipStatus::Active.as_str().to_string(),
        created_at: at,
        last_active_at: Some(at),
    };
    diesel::insert_into(memberships::table).values(&row).execute(conn).map(|_| ())
}

pub fn find(conn: &mut DbConn, org: OrgId, account: AccountId) -> QueryResult<Option<Membership>> {
    memberships::table
        .find((org.to_db(), account.to_db()))
        .select(MembershipRow::as_select())
        .first(conn)
        .optional()
        .map(|r| r.map(Membership::from))
}

/// The organization and the caller's membership in it, in one query: what every organization
/// page needs to decide who may do what.
pub fn find_with_org(
    conn: &mut DbConn,
    org: OrgId,
    account: AccountId,
) -> QueryResult<Option<(Membership, String)>> {
    memberships::table
        .inner_join(organizations::table)
        .filter(memberships::org_id.eq(org.to_db()))
        .filter(memberships::account_id.eq(account.to_db()))
        .select((MembershipRow::as_select(), organizations::name))
        .first::<(MembershipRow, String)>(conn)
        .optional()
        .map(|r| r.map(|(m, name)| (m.into(), name)))
}

/// Records that the member made a request now. Callers only call it when the stored value is
/// older than a minute, so an active member costs one write a minute, not one per request.
pub fn touch(conn: &mut DbConn, org: OrgId, account: AccountId, at: NaiveDateTime) -> QueryResult<()> {
    diesel::update(memberships::table.find((org.to_db(), account.to_db())))
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
    let rows: Vec<(String, String, String, String)> = memberships::table
        .inner_join(organizations::table)
        .filter(memberships::account_id.eq(account.to_db()))
        .select((organizations::id, organizations::name, memberships::role, memberships::status))
        .order((organizations::name.asc(), organizations::id.asc()))
        .load(conn)?;
    let mut out = Vec::with_capacity(rows.len());
    for (id, name, role, status) in rows {
        let count: i64 = memberships::table
            .filter(memberships::org_id.eq(&id))
            .filter(memberships::status.eq(MembershipStatus::Active.as_str()))
            .count()
            .get_result(conn)?;
        out.push(OrgOfAccount {
            org_id: id.parse().unwrap_or_default(),
            name,
            role: Role::parse(&role).unwrap_or(Role::Viewer),
            status: MembershipStatus::parse(&status).unwrap_or(MembershipStatus::Inactive),
            member_count: count,
        });
    }
    Ok(out)
}

/// Whether the account owns any organization (an owner cannot delete their account).
pub fn owns_any(conn: &mut DbConn, account: AccountId) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        memberships::table
            .filter(memberships::account_id.eq(account.to_db()))
            .filter(memberships::role.eq(Role::Owner.as_str())),
    ))
    .get_result(conn)
}

/// Keeps the copied name in step with the account's.
pub fn rename_account(conn: &mut DbConn, account: AccountId, name: &str) -> QueryResult<()> {
    diesel::update(memberships::table.filter(memberships::account_id.eq(account.to_db())))
        .set(memberships::name.eq(name))
        .execute(conn)
        .map(|_| ())
}

/// The organizations where the account is an active member, for the switcher.
pub fn active_orgs_brief(conn: &mut DbConn, account: AccountId) -> QueryResult<Vec<(OrgId, String)>> {
    let rows: Vec<(String, String)> = memberships::table
        .inner_join(organizations::table)
        .filter(memberships::account_id.eq(account.to_db()))
        .filter(memberships::status.eq(MembershipStatus::Active.as_str()))
        .select((organizations::id, organizations::name))
        .order((organizations::name.asc(), organizations::id.asc()))
        .load(conn)?;
    Ok(rows.into_iter().filter_map(|(id, name)| Some((id.parse().ok()?, name))).collect())
}

pub fn set_role(conn: &mut DbConn, org: OrgId, account: AccountId, role: Role) -> QueryResult<()> {
    diesel::update(memberships::table.find((org.to_db(), account.to_db())))
        .set(memberships::role.eq(role.as_str()))
        .execute(conn)
        .map(|_| ())
}

pub fn set_status(conn: &mut DbConn, org: OrgId, account: AccountId, status: MembershipStatus) -> QueryResult<()> {
    diesel::update(memberships::table.find((org.to_db(), account.to_db())))
        .set(memberships::status.eq(status.as_str()))
        .execute(conn)
        .map(|_| ())
}

pub fn delete(conn: &mut DbConn, org: OrgId, account: AccountId) -> QueryResult<usize> {
    diesel::delete(memberships::table.find((org.to_db(), account.to_db()))).execute(conn)
}

/// The membership of the account with this email, if any.
pub fn find_by_email(conn: &mut DbConn, org: OrgId, email: &Email) -> QueryResult<Option<Membership>> {
    memberships::table
        .filter(memberships::org_id.eq(org.to_db()))
        .filter(memberships::email.eq(email.as_str()))
        .select(MembershipRow::as_select())
        .first(conn)
        .optional()
        .map(|r| r.map(Membership::from))
}

/// The active members of an organization but the given one, by email (for ownership transfer).
pub fn active_others(conn: &mut DbConn, org: OrgId, except: AccountId, limit: i64) -> QueryResult<Vec<Membership>> {
    memberships::table
        .filter(memberships::org_id.eq(org.to_db()))
        .filter(memberships::status.eq(MembershipStatus::Active.as_str()))
        .filter(memberships::account_id.ne(except.to_db()))
        .select(MembershipRow::as_select())
        .order(memberships::email.asc())
        .limit(limit)
        .load(conn)
        .map(|rows| rows.into_iter().map(Membership::from).collect())
}

/// Members by email after `after` (a keyset cursor), for the API.
pub fn page_by_email(
    conn: &mut DbConn,
    org: OrgId,
    status: Option<MembershipStatus>,
    role: Option<Role>,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<Membership>> {
    let mut q = memberships::table
        .filter(memberships::org_id.eq(org.to_db()))
        .select(MembershipRow::as_select())
        .order((memberships::email.asc(), memberships::account_id.asc()))
        .limit(limit)
        .into_boxed();
    if let Some(s) = status {
        q = q.filter(memberships::status.eq(s.as_str()));
    }
    if let Some(r) = role {
        q = q.filter(memberships::role.eq(r.as_str()));
    }
    if let Some(after) = after {
        q = q.filter(memberships::email.gt(after.to_string()));
    }
    q.load(conn).map(|rows| rows.into_iter().map(Membership::from).collect())
}

/// The first organization (by name) where the account is an active member, and its role there:
/// where a person lands after signing in.
pub fn first_active_org(conn: &mut DbConn, account: AccountId) -> QueryResult<Option<(OrgId, Role)>> {
    let row: Option<(String, String)> = memberships::table
        .inner_join(organizations::table)
        .filter(memberships::account_id.eq(account.to_db()))
        .filter(memberships::status.eq(MembershipStatus::Active.as_str()))
        .select((organizations::id, memberships::role))
        .order((organizations::name.asc(), organizations::id.asc()))
        .first(conn)
        .optional()?;
    Ok(row.and_then(|(id, role)| Some((id.parse().ok()?, Role::parse(&role)?))))
}
