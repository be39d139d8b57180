//! Command-line tests: the `steward` binary run as an operator would, `steward seed`, and the
//! faults a serving process survives.

#[path = "../helpers/mod.rs"]
mod helpers;

mod commands;
mod faults;
mod seed;
