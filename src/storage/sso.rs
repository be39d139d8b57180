//! Single sign-on: each organization's connection, the domains it covers, the links between
//! a provider's subjects and accounts, and the sign-ins under way.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::domain::{AccountId, OrgId, Role};
use crate::storage::DbConn;
use crate::storage::schema::{sso_connections, sso_domains, sso_flows, sso_links};

/// An organization's connection to its identity provider; the client secret stays sealed.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = sso_connections)]
pub struct Connection {
    pub org_id: OrgId,
    pub issuer: String,
    pub client_id: String,
    pub client_secret_sealed: String,
    pub base_role: Role,
    pub require_sso: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

pub fn find(conn: &mut DbConn, org: OrgId) -> QueryResult<Option<Connection>> {
    sso_connections::table.find(org).select(Connection::as_select()).first(conn).optional()
}

/// Writes the connection and its domains in place of what was there.
pub fn save(conn: &mut DbConn, row: &Connection, domains: &[String]) -> QueryResult<()> {
    let updated = diesel::update(sso_connections::table.find(row.org_id)).set(row).execute(conn)?;
    if updated == 0 {
        diesel::insert_into(sso_connections::table).values(row).execute(conn)?;
    }
    diesel::delete(sso_domains::table.filter(sso_domains::org_id.eq(row.org_id))).execute(conn)?;
    for d in domains {
        diesel::insert_into(sso_domains::table)
            .values((sso_domains::domain.eq(d), sso_domains::org_id.eq(row.org_id)))
            .execute(conn)?;
    }
    Ok(())
}

/// Deletes the connection; its domains, links and sign-ins under way go with it.
pub fn delete(conn: &mut DbConn, org: OrgId) -> QueryResult<usize> {
    diesel::delete(sso_flows::table.filter(sso_flows::org_id.eq(org))).execute(conn)?;
    diesel::delete(sso_links::table.filter(sso_links::org_id.eq(org))).execute(conn)?;
    diesel::delete(sso_domains::table.filter(sso_domains::org_id.eq(org))).execute(conn)?;
    diesel::delete(sso_connections::table.find(org)).execute(conn)
}

pub fn domains_of(conn: &mut DbConn, org: OrgId) -> QueryResult<Vec<String>> {
    sso_domains::table.filter(sso_domains::org_id.eq(org)).order(sso_domains::domain).select(sso_domains::domain).load(conn)
}

/// Which of `domains` another organization's connection already covers.
pub fn taken_by_others(conn: &mut DbConn, org: OrgId, domains: &[String]) -> QueryResult<Vec<String>> {
    sso_domains::table
        .filter(sso_domains::domain.eq_any(domains))
        .filter(sso_domains::org_id.ne(org))
        .select(sso_domains::domain)
        .load(conn)
}

/// The connection covering an email domain.
pub fn by_domain(conn: &mut DbConn, domain: &str) -> QueryResult<Option<Connection>> {
    sso_domains::table
        .inner_join(sso_connections::table)
        .filter(sso_domains::domain.eq(domain))
        .select(Connection::as_select())
        .first(conn)
        .optional()
}

/// Whether `domain` is one the organization's connection covers.
pub fn covers(conn: &mut DbConn, org: OrgId, domain: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        sso_domains::table.filter(sso_domains::org_id.eq(org)).filter(sso_domains::domain.eq(domain)),
    ))
    .get_result(conn)
}

/// The account a provider's subject is linked to, in the organization.
pub fn linked_account(conn: &mut DbConn, org: OrgId, subject: &str) -> QueryResult<Option<AccountId>> {
    sso_links::table.find((org, subject)).select(sso_links::account_id).first(conn).optional()
}

/// Whether the account is linked to the organization's connection (by any subject).
pub fn account_linked(conn: &mut DbConn, org: OrgId, account: AccountId) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        sso_links::table.filter(sso_links::org_id.eq(org)).filter(sso_links::account_id.eq(account)),
    ))
    .get_result(conn)
}

pub fn link(conn: &mut DbConn, org: OrgId, subject: &str, account: AccountId, at: NaiveDateTime) -> QueryResult<()> {
    diesel::insert_into(sso_links::table)
        .values((
            sso_links::org_id.eq(org),
            sso_links::subject.eq(subject),
            sso_links::account_id.eq(account),
            sso_links::linked_at.eq(at),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Which of `accounts` are linked to the organization's connection.
pub fn linked_among(conn: &mut DbConn, org: OrgId, accounts: &[AccountId]) -> QueryResult<Vec<AccountId>> {
    sso_links::table
        .filter(sso_links::org_id.eq(org))
        .filter(sso_links::account_id.eq_any(accounts))
        .select(sso_links::account_id)
        .load(conn)
}

/// A sign-in under way at a provider.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sso_flows)]
pub struct Flow {
    pub state_hash: String,
    pub org_id: OrgId,
    pub nonce: String,
    pub pkce_verifier: String,
    /// The signed-in account asking to link itself, for a link rather than a sign-in.
    pub link_account: Option<AccountId>,
    pub next: String,
    pub created_at: NaiveDateTime,
}

pub fn insert_flow(conn: &mut DbConn, flow: &Flow) -> QueryResult<()> {
    diesel::insert_into(sso_flows::table).values(flow).execute(conn).map(|_| ())
}

/// Takes the flow of a state: read and deleted in one transaction, so only one callback gets
/// it.
pub fn take_flow(conn: &mut DbConn, state_hash: &str) -> QueryResult<Option<Flow>> {
    let found = sso_flows::table.find(state_hash).select(Flow::as_select()).first(conn).optional()?;
    if found.is_some() && diesel::delete(sso_flows::table.find(state_hash)).execute(conn)? == 0 {
        return Ok(None);
    }
    Ok(found)
}

/// Deletes the flows started before `before`: one of the housekeeping's sweeps.
pub fn delete_flows_before(conn: &mut DbConn, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(sso_flows::table.filter(sso_flows::created_at.lt(before))).execute(conn)
}
