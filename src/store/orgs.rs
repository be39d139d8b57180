//! Organizations.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::organizations;
use crate::domain::OrgId;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = organizations)]
pub struct OrgRow {
    pub id: String,
    pub name: String,
    pub revision: i64,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone)]
pub struct Org {
    pub id: OrgId,
    pub name: String,
    pub created_at: NaiveDateTime,
}

impl From<OrgRow> for Org {
    fn from(r: OrgRow) -> Org {
        Org { id: r.id.parse().unwrap_or_default(), name: r.name, created_at: r.created_at }
    }
}

pub fn insert(conn: &mut DbConn, id: OrgId, name: &str, at: NaiveDateTime) -> QueryResult<()> {
    let row = OrgRow { id: id.to_db(), name: name.to_string(), revision: 0, created_at: at };
    diesel::insert_into(organizations::table).values(&row).execute(conn).map(|_| ())
}

pub fn find(conn: &mut DbConn, id: OrgId) -> QueryResult<Option<Org>> {
    organizations::table
        .find(id.to_db())
        .select(OrgRow::as_select())
        .first(conn)
        .optional()
        .map(|r| r.map(Org::from))
}

/// Takes the organization's write lock for the rest of the transaction (a row lock on
/// PostgreSQL; SQLite's transactions already hold the database's). Every change to an
/// organization starts here, so its rules are checked against a state nobody else is changing,
/// and its audit chain grows one event at a time. Returns false if the organization is gone.
pub fn lock(conn: &mut DbConn, id: OrgId) -> QueryResult<bool> {
    let n = diesel::update(organizations::table.find(id.to_db()))
        .set(organizations::revision.eq(organizations::revision + 1))
        .execute(conn)?;
    Ok(n == 1)
}

pub fn rename(conn: &mut DbConn, id: OrgId, name: &str) -> QueryResult<()> {
    diesel::update(organizations::table.find(id.to_db())).set(organizations::name.eq(name)).execute(conn).map(|_| ())
}

pub fn delete(conn: &mut DbConn, id: OrgId) -> QueryResult<usize> {
    diesel::delete(organizations::table.find(id.to_db())).execute(conn)
}
