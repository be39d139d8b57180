//! The account's security log: recorded by the operations that sign in, change credentials or
//! end sessions; read by the account's owner alone on `/profile/security`.

use crate::domain::security_log::SecurityEvent;
use crate::domain::{AccountId, RequestMeta};
use crate::operations::OpError;
pub use crate::storage::security_log::Entry;
use crate::storage::{self, Db, DbConn, security_log};

/// How many entries the page shows.
const PAGE: i64 = 200;

/// Records `kind` for the account, from the request `meta` describes. Call it inside the
/// transaction of the change it records, when there is one.
pub fn record(conn: &mut DbConn, account: AccountId, kind: SecurityEvent, meta: &RequestMeta) -> Result<(), OpError> {
    let entry = Entry {
        id: 0,
        account_id: account,
        occurred_at: storage::now(),
        kind,
        ip: meta.ip.clone(),
        user_agent: meta.user_agent.clone().map(|ua| ua.chars().take(512).collect()),
    };
    Ok(security_log::insert(conn, &entry)?)
}

/// The account's newest entries, newest first.
pub fn recent(db: &Db, account: AccountId) -> Result<Vec<Entry>, OpError> {
    Ok(security_log::newest(&mut *db.conn()?, account, PAGE)?)
}
