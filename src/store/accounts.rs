//! Accounts: people who sign in.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::accounts;
use crate::domain::{AccountId, Email};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = accounts)]
pub struct AccountRow {
    pub id: String,
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub session_epoch: i64,
    pub created_at: NaiveDateTime,
    pub last_login_at: Option<NaiveDateTime>,
}

/// An account as the rest of the program sees it.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: AccountId,
    pub email: Email,
    pub name: String,
    pub password_hash: String,
    pub session_epoch: i64,
    pub created_at: NaiveDateTime,
    pub last_login_at: Option<NaiveDateTime>,
}

impl From<AccountRow> for Account {
    fn from(r: AccountRow) -> Account {
        Account {
            id: r.id.parse().unwrap_or_default(),
            email: Email::from_db(r.email),
            name: r.name,
            password_hash: r.password_hash,
            session_epoch: r.session_epoch,
            created_at: r.created_at,
            last_login_at: r.last_login_at,
        }
    }
}

pub fn insert(conn: &mut DbConn, row: &AccountRow) -> QueryResult<()> {
    diesel::insert_into(accounts::table).values(row).execute(conn).map(|_| ())
}

pub fn find(conn: &mut DbConn, id: AccountId) -> QueryResult<Option<Account>> {
    accounts::table
        .find(id.to_db())
        .select(AccountRow::as_select())
        .first(conn)
        .optional()
        .map(|r| r.map(Account::from))
}

pub fn find_by_email(conn: &mut DbConn, email: &Email) -> QueryResult<Option<Account>> {
    accounts::table
        .filter(accounts::email.eq(email.as_str()))
        .select(AccountRow::as_select())
        .first(conn)
        .optional()
        .map(|r| r.map(Account::from))
}

pub fn email_taken(conn: &mut DbConn, email: &Email) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(accounts::table.filter(accounts::email.eq(email.as_str())))).get_result(conn)
}

pub fn record_login(conn: &mut DbConn, id: AccountId, at: NaiveDateTime) -> QueryResult<()> {
    diesel::update(accounts::table.find(id.to_db())).set(accounts::last_login_at.eq(Some(at))).execute(conn).map(|_| ())
}

pub fn set_name(conn: &mut DbConn, id: AccountId, name: &str) -> QueryResult<()> {
    diesel::update(accounts::table.find(id.to_db())).set(accounts::name.eq(name)).execute(conn).map(|_| ())
}

/// Stores a new password hash and moves the session epoch on, which ends every session that
/// was signed in with the old one. Returns the new epoch.
pub fn set_password(conn: &mut DbConn, id: AccountId, hash: &str) -> QueryResult<i64> {
    diesel::update(accounts::table.find(id.to_db()))
        .set((accounts::password_hash.eq(hash), accounts::session_epoch.eq(accounts::session_epoch + 1)))
        .execute(conn)?;
    accounts::table.find(id.to_db()).select(accounts::session_epoch).first(conn)
}

pub fn delete(conn: &mut DbConn, id: AccountId) -> QueryResult<usize> {
    diesel::delete(accounts::table.find(id.to_db())).execute(conn)
}
