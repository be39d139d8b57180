//! Browser tests: headless Chromium through chromedriver, against the real server.

#[path = "../api/helpers.rs"]
mod helpers;

mod driver;
mod journeys;
