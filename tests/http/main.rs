//! HTTP tests: the real server driven over HTTP like a browser or a script, on both databases.
//!
//! Each test runs once on SQLite and once on PostgreSQL (`on_both_backends!`). The console's
//! pages are tested by resource (accounts, members, invitations, deployments, audit,
//! api_keys, organization_*), then across resources (authorization, security, rate_limits,
//! concurrency, instances); the JSON API under json_api/, one file per resource.

#[path = "../helpers/mod.rs"]
mod helpers;
mod support;

mod accounts;
mod api_docs;
mod api_keys;
mod audit;
mod audit_chain;
mod bulk_invitations;
mod authorization;
mod concurrency;
mod deployments;
mod email_verification;
mod invitation_history;
mod instances;
mod invitations;
mod json_api;
mod member_search;
mod members;
mod members_export;
mod metrics;
mod offboarding;
mod organization_access;
mod organization_settings;
mod outbox;
mod password_reset;
mod rate_limits;
mod roles;
mod security;
mod security_log;
mod sessions;
mod sso;
mod two_factor;
