//! The database connection: one connection type over SQLite and PostgreSQL, the pool,
//! migrations, and the transaction helper every write goes through.


use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, PooledConnection};
use diesel::{PgConnection, SqliteConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::metrics::{self, Metrics};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// A connection to whichever backend the configuration names.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Postgres(PgConnection),
    Sqlite(SqliteConnection),
}

pub type DbPool = Pool<ConnectionManager<DbConn>>;
pub type PooledConn = PooledConnection<ConnectionManager<DbConn>>;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database error: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("no database connection available: {0}")]
    Pool(#[from] diesel::r2d2::PoolError),
    #[error("could not open the database: {0}")]
    Setup(String),
}

impl DbError {
    /// Whether the database could not be reached, or went away in the middle of the request, or
    /// stayed locked by another writer past the busy timeout: the same request may well succeed
    /// in a few seconds, so the faces answer 503 with `Retry-After`, never 500.
    pub fn is_unavailable(&self) -> bool {
        match self {
            DbError::Pool(_) => true,
            DbError::Query(e) => is_unavailable(e),
            DbError::Setup(_) => false,
        }
    }
}

/// What the database says when it cannot serve the query for now, as opposed to refusing it:
/// libpq's words for a lost or refused connection, PostgreSQL's while it shuts down, starts or
/// recovers (SQLSTATE 57P01-57P03, which Diesel does not expose as codes), and SQLite's for a
/// lock still held when the busy timeout ran out.
const UNAVAILABLE_MESSAGES: [&str; 12] = [
    "server closed the connection",
    "terminating connection",
    "the database system is shutting down",
    "the database system is starting up",
    "the database system is in recovery mode",
    "the database system is not yet accepting connections",
    "could not connect to server",
    "connection to server",
    "no connection to the server",
    "could not receive data from server",
    "could not send data to server",
    "database is locked",
];

/// Whether a query failed because the database is out of reach for now (see `DbError::is_unavailable`).
pub fn is_unavailable(e: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    match e {
        Error::DatabaseError(DatabaseErrorKind::ClosedConnection, _) => true,
        Error::DatabaseError(_, info) => {
            let message = info.message().to_ascii_lowercase();
            UNAVAILABLE_MESSAGES.iter().any(|m| message.contains(m))
        }
        _ => false,
    }
}

/// Which backend a `STEWARD_DATABASE_URL` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of_url(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite://") || url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }
}

/// The path inside a `sqlite://PATH` URL.
pub fn sqlite_path(url: &str) -> &str {
    url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(url)
}

/// SQLite settings applied to every pooled connection: WAL for concurrent readers, a busy
/// timeout instead of immediate SQLITE_BUSY, enforced foreign keys, and 2 MiB of page cache
/// per connection: a member list page touches about 250 pages (each of its 50 rows reads its
/// membership and its account at random places), and a cache smaller than that misses on
/// nearly every page, each miss a system call (1 MiB was just under it, and lost a fifth of
/// the list's throughput as soon as pages grew a little).
#[derive(Debug)]
struct SqlitePragmas;

impl CustomizeConnection<DbConn, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut DbConn) -> Result<(), diesel::r2d2::Error> {
        if let DbConn::Sqlite(c) = conn {
            c.batch_execute(
                "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000; \
                 PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; \
                 PRAGMA cache_size = -2048;",
            )
            .map_err(diesel::r2d2::Error::QueryError)?;
        }
        Ok(())
    }
}

/// How long a request waits for a pooled connection before it answers 503.
const CONNECTION_WAIT: Duration = Duration::from_secs(5);

/// How long it waits once a wait has failed, until a connection is had again: while the
/// database is down, every request would otherwise hold a thread for the whole wait before
/// saying so.
const WAIT_DURING_OUTAGE: Duration = Duration::from_millis(500);

/// Opens the pool for `url` and applies the embedded migrations.
pub fn connect(url: &str, max_size: u32) -> Result<DbPool, DbError> {
    let backend =
        Backend::of_url(url).ok_or_else(|| DbError::Setup(format!("unsupported database URL scheme in {url:?}")))?;
    let conn_url = match backend {
        Backend::Sqlite => {
            let path = sqlite_path(url);
            if let Some(parent) = std::path::Path::new(path).parent() {
                if !parent.as_os_str().is_empty() {
                    std::fs::create_dir_all(parent)
                        .map_err(|e| DbError::Setup(format!("cannot create {}: {e}", parent.display())))?;
                }
            }
            path.to_string()
        }
        Backend::Postgres => url.to_string(),
    };
    let manager = ConnectionManager::<DbConn>::new(conn_url);
    let pool = Pool::builder()
        .max_size(max_size)
        .connection_timeout(CONNECTION_WAIT)
        // A SQLite file does not drop a connection: skip the `SELECT 1` on every checkout.
        .test_on_check_out(backend == Backend::Postgres)
        .connection_customizer(Box::new(SqlitePragmas))
        .build(manager)
        .map_err(|e| DbError::Setup(e.to_string()))?;
    migrate(&mut *pool.get()?)?;
    Ok(pool)
}

/// Applies every pending migration of the connection's backend, then the step a migration
/// cannot do in SQL: the search keys of names outside ASCII (`members::fill_name_keys`).
pub fn migrate(conn: &mut DbConn) -> Result<usize, DbError> {
    let applied = match conn {
        DbConn::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
        DbConn::Postgres(c) => c.run_pending_migrations(POSTGRES_MIGRATIONS).map(|v| v.len()),
    };
    let applied = applied.map_err(|e| DbError::Setup(format!("migration failed: {e}")))?;
    crate::storage::members::fill_name_keys(conn).map_err(|e| DbError::Setup(format!("search keys of names: {e}")))?;
    Ok(applied)
}

/// Runs `f` in one write transaction: committed when it returns Ok, rolled back otherwise.
/// On SQLite the transaction takes the write lock at BEGIN (IMMEDIATE), so two writers queue
/// on the busy timeout instead of failing when a read lock cannot be upgraded.
pub fn write_tx<T, E>(conn: &mut DbConn, f: impl FnOnce(&mut DbConn) -> Result<T, E>) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    match conn {
        DbConn::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?,
        DbConn::Postgres(c) => AnsiTransactionManager::begin_transaction(c)?,
    }
    match f(conn) {
        Ok(value) => {
            if let Err(e) = DbConn::commit_transaction(conn) {
                let _ = DbConn::rollback_transaction(conn);
                return Err(e.into());
            }
            Ok(value)
        }
        Err(e) => {
            DbConn::rollback_transaction(conn)?;
            Err(e)
        }
    }
}

impl DbConn {
    pub fn backend(&self) -> Backend {
        match self {
            DbConn::Sqlite(_) => Backend::Sqlite,
            DbConn::Postgres(_) => Backend::Postgres,
        }
    }
}

/// Used by `/healthz`: the database answers a trivial query.
pub fn ping(conn: &mut DbConn) -> Result<(), DbError> {
    conn.batch_execute("SELECT 1")?;
    Ok(())
}

/// The handle operations use: a pool to take connections from, released as soon as possible
/// (password hashing, for one, happens without holding a connection). Every method blocks:
/// call it from `web::block` or another blocking thread, never on an async worker.
#[derive(Clone)]
pub struct Db {
    pool: DbPool,
    /// Set when a wait for a connection ran out, cleared when one is had again.
    out_of_reach: Arc<AtomicBool>,
    /// The server's metrics, carried with the handle every layer already has.
    metrics: Arc<Metrics>,
    /// Where rows deep in the member lists stand, as of their versions.
    list_anchors: Arc<crate::storage::member_list::Anchors>,
}

impl Db {
    /// A handle recording no metrics (the commands, the tests' own connections).
    pub fn new(pool: DbPool) -> Db {
        Db::with_metrics(pool, Arc::new(Metrics::off()))
    }

    /// A handle recording into `metrics`: the waits for a connection, and what its write
    /// transactions commit (audit events, queued emails).
    pub fn with_metrics(pool: DbPool, metrics: Arc<Metrics>) -> Db {
        Db { pool, out_of_reach: Arc::new(AtomicBool::new(false)), metrics, list_anchors: Arc::default() }
    }

    /// Where rows deep in the member lists stand (`member_list::Anchors`).
    pub fn list_anchors(&self) -> &crate::storage::member_list::Anchors {
        &self.list_anchors
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// A pooled connection, waiting `CONNECTION_WAIT` for one (`WAIT_DURING_OUTAGE` while the
    /// last wait failed). The pool replaces broken connections by itself, so once the database
    /// is back the next request gets a working one, with no restart.
    pub fn conn(&self) -> Result<PooledConn, DbError> {
        let outage = self.out_of_reach.load(Ordering::Relaxed);
        let asked = self.metrics.is_on().then(Instant::now);
        let got = if outage { self.pool.get_timeout(WAIT_DURING_OUTAGE) } else { self.pool.get() };
        if let Some(asked) = asked {
            // r2d2 fails a checkout only when its wait runs out
            self.metrics.pool_wait(asked.elapsed(), got.is_err());
        }
        match got {
            Ok(conn) => {
                if outage {
                    self.out_of_reach.store(false, Ordering::Relaxed);
                    tracing::info!("the database answers again");
                }
                Ok(conn)
            }
            Err(e) => {
                if !outage {
                    self.out_of_reach.store(true, Ordering::Relaxed);
                }
                Err(e.into())
            }
        }
    }

    /// Runs `f` in one write transaction on a pooled connection.
    pub fn write<T, E>(&self, f: impl FnOnce(&mut DbConn) -> Result<T, E>) -> Result<T, E>
    where
        E: From<diesel::result::Error> + From<DbError>,
    {
        let mut conn = self.conn()?;
        if !self.metrics.is_on() {
            return write_tx(&mut conn, f);
        }
        let (result, written) = metrics::collect_written(|| write_tx(&mut conn, f));
        if result.is_ok() {
            self.metrics.committed(&written);
        }
        result
    }

    pub fn pool(&self) -> &DbPool {
        &self.pool
    }
}

#[cfg(test)]
mod tests {
    use diesel::result::{DatabaseErrorKind, Error};

    use super::*;

    fn database_error(kind: DatabaseErrorKind, message: &str) -> Error {
        Error::DatabaseError(kind, Box::new(message.to_string()))
    }

    #[test]
    fn a_lost_or_locked_database_is_unavailable_and_a_refused_query_is_not() {
        for lost in [
            database_error(DatabaseErrorKind::ClosedConnection, "connection closed"),
            database_error(DatabaseErrorKind::Unknown, "server closed the connection unexpectedly"),
            database_error(DatabaseErrorKind::Unknown, "FATAL: terminating connection due to administrator command"),
            database_error(DatabaseErrorKind::Unknown, "FATAL: the database system is starting up"),
            database_error(DatabaseErrorKind::Unknown, "database is locked"),
        ] {
            assert!(DbError::Query(lost).is_unavailable());
        }
        for refused in [
            database_error(DatabaseErrorKind::UniqueViolation, "duplicate key value violates unique constraint"),
            database_error(DatabaseErrorKind::Unknown, "syntax error at or near \"FROM\""),
            Error::NotFound,
        ] {
            assert!(!DbError::Query(refused).is_unavailable());
        }
        assert!(!DbError::Setup("migration failed".into()).is_unavailable());
    }

    fn pool_sample(in_use: u32, idle: u32) -> crate::metrics::PoolSample {
        crate::metrics::PoolSample { in_use, idle, max: 1 }
    }

    #[test]
    fn a_wait_for_a_connection_that_runs_out_is_counted() {
        let dir = tempfile::tempdir().unwrap();
        let manager = ConnectionManager::<DbConn>::new(dir.path().join("steward.db").display().to_string());
        let pool = Pool::builder().max_size(1).connection_timeout(Duration::from_millis(50)).build(manager).unwrap();
        let sampled = pool.clone();
        let sample = move || {
            let state = sampled.state();
            pool_sample(state.connections - state.idle_connections, state.idle_connections)
        };
        let metrics = Arc::new(Metrics::new(sample, metrics::KnownLabels::default()).unwrap());
        let db = Db::with_metrics(pool, metrics.clone());
        let held = db.conn().unwrap();
        assert!(db.conn().is_err(), "the only connection is held");
        let text = metrics.render().unwrap();
        assert!(text.contains("steward_db_pool_timeouts_total 1\n"), "{text}");
        assert!(text.contains("steward_db_pool_wait_seconds_count 2\n"), "{text}");
        assert!(text.contains("steward_db_pool_connections_in_use 1\n"), "{text}");
        drop(held);
        assert!(metrics.render().unwrap().contains("steward_db_pool_connections_idle 1\n"));
    }

    #[test]
    fn a_write_counts_what_it_wrote_only_once_committed() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("steward.db").display());
        let pool = connect(&url, 1).unwrap();
        let metrics = Arc::new(Metrics::new(|| pool_sample(0, 1), metrics::KnownLabels::default()).unwrap());
        let db = Db::with_metrics(pool, metrics.clone());
        let rolled_back: Result<(), DbError> = db.write(|_| {
            metrics::note(metrics::Written::AuditEvent("org.renamed"));
            Err(DbError::Setup("refused".into()))
        });
        assert!(rolled_back.is_err());
        let committed: Result<(), DbError> = db.write(|_| {
            metrics::note(metrics::Written::AuditEvent("org.created"));
            Ok(())
        });
        committed.unwrap();
        let text = metrics.render().unwrap();
        assert!(text.contains("steward_audit_events_total{action=\"org.created\"} 1\n"), "{text}");
        assert!(!text.contains("org.renamed"), "{text}");
    }
}
