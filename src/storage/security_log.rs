//! The security log of each account.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::domain::AccountId;
use crate::domain::security_log::SecurityEvent;
use crate::storage::DbConn;
use crate::storage::schema::security_events;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = security_events)]
pub struct Entry {
    #[diesel(skip_insertion)]
    pub id: i64,
    pub account_id: AccountId,
    pub occurred_at: NaiveDateTime,
    pub kind: SecurityEvent,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

pub fn insert(conn: &mut DbConn, entry: &Entry) -> QueryResult<()> {
    diesel::insert_into(security_events::table).values(entry).execute(conn).map(|_| ())
}

/// The account's newest `limit` entries.
pub fn newest(conn: &mut DbConn, account: AccountId, limit: i64) -> QueryResult<Vec<Entry>> {
    security_events::table
        .filter(security_events::account_id.eq(account))
        .order((security_events::occurred_at.desc(), security_events::id.desc()))
        .limit(limit)
        .select(Entry::as_select())
        .load(conn)
}

pub fn delete_older_than(conn: &mut DbConn, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(security_events::table.filter(security_events::occurred_at.lt(before))).execute(conn)
}
