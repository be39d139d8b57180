//! The housekeeping: every instance runs it in the background, and in each round the one that
//! holds the lease sweeps what has run its course (spent rate-limit buckets, timed-out
//! sessions, spent account links, old security-log entries, undeliverable emails).

use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::QueryResult;

use crate::background::{Background, Ticker, Waker};
use crate::crypto;
use crate::operations::{OpError, sessions};
use crate::storage::{self, Db, DbConn, leases, outbox, rate_limits, security_log};

/// The lease a round takes first: one instance sweeps at a time.
pub const LEASE: &str = "housekeeping";

/// What the sweeps are told beyond the time of the round.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The pause between two rounds of one instance (`STEWARD_HOUSEKEEPING_INTERVAL`).
    pub interval: Duration,
    /// How long security-log entries are kept (`STEWARD_SECURITY_LOG_RETENTION`).
    pub security_log_retention: Duration,
}

impl Settings {
    pub fn of(config: &crate::config::Config) -> Settings {
        Settings { interval: config.housekeeping_interval, security_log_retention: config.security_log_retention }
    }

    /// How long a round holds the lease: a round's pause, so that the next round (here or on
    /// another instance) may take it; at least a minute, longer than any round lasts.
    fn lease(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.interval.max(Duration::from_secs(60))).unwrap_or(chrono::Duration::hours(1))
    }
}

/// One sweep: deletes what has run its course at the time given; the number deleted.
pub type Sweep = fn(&mut DbConn, &Settings, NaiveDateTime) -> QueryResult<usize>;

/// The sweeps of a round, by name, in order. A new kind of row that runs its course gets its
/// line here.
pub const SWEEPS: &[(&str, Sweep)] = &[
    ("rate_limit_buckets", |conn, _, now| rate_limits::delete_recovered(conn, now.and_utc().timestamp_micros())),
    ("sessions", |conn, _, now| sessions::sweep_timed_out(conn, now)),
    ("account_links", |conn, _, now| sessions::sweep_spent_links(conn, now)),
    ("sso_flows", |conn, _, now| crate::operations::sso::sweep_flows(conn, now)),
    ("security_log", |conn, settings, now| {
        let retention = chrono::Duration::from_std(settings.security_log_retention).unwrap_or(chrono::Duration::days(365));
        security_log::delete_older_than(conn, now - retention)
    }),
    // emails whose link expired before they could be delivered: their bodies go (the delivery
    // worker runs the same sweep on its rounds)
    ("outbox_expired", |conn, _, now| outbox::expire_overdue(conn, now)),
    // sent and dead emails, a while after (they carry no body any more)
    ("outbox_finished", |conn, _, now| outbox::delete_finished_before(conn, now - outbox::FINISHED_RETENTION)),
];

/// What one sweep of a round did: the rows it deleted, or why it failed.
pub type Swept = (&'static str, QueryResult<usize>);

/// One round at `now` for `holder` (an id of this process): `None` when another instance holds
/// the lease, else what each sweep did. Each sweep is its own transaction, so that one failing
/// keeps neither the others from running nor the write lock long.
pub fn round(db: &Db, settings: &Settings, holder: &str, now: NaiveDateTime) -> Result<Option<Vec<Swept>>, OpError> {
    let mut conn = db.conn()?;
    if !leases::take(&mut conn, LEASE, holder, now, now + settings.lease())? {
        return Ok(None);
    }
    let swept = SWEEPS
        .iter()
        .map(|&(name, sweep)| (name, storage::write_tx(&mut conn, |conn| sweep(conn, settings, now))))
        .collect();
    Ok(Some(swept))
}

/// Starts the housekeeping of this instance beside the server: a round every
/// `settings.interval`, the first one interval after the start.
pub fn start(background: &mut Background, db: Db, settings: Settings) -> std::io::Result<Waker> {
    // one id per instance, even for two instances in one process (tests)
    let holder = crypto::random_token();
    background.spawn("housekeeping", move |ticker: Ticker| {
        while ticker.sleep(settings.interval) {
            match round(&db, &settings, &holder, storage::now()) {
                Ok(None) => tracing::debug!("housekeeping: another instance holds the lease"),
                Ok(Some(swept)) => {
                    for (sweep, result) in swept {
                        match result {
                            Ok(deleted) => tracing::debug!(sweep, deleted, "housekeeping swept"),
                            Err(e) => tracing::warn!(sweep, error = %e, "housekeeping sweep failed"),
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "housekeeping round failed"),
            }
        }
    })
}
