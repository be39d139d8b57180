//! Test helpers shared by the `http`, `cli` and `browser` test binaries.
//!
//! The real server over a fresh database, a browser-like client, the setups tests share, and
//! what they look up afterwards:
//!
//! - `app`: [`TestApp`], started with [`TestApp::builder`] on a [`Backend`], and the
//!   `on_both_backends!` macro that runs a test on SQLite and on PostgreSQL;
//! - `client`: [`Client`], a signed-in person or an anonymous visitor, and the [`Page`]s it gets;
//! - `setup`: what a test arranges before acting: people signing up, members joining,
//!   invitations, deployments and API keys;
//! - `records`: what a test reads from the database to check a rule held;
//! - `cluster`: a PostgreSQL server of the test's own, to stop and start under a running app;
//! - `process`: the `steward` binary serving in its own process;
//! - `oidc`: a real OpenID provider (oidc-provider, on Node.js) for single sign-on.
#![allow(dead_code, unused_imports)] // each test binary uses its own part

mod app;
mod client;
pub mod cluster;
pub mod oidc;
pub mod process;
mod records;
mod setup;

pub use app::{Backend, TestApp, TestAppBuilder, require_all};
pub use client::{Client, FilePart, Page, multipart_body};
pub use records::token_in;
pub use setup::{NewKey, PASSWORD};
