//! Command-line tests: the `steward` binary run as an operator would, and `steward seed`.

#[path = "../helpers/mod.rs"]
mod helpers;

mod commands;
mod seed;
