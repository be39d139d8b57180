//! Leases: a named piece of work that one instance at a time does, held by one process until a
//! time, then free for any instance to take.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Text, Timestamp};

use crate::storage::DbConn;
use crate::storage::schema::leases;

/// Takes the lease `name` for `holder` until `until`, if it is free at `now` (never taken,
/// expired, or already `holder`'s): whether `holder` now holds it. The row is made once, empty
/// and expired; taking it is then one conditional update, so two instances racing for it
/// cannot both win.
pub fn take(conn: &mut DbConn, name: &str, holder: &str, now: NaiveDateTime, until: NaiveDateTime) -> QueryResult<bool> {
    diesel::sql_query("INSERT INTO leases (name, holder, held_until) VALUES ($1, '', $2) ON CONFLICT (name) DO NOTHING")
        .bind::<Text, _>(name)
        .bind::<Timestamp, _>(chrono::DateTime::UNIX_EPOCH.naive_utc())
        .execute(conn)?;
    let taken = diesel::update(
        leases::table
            .filter(leases::name.eq(name))
            .filter(leases::held_until.lt(now).or(leases::holder.eq(holder))),
    )
    .set((leases::holder.eq(holder), leases::held_until.eq(until)))
    .execute(conn)?;
    Ok(taken == 1)
}
