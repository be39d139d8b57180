//! Single sign-on: an organization's connection (configured and removed, audited), and what a
//! verified identity from its provider may do: sign in through its link, join just in time,
//! or, for an address that already has an account, nothing until that account's owner,
//! signed in with their own credentials, confirms the link.

use chrono::NaiveDateTime;
use serde_json::json;

use crate::crypto;
use crate::domain::security_log::SecurityEvent;
use crate::domain::sso::{check_fetch_url, domain_of, parse_domains};
use crate::domain::{AccountId, Actor, Email, Invalid, MembershipStatus, OrgId, Permission, RequestMeta, Role, names, policy};
use crate::operations::access::lock_and_authorize;
use crate::operations::roles::refuse;
use crate::operations::{Ctx, OpError, security_log};
use crate::storage::accounts::{self, Account};
use crate::storage::audit::{self, NewEvent};
use crate::storage::members::{self, NewMember};
use crate::storage::sso::{self, Connection, Flow};
use crate::storage::{self, Db, DbConn, orgs};

/// How long a sign-in may stay at the provider before its callback is refused.
pub const FLOW_TTL: chrono::Duration = chrono::Duration::minutes(10);

/// The label of the key that seals client secrets, derived from the session key.
pub const SECRET_KEY_LABEL: &str = "steward sso client secret v1";

/// A connection as the settings page shows it: never its secret.
#[derive(Debug, Clone)]
pub struct ConnectionView {
    pub issuer: String,
    pub client_id: String,
    pub domains: Vec<String>,
    pub base_role: Role,
    pub require_sso: bool,
    pub updated_at: NaiveDateTime,
}

impl ConnectionView {
    pub fn host(&self) -> String {
        host_of(&self.issuer)
    }
}

/// The host of an issuer URL, as the member list names the provider.
pub fn host_of(issuer: &str) -> String {
    let rest = issuer.split_once("://").map_or(issuer, |(_, r)| r);
    rest.split(['/', '?', '#']).next().unwrap_or(rest).to_string()
}

pub fn connection(db: &Db, org: OrgId) -> Result<Option<ConnectionView>, OpError> {
    let mut conn = db.conn()?;
    let Some(c) = sso::find(&mut conn, org)? else { return Ok(None) };
    let domains = sso::domains_of(&mut conn, org)?;
    Ok(Some(ConnectionView {
        issuer: c.issuer,
        client_id: c.client_id,
        domains,
        base_role: c.base_role,
        require_sso: c.require_sso,
        updated_at: c.updated_at,
    }))
}

/// What the settings form sends.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct ConnectionInput {
    #[serde(default)]
    pub issuer: String,
    #[serde(default)]
    pub client_id: String,
    /// Empty keeps the secret saved before.
    #[serde(default)]
    pub client_secret: String,
    #[serde(default)]
    pub domains: String,
    #[serde(default)]
    pub base_role: String,
    /// A checkbox: `on` when ticked.
    #[serde(default)]
    pub require_sso: Option<String>,
}

/// The form's fields, each checked.
#[derive(Debug, Clone)]
pub struct ValidConnection {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Option<String>,
    pub domains: Vec<String>,
    pub base_role: Role,
    pub require_sso: bool,
}

/// Checks every field at once (so the form shows every error). `allowed` are the operator's
/// private hosts; `has_secret` whether a secret is saved already (then it may be left empty).
pub fn validate(input: &ConnectionInput, allowed: &[String], has_secret: bool) -> Result<ValidConnection, OpError> {
    let issuer = input.issuer.trim().trim_end_matches('/').to_string();
    let issuer_check = if issuer.is_empty() {
        Err(Invalid::new("issuer", "Enter the issuer URL of your identity provider, like https://idp.example.com."))
    } else if issuer.len() > 500 {
        Err(Invalid::new("issuer", "An issuer URL has at most 500 characters."))
    } else {
        check_fetch_url(&issuer, allowed).map_err(|why| Invalid::new("issuer", why))
    };
    let client_id = input.client_id.trim().to_string();
    let client_id_check = match client_id.len() {
        0 => Err(Invalid::new("client_id", "Enter the client ID the identity provider gave Steward.")),
        1..=255 => Ok(()),
        _ => Err(Invalid::new("client_id", "A client ID has at most 255 characters.")),
    };
    let secret = input.client_secret.trim().to_string();
    let secret_check = match secret.len() {
        0 if has_secret => Ok(()),
        0 => Err(Invalid::new("client_secret", "Enter the client secret the identity provider gave Steward.")),
        1..=1000 => Ok(()),
        _ => Err(Invalid::new("client_secret", "A client secret has at most 1,000 characters.")),
    };
    let domains = parse_domains(&input.domains);
    let role = match Role::parse(input.base_role.trim()) {
        Some(role) if Role::GRANTABLE.contains(&role) => Ok(role),
        _ => Err(Invalid::new("base_role", "Choose the role people get when they first sign in: admin, editor or viewer.")),
    };
    let require_sso = match input.require_sso.as_deref().map(str::trim) {
        None | Some("") => Ok(false),
        Some("on") => Ok(true),
        Some(_) => Err(Invalid::new("require_sso", "Tick the box to require SSO, or clear it.")),
    };
    crate::operations::all_valid([
        issuer_check,
        client_id_check,
        secret_check,
        domains.as_ref().map(|_| ()).map_err(Clone::clone),
        role.as_ref().map(|_| ()).map_err(Clone::clone),
        require_sso.as_ref().map(|_| ()).map_err(Clone::clone),
    ])?;
    Ok(ValidConnection {
        issuer,
        client_id,
        client_secret: (!secret.is_empty()).then_some(secret),
        domains: domains?,
        base_role: role?,
        require_sso: require_sso?,
    })
}

/// Whether the organization has a secret saved (the form may then leave it empty).
pub fn has_connection(db: &Db, org: OrgId) -> Result<bool, OpError> {
    Ok(sso::find(&mut *db.conn()?, org)?.is_some())
}

/// Saves the organization's connection (`org.manage`), its secret sealed under `key`, with
/// `sso.configured`. Its base role is one the actor could grant; a domain another
/// organization covers is refused.
pub fn configure(db: &Db, ctx: &Ctx, org: OrgId, key: &[u8; 32], input: &ValidConnection) -> Result<(), OpError> {
    db.write(|conn| {
        let held = lock_and_authorize(conn, org, &ctx.actor, Permission::OrgManage, None)?;
        policy::can_grant(held, input.base_role).map_err(refuse)?;
        let taken = sso::taken_by_others(conn, org, &input.domains)?;
        if !taken.is_empty() {
            return Err(Invalid::new("domains", format!("Another organization's single sign-on covers {}.", taken.join(", "))).into());
        }
        let existing = sso::find(conn, org)?;
        let sealed = match (&input.client_secret, &existing) {
            (Some(secret), _) => crypto::seal(key, secret).ok_or_else(|| OpError::Internal("the client secret could not be sealed".into()))?,
            (None, Some(c)) => c.client_secret_sealed.clone(),
            (None, None) => return Err(Invalid::new("client_secret", "Enter the client secret the identity provider gave Steward.").into()),
        };
        let now = storage::now();
        let row = Connection {
            org_id: org,
            issuer: input.issuer.clone(),
            client_id: input.client_id.clone(),
            client_secret_sealed: sealed,
            base_role: input.base_role,
            require_sso: input.require_sso,
            created_at: existing.as_ref().map_or(now, |c| c.created_at),
            updated_at: now,
        };
        sso::save(conn, &row, &input.domains)?;
        let name = orgs::find(conn, org)?.map(|o| o.name).unwrap_or_default();
        let event = NewEvent::new("sso.configured").target(name).details(json!({
            "issuer": input.issuer,
            "client_id": input.client_id,
            "domains": input.domains,
            "base_role": input.base_role.as_str(),
            "require_sso": input.require_sso,
            "secret_changed": input.client_secret.is_some(),
        }));
        audit::append(conn, org, &ctx.actor, &ctx.meta, event, now)?;
        Ok(())
    })
}

/// Removes the connection (`org.manage`) with `sso.removed`: its links go with it; the members
/// who joined through it stay, and sign in with a password (reset by email) from then on.
pub fn remove(db: &Db, ctx: &Ctx, org: OrgId) -> Result<(), OpError> {
    db.write(|conn| {
        lock_and_authorize(conn, org, &ctx.actor, Permission::OrgManage, None)?;
        let existing = sso::find(conn, org)?.ok_or(OpError::NotFound)?;
        sso::delete(conn, org)?;
        let name = orgs::find(conn, org)?.map(|o| o.name).unwrap_or_default();
        let event = NewEvent::new("sso.removed").target(name).details(json!({ "issuer": existing.issuer }));
        audit::append(conn, org, &ctx.actor, &ctx.meta, event, storage::now())?;
        Ok(())
    })
}

/// A connection ready to run a sign-in: its secret opened.
#[derive(Debug, Clone)]
pub struct ReadyConnection {
    pub org_id: OrgId,
    pub org_name: String,
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
}

fn ready(conn: &mut DbConn, c: Connection, key: &[u8; 32]) -> Result<ReadyConnection, OpError> {
    let client_secret = crypto::open(key, &c.client_secret_sealed)
        .ok_or_else(|| OpError::Forbidden("The single sign-on's client secret cannot be read (the server's key changed): an admin must enter it again.".into()))?;
    let org_name = orgs::find(conn, c.org_id)?.map(|o| o.name).unwrap_or_default();
    Ok(ReadyConnection { org_id: c.org_id, org_name, issuer: c.issuer, client_id: c.client_id, client_secret })
}

/// The connection covering the address's domain, if any.
pub fn for_email(db: &Db, key: &[u8; 32], email: &Email) -> Result<Option<ReadyConnection>, OpError> {
    let mut conn = db.conn()?;
    match sso::by_domain(&mut conn, domain_of(email))? {
        Some(c) => Ok(Some(ready(&mut conn, c, key)?)),
        None => Ok(None),
    }
}

/// The organization's connection, ready.
pub fn for_org(db: &Db, key: &[u8; 32], org: OrgId) -> Result<Option<ReadyConnection>, OpError> {
    let mut conn = db.conn()?;
    match sso::find(&mut conn, org)? {
        Some(c) => Ok(Some(ready(&mut conn, c, key)?)),
        None => Ok(None),
    }
}

/// Keeps a sign-in's secrets until its callback; only the state's hash is the key.
pub fn begin(db: &Db, org: OrgId, state: &str, nonce: &str, pkce_verifier: &str, link_account: Option<AccountId>, next: &str) -> Result<(), OpError> {
    let flow = Flow {
        state_hash: crypto::sha256_hex(state.as_bytes()),
        org_id: org,
        nonce: nonce.to_string(),
        pkce_verifier: pkce_verifier.to_string(),
        link_account,
        next: next.to_string(),
        created_at: storage::now(),
    };
    db.write(|conn| sso::insert_flow(conn, &flow).map_err(OpError::from))
}

/// Takes the sign-in of a state, once: a second callback with the same state (a replay), a
/// state this server never issued, or one older than `FLOW_TTL` finds nothing.
pub fn take(db: &Db, state: &str) -> Result<Option<Flow>, OpError> {
    let hash = crypto::sha256_hex(state.as_bytes());
    let flow = db.write(|conn| sso::take_flow(conn, &hash).map_err(OpError::from))?;
    Ok(flow.filter(|f| storage::now() - f.created_at <= FLOW_TTL))
}

/// An identity the provider vouched for: its ID token passed every check.
#[derive(Debug, Clone)]
pub struct Verified {
    pub subject: String,
    pub email: String,
    pub email_verified: bool,
    pub name: Option<String>,
}

/// What a sign-in through single sign-on came to.
#[derive(Debug)]
pub enum Outcome {
    /// Signed in (the account's security log records it).
    SignedIn(Account),
    /// The address has an account that is not linked to this connection: its owner must sign
    /// in with their own credentials and confirm the link.
    NeedsLink { email: Email, org_name: String },
    /// Refused, with the reason for the page.
    Refused(String),
}

/// The address and its domain, checked against the connection: verified by the provider, and
/// covered.
fn covered_email(conn: &mut DbConn, org: OrgId, who: &Verified) -> Result<Result<Email, String>, OpError> {
    if !who.email_verified {
        return Ok(Err(format!(
            "Your identity provider has not verified the address {}. Verify it there, then sign in again.",
            who.email
        )));
    }
    let Ok(email) = Email::parse(&who.email) else {
        return Ok(Err(format!("Your identity provider gave an address Steward cannot use: {:?}.", who.email)));
    };
    if !sso::covers(conn, org, domain_of(&email))? {
        return Ok(Err(format!(
            "This organization's single sign-on does not cover {}: it cannot sign in addresses of that domain.",
            domain_of(&email)
        )));
    }
    Ok(Ok(email))
}

/// The sign-in itself, once the ID token is verified: the account linked to the provider's
/// subject signs in; a new address gets an account (its email verified) and joins with the
/// connection's base role; an address that has an account already is never opened by the
/// assertion alone (anyone who can configure a connection can claim any domain).
pub fn sign_in(db: &Db, meta: &RequestMeta, org: OrgId, who: &Verified) -> Result<Outcome, OpError> {
    // hashed outside the transaction: the unusable password of an account made here
    let placeholder = crypto::hash_password(&crypto::random_token())?;
    let outcome = db.write(|conn| -> Result<Outcome, OpError> {
        orgs::lock(conn, org)?;
        let connection = sso::find(conn, org)?.ok_or(OpError::NotFound)?;
        let org_name = orgs::find(conn, org)?.map(|o| o.name).unwrap_or_default();
        let now = storage::now();
        let account = match sso::linked_account(conn, org, &who.subject)? {
            Some(id) => accounts::find(conn, id)?.ok_or(OpError::NotFound)?,
            None => {
                let email = match covered_email(conn, org, who)? {
                    Ok(email) => email,
                    Err(why) => return Ok(Outcome::Refused(why)),
                };
                if accounts::find_by_email(conn, &email)?.is_some() {
                    return Ok(Outcome::NeedsLink { email, org_name });
                }
                let name = who
                    .name
                    .as_deref()
                    .and_then(|n| names::person_name(n).ok())
                    .or_else(|| names::person_name(email.as_str().split('@').next().unwrap_or("")).ok())
                    .unwrap_or_else(|| "Member".to_string());
                let row = Account {
                    id: AccountId::new(),
                    email: email.clone(),
                    name,
                    password_hash: placeholder.clone(),
                    session_epoch: 0,
                    created_at: now,
                    last_login_at: None,
                    // the provider verified it, and it is in a domain the organization covers
                    email_verified_at: Some(now),
                    totp_secret: None,
                    totp_enabled_at: None,
                    totp_last_step: None,
                };
                accounts::insert(conn, &row)?;
                sso::link(conn, org, &who.subject, row.id, now)?;
                row
            }
        };
        match members::find(conn, org, account.id)? {
            Some(m) if m.status == MembershipStatus::Active => {}
            Some(_) => {
                return Ok(Outcome::Refused(format!(
                    "Your membership of {org_name} is deactivated. Ask one of its admins to activate it."
                )));
            }
            None => join(conn, meta, org, &connection, &account, now)?,
        }
        accounts::record_login(conn, account.id, now)?;
        if !account.two_factor_on() {
            security_log::record(conn, account.id, SecurityEvent::SignedInWithSso, meta)?;
        }
        Ok(Outcome::SignedIn(account))
    })?;
    if matches!(outcome, Outcome::SignedIn(ref a) if !a.two_factor_on()) {
        db.metrics().signed_in();
    }
    Ok(outcome)
}

/// The account joins with the connection's base role, with `member.joined_via_sso`.
fn join(conn: &mut DbConn, meta: &RequestMeta, org: OrgId, connection: &Connection, account: &Account, now: NaiveDateTime) -> Result<(), OpError> {
    members::insert(conn, org, NewMember { account: account.id, email: &account.email, name: &account.name }, connection.base_role, now)?;
    let event = NewEvent::new("member.joined_via_sso")
        .target(account.name.clone())
        .target_email(account.email.to_string())
        .details(json!({ "role": connection.base_role.as_str(), "issuer": connection.issuer }));
    audit::append(conn, org, &Actor::Account { id: account.id, email: account.email.clone() }, meta, event, now)?;
    Ok(())
}

/// The owner of an existing account, signed in with their own credentials, confirmed the link
/// and then signed in at the provider as that same address: the provider's subject now opens
/// this account, which joins the organization if it was not a member.
pub fn link(db: &Db, meta: &RequestMeta, org: OrgId, account_id: AccountId, who: &Verified) -> Result<Result<String, String>, OpError> {
    db.write(|conn| -> Result<Result<String, String>, OpError> {
        orgs::lock(conn, org)?;
        let connection = sso::find(conn, org)?.ok_or(OpError::NotFound)?;
        let org_name = orgs::find(conn, org)?.map(|o| o.name).unwrap_or_default();
        let account = accounts::find(conn, account_id)?.ok_or(OpError::NotFound)?;
        let email = match covered_email(conn, org, who)? {
            Ok(email) => email,
            Err(why) => return Ok(Err(why)),
        };
        if email != account.email {
            return Ok(Err(format!(
                "You signed in at the identity provider as {email}, but this account is {}. Sign in there as {} to link it.",
                account.email, account.email
            )));
        }
        match sso::linked_account(conn, org, &who.subject)? {
            Some(id) if id == account.id => return Ok(Ok(org_name)),
            Some(_) => return Ok(Err("This identity at the provider is linked to another account already.".into())),
            None => {}
        }
        if sso::account_linked(conn, org, account.id)? {
            return Ok(Err("Your account is linked to another identity at this provider already.".into()));
        }
        let now = storage::now();
        sso::link(conn, org, &who.subject, account.id, now)?;
        match members::find(conn, org, account.id)? {
            Some(m) if m.status != MembershipStatus::Active => {
                return Ok(Err(format!(
                    "Your account is now linked, but your membership of {org_name} is deactivated. Ask one of its admins to activate it."
                )));
            }
            Some(_) => {}
            None => join(conn, meta, org, &connection, &account, now)?,
        }
        Ok(Ok(org_name))
    })
}

/// The organization whose connection covers the address and which it is not linked to yet,
/// for the link page of a signed-in account.
pub fn linkable(db: &Db, key: &[u8; 32], account: &Account) -> Result<Option<(ReadyConnection, bool)>, OpError> {
    let Some(ready) = for_email(db, key, &account.email)? else { return Ok(None) };
    let linked = sso::account_linked(&mut *db.conn()?, ready.org_id, account.id)?;
    Ok(Some((ready, linked)))
}

/// Whether a member may not use this organization with a password session: its connection
/// requires SSO and covers their address's domain.
pub fn password_refused(conn: &mut DbConn, org: OrgId, email: &Email) -> Result<bool, OpError> {
    match sso::find(conn, org)? {
        Some(c) if c.require_sso => Ok(sso::covers(conn, org, domain_of(email))?),
        _ => Ok(false),
    }
}

/// The provider's host, and which of `accounts` sign in through it: the member list's marker.
pub fn markers(db: &Db, org: OrgId, accounts: Vec<AccountId>) -> Result<Option<(String, Vec<AccountId>)>, OpError> {
    let mut conn = db.conn()?;
    let Some(c) = sso::find(&mut conn, org)? else { return Ok(None) };
    let linked = sso::linked_among(&mut conn, org, &accounts)?;
    Ok(Some((host_of(&c.issuer), linked)))
}

/// Deletes the sign-ins that never came back: one of the housekeeping's sweeps.
pub fn sweep_flows(conn: &mut DbConn, now: NaiveDateTime) -> diesel::QueryResult<usize> {
    sso::delete_flows_before(conn, now - FLOW_TTL)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_provider_is_named_by_its_host() {
        assert_eq!(host_of("https://idp.example.com/realms/acme"), "idp.example.com");
        assert_eq!(host_of("http://127.0.0.1:4000"), "127.0.0.1:4000");
    }

    #[test]
    fn a_connection_form_is_checked_field_by_field() {
        let input = ConnectionInput {
            issuer: "http://idp.example.com".into(),
            client_id: String::new(),
            client_secret: String::new(),
            domains: "acme".into(),
            base_role: "owner".into(),
            require_sso: Some("yes".into()),
        };
        let Err(OpError::Invalid(errors)) = validate(&input, &[], false) else { panic!("invalid") };
        let fields: Vec<&str> = errors.iter().map(|e| e.field).collect();
        assert_eq!(fields, ["issuer", "client_id", "client_secret", "domains", "base_role", "require_sso"]);
        let ok = ConnectionInput {
            issuer: "https://idp.example.com/".into(),
            client_id: "steward".into(),
            client_secret: String::new(),
            domains: "acme.test".into(),
            base_role: "viewer".into(),
            require_sso: Some("on".into()),
        };
        // an empty secret keeps the saved one
        let valid = validate(&ok, &[], true).unwrap();
        assert_eq!(valid.issuer, "https://idp.example.com");
        assert_eq!(valid.client_secret, None);
        assert!(valid.require_sso);
    }
}
