//! The operations a person or a script can perform. Each checks the rules, makes its change
//! and records its audit event in one transaction.

pub mod access;
pub mod api_keys;
pub mod accounts;
pub mod audit;
pub mod deployments;
pub mod housekeeping;
pub mod identity;
pub mod invitations;
pub mod member_export;
pub mod members;
pub mod offboarding;
pub mod orgs;
pub mod roles;
pub mod security_log;
pub mod sessions;
pub mod sso;
pub mod two_factor;

use crate::storage::{Db, DbError};
use crate::domain::Invalid;
use crate::domain::{Actor, RequestMeta};

/// Who is acting, and from where: what every audited operation needs.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub actor: Actor,
    pub meta: RequestMeta,
}

#[derive(Debug, thiserror::Error)]
pub enum OpError {
    /// The input breaks a rule; each message belongs to a form field.
    #[error("{}", .0.iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join(" "))]
    Invalid(Vec<Invalid>),
    /// The request is understood but a rule of the product forbids it.
    #[error("{0}")]
    Forbidden(String),
    /// The request conflicts with the current state (already a member, a pending invitation…).
    #[error("{0}")]
    Conflict(String),
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Hash(#[from] crate::crypto::HashError),
    /// The email a change sends could not be written (its recipient is no mailbox, its
    /// template failed); the change was not made.
    #[error("The email could not be written: {0}")]
    Mail(#[from] crate::mail::MailError),
    /// Over a rate limit: nothing was done; the request may be made again after the wait.
    #[error(transparent)]
    TooManyRequests(#[from] crate::rate_limit::RetryAfter),
    /// Something outside the rules failed (the server could not run the work).
    #[error("{0}")]
    Internal(String),
}

impl OpError {
    /// Whether the database could not be reached (no connection to be had): the request may
    /// succeed in a moment, so the faces answer 503 rather than 500.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, OpError::Db(e) if e.is_unavailable())
    }
}

impl From<Invalid> for OpError {
    fn from(e: Invalid) -> OpError {
        OpError::Invalid(vec![e])
    }
}

impl From<diesel::result::Error> for OpError {
    fn from(e: diesel::result::Error) -> OpError {
        OpError::Db(DbError::Query(e))
    }
}

/// Collects the validation results of several fields into one error listing them all.
pub fn all_valid<const N: usize>(results: [Result<(), Invalid>; N]) -> Result<(), OpError> {
    let errors: Vec<Invalid> = results.into_iter().filter_map(Result::err).collect();
    if errors.is_empty() { Ok(()) } else { Err(OpError::Invalid(errors)) }
}

/// Whether the database answers, for `/healthz`.
pub fn database_answers(db: &Db) -> Result<(), OpError> {
    Ok(crate::storage::ping(&mut *db.conn()?)?)
}
