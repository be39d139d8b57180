//! The single-use links mailed to an account's owner (email verification, password reset),
//! stored only as the SHA-256 of their token.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::domain::links::LinkPurpose;
use crate::domain::{AccountId, Email};
use crate::storage::DbConn;
use crate::storage::schema::account_tokens;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = account_tokens)]
pub struct AccountLink {
    pub token_hash: String,
    pub account_id: AccountId,
    pub purpose: LinkPurpose,
    /// The address the link was mailed to.
    pub email: Email,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
}

pub fn insert(conn: &mut DbConn, link: &AccountLink) -> QueryResult<()> {
    diesel::insert_into(account_tokens::table).values(link).execute(conn).map(|_| ())
}

/// The link whose token hashes to `hash`, if it is one for one of `purposes`.
pub fn find(conn: &mut DbConn, hash: &str, purposes: &[LinkPurpose]) -> QueryResult<Option<AccountLink>> {
    account_tokens::table
        .find(hash)
        .filter(account_tokens::purpose.eq_any(purposes.to_vec()))
        .select(AccountLink::as_select())
        .first(conn)
        .optional()
}

/// Uses the link: true for the one request that does, false if it was used already.
pub fn spend(conn: &mut DbConn, hash: &str, at: NaiveDateTime) -> QueryResult<bool> {
    let n = diesel::update(account_tokens::table.find(hash).filter(account_tokens::used_at.is_null()))
        .set(account_tokens::used_at.eq(Some(at)))
        .execute(conn)?;
    Ok(n == 1)
}

/// Ends every unused link of the account for `purpose` (a newer one, or a done job, replaces
/// them).
pub fn spend_all(conn: &mut DbConn, account: AccountId, purpose: LinkPurpose, at: NaiveDateTime) -> QueryResult<()> {
    diesel::update(
        account_tokens::table
            .filter(account_tokens::account_id.eq(account))
            .filter(account_tokens::purpose.eq(purpose))
            .filter(account_tokens::used_at.is_null()),
    )
    .set(account_tokens::used_at.eq(Some(at)))
    .execute(conn)
    .map(|_| ())
}

/// Deletes the links used or expired before `before` (kept a while for the record).
pub fn delete_spent(conn: &mut DbConn, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(account_tokens::table.filter(account_tokens::used_at.lt(before).or(account_tokens::expires_at.lt(before))))
        .execute(conn)
}
