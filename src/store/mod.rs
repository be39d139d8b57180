//! Storage: Diesel models next to their queries, one module per table family.

pub mod accounts;
pub mod api_keys;
pub mod audit;
pub mod deployments;
pub mod directory;
pub mod invitations;
pub mod members;
pub mod orgs;

use chrono::{NaiveDateTime, SubsecRound, Utc};

/// The current time as stored: UTC, to the microsecond (what both backends keep).
pub fn now() -> NaiveDateTime {
    Utc::now().naive_utc().trunc_subsecs(6)
}
