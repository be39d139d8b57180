//! The mail outbox: every email Steward sends, written in the transaction of the change that
//! sends it, then claimed, sent and marked by the delivery worker (`mail::delivery`).
//!
//! Delivery is at least once. A message is claimed with a lease (`claimed_until`) before it is
//! sent, so that two workers (two instances on one PostgreSQL) never send it at the same time,
//! and it is marked sent by its own statement right after the mail server accepted it. It goes
//! out twice only when the process dies between that acceptance and the marking, or when a
//! send outlasts the lease (which is far longer than a batch of sends can take with the SMTP
//! timeout); each message is then sent again once, when its lease has run out.
//!
//! The body (the whole formatted message) holds the raw token of the link it carries: it is
//! deleted as soon as the message is sent, and when its link expires before it could be sent.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::domain::delivery::Delivery;
use crate::domain::ids::InvitationId;
use crate::metrics::{self, Written};
use crate::storage::DbConn;
use crate::storage::schema::outbox;

/// What a message is, for the operator reading the table and for the invitation it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Invitation,
    Verification,
    /// The link to a new address asked for.
    EmailChange,
    /// To the old address: a change was asked for.
    EmailChangeNotice,
    PasswordReset,
    /// Password changed or reset, two-factor turned on or off.
    SecurityNotice,
}

impl Kind {
    pub const ALL: [Kind; 6] =
        [Kind::Invitation, Kind::Verification, Kind::EmailChange, Kind::EmailChangeNotice, Kind::PasswordReset, Kind::SecurityNotice];

    /// The kind a stored message names, as its `&'static` name (a metric's label); `other`
    /// for a name this version does not know (written by a newer one).
    pub fn label_of(stored: &str) -> &'static str {
        Kind::ALL.iter().map(|k| k.as_str()).find(|k| *k == stored).unwrap_or("other")
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Invitation => "invitation",
            Kind::Verification => "verification",
            Kind::EmailChange => "email_change",
            Kind::EmailChangeNotice => "email_change_notice",
            Kind::PasswordReset => "password_reset",
            Kind::SecurityNotice => "security_notice",
        }
    }
}

/// How long a message without a link of its own (a notice) keeps being retried: after that it
/// is news no more, and expires like a link would.
pub const NOTICE_LIFETIME: chrono::Duration = chrono::Duration::days(3);

/// A message to queue: the formatted bytes and their envelope.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub kind: Kind,
    pub recipient: String,
    pub envelope_from: Option<String>,
    pub body: Vec<u8>,
    pub invitation: Option<InvitationId>,
    /// When the link the message carries stops working, if it carries one.
    pub expires_at: Option<NaiveDateTime>,
}

#[derive(Insertable)]
#[diesel(table_name = outbox)]
struct Row<'a> {
    id: String,
    kind: &'a str,
    recipient: &'a str,
    envelope_from: Option<&'a str>,
    body: Option<&'a [u8]>,
    invitation_id: Option<InvitationId>,
    created_at: NaiveDateTime,
    attempts: i32,
    next_attempt_at: NaiveDateTime,
    expires_at: Option<NaiveDateTime>,
}

/// Writes a message, due at once. Call it inside the transaction of the change that sends it.
pub fn queue(conn: &mut DbConn, m: &NewMessage, now: NaiveDateTime) -> QueryResult<String> {
    let id = uuid::Uuid::new_v4().to_string();
    diesel::insert_into(outbox::table)
        .values(Row {
            id: id.clone(),
            kind: m.kind.as_str(),
            recipient: &m.recipient,
            envelope_from: m.envelope_from.as_deref(),
            body: Some(&m.body),
            invitation_id: m.invitation,
            created_at: now,
            attempts: 0,
            next_attempt_at: now,
            expires_at: m.expires_at,
        })
        .execute(conn)?;
    metrics::note(Written::EmailQueued(m.kind.as_str()));
    Ok(id)
}

/// Deletes the invitation's messages not sent yet: a resend or a cancellation made their link
/// dead.
pub fn supersede_undelivered(conn: &mut DbConn, invitation: InvitationId) -> QueryResult<usize> {
    diesel::delete(outbox::table.filter(outbox::invitation_id.eq(invitation)).filter(outbox::sent_at.is_null())).execute(conn)
}

/// A message claimed for sending.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = outbox)]
pub struct Claimed {
    pub id: String,
    pub kind: String,
    pub recipient: String,
    pub envelope_from: Option<String>,
    pub body: Option<Vec<u8>>,
    pub attempts: i32,
}

/// Claims up to `limit` due messages until `lease_until`: those not sent, not expired, due by
/// `now`, and not held by another worker's unexpired lease. Run it in a write transaction: on
/// SQLite its BEGIN IMMEDIATE serialises the claims; on PostgreSQL the due rows are locked as
/// they are read, skipping those another claim has locked, so two workers never take the same.
pub fn claim_due(conn: &mut DbConn, now: NaiveDateTime, lease_until: NaiveDateTime, limit: i64) -> QueryResult<Vec<Claimed>> {
    let unclaimed = outbox::claimed_until.is_null().or(outbox::claimed_until.lt(now));
    let due = outbox::table
        .filter(outbox::sent_at.is_null())
        .filter(outbox::expired_at.is_null())
        .filter(outbox::next_attempt_at.le(now))
        .filter(outbox::expires_at.is_null().or(outbox::expires_at.gt(now)))
        .filter(unclaimed)
        .order((outbox::next_attempt_at.asc(), outbox::id.asc()))
        .limit(limit)
        .select(outbox::id);
    let ids: Vec<String> = match conn {
        DbConn::Postgres(pg) => due.for_update().skip_locked().load(pg)?,
        DbConn::Sqlite(sqlite) => due.load(sqlite)?,
    };
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    diesel::update(outbox::table.filter(outbox::id.eq_any(&ids)).filter(unclaimed))
        .set(outbox::claimed_until.eq(Some(lease_until)))
        .execute(conn)?;
    outbox::table
        .filter(outbox::id.eq_any(&ids))
        .filter(outbox::claimed_until.eq(Some(lease_until)))
        .order((outbox::next_attempt_at.asc(), outbox::id.asc()))
        .select(Claimed::as_select())
        .load(conn)
}

/// The mail server took the message: it is sent, and its body (with its token) is deleted.
pub fn mark_sent(conn: &mut DbConn, id: &str, now: NaiveDateTime) -> QueryResult<()> {
    diesel::update(outbox::table.find(id))
        .set((
            outbox::sent_at.eq(Some(now)),
            outbox::body.eq(None::<Vec<u8>>),
            outbox::claimed_until.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)
        .map(|_| ())
}

/// An attempt failed: counted, with its error, and tried again at `next_attempt_at`.
pub fn mark_failed(conn: &mut DbConn, id: &str, error: &str, next_attempt_at: NaiveDateTime) -> QueryResult<()> {
    diesel::update(outbox::table.find(id).filter(outbox::sent_at.is_null()))
        .set((
            outbox::attempts.eq(outbox::attempts + 1),
            outbox::last_error.eq(Some(error)),
            outbox::next_attempt_at.eq(next_attempt_at),
            outbox::claimed_until.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Gives claimed messages back, unsent (the worker is stopping): they are due again at once.
pub fn release(conn: &mut DbConn, ids: &[String]) -> QueryResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    diesel::update(outbox::table.filter(outbox::id.eq_any(ids)).filter(outbox::sent_at.is_null()))
        .set(outbox::claimed_until.eq(None::<NaiveDateTime>))
        .execute(conn)
        .map(|_| ())
}

/// The sweep: undelivered messages whose link has expired (or notices older than
/// `NOTICE_LIFETIME`) will not be sent any more; they are marked expired and their body is
/// deleted. Messages being sent right now (under an unexpired lease) are left to their worker.
/// Returns how many expired.
pub fn expire_overdue(conn: &mut DbConn, now: NaiveDateTime) -> QueryResult<usize> {
    let overdue_notice = now - NOTICE_LIFETIME;
    diesel::update(
        outbox::table
            .filter(outbox::sent_at.is_null())
            .filter(outbox::expired_at.is_null())
            .filter(outbox::claimed_until.is_null().or(outbox::claimed_until.lt(now)))
            .filter(
                outbox::expires_at
                    .le(now)
                    .or(outbox::expires_at.is_null().and(outbox::created_at.le(overdue_notice))),
            ),
    )
    .set((
        outbox::expired_at.eq(Some(now)),
        outbox::body.eq(None::<Vec<u8>>),
        outbox::claimed_until.eq(None::<NaiveDateTime>),
    ))
    .execute(conn)
}

/// How long a message sent or expired stays in the table (without its body): what an invitation's
/// delivery state and an operator's look at the table read.
pub const FINISHED_RETENTION: chrono::Duration = chrono::Duration::days(30);

/// The other sweep: deletes the rows of messages sent or expired before `before`. Returns how
/// many went.
pub fn delete_finished_before(conn: &mut DbConn, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(outbox::table.filter(outbox::sent_at.lt(before).or(outbox::expired_at.lt(before)))).execute(conn)
}

/// Where the newest message of each of these invitations stands (one query for a page of
/// them). An invitation without any (made before the outbox, or never mailed) is left out.
pub fn delivery_of_invitations(conn: &mut DbConn, ids: &[InvitationId]) -> QueryResult<Vec<(InvitationId, Delivery)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    type Columns = (Option<InvitationId>, NaiveDateTime, String, Option<NaiveDateTime>, Option<NaiveDateTime>, i32, Option<String>);
    let rows: Vec<Columns> = outbox::table
        .filter(outbox::invitation_id.eq_any(ids))
        .order((outbox::created_at.asc(), outbox::id.asc()))
        .select((
            outbox::invitation_id,
            outbox::created_at,
            outbox::id,
            outbox::sent_at,
            outbox::expired_at,
            outbox::attempts,
            outbox::last_error,
        ))
        .load(conn)?;
    let mut newest: Vec<(InvitationId, Delivery)> = Vec::new();
    for (invitation, _, _, sent_at, expired_at, attempts, last_error) in rows {
        let Some(invitation) = invitation else { continue };
        let delivery = Delivery::of(sent_at.is_some(), expired_at.is_some(), attempts, last_error);
        // oldest first: a later message of the same invitation replaces the earlier
        match newest.iter_mut().find(|(id, _)| *id == invitation) {
            Some(slot) => slot.1 = delivery,
            None => newest.push((invitation, delivery)),
        }
    }
    Ok(newest)
}

/// The SQL of one invitation's newest delivery state, as a correlated subquery over the
/// `invitations` row of the enclosing query (the member list's): `queued`, `sent`, `expired`,
/// or `retrying ` followed by the last error. NULL when the invitation has no message.
pub const DELIVERY_OF_INVITATION_SQL: &str = "(SELECT CASE WHEN outbox.sent_at IS NOT NULL THEN 'sent' \
     WHEN outbox.expired_at IS NOT NULL THEN 'expired' \
     WHEN outbox.attempts > 0 THEN 'retrying ' || COALESCE(outbox.last_error, '') ELSE 'queued' END \
     FROM outbox WHERE outbox.invitation_id = invitations.id \
     ORDER BY outbox.created_at DESC LIMIT 1)";

/// Reads what `DELIVERY_OF_INVITATION_SQL` answered.
pub fn parse_delivery(column: Option<&str>) -> Option<Delivery> {
    Some(match column? {
        "sent" => Delivery::Sent,
        "expired" => Delivery::Expired,
        "queued" => Delivery::Queued,
        other => Delivery::Retrying { last_error: other.strip_prefix("retrying ").unwrap_or(other).to_string() },
    })
}

/// A message as stored, for an operator's look and the tests.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = outbox)]
pub struct Stored {
    pub id: String,
    pub kind: String,
    pub recipient: String,
    pub body: Option<Vec<u8>>,
    pub invitation_id: Option<InvitationId>,
    pub created_at: NaiveDateTime,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub last_error: Option<String>,
    pub claimed_until: Option<NaiveDateTime>,
    pub sent_at: Option<NaiveDateTime>,
    pub expires_at: Option<NaiveDateTime>,
    pub expired_at: Option<NaiveDateTime>,
}

/// Every message to `recipient`, oldest first.
pub fn to_recipient(conn: &mut DbConn, recipient: &str) -> QueryResult<Vec<Stored>> {
    outbox::table
        .filter(outbox::recipient.eq(recipient))
        .order((outbox::created_at.asc(), outbox::id.asc()))
        .select(Stored::as_select())
        .load(conn)
}

/// How many messages still wait for their first attempt (the tests wait for none).
pub fn untried(conn: &mut DbConn) -> QueryResult<i64> {
    outbox::table
        .filter(outbox::sent_at.is_null())
        .filter(outbox::expired_at.is_null())
        .filter(outbox::attempts.eq(0))
        .count()
        .get_result(conn)
}

#[cfg(test)]
mod tests {
    use super::Kind;

    #[test]
    fn a_stored_kind_reads_back_as_its_name_and_an_unknown_one_as_other() {
        for kind in Kind::ALL {
            assert_eq!(Kind::label_of(kind.as_str()), kind.as_str());
        }
        assert_eq!(Kind::label_of("newsletter"), "other");
        assert_eq!(Kind::label_of(""), "other");
    }
}
