//! HTTP tests: the real server on a free port, driven over HTTP like a browser or a script, each
//! test once on SQLite and once on PostgreSQL.

#[path = "../helpers/mod.rs"]
mod helpers;
mod support;

mod accounts;
mod api_keys;
mod audit;
mod authorization;
mod concurrency;
mod deployments;
mod invitations;
mod json_api;
mod members;
mod organization_access;
mod organization_settings;
mod rate_limits;
mod security;
