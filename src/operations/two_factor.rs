//! Two-factor authentication (TOTP): turning it on with recovery codes, turning it off, the
//! second step of signing in, and the operator's reset for someone who lost every factor.

use chrono::NaiveDateTime;

use crate::domain::RequestMeta;
use crate::domain::security_log::SecurityEvent;
use crate::operations::security_log;
use crate::crypto;
use crate::metrics::SignInFailure;
use crate::domain::two_factor::{self, RECOVERY_CODES, Typed};
use crate::domain::{AccountId, Email, Invalid, totp};
use crate::mail::{AccountMail, Postbox};
use crate::operations::identity;
use crate::storage::outbox::Kind;
use crate::operations::OpError;
use crate::storage::accounts::{self, Account};
use crate::storage::{self, Db, DbConn, recovery_codes};

/// A new secret to offer on the page (base32), until a code proves an app holds it.
pub fn new_secret() -> String {
    totp::encode_secret(&crypto::random_bytes::<{ totp::SECRET_BYTES }>())
}

/// The `otpauth://` URI of `secret` for the account's email, which the QR code carries.
pub fn otpauth_uri(email: &Email, secret: &str) -> String {
    totp::otpauth_uri(email.as_str(), secret)
}

/// What the two-factor page says of an account that has it on.
#[derive(Debug, Clone)]
pub struct Enabled {
    pub since: NaiveDateTime,
    pub recovery_codes_left: i64,
}

/// The account's two-factor state: None while it is off.
pub fn enabled(db: &Db, account: &Account) -> Result<Option<Enabled>, OpError> {
    let Some(since) = account.totp_enabled_at.filter(|_| account.two_factor_on()) else { return Ok(None) };
    let recovery_codes_left = recovery_codes::unused(&mut *db.conn()?, account.id)?;
    Ok(Some(Enabled { since, recovery_codes_left }))
}

fn unix(t: NaiveDateTime) -> i64 {
    t.and_utc().timestamp()
}

/// Recovery codes are stored as the SHA-256 of their compact, lower-case form.
fn recovery_hash(compact: &str) -> String {
    crypto::sha256_hex(compact.as_bytes())
}

/// Turns two-factor on with `secret` (offered on the page and kept in the session, never taken
/// from the form) once `typed` is a current code of it. Returns the recovery codes, to be shown
/// once: only their hashes are kept. The owner is told by email.
pub fn enable(db: &Db, postbox: &Postbox, meta: &RequestMeta, account: AccountId, secret: &str, typed: &str) -> Result<Vec<String>, OpError> {
    let bytes = totp::decode_secret(secret).ok_or_else(|| OpError::Internal("the offered secret is not base32".into()))?;
    let Some(Typed::Totp(code)) = Typed::parse(typed) else {
        return Err(Invalid::new("code", "Enter the 6-digit code your authenticator app shows.").into());
    };
    let now = storage::now();
    // the enrolment code is a use of its step like any other: it cannot sign in afterwards
    let step = totp::accepted_step(&bytes, &code, unix(now), None).ok_or_else(|| {
        Invalid::new("code", "That code is not correct. Check that your device's clock is right, and enter the code your app shows now.")
    })?;
    let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| two_factor::recovery_code(crypto::random_bytes())).collect();
    let hashes: Vec<String> = codes.iter().map(|c| recovery_hash(&c.replace('-', ""))).collect();
    db.write(|conn| {
        let account = accounts::find(conn, account)?.ok_or(OpError::NotFound)?;
        if !accounts::enable_totp(conn, account.id, secret, step, now)? {
            return Err(OpError::Conflict("Two-factor authentication is already on for your account.".into()));
        }
        recovery_codes::replace(conn, account.id, &hashes)?;
        security_log::record(conn, account.id, SecurityEvent::TwoFactorEnabled, meta)?;
        tell(conn, postbox, &account, true, "from your profile", now)
    })?;
    postbox.posted();
    Ok(codes)
}

/// Takes `typed` as the account's second factor, inside the caller's transaction: a code of
/// the authenticator not used before (its step is recorded), or an unused recovery code (it
/// is marked used). None for anything else, which changes nothing.
fn accept_factor(conn: &mut DbConn, account: &Account, typed: &str, now: NaiveDateTime) -> Result<Option<Factor>, OpError> {
    Ok(match Typed::parse(typed) {
        Some(Typed::Totp(code)) => {
            let Some(secret) = account.totp_secret.as_deref().and_then(totp::decode_secret) else { return Ok(None) };
            match totp::accepted_step(&secret, &code, unix(now), account.totp_last_step) {
                // the update decides: of two requests with the same code, one records its step
                Some(step) if accounts::use_totp_step(conn, account.id, step)? => Some(Factor::Authenticator),
                _ => None,
            }
        }
        Some(Typed::Recovery(compact)) => {
            recovery_codes::spend(conn, account.id, &recovery_hash(&compact), now)?.then_some(Factor::RecoveryCode)
        }
        None => None,
    })
}

/// Which second factor was used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Factor {
    Authenticator,
    RecoveryCode,
}

/// Turns two-factor off after checking the password and a second factor (a current code or an
/// unused recovery code): the secret and the recovery codes are deleted, and the owner is told
/// by email.
pub fn disable(db: &Db, postbox: &Postbox, meta: &RequestMeta, account: AccountId, password: &str, typed: &str) -> Result<(), OpError> {
    let stored = accounts::find(&mut *db.conn()?, account)?.ok_or(OpError::NotFound)?;
    if !stored.two_factor_on() {
        return Err(OpError::Conflict("Two-factor authentication is already off for your account.".into()));
    }
    // the password first, outside the transaction (argon2 takes its time)
    if password.len() > 4 * crate::domain::password::MAX_PASSWORD_CHARS || !crypto::verify_password(password, &stored.password_hash)
    {
        return Err(Invalid::new("password", "The password is not correct.").into());
    }
    let now = storage::now();
    db.write(|conn| {
        let account = accounts::find(conn, account)?.ok_or(OpError::NotFound)?;
        if accept_factor(conn, &account, typed, now)?.is_none() {
            return Err(wrong_code().into());
        }
        accounts::disable_totp(conn, account.id)?;
        recovery_codes::delete_all(conn, account.id)?;
        security_log::record(conn, account.id, SecurityEvent::TwoFactorDisabled, meta)?;
        tell(conn, postbox, &account, false, "from your profile", now)
    })?;
    postbox.posted();
    Ok(())
}

fn wrong_code() -> Invalid {
    Invalid::new("code", "That code is not correct, or was used already. Enter the code your authenticator app shows now, or an unused recovery code.")
}

/// The message of a refused second-step code.
pub fn wrong_code_message() -> String {
    wrong_code().message
}

/// How the second step of a sign-in ended.
#[derive(Debug)]
pub enum SecondStep {
    /// The code was right: the account is signed in (its sign-in time recorded). With a
    /// recovery code, how many are left.
    SignedIn { account: Account, recovery_codes_left: Option<i64> },
    /// The code was wrong, or used already.
    WrongCode,
    /// The sign-in cannot be finished: the account is gone, its password changed since the
    /// first step (a new session epoch), or two-factor was turned off. Start again.
    Restart,
}

/// The second step of signing in `account`, whose password was right at session epoch `epoch`:
/// `typed` is a current code or an unused recovery code, each accepted once.
/// `via_sso`: the first step was the organization's single sign-on (the security log says so).
pub fn second_step(db: &Db, meta: &RequestMeta, account: AccountId, epoch: i64, typed: &str, via_sso: bool) -> Result<SecondStep, OpError> {
    let step = db.write(|conn| -> Result<SecondStep, OpError> {
        let now = storage::now();
        let Some(account) = accounts::find(conn, account)? else { return Ok(SecondStep::Restart) };
        if account.session_epoch != epoch || !account.two_factor_on() {
            return Ok(SecondStep::Restart);
        }
        let Some(factor) = accept_factor(conn, &account, typed, now)? else { return Ok(SecondStep::WrongCode) };
        accounts::record_login(conn, account.id, now)?;
        let event = if via_sso { SecurityEvent::SignedInWithSso } else { SecurityEvent::SignedIn };
        security_log::record(conn, account.id, event, meta)?;
        let recovery_codes_left = match factor {
            Factor::RecoveryCode => {
                security_log::record(conn, account.id, SecurityEvent::RecoveryCodeUsed, meta)?;
                Some(recovery_codes::unused(conn, account.id)?)
            }
            Factor::Authenticator => None,
        };
        Ok(SecondStep::SignedIn { account, recovery_codes_left })
    })?;
    match step {
        SecondStep::SignedIn { .. } => db.metrics().signed_in(),
        SecondStep::WrongCode => db.metrics().sign_in_failed(SignInFailure::TwoFactor),
        // nothing was tried: the sign-in starts again from its password
        SecondStep::Restart => {}
    }
    Ok(step)
}

/// What `steward account reset-two-factor` did.
#[derive(Debug, Clone)]
pub struct Reset {
    pub email: Email,
    /// Whether two-factor was on.
    pub was_on: bool,
    pub recovery_codes_deleted: usize,
}

/// The operator turns two-factor off for someone who lost both their authenticator and their
/// recovery codes: the secret and the codes are deleted, and the owner is told by email (queued
/// with the change; a server delivers it). NotFound when no account has the address.
pub fn reset(db: &Db, postbox: &Postbox, raw_email: &str) -> Result<Reset, OpError> {
    let email = Email::parse(raw_email)?;
    let now = storage::now();
    let reset = db.write(|conn| {
        let account = accounts::find_by_email(conn, &email)?.ok_or(OpError::NotFound)?;
        let was_on = accounts::disable_totp(conn, account.id)?;
        let deleted = recovery_codes::delete_all(conn, account.id)?;
        if was_on {
            tell(conn, postbox, &account, false, "by the operator of this Steward server", now)?;
        }
        Ok::<_, OpError>(Reset { email: account.email, was_on, recovery_codes_deleted: deleted })
    })?;
    if reset.was_on {
        postbox.posted();
    }
    Ok(reset)
}

/// Tells the owner that two-factor was turned on or off, inside the transaction of the change.
fn tell(conn: &mut DbConn, postbox: &Postbox, account: &Account, turned_on: bool, how: &str, at: NaiveDateTime) -> Result<(), OpError> {
    let mail = AccountMail::two_factor_changed(&account.name, account.email.as_str(), turned_on, how, at)?;
    identity::queue(conn, postbox, Kind::SecurityNotice, &mail, account.email.as_str(), None, at)
}
