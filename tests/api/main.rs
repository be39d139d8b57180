//! HTTP-level tests: the real server on a free port, on SQLite and on PostgreSQL.

mod helpers;
mod smtp;

mod accounts;
mod api_keys;
mod audit;
mod cli;
mod concurrency;
mod deployments;
mod invitations;
mod members;
mod org_access;
mod security;
mod settings;
mod authorization;
mod rate_limits;
mod api_client;
mod json_api;
mod openapi_check;
mod seed;
