//! HTTP-level tests: the real server on a free port, on SQLite and on PostgreSQL.

mod helpers;

mod accounts;
mod cli;
mod org_access;
mod security;
