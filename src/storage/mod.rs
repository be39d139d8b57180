//! Storage, the only layer that speaks SQL: the connection to either database, the schema, the
//! embedded migrations, and one module per table family with its Diesel models and queries.

pub mod account_links;
pub mod accounts;
pub mod api_keys;
pub mod audit;
pub mod backup;
mod columns;
mod connection;
pub mod deployments;
pub mod invitations;
pub mod leases;
pub mod member_list;
pub mod members;
pub mod orgs;
pub mod outbox;
pub mod rate_limits;
pub mod recovery_codes;
pub mod roles;
pub mod schema;
pub mod security_log;
pub mod sso;
pub mod sessions;

pub use connection::*;

pub use crate::domain::now;
