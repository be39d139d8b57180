//! `steward backup`: a consistent copy of a live SQLite database, taken with `VACUUM INTO`.

use diesel::connection::SimpleConnection;

use crate::storage::{DbConn, DbError};

/// Writes a consistent copy of the database to `path`, which must not exist. SQLite's
/// `VACUUM INTO` reads the database in one read transaction (in WAL mode writers go on
/// meanwhile; their later commits are simply not in the copy) and writes a compact file with
/// no `-wal` beside it: the copy opens on its own. PostgreSQL has its own tools for this.
pub fn vacuum_into(conn: &mut DbConn, path: &str) -> Result<(), DbError> {
    match conn {
        // the path is a string literal in the statement: its quotes are doubled, and a NUL
        // (which would end the statement's text early) is refused
        DbConn::Sqlite(c) if !path.contains('\0') => {
            c.batch_execute(&format!("VACUUM INTO '{}'", path.replace('\'', "''")))?;
            Ok(())
        }
        DbConn::Sqlite(_) => Err(DbError::Setup("a backup path cannot hold a NUL character".into())),
        DbConn::Postgres(_) => Err(DbError::Setup(
            "steward backup copies a SQLite database; back up PostgreSQL with pg_dump -Fc".into(),
        )),
    }
}
