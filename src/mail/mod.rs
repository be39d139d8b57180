//! Email: the messages Steward sends (`messages`), the two ways out (`transport`: SMTP, or
//! `.eml` files in a directory), and their delivery from the outbox table by a background
//! worker (`delivery`).
//!
//! An operation never talks to a mail server: it writes its message into the outbox in the
//! transaction of the change that sends it, so that the change and its email exist together
//! or not at all, and a mail server that is down delays the email without refusing the change.

pub mod delivery;
pub mod messages;
pub mod transport;

use lettre::message::Mailbox;

pub use messages::{AccountMail, Invitation};
pub use transport::Transport;

use crate::background::Waker;
use crate::config::Config;

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("the mail settings are not usable: {0}")]
    Setup(String),
    #[error("the message could not be built: {0}")]
    Build(String),
    #[error("the message could not be sent: {0}")]
    Send(String),
}

/// What operations need to queue mail: the sender's address the messages carry, and the bell
/// of the delivery worker, rung once a change that queued a message has committed.
#[derive(Clone)]
pub struct Postbox {
    pub from: Mailbox,
    waker: Waker,
}

impl Postbox {
    pub fn new(from: Mailbox, waker: Waker) -> Postbox {
        Postbox { from, waker }
    }

    /// The sender configured in `STEWARD_MAIL_FROM`, with the waker of the delivery worker
    /// (`Waker::none()` where none runs: the message waits for the server's next round).
    pub fn from_config(config: &Config, waker: Waker) -> Result<Postbox, MailError> {
        let from: Mailbox = config.mail_from.parse().map_err(|e| MailError::Setup(format!("STEWARD_MAIL_FROM: {e}")))?;
        Ok(Postbox { from, waker })
    }

    /// Messages were committed to the outbox: deliver them now rather than at the next poll.
    pub fn posted(&self) {
        self.waker.wake();
    }
}

/// A built message as the outbox keeps it: its formatted bytes and its envelope. `expires_at` is
/// when the link it carries stops working (a notice carries none).
pub fn outgoing(
    kind: crate::storage::outbox::Kind,
    message: &lettre::Message,
    invitation: Option<crate::domain::ids::InvitationId>,
    expires_at: Option<chrono::NaiveDateTime>,
) -> Result<crate::storage::outbox::NewMessage, MailError> {
    let envelope = message.envelope();
    let recipient = match envelope.to() {
        [one] => one.to_string(),
        _ => return Err(MailError::Build("a queued message has exactly one recipient".into())),
    };
    Ok(crate::storage::outbox::NewMessage {
        kind,
        recipient,
        envelope_from: envelope.from().map(|a| a.to_string()),
        body: message.formatted(),
        invitation,
        expires_at,
    })
}
