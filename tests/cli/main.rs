//! Command-line tests: the `steward` binary run as an operator would (with its server, for
//! exports and backups taken while it runs), `steward seed`, and the faults a serving process
//! survives (its database going away, SIGTERM under load).

#[path = "../helpers/mod.rs"]
mod helpers;

mod audit;
mod backup;
mod build;
mod commands;
mod faults;
mod seed;
mod server;
