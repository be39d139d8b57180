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
///
/// The bucket holds the theoretical arrival time (TAT) of the next request. A request passes
/// when `tat + period - tolerance <= now`, and moves the TAT to `max(tat, now) + period`; a new
/// key starts at `now`. Insert, test and update are one statement, so that two instances
/// checking the same key at once queue on its row and both see the other's request. The
/// statement's placeholders are `$n`, which PostgreSQL numbers and SQLite names (each name its
/// own parameter, in the order they first appear).
pub fn take(conn: &mut DbConn, key: &str, now: i64, period: i64, tolerance: i64) -> QueryResult<Option<i64>> {
    // the latest TAT at which a request still passes
    let latest = now.saturating_add(tolerance).saturating_sub(period);
    let checked: Checked = diesel::sql_query(
        "INSERT INTO rate_limits (key, tat, refused) VALUES ($1, $2 + $3, FALSE) \
         ON CONFLICT (key) DO UPDATE SET \
           tat = CASE WHEN rate_limits.tat <= $4 \
                      THEN (CASE WHEN rate_limits.tat > $2 THEN rate_limits.tat ELSE $2 END) + $3 \
                      ELSE rate_limits.tat END, \
           refused = rate_limits.tat > $4 \
         RETURNING tat, refused",
    )
    .bind::<Text, _>(key)
    .bind::<BigInt, _>(now)
    .bind::<BigInt, _>(period)
    .bind::<BigInt, _>(latest)
    .get_result(conn)?;
    Ok(checked.refused.then(|| checked.tat - latest))
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
