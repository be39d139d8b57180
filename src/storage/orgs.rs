//! Organizations.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::storage::DbConn;
use crate::storage::schema::organizations;
use crate::domain::OrgId;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = organizations)]
pub struct Org {
    pub id: OrgId,
    pub name: String,
    /// Moved on by every change to the organization (see `lock`).
    pub revision: i64,
    pub created_at: NaiveDateTime,
    /// Whether members must have two-factor on to use the organization.
    pub require_two_factor: bool,
}

pub fn insert(conn: &mut DbConn, id: OrgId, name: &str, at: NaiveDateTime) -> QueryResult<()> {
    let row = Org { id, name: name.to_string(), revision: 0, created_at: at, require_two_factor: false };
    diesel::insert_into(organizations::table).values(&row).execute(conn).map(|_| ())
}

pub fn find(conn: &mut DbConn, id: OrgId) -> QueryResult<Option<Org>> {
    organizations::table
        .find(id)
        .select(Org::as_select())
        .first(conn)
        .optional()
}

/// Takes the organization's write lock for the rest of the transaction (a row lock on
/// PostgreSQL; SQLite's transactions already hold the database's). Every change to an
/// organization starts here, so its rules are checked against a state nobody else is changing,
/// and its audit chain grows one event at a time. Returns false if the organization is gone.
pub fn lock(conn: &mut DbConn, id: OrgId) -> QueryResult<bool> {
    let n = diesel::update(organizations::table.find(id))
        .set(organizations::revision.eq(organizations::revision + 1))
        .execute(conn)?;
    Ok(n == 1)
}

pub fn rename(conn: &mut DbConn, id: OrgId, name: &str) -> QueryResult<()> {
    diesel::update(organizations::table.find(id)).set(organizations::name.eq(name)).execute(conn).map(|_| ())
}

pub fn set_require_two_factor(conn: &mut DbConn, id: OrgId, required: bool) -> QueryResult<()> {
    diesel::update(organizations::table.find(id))
        .set(organizations::require_two_factor.eq(required))
        .execute(conn)
        .map(|_| ())
}

pub fn delete(conn: &mut DbConn, id: OrgId) -> QueryResult<usize> {
    diesel::delete(organizations::table.find(id)).execute(conn)
}
