//! Invitations: invite, resend, cancel, and the invited person's accept and decline.
//!
//! The email an invitation carries is written to the outbox in the transaction that saves the
//! invitation: the invitation never waits on a mail server, and the message goes out (and is
//! retried) in the background.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use chrono::NaiveDateTime;
use serde_json::json;

use crate::crypto;
use crate::storage::{Db, DbConn};
use crate::domain::ids::InvitationId;
use crate::domain::{AccountId, Email, InvitationState, InvitationStatus, MembershipStatus, OrgId, Permission, names};
use crate::domain::password::check_new_password;
use crate::mail::{self, Postbox};
use crate::storage::outbox::{self, Kind};
use crate::domain::bulk_invitations::{self as bulk, Standing};
use crate::domain::policy;
use crate::domain::{PermissionSet, Role};
use crate::operations::access::{lock_and_authorize, permissions_of};
use crate::operations::roles::{self, CustomRole};
use crate::storage::roles as role_rows;
use crate::operations::members::parse_role;
use crate::operations::{Ctx, OpError, all_valid};
use crate::storage::accounts::{self, Account};
use crate::domain::{Actor, RequestMeta};
use crate::storage::audit::NewEvent;
use crate::storage::invitations::{self, Invitation, NewInvitation};
use crate::storage::members::{self, NewMember};
use crate::storage::{self, audit, orgs};

/// What the invitation operations need from the configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    pub base_url: String,
    pub ttl: Duration,
}

impl Settings {
    fn link(&self, token: &str) -> String {
        format!("{}/invitations/{token}", self.base_url)
    }

    fn expiry(&self, now: NaiveDateTime) -> NaiveDateTime {
        now + chrono::Duration::from_std(self.ttl).unwrap_or(chrono::Duration::hours(24))
    }
}

/// Refuses an email that is already a member, or already has a pending invitation.
fn check_invitable(conn: &mut DbConn, org: OrgId, email: &Email) -> Result<(), OpError> {
    if let Some(m) = members::find_by_email(conn, org, email)? {
        let message = match m.status {
            MembershipStatus::Active => format!("{email} is already a member of this organization."),
            MembershipStatus::Inactive => {
                format!("{email} is already a member of this organization (deactivated). Activate them instead.")
            }
        };
        return Err(crate::domain::Invalid::new("email", message).into());
    }
    if invitations::pending_for(conn, org, email)?.is_some() {
        return Err(crate::domain::Invalid::new(
            "email",
            format!("An invitation for {email} is already pending. Use Resend on its row to send it again."),
        )
        .into());
    }
    Ok(())
}

struct MailContext {
    org_name: String,
    inviter_name: String,
    inviter_email: String,
    /// The account recorded as the inviter: the person, or the person who made the API key.
    invited_by: Option<AccountId>,
}

fn mail_context(conn: &mut DbConn, org: OrgId, actor: &Actor) -> Result<MailContext, OpError> {
    let org_name = orgs::find(conn, org)?.ok_or(OpError::NotFound)?.name;
    let by_account = |conn: &mut DbConn, id: AccountId| -> Result<Option<Account>, OpError> { Ok(accounts::find(conn, id)?) };
    match actor {
        Actor::ApiKey { id, name } => {
            let key = crate::storage::api_keys::find(conn, org, *id)?;
            let creator = match key.and_then(|k| k.created_by) {
                Some(c) => by_account(conn, c)?,
                None => None,
            };
            Ok(MailContext {
                org_name,
                inviter_name: format!("The API key \"{name}\""),
                inviter_email: creator.as_ref().map(|c| c.email.to_string()).unwrap_or_else(|| "an API key".into()),
                invited_by: creator.map(|c| c.id),
            })
        }
        _ => {
            let inviter = by_account(conn, actor.account().ok_or(OpError::NotFound)?)?.ok_or(OpError::NotFound)?;
            Ok(MailContext {
                org_name,
                inviter_name: inviter.name,
                inviter_email: inviter.email.to_string(),
                invited_by: Some(inviter.id),
            })
        }
    }
}

/// The roles an invitation gives, as its email names them: "Viewer, Support, On-call".
fn role_label(role: Role, custom: &[CustomRole]) -> String {
    std::iter::once(role.label().to_string()).chain(custom.iter().map(|r| r.name.clone())).collect::<Vec<_>>().join(", ")
}

/// Writes the invitation's email to the outbox, inside the caller's transaction.
#[allow(clippy::too_many_arguments)]
fn queue_invitation(
    conn: &mut DbConn,
    postbox: &Postbox,
    settings: &Settings,
    mc: &MailContext,
    id: InvitationId,
    email: &Email,
    role: &str,
    token: &str,
    expires_at: NaiveDateTime,
    now: NaiveDateTime,
) -> Result<(), OpError> {
    let mail = mail::Invitation {
        org_name: mc.org_name.clone(),
        inviter_name: mc.inviter_name.clone(),
        inviter_email: mc.inviter_email.clone(),
        role: role.to_string(),
        link: settings.link(token),
        expires_at,
    };
    let message = mail.message(&postbox.from, email.as_str())?;
    outbox::queue(conn, &mail::outgoing(Kind::Invitation, &message, Some(id), Some(expires_at))?, now)?;
    Ok(())
}

/// Checks that whoever holds `held` may give the base role and each custom role.
fn may_give(held: PermissionSet, role: Role, custom: &[CustomRole]) -> Result<(), OpError> {
    policy::can_grant(held, role).map_err(roles::refuse)?;
    roles::may_handle_all(held, custom)
}

/// Invites `email` with the base `role` and the custom roles `role_ids`: saves the invitation,
/// its `member.invited` event and its email (to the outbox) in one transaction. Nobody invites
/// into a role holding more than they do.
#[allow(clippy::too_many_arguments)]
pub fn invite<S: AsRef<str>>(
    db: &Db,
    postbox: &Postbox,
    settings: &Settings,
    ctx: &Ctx,
    org: OrgId,
    raw_email: &str,
    raw_role: &str,
    role_ids: &[S],
) -> Result<InvitationId, OpError> {
    let email = Email::parse(raw_email);
    let role = parse_role(raw_role);
    let role_ids = roles::parse_ids(role_ids);
    all_valid([
        email.as_ref().map(|_| ()).map_err(Clone::clone),
        role.as_ref().map(|_| ()).map_err(Clone::clone),
        role_ids.as_ref().map(|_| ()).map_err(Clone::clone),
    ])?;
    let (email, role, role_ids) = (email?, role?, role_ids?);

    let now = storage::now();
    let expires_at = settings.expiry(now);
    let id = db.write(|conn| {
        let held = lock_and_authorize(conn, org, &ctx.actor, Permission::MembersInvite, None)?;
        let custom = roles::resolve(conn, org, &role_ids)?;
        may_give(held, role, &custom)?;
        check_invitable(conn, org, &email)?;
        let mc = mail_context(conn, org, &ctx.actor)?;
        create_within(conn, postbox, settings, ctx, org, &mc, &email, role, &custom, now, expires_at)
    })?;
    postbox.posted();
    Ok(id)
}

/// Saves one invitation of `email` with the base `role` and the `custom` roles, its
/// `member.invited` event and its email (to the outbox), inside the caller's transaction, which
/// has authorized the actor and checked that the invitation may be made: what a single
/// invitation and each one of a list do.
#[allow(clippy::too_many_arguments)]
fn create_within(
    conn: &mut DbConn,
    postbox: &Postbox,
    settings: &Settings,
    ctx: &Ctx,
    org: OrgId,
    mc: &MailContext,
    email: &Email,
    role: Role,
    custom: &[CustomRole],
    now: NaiveDateTime,
    expires_at: NaiveDateTime,
) -> Result<InvitationId, OpError> {
    let id = InvitationId::new();
    let token = crypto::random_token();
    let hash = crypto::sha256_hex(token.as_bytes());
    invitations::insert(conn, NewInvitation { id, org, email, role, token_hash: &hash, invited_by: mc.invited_by, at: now, expires_at })?;
    role_rows::give_to_invitation(conn, id, &custom.iter().map(|r| r.id).collect::<Vec<_>>())?;
    audit::append(
        conn,
        org,
        &ctx.actor,
        &ctx.meta,
        NewEvent::new("member.invited")
            .target(email.to_string())
            .target_email(email.to_string())
            .details(json!({
                "role": role.as_str(),
                "roles": roles::names(custom),
                "expires_at": expires_at.and_utc().to_rfc3339()
            })),
        now,
    )?;
    queue_invitation(conn, postbox, settings, mc, id, email, &role_label(role, custom), &token, expires_at, now)?;
    Ok(id)
}

// ---- a list of people at once ---------------------------------------------------------------

/// Weighs each line of a list for someone holding `held`: where its address stands in `org`
/// (two queries for the whole list) and the organization's custom roles.
fn weigh(conn: &mut DbConn, org: OrgId, held: PermissionSet, lines: &[bulk::Line]) -> Result<Vec<bulk::Row>, OpError> {
    let emails = bulk::emails(lines);
    let members: HashMap<Email, MembershipStatus> = members::statuses_of_emails(conn, org, &emails)?.into_iter().collect();
    let invited: HashSet<Email> = invitations::pending_among(conn, org, &emails)?.into_iter().collect();
    let custom: Vec<bulk::NamedRole> = role_rows::tags(conn, org)?
        .into_iter()
        .map(|t| bulk::NamedRole { id: t.id, name: t.name, permissions: t.permissions })
        .collect();
    Ok(bulk::classify(lines, held, &custom, |email| match members.get(email) {
        Some(MembershipStatus::Active) => Standing::ActiveMember,
        Some(MembershipStatus::Inactive) => Standing::InactiveMember,
        None if invited.contains(email) => Standing::Invited,
        None => Standing::Free,
    }))
}

/// The preview of a list: every row weighed for someone holding `held` (what they may do, read
/// at the door). It changes nothing; the confirmation weighs the rows again.
pub fn preview_many(db: &Db, org: OrgId, held: PermissionSet, lines: &[bulk::Line]) -> Result<Vec<bulk::Row>, OpError> {
    weigh(&mut *db.conn()?, org, held, lines)
}

/// What the invitations of a list take from the rate limits, asked inside the transaction that
/// sends them.
pub trait Quota {
    /// How many may be sent now; None when no limit applies.
    fn allowed(&self, conn: &mut DbConn) -> Result<Option<u64>, OpError>;
    /// Takes `count` at once.
    fn take(&self, conn: &mut DbConn, count: u32) -> Result<(), OpError>;
}

/// How a confirmed list ended.
#[derive(Debug)]
pub enum Confirmed {
    /// Every row was invited: how many.
    Sent(usize),
    /// Nothing was sent: some rows are no longer valid (someone was invited or joined, a role
    /// was deleted, a right lost since the preview); the rows as they stand now.
    Changed(Vec<bulk::Row>),
    /// Nothing was sent: the rate limit lets fewer through now than the list holds.
    OverLimit { rows: Vec<bulk::Row>, allowed: u64 },
}

/// Why the transaction of a list stopped before its end: rolled back either way.
enum Abort {
    Refused(Confirmed),
    Failed(OpError),
}

impl From<OpError> for Abort {
    fn from(e: OpError) -> Abort {
        Abort::Failed(e)
    }
}

impl From<diesel::result::Error> for Abort {
    fn from(e: diesel::result::Error) -> Abort {
        Abort::Failed(e.into())
    }
}

impl From<crate::storage::DbError> for Abort {
    fn from(e: crate::storage::DbError) -> Abort {
        Abort::Failed(e.into())
    }
}

/// Invites every row of a confirmed list, or none: in one transaction, the rows are weighed
/// again against the state of now (the preview may be old), the rate limit's quota is taken
/// for all of them at once, and each row is saved as a single invitation is (its
/// `member.invited` event, its email to the outbox). A row no longer valid, or more rows than
/// the quota allows now, sends nothing.
pub fn invite_many(
    db: &Db,
    postbox: &Postbox,
    settings: &Settings,
    ctx: &Ctx,
    org: OrgId,
    lines: &[bulk::Line],
    quota: &dyn Quota,
) -> Result<Confirmed, OpError> {
    if lines.is_empty() {
        return Err(crate::domain::Invalid::new("rows", "There is nobody to invite: the list is empty.").into());
    }
    if lines.len() > bulk::MAX_ROWS {
        return Err(crate::domain::Invalid::new(
            "rows",
            format!("At most {} people can be invited at once.", bulk::thousands(bulk::MAX_ROWS)),
        )
        .into());
    }
    let now = storage::now();
    let expires_at = settings.expiry(now);
    let sent = db.write(|conn| -> Result<usize, Abort> {
        let held = lock_and_authorize(conn, org, &ctx.actor, Permission::MembersInvite, None)?;
        let rows = weigh(conn, org, held, lines)?;
        if rows.iter().any(|r| !r.is_valid()) {
            return Err(Abort::Refused(Confirmed::Changed(rows)));
        }
        let count = rows.len();
        if let Some(allowed) = quota.allowed(conn)?.filter(|a| (count as u64) > *a) {
            return Err(Abort::Refused(Confirmed::OverLimit { rows, allowed }));
        }
        quota.take(conn, u32::try_from(count).unwrap_or(u32::MAX))?;
        let mc = mail_context(conn, org, &ctx.actor)?;
        let custom_roles = role_rows::all(conn, org)?;
        for row in &rows {
            let Ok((email, grant)) = &row.verdict else { continue };
            let custom: Vec<CustomRole> = match grant {
                bulk::Grant::Base(_) => Vec::new(),
                bulk::Grant::Custom(named) => custom_roles.iter().filter(|r| r.id == named.id).cloned().collect(),
            };
            create_within(conn, postbox, settings, ctx, org, &mc, email, grant.base(), &custom, now, expires_at)?;
        }
        Ok(count)
    });
    match sent {
        Ok(count) => {
            postbox.posted();
            Ok(Confirmed::Sent(count))
        }
        Err(Abort::Refused(outcome)) => Ok(outcome),
        Err(Abort::Failed(e)) => Err(e),
    }
}

fn only_pending(inv: &Invitation) -> Result<(), OpError> {
    if inv.status == InvitationStatus::Pending {
        Ok(())
    } else {
        Err(OpError::Conflict(format!("This invitation was already {}.", inv.status.as_str())))
    }
}

/// A pending or expired invitation of `org`, which could be resent: what the confirmation asks
/// about. Any other (unknown, another organization's, already answered or cancelled) is not found.
pub fn resendable(db: &Db, org: OrgId, id: InvitationId) -> Result<Invitation, OpError> {
    let inv = invitations::find(&mut *db.conn()?, org, id)?.ok_or(OpError::NotFound)?;
    only_pending(&inv).map_err(|_| OpError::NotFound)?;
    Ok(inv)
}

/// A new token and expiry for a pending or expired invitation, and a new email; the old link
/// stops working, and the invitation's older messages not sent yet are dropped (their link is
/// dead).
pub fn resend(
    db: &Db,
    postbox: &Postbox,
    settings: &Settings,
    ctx: &Ctx,
    org: OrgId,
    id: InvitationId,
) -> Result<Email, OpError> {
    let token = crypto::random_token();
    let now = storage::now();
    let expires_at = settings.expiry(now);
    let email = db.write(|conn| {
        let held = lock_and_authorize(conn, org, &ctx.actor, Permission::MembersInvite, None)?;
        let inv = invitations::find(conn, org, id)?.ok_or(OpError::NotFound)?;
        only_pending(&inv)?;
        // a resend offers the roles again: only someone who could give them may
        let custom = role_rows::of_invitation(conn, id)?;
        may_give(held, inv.role, &custom)?;
        let mc = mail_context(conn, org, &ctx.actor)?;
        invitations::renew(conn, id, &crypto::sha256_hex(token.as_bytes()), expires_at, now)?;
        outbox::supersede_undelivered(conn, id)?;
        audit::append(
            conn,
            org,
            &ctx.actor,
            &ctx.meta,
            NewEvent::new("invitation.resent")
                .target(inv.email.to_string())
                .target_email(inv.email.to_string())
                .details(json!({ "role": inv.role.as_str(), "expires_at": expires_at.and_utc().to_rfc3339() })),
            now,
        )?;
        queue_invitation(conn, postbox, settings, &mc, id, &inv.email, &role_label(inv.role, &custom), &token, expires_at, now)?;
        Ok::<_, OpError>(inv.email)
    })?;
    postbox.posted();
    Ok(email)
}

pub fn cancel(db: &Db, ctx: &Ctx, org: OrgId, id: InvitationId) -> Result<Email, OpError> {
    db.write(|conn| {
        lock_and_authorize(conn, org, &ctx.actor, Permission::MembersInvite, None)?;
        let inv = invitations::find(conn, org, id)?.ok_or(OpError::NotFound)?;
        only_pending(&inv)?;
        cancel_within(conn, ctx, org, &inv, storage::now())?;
        Ok(inv.email)
    })
}

/// Cancels `inv` and records `invitation.cancelled`, inside the caller's transaction (which
/// has authorized the actor and checked that the invitation is pending). Its email, if not
/// sent yet, is dropped: the link it carries works no more.
pub(crate) fn cancel_within(conn: &mut DbConn, ctx: &Ctx, org: OrgId, inv: &Invitation, now: NaiveDateTime) -> Result<(), OpError> {
    invitations::set_status(conn, inv.id, InvitationStatus::Cancelled, now)?;
    outbox::supersede_undelivered(conn, inv.id)?;
    audit::append(
        conn,
        org,
        &ctx.actor,
        &ctx.meta,
        NewEvent::new("invitation.cancelled")
            .target(inv.email.to_string())
            .target_email(inv.email.to_string())
            .details(json!({ "role": inv.role.as_str() })),
        now,
    )?;
    Ok(())
}

/// How an invitation is named by the person answering it.
#[derive(Debug, Clone)]
pub enum Ref {
    /// The token of the emailed link.
    Token(String),
    /// The id, from the profile of the signed-in invited account.
    Id(InvitationId),
}

fn load(conn: &mut DbConn, by: &Ref) -> Result<Option<Invitation>, OpError> {
    Ok(match by {
        Ref::Token(token) => invitations::find_by_token_hash(conn, &crypto::sha256_hex(token.as_bytes()))?,
        Ref::Id(id) => invitations::find_any(conn, *id)?,
    })
}

/// What the invitation page shows.
#[derive(Debug, Clone)]
pub struct View {
    pub invitation: Invitation,
    pub state: InvitationState,
    pub org_name: String,
    pub inviter: Option<String>,
    pub account_exists: bool,
}

/// The invitation behind a link, or None for an unknown (or superseded) token.
pub fn view(db: &Db, by: &Ref) -> Result<Option<View>, OpError> {
    let mut conn = db.conn()?;
    let Some(invitation) = load(&mut conn, by)? else { return Ok(None) };
    let org_name = orgs::find(&mut conn, invitation.org_id)?.map(|o| o.name).unwrap_or_default();
    let inviter = match invitation.invited_by {
        Some(id) => accounts::find(&mut conn, id)?.map(|a| format!("{} ({})", a.name, a.email)),
        None => None,
    };
    let account_exists = accounts::email_taken(&mut conn, &invitation.email)?;
    let state = invitation.state(storage::now());
    Ok(Some(View { invitation, state, org_name, inviter, account_exists }))
}

/// Why an invitation cannot be answered.
pub fn gone_message(state: InvitationState) -> &'static str {
    match state {
        InvitationState::Expired => "This invitation has expired.",
        InvitationState::Accepted => "This invitation has already been used.",
        InvitationState::Declined => "This invitation was declined.",
        InvitationState::Cancelled => "This invitation was cancelled.",
        InvitationState::Pending => "This invitation is still open.",
    }
}

/// Who is answering an invitation.
pub enum Answerer<'a> {
    /// A signed-in account (its email must be the invited one).
    Account(&'a Account),
    /// Nobody signed in: a new account is made from these, for the invited email.
    NewAccount { name: &'a str, password: &'a str },
}

fn answerable(inv: Option<Invitation>, now: NaiveDateTime) -> Result<Invitation, OpError> {
    let inv = inv.ok_or(OpError::NotFound)?;
    match inv.state(now) {
        InvitationState::Pending => Ok(inv),
        state => Err(OpError::Conflict(format!("{} An admin of the organization can resend it.", gone_message(state)))),
    }
}

/// An invitation reaches an account by its id (from the profile) only once the account has
/// proved it reads the address: until then it is as if there were none.
fn reachable_by_id(account: &Account) -> Result<(), OpError> {
    if account.email_verified_at.is_some() { Ok(()) } else { Err(OpError::NotFound) }
}

fn wrong_account() -> OpError {
    OpError::Forbidden(
        "This invitation was sent to another email address. Sign out and open the link again, signed in as the invited person."
            .into(),
    )
}

/// Accepts the invitation: the membership, the invitation's new status and
/// `invitation.accepted` in one transaction. Returns the account and the organization.
pub fn accept(db: &Db, meta: &RequestMeta, by: &Ref, who: Answerer<'_>) -> Result<(AccountId, OrgId), OpError> {
    if let (Ref::Id(_), Answerer::Account(a)) = (by, &who) {
        reachable_by_id(a)?;
    }
    // Validate and hash a new account's password before taking any lock.
    let new_account = match &who {
        Answerer::Account(_) => None,
        Answerer::NewAccount { name, password } => {
            let name = names::person_name(name);
            all_valid([name.as_ref().map(|_| ()).map_err(Clone::clone), check_new_password("password", password)])?;
            Some((name?, crypto::hash_password(password)?))
        }
    };
    db.write(|conn| {
        let now = storage::now();
        let inv = answerable(load(conn, by)?, now)?;
        orgs::lock(conn, inv.org_id)?;
        // re-read under the lock: a concurrent answer or cancel wins
        let inv = answerable(invitations::find_any(conn, inv.id)?, now)?;
        let account = match (&who, new_account.clone()) {
            (Answerer::Account(a), _) => {
                if a.email != inv.email {
                    return Err(wrong_account());
                }
                if let Ref::Token(_) = by {
                    // the emailed link reached them: the address is theirs
                    accounts::mark_verified(conn, a.id, now)?;
                }
                (*a).clone()
            }
            (Answerer::NewAccount { .. }, Some((name, hash))) => {
                if accounts::email_taken(conn, &inv.email)? {
                    return Err(OpError::Conflict("An account already exists for this email. Sign in to accept.".into()));
                }
                let id = AccountId::new();
                let row = Account {
                    id,
                    email: inv.email.clone(),
                    name,
                    password_hash: hash,
                    session_epoch: 0,
                    created_at: now,
                    last_login_at: Some(now),
                    // they came through the emailed link
                    email_verified_at: Some(now),
                    totp_secret: None,
                    totp_enabled_at: None,
                    totp_last_step: None,
                };
                accounts::insert(conn, &row)?;
                row
            }
            (Answerer::NewAccount { .. }, None) => return Err(OpError::NotFound),
        };
        if members::find(conn, inv.org_id, account.id)?.is_some() {
            return Err(OpError::Conflict("You are already a member of this organization.".into()));
        }
        members::insert(
            conn,
            inv.org_id,
            NewMember { account: account.id, email: &account.email, name: &account.name },
            inv.role,
            now,
        )?;
        members::set_invited_by(conn, inv.org_id, account.id, inv.invited_by)?;
        // the custom roles still defined pass to the new member (a deleted one left the invitation)
        let custom = role_rows::of_invitation(conn, inv.id)?;
        role_rows::set_of_member(conn, inv.org_id, account.id, &custom.iter().map(|r| r.id).collect::<Vec<_>>())?;
        invitations::set_status(conn, inv.id, InvitationStatus::Accepted, now)?;
        audit::append(
            conn,
            inv.org_id,
            &Actor::Account { id: account.id, email: account.email.clone() },
            meta,
            NewEvent::new("invitation.accepted")
                .target(account.name.clone())
                .target_email(account.email.to_string())
                .details(json!({ "role": inv.role.as_str(), "roles": roles::names(&custom) })),
            now,
        )?;
        Ok((account.id, inv.org_id))
    })
}

/// Declines the invitation. The link alone is enough (it was mailed to the invited person),
/// unless someone else is signed in.
pub fn decline(db: &Db, meta: &RequestMeta, by: &Ref, signed_in: Option<&Account>) -> Result<String, OpError> {
    if let (Ref::Id(_), Some(a)) = (by, signed_in) {
        reachable_by_id(a)?;
    }
    db.write(|conn| {
        let now = storage::now();
        let inv = answerable(load(conn, by)?, now)?;
        orgs::lock(conn, inv.org_id)?;
        let inv = answerable(invitations::find_any(conn, inv.id)?, now)?;
        let actor = match signed_in {
            Some(a) if a.email != inv.email => return Err(wrong_account()),
            Some(a) => Actor::Account { id: a.id, email: a.email.clone() },
            None => Actor::Invitee { email: inv.email.clone() },
        };
        invitations::set_status(conn, inv.id, InvitationStatus::Declined, now)?;
        audit::append(
            conn,
            inv.org_id,
            &actor,
            meta,
            NewEvent::new("invitation.declined")
                .target(inv.email.to_string())
                .target_email(inv.email.to_string())
                .details(json!({ "role": inv.role.as_str() })),
            now,
        )?;
        Ok(orgs::find(conn, inv.org_id)?.map(|o| o.name).unwrap_or_default())
    })
}

/// The account that has just joined and its new membership, for the welcome that follows.
/// The account that just joined and what it may do in the organization (where it lands).
pub fn joined(db: &Db, org: OrgId, account: AccountId) -> Result<(Account, PermissionSet), OpError> {
    let mut conn = db.conn()?;
    let acc = accounts::find(&mut conn, account)?.ok_or(OpError::NotFound)?;
    let membership = members::find(&mut conn, org, account)?.ok_or(OpError::NotFound)?;
    Ok((acc, permissions_of(&mut conn, &membership)?))
}

pub use crate::storage::invitations::Listed;
pub use crate::storage::roles::RoleTag;

/// Invitations newest first, after the cursor `(created_at, id)`, optionally only those in one
/// state at `now`, for the API.
pub fn page(
    db: &Db,
    org: OrgId,
    state: Option<InvitationState>,
    now: NaiveDateTime,
    before: Option<(NaiveDateTime, InvitationId)>,
    limit: i64,
) -> Result<Vec<Listed>, OpError> {
    let mut conn = db.conn()?;
    let mut rows = invitations::page(&mut conn, org, state, None, now, before, limit)?;
    with_delivery(&mut conn, &mut rows)?;
    Ok(rows)
}

/// Fills in where each invitation's newest email stands, in one query for the page.
fn with_delivery(conn: &mut DbConn, rows: &mut [Listed]) -> Result<(), OpError> {
    let ids: Vec<InvitationId> = rows.iter().map(|l| l.invitation.id).collect();
    let found = outbox::delivery_of_invitations(conn, &ids)?;
    for row in rows.iter_mut() {
        row.delivery = found.iter().find(|(id, _)| *id == row.invitation.id).map(|(_, d)| d.clone());
    }
    Ok(())
}

/// What the invitation history asks for: one state or all, an email search, a page after the
/// cursor `(created_at, id)`.
#[derive(Debug, Clone, Default)]
pub struct HistoryQuery {
    pub state: Option<InvitationState>,
    pub search: Option<String>,
    pub before: Option<(NaiveDateTime, InvitationId)>,
    pub limit: i64,
}

/// A page of the organization's invitations in every state, newest first, and whether older
/// ones follow.
pub fn history(db: &Db, org: OrgId, query: &HistoryQuery, now: NaiveDateTime) -> Result<(Vec<Listed>, bool), OpError> {
    let mut conn = db.conn()?;
    let mut rows = invitations::page(&mut conn, org, query.state, query.search.as_deref(), now, query.before, query.limit + 1)?;
    let more = rows.len() as i64 > query.limit;
    rows.truncate(query.limit.max(0) as usize);
    with_delivery(&mut conn, &mut rows)?;
    Ok((rows, more))
}

/// The custom roles these invitations give (a page of the API's list), by name, in one query.
pub fn roles_of_invitations(db: &Db, ids: &[InvitationId]) -> Result<Vec<(InvitationId, RoleTag)>, OpError> {
    Ok(role_rows::tags_of_invitations(&mut *db.conn()?, ids)?)
}

/// One invitation with its inviter's email, for the API.
pub fn listed(db: &Db, org: OrgId, id: InvitationId) -> Result<Option<Listed>, OpError> {
    let mut conn = db.conn()?;
    let mut found: Vec<Listed> = invitations::listed(&mut conn, org, id)?.into_iter().collect();
    with_delivery(&mut conn, &mut found)?;
    Ok(found.pop())
}

