//! Command-line tests: the `steward` binary run as an operator would (with its server, for
//! exports and backups taken while it runs), and `steward seed`.

#[path = "../helpers/mod.rs"]
mod helpers;

mod audit;
mod backup;
mod commands;
mod seed;
mod server;
