//! Mail delivery as the product speaks of it: where an invitation's email stands, and how long
//! the outbox waits before trying a failed message again.

use std::time::Duration;

/// Where the newest email of an invitation stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Waiting for its first attempt.
    Queued,
    /// An attempt failed; it is tried again later. The error is the mail server's answer.
    Retrying { last_error: String },
    /// The mail server (or the outbox directory) took it.
    Sent,
    /// Its link expired before it could be delivered: it will not be sent.
    Expired,
}

impl Delivery {
    /// The state of a message from its columns.
    pub fn of(sent: bool, expired: bool, attempts: i32, last_error: Option<String>) -> Delivery {
        if sent {
            Delivery::Sent
        } else if expired {
            Delivery::Expired
        } else if attempts > 0 {
            Delivery::Retrying { last_error: last_error.unwrap_or_default() }
        } else {
            Delivery::Queued
        }
    }

    /// Its name in the JSON API.
    pub fn as_str(&self) -> &'static str {
        match self {
            Delivery::Queued => "queued",
            Delivery::Retrying { .. } => "retrying",
            Delivery::Sent => "sent",
            Delivery::Expired => "expired",
        }
    }
}

/// The first retry waits about this long; each failure doubles it, up to `MAX_BACKOFF`.
pub const FIRST_BACKOFF: Duration = Duration::from_secs(5);
pub const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// How long to wait after the `attempts`-th failed attempt (1 for the first): 5 s doubling,
/// capped at an hour, of which a random part (`jitter`, from 0 to 1) takes up to half away, so
/// that messages that failed together (a mail server that was down) do not all come back at
/// the same second.
pub fn backoff(attempts: i32, jitter: f64) -> Duration {
    let doublings = attempts.saturating_sub(1).clamp(0, 20) as u32;
    let full = FIRST_BACKOFF.saturating_mul(1u32 << doublings).min(MAX_BACKOFF);
    full.mul_f64(1.0 - 0.5 * jitter.clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_starts_at_five_seconds_and_doubles() {
        assert_eq!(backoff(1, 0.0), Duration::from_secs(5));
        assert_eq!(backoff(2, 0.0), Duration::from_secs(10));
        assert_eq!(backoff(3, 0.0), Duration::from_secs(20));
        assert_eq!(backoff(8, 0.0), Duration::from_secs(640));
    }

    #[test]
    fn the_backoff_is_capped_at_an_hour_however_many_failures() {
        assert_eq!(backoff(11, 0.0), Duration::from_secs(3600));
        assert_eq!(backoff(1000, 0.0), MAX_BACKOFF);
        assert_eq!(backoff(i32::MAX, 0.0), MAX_BACKOFF);
        // a count that cannot be (none yet, or a negative one) waits like the first
        assert_eq!(backoff(0, 0.0), FIRST_BACKOFF);
        assert_eq!(backoff(-3, 0.0), FIRST_BACKOFF);
    }

    #[test]
    fn jitter_takes_at_most_half_of_the_wait_away() {
        assert_eq!(backoff(1, 1.0), Duration::from_millis(2500));
        assert_eq!(backoff(1000, 1.0), Duration::from_secs(1800));
        for attempts in 1..30 {
            for jitter in [0.0, 0.1, 0.5, 0.99, 1.0, 7.0, -1.0] {
                let wait = backoff(attempts, jitter);
                let full = backoff(attempts, 0.0);
                assert!(wait <= full && wait >= full / 2, "attempt {attempts}, jitter {jitter}: {wait:?}");
            }
        }
    }

    #[test]
    fn a_message_reads_sent_expired_retrying_or_queued() {
        assert_eq!(Delivery::of(true, false, 3, Some("x".into())), Delivery::Sent);
        assert_eq!(Delivery::of(false, true, 3, None), Delivery::Expired);
        assert_eq!(Delivery::of(false, false, 1, Some("550".into())), Delivery::Retrying { last_error: "550".into() });
        assert_eq!(Delivery::of(false, false, 0, None), Delivery::Queued);
    }
}
