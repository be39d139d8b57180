//! Signed-in sessions, found by the SHA-256 of the secret their cookie holds.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::domain::AccountId;
use crate::domain::ids::SessionId;
use crate::storage::DbConn;
use crate::storage::accounts::Account;
use crate::storage::schema::{accounts, sessions};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sessions)]
pub struct Session {
    pub id: SessionId,
    pub token_hash: String,
    pub account_id: AccountId,
    pub created_at: NaiveDateTime,
    pub last_seen_at: NaiveDateTime,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

pub fn insert(conn: &mut DbConn, session: &Session) -> QueryResult<()> {
    diesel::insert_into(sessions::table).values(session).execute(conn).map(|_| ())
}

/// The session whose secret hashes to `hash`, with its account, in one query: what every
/// signed-in request reads first.
pub fn find_with_account(conn: &mut DbConn, hash: &str) -> QueryResult<Option<(Session, Account)>> {
    sessions::table
        .inner_join(accounts::table)
        .filter(sessions::token_hash.eq(hash))
        .select((Session::as_select(), Account::as_select()))
        .first(conn)
        .optional()
}

pub fn touch(conn: &mut DbConn, id: SessionId, at: NaiveDateTime) -> QueryResult<()> {
    diesel::update(sessions::table.find(id)).set(sessions::last_seen_at.eq(at)).execute(conn).map(|_| ())
}

/// The account's sessions, most recently seen first.
pub fn of_account(conn: &mut DbConn, account: AccountId) -> QueryResult<Vec<Session>> {
    sessions::table
        .filter(sessions::account_id.eq(account))
        .order((sessions::last_seen_at.desc(), sessions::id.asc()))
        .select(Session::as_select())
        .load(conn)
}

pub fn delete(conn: &mut DbConn, id: SessionId) -> QueryResult<usize> {
    diesel::delete(sessions::table.find(id)).execute(conn)
}

/// Ends one session of the account (never another account's): the number ended.
pub fn delete_of_account(conn: &mut DbConn, account: AccountId, id: SessionId) -> QueryResult<usize> {
    diesel::delete(sessions::table.find(id).filter(sessions::account_id.eq(account))).execute(conn)
}

pub fn delete_by_hash(conn: &mut DbConn, hash: &str) -> QueryResult<usize> {
    diesel::delete(sessions::table.filter(sessions::token_hash.eq(hash))).execute(conn)
}

/// Ends every session of the account but `keep` (when given): the number ended.
pub fn delete_all_of_account(conn: &mut DbConn, account: AccountId, keep: Option<SessionId>) -> QueryResult<usize> {
    let of_account = sessions::table.filter(sessions::account_id.eq(account));
    match keep {
        Some(keep) => diesel::delete(of_account.filter(sessions::id.ne(keep))).execute(conn),
        None => diesel::delete(of_account).execute(conn),
    }
}

/// Deletes the sessions that timed out (made before `created_before`, or unseen since
/// `seen_before`).
pub fn delete_expired(conn: &mut DbConn, created_before: NaiveDateTime, seen_before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(sessions::table.filter(sessions::created_at.lt(created_before).or(sessions::last_seen_at.lt(seen_before))))
        .execute(conn)
}
