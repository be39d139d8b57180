//! Two-factor recovery codes: ten per account, kept only as their SHA-256, each used once.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::domain::AccountId;
use crate::storage::DbConn;
use crate::storage::schema::recovery_codes;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = recovery_codes)]
pub struct RecoveryCode {
    pub account_id: AccountId,
    pub code_hash: String,
    pub used_at: Option<NaiveDateTime>,
}

/// The account's codes become these (hashes): the earlier ones stop working.
pub fn replace(conn: &mut DbConn, account: AccountId, hashes: &[String]) -> QueryResult<()> {
    delete_all(conn, account)?;
    // one row at a time: the two-backend connection has no batch insert (and there are ten)
    for hash in hashes {
        let row = RecoveryCode { account_id: account, code_hash: hash.clone(), used_at: None };
        diesel::insert_into(recovery_codes::table).values(&row).execute(conn)?;
    }
    Ok(())
}

/// Uses the account's unused code hashing to `hash`: true for the one request that does.
pub fn spend(conn: &mut DbConn, account: AccountId, hash: &str, at: NaiveDateTime) -> QueryResult<bool> {
    let n = diesel::update(
        recovery_codes::table.find((account, hash)).filter(recovery_codes::used_at.is_null()),
    )
    .set(recovery_codes::used_at.eq(Some(at)))
    .execute(conn)?;
    Ok(n == 1)
}

/// Deletes every code of the account; returns how many there were.
pub fn delete_all(conn: &mut DbConn, account: AccountId) -> QueryResult<usize> {
    diesel::delete(recovery_codes::table.filter(recovery_codes::account_id.eq(account))).execute(conn)
}

/// How many of the account's codes are still unused.
pub fn unused(conn: &mut DbConn, account: AccountId) -> QueryResult<i64> {
    recovery_codes::table
        .filter(recovery_codes::account_id.eq(account))
        .filter(recovery_codes::used_at.is_null())
        .count()
        .get_result(conn)
}
