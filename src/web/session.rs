//! What the session cookie holds: for a signed-in person, the secret that names their session
//! row on the server (the row, not the cookie, decides whether they are signed in) and their
//! account's session epoch; a sign-in waiting for its second step; a two-factor secret on
//! offer; for everyone, the CSRF token and the flash message. A signed-out visitor has a
//! cookie but no row.

use actix_session::Session;
use chrono::Utc;

use crate::crypto;
use crate::operations::accounts::Account;

const ACCOUNT: &str = "uid";
const EPOCH: &str = "ep";
const SECRET: &str = "sid";
const CSRF: &str = "csrf";
const FLASH: &str = "flash";
const SECOND_STEP: &str = "2fa";
const OFFERED_SECRET: &str = "2fa_new";
const SSO_ORG: &str = "sso";

/// The signed-in part of a session, as read from the cookie (not yet checked against the
/// database).
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub account_id: String,
    pub epoch: i64,
    /// The secret naming the session's row.
    pub secret: String,
}

/// Starts a fresh session for `account`, named by `secret` (its row is already made): the old
/// session's content is dropped and the cookie renewed, so nothing from before sign-in
/// survives it (session fixation).
pub fn sign_in(session: &Session, account: &Account, secret: &str) {
    let flash: Option<String> = session.get(FLASH).ok().flatten();
    session.clear();
    session.renew();
    let _ = session.insert(ACCOUNT, account.id.to_string());
    let _ = session.insert(EPOCH, account.session_epoch);
    let _ = session.insert(SECRET, secret);
    let _ = session.insert(CSRF, crypto::random_token());
    if let Some(f) = flash {
        let _ = session.insert(FLASH, f);
    }
}

/// A sign-in whose password was right, waiting for its second step: the account, its session
/// epoch then, when (Unix seconds), and where to go after. Nobody is signed in meanwhile.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct SecondStep {
    pub account_id: String,
    pub epoch: i64,
    pub started_at: i64,
    pub next: String,
    /// The organization whose single sign-on the first step went through, if it did.
    #[serde(default)]
    pub sso_org: Option<String>,
}

/// Starts the second step of signing in `account`: like `sign_in`, a fresh session (nothing
/// from before survives), but holding only the pending step.
pub fn start_second_step(session: &Session, account: &Account, next: &str) {
    session.clear();
    session.renew();
    let step = SecondStep {
        account_id: account.id.to_string(),
        epoch: account.session_epoch,
        started_at: Utc::now().timestamp(),
        next: next.to_string(),
        sso_org: None,
    };
    let _ = session.insert(SECOND_STEP, step);
}

/// Like `start_second_step`, for a sign-in through the organization's single sign-on.
pub fn start_second_step_after_sso(session: &Session, account: &Account, next: &str, org: &str) {
    start_second_step(session, account, next);
    if let Some(mut step) = session.get::<SecondStep>(SECOND_STEP).ok().flatten() {
        step.sso_org = Some(org.to_string());
        let _ = session.insert(SECOND_STEP, step);
    }
}

/// Marks the session (once signed in) as started through the organization's single sign-on:
/// an organization requiring it lets such a session in.
pub fn mark_sso(session: &Session, org: &str) {
    let _ = session.insert(SSO_ORG, org);
}

/// The organization whose single sign-on started this session, if any.
pub fn sso_org(session: &Session) -> Option<String> {
    session.get(SSO_ORG).ok().flatten()
}

/// The sign-in waiting for its second step, if it has not expired (an expired one is dropped).
pub fn second_step(session: &Session) -> Option<SecondStep> {
    let step: SecondStep = session.get(SECOND_STEP).ok().flatten()?;
    if crate::domain::two_factor::pending_expired(Utc::now().timestamp(), step.started_at) {
        session.remove(SECOND_STEP);
        return None;
    }
    Some(step)
}

/// Drops the sign-in waiting for its second step.
pub fn end_second_step(session: &Session) {
    session.remove(SECOND_STEP);
}

/// Keeps the two-factor secret offered to `account` on its page until a code confirms it: the
/// secret that is turned on is the one the server made, never one a form sends back.
pub fn offer_secret(session: &Session, account: &Account, secret: &str) {
    let _ = session.insert(OFFERED_SECRET, (account.id.to_string(), secret.to_string()));
}

/// The secret on offer to `account`, if any.
pub fn offered_secret(session: &Session, account: &Account) -> Option<String> {
    let (owner, secret): (String, String) = session.get(OFFERED_SECRET).ok().flatten()?;
    (owner == account.id.to_string()).then_some(secret)
}

pub fn forget_offered_secret(session: &Session) {
    if session.contains_key(OFFERED_SECRET) {
        session.remove(OFFERED_SECRET);
    }
}

/// Forgets the cookie's content (its row, if any, is the caller's to end).
pub fn sign_out(session: &Session) {
    session.purge();
}

/// Moves the session onto a new epoch (after a password change, this session stays valid).
pub fn set_epoch(session: &Session, epoch: i64) {
    let _ = session.insert(EPOCH, epoch);
}

/// Who the cookie says is signed in; the caller checks it against the session's row.
pub fn signed_in(session: &Session) -> Option<SignedIn> {
    let account_id: String = session.get(ACCOUNT).ok().flatten()?;
    let epoch: i64 = session.get(EPOCH).ok().flatten()?;
    let secret: String = session.get(SECRET).ok().flatten()?;
    Some(SignedIn { account_id, epoch, secret })
}

/// This session's CSRF token, made on first use.
pub fn csrf_token(session: &Session) -> String {
    if let Ok(Some(token)) = session.get::<String>(CSRF) {
        return token;
    }
    let token = crypto::random_token();
    let _ = session.insert(CSRF, &token);
    token
}

/// The token stored in the session, if any (the CSRF check never creates one).
pub fn stored_csrf_token(session: &Session) -> Option<String> {
    session.get::<String>(CSRF).ok().flatten()
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Flash {
    pub kind: FlashKind,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FlashKind {
    Success,
    Error,
    Info,
}

impl FlashKind {
    pub fn css(self) -> &'static str {
        match self {
            FlashKind::Success => "flash-success",
            FlashKind::Error => "flash-error",
            FlashKind::Info => "flash-info",
        }
    }
}

/// A message for the next page shown (post/redirect/get).
pub fn flash(session: &Session, kind: FlashKind, message: impl Into<String>) {
    let _ = session.insert(FLASH, Flash { kind, message: message.into() });
}

pub fn take_flash(session: &Session) -> Option<Flash> {
    // `remove` marks the session changed even when there is nothing to remove, which re-encrypts
    // the cookie and sends it again with every page
    if !session.contains_key(FLASH) {
        return None;
    }
    session.remove_as::<Flash>(FLASH).and_then(Result::ok)
}
