//! Accounts: people who sign in.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::storage::DbConn;
use crate::storage::schema::accounts;
use crate::domain::{AccountId, Email};

/// A person who signs in.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = accounts)]
pub struct Account {
    pub id: AccountId,
    pub email: Email,
    pub name: String,
    pub password_hash: String,
    pub session_epoch: i64,
    pub created_at: NaiveDateTime,
    pub last_login_at: Option<NaiveDateTime>,
    /// When its owner proved they read the address; None while unverified.
    pub email_verified_at: Option<NaiveDateTime>,
    /// The TOTP secret (base32) while two-factor is on.
    pub totp_secret: Option<String>,
    /// When two-factor was turned on; None while it is off.
    pub totp_enabled_at: Option<NaiveDateTime>,
    /// The last 30-second step whose code was accepted: a code works once.
    pub totp_last_step: Option<i64>,
}

impl Account {
    /// Whether signing in takes a second step.
    pub fn two_factor_on(&self) -> bool {
        self.totp_enabled_at.is_some() && self.totp_secret.is_some()
    }
}

pub fn insert(conn: &mut DbConn, account: &Account) -> QueryResult<()> {
    diesel::insert_into(accounts::table).values(account).execute(conn).map(|_| ())
}

pub fn find(conn: &mut DbConn, id: AccountId) -> QueryResult<Option<Account>> {
    accounts::table
        .find(id)
        .select(Account::as_select())
        .first(conn)
        .optional()
}

pub fn find_by_email(conn: &mut DbConn, email: &Email) -> QueryResult<Option<Account>> {
    accounts::table
        .filter(accounts::email.eq(email))
        .select(Account::as_select())
        .first(conn)
        .optional()
}

pub fn email_taken(conn: &mut DbConn, email: &Email) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(accounts::table.filter(accounts::email.eq(email)))).get_result(conn)
}

pub fn record_login(conn: &mut DbConn, id: AccountId, at: NaiveDateTime) -> QueryResult<()> {
    diesel::update(accounts::table.find(id)).set(accounts::last_login_at.eq(Some(at))).execute(conn).map(|_| ())
}

pub fn set_name(conn: &mut DbConn, id: AccountId, name: &str) -> QueryResult<()> {
    diesel::update(accounts::table.find(id)).set(accounts::name.eq(name)).execute(conn).map(|_| ())
}

/// Gives the account its new address, already proved (so verified).
pub fn set_email(conn: &mut DbConn, id: AccountId, email: &Email, at: NaiveDateTime) -> QueryResult<()> {
    diesel::update(accounts::table.find(id))
        .set((accounts::email.eq(email), accounts::email_verified_at.eq(Some(at))))
        .execute(conn)
        .map(|_| ())
}

/// Stores a new password hash and moves the session epoch on, which ends every session that
/// was signed in with the old one. Returns the new epoch.
pub fn set_password(conn: &mut DbConn, id: AccountId, hash: &str) -> QueryResult<i64> {
    diesel::update(accounts::table.find(id))
        .set((accounts::password_hash.eq(hash), accounts::session_epoch.eq(accounts::session_epoch + 1)))
        .execute(conn)?;
    accounts::table.find(id).select(accounts::session_epoch).first(conn)
}

/// Marks the email verified (once: a later proof keeps the first time).
pub fn mark_verified(conn: &mut DbConn, id: AccountId, at: NaiveDateTime) -> QueryResult<()> {
    diesel::update(accounts::table.find(id).filter(accounts::email_verified_at.is_null()))
        .set(accounts::email_verified_at.eq(Some(at)))
        .execute(conn)
        .map(|_| ())
}

/// Turns two-factor on with `secret`, its enrolment code's step already used. False if it was
/// on already (another tab enrolled first).
pub fn enable_totp(conn: &mut DbConn, id: AccountId, secret: &str, step: i64, at: NaiveDateTime) -> QueryResult<bool> {
    let n = diesel::update(accounts::table.find(id).filter(accounts::totp_enabled_at.is_null()))
        .set((
            accounts::totp_secret.eq(Some(secret)),
            accounts::totp_enabled_at.eq(Some(at)),
            accounts::totp_last_step.eq(Some(step)),
        ))
        .execute(conn)?;
    Ok(n == 1)
}

/// Turns two-factor off: the secret and its last step are forgotten. False if it was off.
pub fn disable_totp(conn: &mut DbConn, id: AccountId) -> QueryResult<bool> {
    let n = diesel::update(accounts::table.find(id).filter(accounts::totp_enabled_at.is_not_null()))
        .set((
            accounts::totp_secret.eq(None::<String>),
            accounts::totp_enabled_at.eq(None::<NaiveDateTime>),
            accounts::totp_last_step.eq(None::<i64>),
        ))
        .execute(conn)?;
    Ok(n == 1)
}

/// Records that the code of `step` was accepted, if no code of this step or a later one was:
/// true for the one request that uses it, so a code replayed at the same moment is refused too.
pub fn use_totp_step(conn: &mut DbConn, id: AccountId, step: i64) -> QueryResult<bool> {
    let n = diesel::update(
        accounts::table
            .find(id)
            .filter(accounts::totp_enabled_at.is_not_null())
            .filter(accounts::totp_last_step.is_null().or(accounts::totp_last_step.lt(step))),
    )
    .set(accounts::totp_last_step.eq(Some(step)))
    .execute(conn)?;
    Ok(n == 1)
}

pub fn delete(conn: &mut DbConn, id: AccountId) -> QueryResult<usize> {
    diesel::delete(accounts::table.find(id)).execute(conn)
}
