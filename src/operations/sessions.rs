//! Signed-in sessions: started at sign-in, checked on every request, listed and ended from the
//! profile, ended for a member by an admin, swept when they time out.

use serde_json::json;

use crate::crypto;
use crate::domain::ids::SessionId;
use crate::domain::sessions::{ABSOLUTE_TIMEOUT, IDLE_TIMEOUT, SEEN_RESOLUTION, expired};
use crate::domain::{AccountId, OrgId, Permission, RequestMeta};
use crate::operations::access::lock_and_authorize;
use crate::domain::security_log::SecurityEvent;
use crate::operations::{Ctx, OpError, security_log};
pub use crate::storage::sessions::Session;
use crate::storage::accounts::Account;
use crate::storage::audit::{self, NewEvent};
use crate::storage::{self, Db, DbConn, account_links, sessions};

/// How long spent links (used or expired) are kept before the sweep deletes them.
const SPENT_LINK_RETENTION: chrono::Duration = chrono::Duration::days(7);

/// The SHA-256 of a session's secret: what the table keeps.
pub fn hash_of(secret: &str) -> String {
    crypto::sha256_hex(secret.as_bytes())
}

/// Starts a session for the account: returns the secret for the cookie (the table keeps only
/// its hash).
pub fn start(db: &Db, account: AccountId, meta: &RequestMeta) -> Result<String, OpError> {
    let secret = crypto::random_token();
    let now = storage::now();
    let session = Session {
        id: SessionId::new(),
        token_hash: hash_of(&secret),
        account_id: account,
        created_at: now,
        last_seen_at: now,
        ip: meta.ip.clone(),
        user_agent: meta.user_agent.clone().map(|ua| ua.chars().take(512).collect()),
    };
    sessions::insert(&mut *db.conn()?, &session)?;
    Ok(secret)
}

/// Sweeps at most once an hour, called from a sign-in: no timer thread to keep alive, and a
/// server nobody signs in to has little new to sweep.
pub fn sweep_now_and_then(db: &Db, log_retention: std::time::Duration) {
    use std::sync::atomic::{AtomicI64, Ordering};
    static LAST_SWEEP: AtomicI64 = AtomicI64::new(0);
    let now = storage::now().and_utc().timestamp();
    let last = LAST_SWEEP.load(Ordering::Relaxed);
    if now - last < 3600 || LAST_SWEEP.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_err() {
        return;
    }
    match sweep(db, log_retention) {
        Ok((sessions, links, log)) => tracing::debug!(sessions, links, log, "swept timed-out sessions, spent links, old log entries"),
        Err(e) => tracing::warn!(error = %e, "the sweep of old sessions failed"),
    }
}

/// The session named by `hash` and its account, if the session still holds: an expired one is
/// deleted. Its last-seen time is written at most once a minute.
pub fn current(conn: &mut DbConn, hash: &str) -> Result<Option<(Session, Account)>, OpError> {
    let Some((session, account)) = sessions::find_with_account(conn, hash)? else { return Ok(None) };
    let now = storage::now();
    if expired(now, session.created_at, session.last_seen_at) {
        sessions::delete(conn, session.id)?;
        return Ok(None);
    }
    if now - session.last_seen_at >= SEEN_RESOLUTION {
        sessions::touch(conn, session.id, now)?;
    }
    Ok(Some((session, account)))
}

/// Signing out: the session's row goes, and with it every copy of the cookie.
pub fn end(db: &Db, hash: &str) -> Result<(), OpError> {
    sessions::delete_by_hash(&mut *db.conn()?, hash)?;
    Ok(())
}

/// The account's sessions, most recently seen first.
pub fn list(db: &Db, account: AccountId) -> Result<Vec<Session>, OpError> {
    Ok(sessions::of_account(&mut *db.conn()?, account)?)
}

/// Ends one of the account's own sessions; another account's is not found.
pub fn revoke(db: &Db, meta: &RequestMeta, account: AccountId, id: SessionId) -> Result<(), OpError> {
    db.write(|conn| match sessions::delete_of_account(conn, account, id)? {
        0 => Err(OpError::NotFound),
        _ => security_log::record(conn, account, SecurityEvent::SessionRevoked, meta),
    })
}

/// Ends every session of the account but `keep`: the number ended.
pub fn revoke_others(db: &Db, meta: &RequestMeta, account: AccountId, keep: Option<SessionId>) -> Result<usize, OpError> {
    db.write(|conn| {
        let ended = sessions::delete_all_of_account(conn, account, keep)?;
        security_log::record(conn, account, SecurityEvent::OtherSessionsRevoked, meta)?;
        Ok(ended)
    })
}

/// An admin ends every session of a member (`members.manage`, and not the owner nor
/// themselves), with `member.signed_out`.
pub fn sign_out_member(db: &Db, ctx: &Ctx, org: OrgId, target: AccountId) -> Result<usize, OpError> {
    db.write(|conn| {
        let held = lock_and_authorize(conn, org, &ctx.actor, Permission::MembersManage, None)?;
        let (member, _) = crate::operations::roles::changeable_member(conn, ctx, held, org, target)?;
        let ended = sessions::delete_all_of_account(conn, target, None)?;
        security_log::record(conn, target, SecurityEvent::SignedOutByAdmin, &ctx.meta)?;
        let event = NewEvent::new("member.signed_out")
            .target(member.name.clone())
            .target_email(member.email.to_string())
            .details(json!({ "sessions_ended": ended }));
        audit::append(conn, org, &ctx.actor, &ctx.meta, event, storage::now())?;
        Ok(ended)
    })
}

/// Deletes timed-out sessions, links spent a while ago and security log entries older than
/// `log_retention`: run now and then in the background.
pub fn sweep(db: &Db, log_retention: std::time::Duration) -> Result<(usize, usize, usize), OpError> {
    let mut conn = db.conn()?;
    let now = storage::now();
    let sessions = sessions::delete_expired(&mut conn, now - ABSOLUTE_TIMEOUT, now - IDLE_TIMEOUT)?;
    let links = account_links::delete_spent(&mut conn, now - SPENT_LINK_RETENTION)?;
    let retention = chrono::Duration::from_std(log_retention).unwrap_or(chrono::Duration::days(365));
    let log = storage::security_log::delete_older_than(&mut conn, now - retention)?;
    Ok((sessions, links, log))
}
