//! The two ways a message leaves: an SMTP server (`STEWARD_SMTP_URL`), or, without one, an
//! `.eml` file per message in `STEWARD_OUTBOX` (for development and the tests). Sending blocks:
//! call it from a blocking thread.

use std::path::Path;
use std::time::Duration;

use lettre::address::Envelope;
use lettre::{FileTransport, SmtpTransport, Transport as _};

use crate::config::Config;
use crate::mail::MailError;

/// How long one SMTP command may take. The delivery lease is much longer than a batch of sends
/// can take at this pace (see `delivery`).
pub const SMTP_TIMEOUT: Duration = Duration::from_secs(15);

/// Where messages go.
#[derive(Clone)]
pub enum Transport {
    Smtp(SmtpTransport),
    Files(FileTransport),
}

impl Transport {
    pub fn from_config(config: &Config) -> Result<Transport, MailError> {
        Ok(match &config.smtp_url {
            Some(url) => Transport::Smtp(
                SmtpTransport::from_url(url)
                    .map_err(|e| MailError::Setup(format!("STEWARD_SMTP_URL: {e}")))?
                    .timeout(Some(SMTP_TIMEOUT))
                    .build(),
            ),
            None => {
                ensure_dir(&config.outbox)?;
                Transport::Files(FileTransport::new(&config.outbox))
            }
        })
    }

    /// Sends a message as it was formatted when queued, to the envelope's recipients.
    pub fn send_raw(&self, envelope: &Envelope, message: &[u8]) -> Result<(), MailError> {
        match self {
            Transport::Smtp(t) => t.send_raw(envelope, message).map(|_| ()).map_err(|e| MailError::Send(e.to_string())),
            Transport::Files(t) => t.send_raw(envelope, message).map(|_| ()).map_err(|e| MailError::Send(e.to_string())),
        }
    }
}

fn ensure_dir(dir: &Path) -> Result<(), MailError> {
    std::fs::create_dir_all(dir).map_err(|e| MailError::Setup(format!("STEWARD_OUTBOX {}: {e}", dir.display())))
}
