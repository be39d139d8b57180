//! Invitations: offers to join an organization, found by the hash of their token.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::storage::DbConn;
use crate::storage::schema::{invitations, memberships, organizations};
use crate::domain::ids::InvitationId;
use crate::domain::{AccountId, Email, InvitationState, InvitationStatus, OrgId, Role};

/// An offer to join an organization. The token itself is never stored, only its hash.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = invitations)]
pub struct Invitation {
    pub id: InvitationId,
    pub org_id: OrgId,
    pub email: Email,
    pub role: Role,
    pub status: InvitationStatus,
    pub token_hash: String,
    pub invited_by: Option<AccountId>,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub responded_at: Option<NaiveDateTime>,
}

impl Invitation {
    pub fn state(&self, now: NaiveDateTime) -> InvitationState {
        InvitationState::of(self.status, self.expires_at, now)
    }
}

pub struct NewInvitation<'a> {
    pub id: InvitationId,
    pub org: OrgId,
    pub email: &'a Email,
    pub role: Role,
    pub token_hash: &'a str,
    pub invited_by: Option<AccountId>,
    pub at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConn, new: NewInvitation<'_>) -> QueryResult<()> {
    let row = Invitation {
        id: new.id,
        org_id: new.org,
        email: new.email.clone(),
        role: new.role,
        status: InvitationStatus::Pending,
        token_hash: new.token_hash.to_string(),
        invited_by: new.invited_by,
        created_at: new.at,
        expires_at: new.expires_at,
        responded_at: None,
    };
    diesel::insert_into(invitations::table).values(&row).execute(conn).map(|_| ())
}

/// An invitation of this organization (never another's).
pub fn find(conn: &mut DbConn, org: OrgId, id: InvitationId) -> QueryResult<Option<Invitation>> {
    invitations::table
        .filter(invitations::id.eq(id))
        .filter(invitations::org_id.eq(org))
        .select(Invitation::as_select())
        .first(conn)
        .optional()
}

pub fn find_any(conn: &mut DbConn, id: InvitationId) -> QueryResult<Option<Invitation>> {
    invitations::table
        .find(id)
        .select(Invitation::as_select())
        .first(conn)
        .optional()
}

pub fn find_by_token_hash(conn: &mut DbConn, hash: &str) -> QueryResult<Option<Invitation>> {
    invitations::table
        .filter(invitations::token_hash.eq(hash))
        .select(Invitation::as_select())
        .first(conn)
        .optional()
}

/// The pending (possibly expired) invitation of `email` to `org`, if any.
pub fn pending_for(conn: &mut DbConn, org: OrgId, email: &Email) -> QueryResult<Option<Invitation>> {
    invitations::table
        .filter(invitations::org_id.eq(org))
        .filter(invitations::email.eq(email))
        .filter(invitations::status.eq(InvitationStatus::Pending))
        .select(Invitation::as_select())
        .first(conn)
        .optional()
}

/// Which of `emails` have a pending (possibly expired) invitation to `org`, in one query.
pub fn pending_among(conn: &mut DbConn, org: OrgId, emails: &[Email]) -> QueryResult<Vec<Email>> {
    if emails.is_empty() {
        return Ok(Vec::new());
    }
    invitations::table
        .filter(invitations::org_id.eq(org))
        .filter(invitations::email.eq_any(emails))
        .filter(invitations::status.eq(InvitationStatus::Pending))
        .select(invitations::email)
        .load(conn)
}

/// The invitations to `org` that `account` sent and that are still pending (expired ones
/// included), newest first.
pub fn pending_sent_by(conn: &mut DbConn, org: OrgId, account: AccountId) -> QueryResult<Vec<Invitation>> {
    invitations::table
        .filter(invitations::org_id.eq(org))
        .filter(invitations::invited_by.eq(account))
        .filter(invitations::status.eq(InvitationStatus::Pending))
        .order((invitations::created_at.desc(), invitations::id.desc()))
        .select(Invitation::as_select())
        .load(conn)
}

pub fn set_status(conn: &mut DbConn, id: InvitationId, status: InvitationStatus, at: NaiveDateTime) -> QueryResult<()> {
    diesel::update(invitations::table.find(id))
        .set((invitations::status.eq(status), invitations::responded_at.eq(Some(at))))
        .execute(conn)
        .map(|_| ())
}

/// A new token and a new expiry, sent again `at`: the old link stops working.
pub fn renew(conn: &mut DbConn, id: InvitationId, token_hash: &str, expires_at: NaiveDateTime, at: NaiveDateTime) -> QueryResult<()> {
    diesel::update(invitations::table.find(id))
        .set((
            invitations::token_hash.eq(token_hash),
            invitations::expires_at.eq(expires_at),
            invitations::resent_at.eq(Some(at)),
        ))
        .execute(conn)
        .map(|_| ())
}

/// An invitation addressed to an account, as its profile and organization list show it.
#[derive(Debug, Clone)]
pub struct ForAccount {
    pub id: InvitationId,
    pub org_name: String,
    pub role: Role,
    pub invited_by: Option<String>,
    pub expires_at: NaiveDateTime,
}

/// The pending, unexpired invitations addressed to `email`.
pub fn pending_for_email(conn: &mut DbConn, email: &Email, now: NaiveDateTime) -> QueryResult<Vec<ForAccount>> {
    let rows: Vec<(InvitationId, String, Role, Option<String>, NaiveDateTime)> = invitations::table
        .inner_join(organizations::table)
        .left_join(
            memberships::table.on(memberships::org_id
                .eq(invitations::org_id)
                .and(invitations::invited_by.eq(memberships::account_id.nullable()))),
        )
        .filter(invitations::email.eq(email))
        .filter(invitations::status.eq(InvitationStatus::Pending))
        .filter(invitations::expires_at.gt(now))
        .select((invitations::id, organizations::name, invitations::role, memberships::email.nullable(), invitations::expires_at))
        .order(invitations::created_at.desc())
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, org_name, role, invited_by, expires_at)| ForAccount { id, org_name, role, invited_by, expires_at })
        .collect())
}

/// An invitation with its inviter's email and when it was last sent again, for the API and the
/// invitation history.
#[derive(Debug, Clone)]
pub struct Listed {
    pub invitation: Invitation,
    pub invited_by_email: Option<String>,
    pub resent_at: Option<NaiveDateTime>,
    /// Where its newest email stands: None as read here, filled in from the outbox for a page
    /// (`outbox::delivery_of_invitations`) by whoever shows it.
    pub delivery: Option<crate::domain::delivery::Delivery>,
}

/// Invitations newest first, after the cursor `(created_at, id)`, optionally only those in one
/// state at `now` (`expired` being a pending one past its expiry) and those whose email
/// contains `search` (any case).
pub fn page(
    conn: &mut DbConn,
    org: OrgId,
    state: Option<InvitationState>,
    search: Option<&str>,
    now: NaiveDateTime,
    before: Option<(NaiveDateTime, InvitationId)>,
    limit: i64,
) -> QueryResult<Vec<Listed>> {
    use crate::storage::schema::accounts;
    let mut q = invitations::table
        .left_join(accounts::table.on(invitations::invited_by.eq(accounts::id.nullable())))
        .filter(invitations::org_id.eq(org))
        .select((Invitation::as_select(), accounts::email.nullable(), invitations::resent_at))
        .order((invitations::created_at.desc(), invitations::id.desc()))
        .limit(limit)
        .into_boxed();
    q = match state {
        None => q,
        Some(InvitationState::Pending) => q.filter(invitations::status.eq(InvitationStatus::Pending)).filter(invitations::expires_at.gt(now)),
        Some(InvitationState::Expired) => q.filter(invitations::status.eq(InvitationStatus::Pending)).filter(invitations::expires_at.le(now)),
        Some(InvitationState::Accepted) => q.filter(invitations::status.eq(InvitationStatus::Accepted)),
        Some(InvitationState::Declined) => q.filter(invitations::status.eq(InvitationStatus::Declined)),
        Some(InvitationState::Cancelled) => q.filter(invitations::status.eq(InvitationStatus::Cancelled)),
    };
    if let Some(search) = search.filter(|s| !s.trim().is_empty()) {
        // emails are stored in lowercase, which the pattern is too
        q = q.filter(invitations::email.like(crate::storage::member_list::like_pattern(search)).escape('\\'));
    }
    if let Some((at, id)) = before {
        q = q.filter(invitations::created_at.lt(at).or(invitations::created_at.eq(at).and(invitations::id.lt(id))));
    }
    let rows: Vec<(Invitation, Option<String>, Option<NaiveDateTime>)> = q.load(conn)?;
    Ok(rows.into_iter().map(|(invitation, invited_by_email, resent_at)| Listed { invitation, invited_by_email, resent_at, delivery: None }).collect())
}

pub fn listed(conn: &mut DbConn, org: OrgId, id: InvitationId) -> QueryResult<Option<Listed>> {
    use crate::storage::schema::accounts;
    let row: Option<(Invitation, Option<String>, Option<NaiveDateTime>)> = invitations::table
        .left_join(accounts::table.on(invitations::invited_by.eq(accounts::id.nullable())))
        .filter(invitations::org_id.eq(org))
        .filter(invitations::id.eq(id))
        .select((Invitation::as_select(), accounts::email.nullable(), invitations::resent_at))
        .first(conn)
        .optional()?;
    Ok(row.map(|(invitation, invited_by_email, resent_at)| Listed { invitation, invited_by_email, resent_at, delivery: None }))
}
