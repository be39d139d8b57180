//! Proving who one is: verifying an account's email through a mailed link, and setting a new
//! password through one when the old is forgotten. Links are 32 random bytes, mailed once,
//! stored as their SHA-256 and used once. Each email is written to the outbox in the
//! transaction of the change it belongs to, and delivered in the background.

use std::time::Duration;

use chrono::NaiveDateTime;

use crate::crypto;
use crate::domain::links::{LinkPurpose, LinkRefusal};
use crate::domain::password::check_new_password;
use crate::domain::{AccountId, Email};
use crate::mail::{self, AccountMail, Postbox};
use crate::storage::outbox::{self, Kind};
use crate::domain::RequestMeta;
use crate::domain::security_log::SecurityEvent;
use crate::operations::{OpError, security_log};
use crate::storage::account_links::{self, AccountLink};
use crate::storage::accounts::{self, Account};
use crate::storage::{self, Db, DbConn};

/// How long a verification link works.
const VERIFY_TTL: chrono::Duration = chrono::Duration::days(3);

/// Where links point and how long a reset link works.
#[derive(Debug, Clone)]
pub struct Settings {
    pub base_url: String,
    pub reset_ttl: Duration,
}

impl Settings {
    fn reset_expiry(&self, now: NaiveDateTime) -> NaiveDateTime {
        now + chrono::Duration::from_std(self.reset_ttl).unwrap_or(chrono::Duration::hours(1))
    }
}

/// A new link of `purpose` for the account, valid until `expires_at`: returns its token.
fn new_link(conn: &mut DbConn, account: &Account, purpose: LinkPurpose, expires_at: NaiveDateTime) -> Result<String, OpError> {
    new_link_to(conn, account, purpose, &account.email, expires_at)
}

/// A new link of `purpose` mailed to `email`, valid until `expires_at`: returns its token.
fn new_link_to(conn: &mut DbConn, account: &Account, purpose: LinkPurpose, email: &Email, expires_at: NaiveDateTime) -> Result<String, OpError> {
    let now = storage::now();
    // a new link replaces the ones mailed before it
    account_links::spend_all(conn, account.id, purpose, now)?;
    let token = crypto::random_token();
    account_links::insert(
        conn,
        &AccountLink {
            token_hash: crypto::sha256_hex(token.as_bytes()),
            account_id: account.id,
            purpose,
            email: email.clone(),
            created_at: now,
            expires_at,
            used_at: None,
        },
    )?;
    Ok(token)
}

/// The link of one of `purposes` behind `token`, if it can still be used at `now`.
fn usable(conn: &mut DbConn, token: &str, purposes: &[LinkPurpose], now: NaiveDateTime) -> Result<Result<AccountLink, LinkRefusal>, OpError> {
    // a token is 43 URL-safe characters; anything else cannot match
    if token.len() != 43 {
        return Ok(Err(LinkRefusal::Unknown));
    }
    let Some(link) = account_links::find(conn, &crypto::sha256_hex(token.as_bytes()), purposes)? else {
        return Ok(Err(LinkRefusal::Unknown));
    };
    Ok(match LinkRefusal::of(link.used_at, link.expires_at, now) {
        Some(refusal) => Err(refusal),
        None => Ok(link),
    })
}

// ---- verifying an email -------------------------------------------------------------------

/// The links that prove an address, opened at `/verify-email/{token}`: the account's own, or a
/// new one its owner asked for.
const ADDRESS_LINKS: [LinkPurpose; 2] = [LinkPurpose::VerifyEmail, LinkPurpose::ChangeEmail];

/// What confirming an address did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmed {
    /// The account's address is verified.
    Verified,
    /// The account's address is now this one.
    Changed(Email),
}

/// Mails a new verification link to the account's address (the older ones stop working).
/// Nothing is sent for an address already verified.
pub fn send_verification(db: &Db, postbox: &Postbox, settings: &Settings, account: AccountId) -> Result<(), OpError> {
    let queued = db.write(|conn| {
        let account = accounts::find(conn, account)?.ok_or(OpError::NotFound)?;
        if account.email_verified_at.is_some() {
            return Ok::<_, OpError>(false);
        }
        queue_verification(conn, postbox, settings, &account)?;
        Ok(true)
    })?;
    if queued {
        postbox.posted();
    }
    Ok(())
}

/// A new verification link for the account's address, written to the outbox inside the
/// caller's transaction (sign-up's, or the "send again" of the profile).
pub(crate) fn queue_verification(conn: &mut DbConn, postbox: &Postbox, settings: &Settings, account: &Account) -> Result<(), OpError> {
    let now = storage::now();
    let expires_at = now + VERIFY_TTL;
    let token = new_link(conn, account, LinkPurpose::VerifyEmail, expires_at)?;
    let link = format!("{}/verify-email/{token}", settings.base_url);
    let mail = AccountMail::verify_email(&account.name, account.email.as_str(), &link, expires_at)?;
    queue(conn, postbox, Kind::Verification, &mail, account.email.as_str(), Some(expires_at), now)
}

/// Writes an account's email to the outbox, inside the caller's transaction.
pub(crate) fn queue(
    conn: &mut DbConn,
    postbox: &Postbox,
    kind: Kind,
    mail: &AccountMail,
    to: &str,
    expires_at: Option<NaiveDateTime>,
    now: NaiveDateTime,
) -> Result<(), OpError> {
    let message = mail.message(&postbox.from, to)?;
    outbox::queue(conn, &mail::outgoing(kind, &message, None, expires_at)?, now)?;
    Ok(())
}

/// The address a verification link would confirm, or why it cannot.
pub fn verification_link(db: &Db, token: &str) -> Result<Result<Email, LinkRefusal>, OpError> {
    let mut conn = db.conn()?;
    Ok(usable(&mut conn, token, &ADDRESS_LINKS, storage::now())?.map(|link| link.email))
}

/// Confirms the address the link was mailed to: verifies the account's own (if it is still the
/// account's), or makes the new address asked for the account's.
pub fn verify_email(db: &Db, meta: &RequestMeta, token: &str) -> Result<Result<Confirmed, LinkRefusal>, OpError> {
    db.write(|conn| {
        let now = storage::now();
        let link = match usable(conn, token, &ADDRESS_LINKS, now)? {
            Ok(link) => link,
            Err(refusal) => return Ok(Err(refusal)),
        };
        if !account_links::spend(conn, &link.token_hash, now)? {
            return Ok(Err(LinkRefusal::Used));
        }
        let account = accounts::find(conn, link.account_id)?.ok_or(OpError::NotFound)?;
        if link.purpose == LinkPurpose::ChangeEmail {
            if accounts::find_by_email(conn, &link.email)?.is_some_and(|other| other.id != account.id) {
                return Err(OpError::Conflict("Another account uses this address now, so it cannot become yours.".into()));
            }
            accounts::set_email(conn, account.id, &link.email, now)?;
            crate::storage::members::change_account_email(conn, account.id, &link.email)?;
            account_links::spend_all(conn, account.id, LinkPurpose::ChangeEmail, now)?;
            security_log::record(conn, account.id, SecurityEvent::EmailChanged, meta)?;
            return Ok(Ok(Confirmed::Changed(link.email)));
        }
        if account.email != link.email {
            // the account has another address now: this one proves nothing about it
            return Ok(Err(LinkRefusal::Expired));
        }
        accounts::mark_verified(conn, account.id, now)?;
        security_log::record(conn, account.id, SecurityEvent::EmailVerified, meta)?;
        Ok(Ok(Confirmed::Verified))
    })
}

/// Asks to change the account's address: checks the password, mails a link to the new address
/// and tells the current one. Nothing changes until the link is confirmed.
pub fn request_email_change(
    db: &Db,
    postbox: &Postbox,
    settings: &Settings,
    account: AccountId,
    raw_email: &str,
    password: &str,
) -> Result<Email, OpError> {
    let new_email = Email::parse(raw_email)?;
    let current = accounts::find(&mut *db.conn()?, account)?.ok_or(OpError::NotFound)?;
    if !crypto::verify_password(password, &current.password_hash) {
        return Err(crate::domain::Invalid::new("password", "The password is not correct.").into());
    }
    if new_email == current.email {
        return Err(crate::domain::Invalid::new("email", "This is already your address.").into());
    }
    db.write(|conn| {
        if accounts::email_taken(conn, &new_email)? {
            return Err(OpError::from(crate::domain::Invalid::new("email", "This address cannot be used.")));
        }
        let now = storage::now();
        let expires_at = now + VERIFY_TTL;
        let token = new_link_to(conn, &current, LinkPurpose::ChangeEmail, &new_email, expires_at)?;
        let link = format!("{}/verify-email/{token}", settings.base_url);
        let mail = AccountMail::change_email(&current.name, new_email.as_str(), &link, expires_at)?;
        queue(conn, postbox, Kind::EmailChange, &mail, new_email.as_str(), Some(expires_at), now)?;
        let notice = AccountMail::email_change_requested(&current.name, current.email.as_str(), new_email.as_str())?;
        queue(conn, postbox, Kind::EmailChangeNotice, &notice, current.email.as_str(), None, now)
    })?;
    postbox.posted();
    Ok(new_email)
}

// ---- resetting a forgotten password -------------------------------------------------------

/// Mails a reset link if an account has this address; does nothing otherwise. Run it off the
/// request's path, so that the answer and its time are the same whether or not the account
/// exists.
pub fn send_reset(db: &Db, postbox: &Postbox, settings: &Settings, email: &Email) -> Result<(), OpError> {
    let queued = db.write(|conn| {
        let Some(account) = accounts::find_by_email(conn, email)? else { return Ok::<_, OpError>(false) };
        let now = storage::now();
        let expires_at = settings.reset_expiry(now);
        let token = new_link(conn, &account, LinkPurpose::ResetPassword, expires_at)?;
        let link = format!("{}/password/reset/{token}", settings.base_url);
        let mail = AccountMail::reset_password(&account.name, account.email.as_str(), &link, expires_at)?;
        queue(conn, postbox, Kind::PasswordReset, &mail, account.email.as_str(), Some(expires_at), now)?;
        Ok(true)
    })?;
    if queued {
        postbox.posted();
    }
    Ok(())
}

/// Whether a reset link can be used (the page shows its form only then).
pub fn reset_link(db: &Db, token: &str) -> Result<Result<Email, LinkRefusal>, OpError> {
    let mut conn = db.conn()?;
    Ok(usable(&mut conn, token, &[LinkPurpose::ResetPassword], storage::now())?.map(|link| link.email))
}

/// Sets the new password through a reset link. It ends every session of the account (a new
/// session epoch), verifies the address (the link reached it), uses up the account's other
/// reset links, and tells the owner by email.
pub fn reset_password(
    db: &Db,
    postbox: &Postbox,
    meta: &RequestMeta,
    token: &str,
    new_password: &str,
) -> Result<Result<(), LinkRefusal>, OpError> {
    // a link that cannot be used says so before any rule about the new password
    if let Err(refusal) = reset_link(db, token)? {
        return Ok(Err(refusal));
    }
    check_new_password("password", new_password)?;
    let hash = crypto::hash_password(new_password)?;
    let done = db.write(|conn| {
        let now = storage::now();
        let link = match usable(conn, token, &[LinkPurpose::ResetPassword], now)? {
            Ok(link) => link,
            Err(refusal) => return Ok(Err(refusal)),
        };
        if !account_links::spend(conn, &link.token_hash, now)? {
            return Ok(Err(LinkRefusal::Used));
        }
        let account = accounts::find(conn, link.account_id)?.ok_or(OpError::NotFound)?;
        accounts::set_password(conn, account.id, &hash)?;
        // every session of the account ends, wherever it is
        storage::sessions::delete_all_of_account(conn, account.id, None)?;
        security_log::record(conn, account.id, SecurityEvent::PasswordReset, meta)?;
        account_links::spend_all(conn, account.id, LinkPurpose::ResetPassword, now)?;
        if account.email == link.email {
            accounts::mark_verified(conn, account.id, now)?;
        }
        queue_password_changed(conn, postbox, &account, "reset", now)?;
        Ok::<_, OpError>(Ok(()))
    })?;
    if done.is_ok() {
        postbox.posted();
    }
    Ok(done)
}

/// Tells the owner that their password changed (`how`: "changed" or "reset"), inside the
/// transaction of the change.
pub(crate) fn queue_password_changed(conn: &mut DbConn, postbox: &Postbox, account: &Account, how: &str, now: NaiveDateTime) -> Result<(), OpError> {
    let mail = AccountMail::password_changed(&account.name, account.email.as_str(), how, now)?;
    queue(conn, postbox, Kind::SecurityNotice, &mail, account.email.as_str(), None, now)
}
