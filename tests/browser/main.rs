//! Browser tests: headless Chromium through chromedriver, against the real server.

#[path = "../helpers/mod.rs"]
mod helpers;

mod console;
mod driver;
mod journeys;
mod sso;
