//! The delivery worker: claims due messages from the outbox table, sends each through the
//! transport, marks it sent (deleting its body) or schedules its next attempt, and expires those
//! whose link died first. It runs on a thread of its own (`background`), is woken when a change
//! queues a message, and otherwise looks every `POLL` for retries and for messages another
//! instance queued.
//!
//! Delivery is at least once: see `storage::outbox` for when a message can go out twice. The
//! lease (`LEASE`) is far longer than a claimed batch can take to send, `BATCH` messages at
//! worst a few SMTP timeouts each.

use std::time::Duration;

use lettre::Address;
use lettre::address::Envelope;

use crate::background::Ticker;
use crate::crypto;
use crate::domain::delivery::backoff;
use crate::mail::{MailError, Transport};
use crate::storage::outbox::{self, Claimed, Kind};
use crate::storage::{Db, DbError};

/// How often the worker looks for due messages when nobody woke it.
pub const POLL: Duration = Duration::from_secs(3);

/// How long a claim holds: a message claimed by a worker that died is sent again after this.
pub const LEASE: chrono::Duration = chrono::Duration::minutes(15);

/// Messages claimed at once.
const BATCH: i64 = 3;

/// The longest error kept with a failed message: enough for the mail server's answer.
const MAX_ERROR_CHARS: usize = 300;

/// Runs the worker until the server stops: a first round at once (the messages the last run
/// left behind), then one after every wake-up or `POLL`.
pub fn run(db: Db, transport: Transport, ticker: Ticker) {
    loop {
        if let Err(e) = round(&db, &transport, &|| ticker.stopping()) {
            tracing::warn!(error = %e, "mail delivery round failed; trying again shortly");
        }
        if !ticker.sleep(POLL) {
            return;
        }
    }
}

/// What a round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Round {
    pub sent: usize,
    pub failed: usize,
    pub expired: usize,
}

/// One round: expires what can no longer be sent, then claims and sends due messages until none
/// is left (or `stopping` says so: the claimed ones not sent yet are given back).
pub fn round(db: &Db, transport: &Transport, stopping: &dyn Fn() -> bool) -> Result<Round, DbError> {
    let mut done = Round { expired: outbox::expire_overdue(&mut *db.conn()?, crate::storage::now())?, ..Round::default() };
    db.metrics().emails_expired(done.expired);
    loop {
        let now = crate::storage::now();
        let claimed = db.write(|conn| outbox::claim_due(conn, now, now + LEASE, BATCH).map_err(DbError::from))?;
        if claimed.is_empty() {
            return Ok(done);
        }
        for (i, message) in claimed.iter().enumerate() {
            if stopping() {
                let rest: Vec<String> = claimed[i..].iter().map(|m| m.id.clone()).collect();
                outbox::release(&mut *db.conn()?, &rest)?;
                return Ok(done);
            }
            match send(transport, message) {
                // its own statement, right away: the window in which a crash means a second
                // copy is this one round trip
                Ok(()) => {
                    db.metrics().email_sent(Kind::label_of(&message.kind));
                    outbox::mark_sent(&mut *db.conn()?, &message.id, crate::storage::now())?;
                    done.sent += 1;
                }
                Err(e) => {
                    let attempts = message.attempts.saturating_add(1);
                    let jitter = f64::from(u16::from_le_bytes(crypto::random_bytes::<2>())) / f64::from(u16::MAX);
                    let wait = chrono::Duration::from_std(backoff(attempts, jitter)).unwrap_or(chrono::Duration::hours(1));
                    let error = short(&e.to_string());
                    tracing::warn!(message = %message.id, kind = %message.kind, attempts, error = %error, "email not delivered; will retry");
                    db.metrics().email_failed(Kind::label_of(&message.kind));
                    outbox::mark_failed(&mut *db.conn()?, &message.id, &error, crate::storage::now() + wait)?;
                    done.failed += 1;
                }
            }
        }
    }
}

fn send(transport: &Transport, message: &Claimed) -> Result<(), MailError> {
    let body = message.body.as_deref().ok_or_else(|| MailError::Build("the message has no body".into()))?;
    let to: Address = message.recipient.parse().map_err(|e| MailError::Build(format!("recipient: {e}")))?;
    let from = match message.envelope_from.as_deref() {
        Some(f) => Some(f.parse::<Address>().map_err(|e| MailError::Build(format!("sender: {e}")))?),
        None => None,
    };
    let envelope = Envelope::new(from, vec![to]).map_err(|e| MailError::Build(e.to_string()))?;
    transport.send_raw(&envelope, body)
}

/// The error as kept and shown to admins: one line, cut short.
fn short(error: &str) -> String {
    let line: String = error.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(MAX_ERROR_CHARS) {
        Some((at, _)) => format!("{}…", &line[..at]),
        None => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_kept_on_one_short_line() {
        assert_eq!(short("permanent error (550):\r\n mailbox   unavailable"), "permanent error (550): mailbox unavailable");
        let long = "x".repeat(1000);
        assert_eq!(short(&long).chars().count(), MAX_ERROR_CHARS + 1);
    }

    #[test]
    fn the_lease_outlasts_a_batch_of_slow_sends() {
        // a send is a handful of SMTP commands, each allowed the timeout
        let worst = crate::mail::transport::SMTP_TIMEOUT * 6 * BATCH as u32;
        assert!(LEASE.to_std().unwrap() > worst * 2);
    }
}
