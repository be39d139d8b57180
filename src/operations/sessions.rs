//! Signed-in sessions: started at sign-in, checked on every request, listed and ended from the
//! profile, ended for a member by an admin, swept when they time out.

use chrono::NaiveDateTime;
use diesel::QueryResult;
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

/// How long spent links (used or expired) are kept before the housekeeping deletes them.
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

/// Deletes the sessions that have timed out by `now` (too old, or unseen for too long): one
/// of the housekeeping's sweeps.
pub fn sweep_timed_out(conn: &mut DbConn, now: NaiveDateTime) -> QueryResult<usize> {
    sessions::delete_expired(conn, now - ABSOLUTE_TIMEOUT, now - IDLE_TIMEOUT)
}

/// Deletes the account links (email verification, password reset) used or expired more than
/// a week before `now`: one of the housekeeping's sweeps.
pub fn sweep_spent_links(conn: &mut DbConn, now: NaiveDateTime) -> QueryResult<usize> {
    account_links::delete_spent(conn, now - SPENT_LINK_RETENTION)
}
