//! Accounts: sign-up, sign-in, the first owner, profile and password.

use serde_json::json;

use crate::crypto;
use crate::metrics::SignInFailure;
use crate::domain::ids::SessionId;
use crate::mail::Postbox;
use crate::domain::security_log::SecurityEvent;
use crate::operations::{identity, security_log};
use crate::storage::Db;
use crate::domain::{AccountId, Email, Invalid, OrgId, PermissionSet, names, password, password::check_new_password};
use crate::operations::{Ctx, OpError, all_valid, orgs::insert_owned_org};
pub use crate::storage::accounts::Account;
pub use crate::storage::invitations::ForAccount;
pub use crate::storage::members::OrgOfAccount;
use crate::storage::accounts;
use crate::domain::{Actor, RequestMeta};
use crate::storage::audit::NewEvent;
use crate::storage::members::NewMember;
use crate::storage::{self, audit, members, orgs};

#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct SignupInput {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub organization: String,
}

/// Creates the account, its organization and the owner membership, with `org.created`, and
/// queues the link that verifies the address, all in one transaction.
pub fn sign_up(
    db: &Db,
    postbox: &Postbox,
    settings: &identity::Settings,
    meta: &RequestMeta,
    input: &SignupInput,
) -> Result<(AccountId, OrgId), OpError> {
    let made = create(db, Some((postbox, settings)), meta, input)?;
    postbox.posted();
    Ok(made)
}

/// Sign-up's work; `verify` is where the verification link goes (none for an address the
/// operator vouches for).
fn create(
    db: &Db,
    verify: Option<(&Postbox, &identity::Settings)>,
    meta: &RequestMeta,
    input: &SignupInput,
) -> Result<(AccountId, OrgId), OpError> {
    let name = names::person_name(&input.name);
    let email = Email::parse(&input.email);
    let org_name = names::org_name("organization", &input.organization);
    all_valid([
        name.as_ref().map(|_| ()).map_err(Clone::clone),
        email.as_ref().map(|_| ()).map_err(Clone::clone),
        check_new_password("password", &input.password),
        org_name.as_ref().map(|_| ()).map_err(Clone::clone),
    ])?;
    let (name, email, org_name) = (name?, email?, org_name?);

    let hash = crypto::hash_password(&input.password)?;
    let account = AccountId::new();
    let org = db.write(|conn| {
        if accounts::email_taken(conn, &email)? {
            return Err(email_in_use());
        }
        let row = new_account_row(account, &email, &name, hash);
        accounts::insert(conn, &row)?;
        let ctx = Ctx { actor: Actor::Account { id: account, email: email.clone() }, meta: meta.clone() };
        let org = insert_owned_org(conn, &ctx, NewMember { account, email: &email, name: &name }, &org_name)?;
        if let Some((postbox, settings)) = verify {
            identity::queue_verification(conn, postbox, settings, &row)?;
        }
        Ok(org)
    })?;
    Ok((account, org))
}

fn email_in_use() -> OpError {
    Invalid::new("email", "This email cannot be used to sign up. If it is yours, sign in instead.").into()
}

fn new_account_row(id: AccountId, email: &Email, name: &str, password_hash: String) -> Account {
    Account {
        id,
        email: email.clone(),
        name: name.to_string(),
        password_hash,
        session_epoch: 0,
        created_at: storage::now(),
        last_login_at: None,
        email_verified_at: None,
        totp_secret: None,
        totp_enabled_at: None,
        totp_last_step: None,
    }
}

/// The account whose email and password these are, or None: the same answer, after the same
/// work, for an unknown email, a wrong password and a password too long to be anyone's. An
/// account with two-factor on is not signed in yet: its second step
/// (`two_factor::second_step`) finishes the sign-in, and records it.
pub fn sign_in(db: &Db, meta: &RequestMeta, raw_email: &str, password: &str) -> Result<Option<Account>, OpError> {
    let found = match Email::parse(raw_email) {
        Ok(email) => accounts::find_by_email(&mut *db.conn()?, &email)?,
        Err(_) => None,
    };
    // One argon2 verification on every path, before any other rule: a shortcut on one of
    // them would tell, by its speed, whether the email has an account.
    let verified = crypto::verify_or_dummy(password, found.as_ref().map(|a| a.password_hash.as_str()));
    let Some(account) = found.as_ref().filter(|_| verified && password::may_match(password)) else {
        db.metrics().sign_in_failed(SignInFailure::BadCredentials);
        if let Some(account) = &found {
            security_log::record(&mut *db.conn()?, account.id, SecurityEvent::SignInFailed, meta)?;
        }
        return Ok(None);
    };
    // with two-factor on, the sign-in happens (and is recorded) at its second step
    if !account.two_factor_on() {
        let mut conn = db.conn()?;
        accounts::record_login(&mut conn, account.id, storage::now())?;
        security_log::record(&mut conn, account.id, SecurityEvent::SignedIn, meta)?;
        db.metrics().signed_in();
    }
    Ok(Some(account.clone()))
}

/// `steward create-owner`: an account and the organization it owns, for closed sign-up.
pub fn create_owner(
    db: &Db,
    raw_email: &str,
    raw_name: &str,
    org_name: &str,
    password: &str,
) -> Result<(AccountId, OrgId), OpError> {
    let input = SignupInput {
        name: raw_name.to_string(),
        email: raw_email.to_string(),
        password: password.to_string(),
        organization: org_name.to_string(),
    };
    let (account, org) = create(db, None, &RequestMeta { ip: None, user_agent: Some("steward create-owner".into()) }, &input)?;
    // the operator vouches for the address
    db.write(|conn| accounts::mark_verified(conn, account, storage::now()).map_err(OpError::from))?;
    Ok((account, org))
}

pub fn update_profile(db: &Db, account: AccountId, raw_name: &str) -> Result<(), OpError> {
    let name = names::person_name(raw_name)?;
    db.write(|conn| {
        accounts::set_name(conn, account, &name)?;
        members::rename_account(conn, account, &name)?;
        Ok(())
    })
}

/// Changes the password after checking the current one. Returns the new session epoch: every
/// session holding an older one is over.
/// The session it is made from stays; the account's other sessions end.
pub fn change_password(
    db: &Db,
    postbox: &Postbox,
    meta: &RequestMeta,
    account: AccountId,
    keep: SessionId,
    current: &str,
    new: &str,
) -> Result<i64, OpError> {
    let stored = accounts::find(&mut *db.conn()?, account)?.ok_or(OpError::NotFound)?;
    if !crypto::verify_password(current, &stored.password_hash) {
        return Err(Invalid::new("current_password", "The current password is not correct.").into());
    }
    check_new_password("new_password", new)?;
    let hash = crypto::hash_password(new)?;
    let epoch = db.write(|conn| {
        storage::sessions::delete_all_of_account(conn, account, Some(keep))?;
        security_log::record(conn, account, SecurityEvent::PasswordChanged, meta)?;
        let epoch = accounts::set_password(conn, account, &hash)?;
        identity::queue_password_changed(conn, postbox, &stored, "changed", storage::now())?;
        Ok::<_, OpError>(epoch)
    })?;
    postbox.posted();
    Ok(epoch)
}

/// Deletes the account after the typed confirmation; refused while it owns an organization.
/// Each organization it belonged to records that the member left.
pub fn delete_account(db: &Db, meta: &RequestMeta, account: AccountId, confirm_email: &str) -> Result<(), OpError> {
    db.write(|conn| {
        let acc = accounts::find(conn, account)?.ok_or(OpError::NotFound)?;
        if !acc.email.matches_typed(confirm_email) {
            return Err(Invalid::new("confirm_email", "Type your email address exactly to confirm.").into());
        }
        if members::owns_any(conn, account)? {
            return Err(OpError::Forbidden(
                "You own an organization. Transfer its ownership or delete it before deleting your account.".into(),
            ));
        }
        let actor = Actor::Account { id: account, email: acc.email.clone() };
        for org in members::orgs_of_account(conn, account)? {
            orgs::lock(conn, org.org_id)?;
            audit::append(
                conn,
                org.org_id,
                &actor,
                meta,
                NewEvent::new("member.left")
                    .target(acc.name.clone())
                    .target_email(acc.email.to_string())
                    .details(json!({ "reason": "account deleted", "role": org.role.as_str() })),
                storage::now(),
            )?;
        }
        accounts::delete(conn, account)?;
        Ok(())
    })
}

/// The account, which must exist (it was just made or signed in).
pub fn get(db: &Db, id: AccountId) -> Result<Account, OpError> {
    accounts::find(&mut *db.conn()?, id)?.ok_or(OpError::NotFound)
}

/// The organizations of an account and the invitations waiting for it, as the organization list
/// and the profile show them. An account whose email is not verified sees no invitations: they
/// reach only the person who reads the mailbox (through the emailed link).
pub fn overview(db: &Db, account: &Account) -> Result<(Vec<OrgOfAccount>, Vec<ForAccount>), OpError> {
    let mut conn = db.conn()?;
    let orgs = members::orgs_of_account(&mut conn, account.id)?;
    let invitations = if account.email_verified_at.is_some() {
        storage::invitations::pending_for_email(&mut conn, &account.email, storage::now())?
    } else {
        Vec::new()
    };
    Ok((orgs, invitations))
}

/// The first organization (by name) where the account is an active member, and what it may
/// do there: where a person lands after signing in.
pub fn landing_org(db: &Db, account: AccountId) -> Result<Option<(OrgId, PermissionSet)>, OpError> {
    let mut conn = db.conn()?;
    let Some((org, role)) = members::first_active_org(&mut conn, account)? else { return Ok(None) };
    let custom = storage::roles::permissions_of_member(&mut conn, org, account)?;
    Ok(Some((org, role.permissions().union(custom))))
}

/// What the account's membership in each of its organizations lets it do, and who invited
/// it: "My access" on the profile.
pub struct Access {
    pub org_id: OrgId,
    pub org_name: String,
    pub role: crate::domain::Role,
    pub active: bool,
    pub custom_roles: Vec<String>,
    pub permissions: PermissionSet,
    /// The inviter's name and email, when the account joined through an invitation.
    pub invited_by: Option<(String, String)>,
}

pub fn access(db: &Db, account: AccountId) -> Result<Vec<Access>, OpError> {
    let mut conn = db.conn()?;
    let orgs = members::orgs_of_account(&mut conn, account)?;
    let custom = storage::roles::of_account(&mut conn, account)?;
    let inviters = members::inviters_of_account(&mut conn, account)?;
    Ok(orgs
        .into_iter()
        .map(|o| {
            let mine: Vec<&storage::roles::CustomRole> = custom.iter().filter(|r| r.org_id == o.org_id).collect();
            Access {
                permissions: mine.iter().fold(o.role.permissions(), |set, r| set.union(r.permissions)),
                custom_roles: mine.iter().map(|r| r.name.clone()).collect(),
                invited_by: inviters.iter().find(|(org, _, _)| *org == o.org_id).map(|(_, name, email)| (name.clone(), email.clone())),
                active: o.status == crate::domain::MembershipStatus::Active,
                org_id: o.org_id,
                org_name: o.name,
                role: o.role,
            }
        })
        .collect())
}
