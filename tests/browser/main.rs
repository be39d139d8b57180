//! Browser tests: headless Chromium through chromedriver, against the real server.

#[path = "../helpers/mod.rs"]
mod helpers;

mod driver;
mod journeys;
mod sso;
