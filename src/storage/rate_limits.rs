//! Rate-limit buckets shared by every instance: one row per limit and key, taken from in one
//! atomic statement (the generic cell rate algorithm), and swept once fully recovered.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Text};

use crate::storage::DbConn;
use crate::storage::schema::rate_limits;

/// The bucket after a check: its theoretical arrival time, and whether this check was refused.
#[derive(Debug, QueryableByName)]
struct Checked {
    #[diesel(sql_type = BigInt)]
    tat: i64,
    #[diesel(sql_type = Bool)]
    refused: bool,
}

/// Takes one request from the bucket `key` at `now` (microseconds since the epoch), where one
/// request comes back every `period` and `tolerance` (`period` times the burst) may be taken at
/// once: `None` when it passes, else the microseconds to wait.
pub fn take(conn: &mut DbConn, key: &str, now: i64, period: i64, tolerance: i64) -> QueryResult<Option<i64>> {
    take_many(conn, key, now, period, tolerance, 1)
}

/// Takes `count` requests at once from the bucket `key` (see `take`): all of them pass, or none
/// and the bucket is left as it was. `None` when they pass, else the microseconds to wait (for
/// more than the burst, a wait after which they would still not pass).
///
/// The bucket holds the theoretical arrival time (TAT) of the next request. `count` requests
/// pass when `max(tat, now) + count * period - tolerance <= now`, and move the TAT to
/// `max(tat, now) + count * period`; a new key starts at `now`. Insert, test and update are one
/// statement, so that two instances checking the same key at once queue on its row and both
/// see the other's request. The statement's placeholders are `$n`, which PostgreSQL numbers and
/// SQLite names (each name its own parameter, in the order they first appear: so they appear in
/// order).
pub fn take_many(conn: &mut DbConn, key: &str, now: i64, period: i64, tolerance: i64, count: u32) -> QueryResult<Option<i64>> {
    let cost = period.saturating_mul(i64::from(count));
    // the latest TAT at which the requests still pass
    let latest = now.saturating_add(tolerance).saturating_sub(cost);
    let checked: Checked = diesel::sql_query(
        "INSERT INTO rate_limits (key, tat, refused) \
           VALUES ($1, $2 + (CASE WHEN $3 <= $4 THEN $3 ELSE 0 END), $3 > $4) \
         ON CONFLICT (key) DO UPDATE SET \
           tat = CASE WHEN (CASE WHEN rate_limits.tat > $2 THEN rate_limits.tat ELSE $2 END) <= $5 \
                      THEN (CASE WHEN rate_limits.tat > $2 THEN rate_limits.tat ELSE $2 END) + $3 \
                      ELSE rate_limits.tat END, \
           refused = (CASE WHEN rate_limits.tat > $2 THEN rate_limits.tat ELSE $2 END) > $5 \
         RETURNING tat, refused",
    )
    .bind::<Text, _>(key)
    .bind::<BigInt, _>(now)
    .bind::<BigInt, _>(cost)
    .bind::<BigInt, _>(tolerance)
    .bind::<BigInt, _>(latest)
    .get_result(conn)?;
    if !checked.refused {
        return Ok(None);
    }
    // a new bucket refused holds `now`: the wait is as long as the cost overshoots the burst
    let from = checked.tat.max(now);
    Ok(Some(from.saturating_sub(latest).max(1)))
}

/// The TAT of the bucket `key`, if it has one: how much of its quota is in use (see `take`).
pub fn tat_of(conn: &mut DbConn, key: &str) -> QueryResult<Option<i64>> {
    rate_limits::table.filter(rate_limits::key.eq(key)).select(rate_limits::tat).first(conn).optional()
}

/// Deletes the buckets that have fully recovered by `now` (a new bucket would be the same):
/// the number deleted.
pub fn delete_recovered(conn: &mut DbConn, now: i64) -> QueryResult<usize> {
    diesel::delete(rate_limits::table.filter(rate_limits::tat.lt(now))).execute(conn)
}

/// How many buckets there are, for tests and diagnostics.
pub fn count(conn: &mut DbConn) -> QueryResult<i64> {
    rate_limits::table.count().get_result(conn)
}
