//! What a person does in the console, click by click.

use crate::driver::Browser;
use crate::helpers::{Backend, Options, PASSWORD, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_up_land_on_members_sign_out_and_sign_in_again() {
    let app = TestApp::try_spawn(Backend::Sqlite, Options::default()).await.expect("app");
    let Some(browser) = Browser::start().await else {
        app.stop().await;
        return;
    };
    let base = app.base.clone();

    browser.goto(&format!("{base}/signup")).await;
    browser.fill("#name", "Ada Lovelace").await;
    browser.fill("#email", "ada@example.com").await;
    browser.fill("#password", PASSWORD).await;
    browser.fill("#organization", "Analytical Engines").await;
    browser.click("form button[type=submit]").await;

    let members = browser.wait_for_path("the member list", |p| p.ends_with("/members")).await;
    assert!(browser.text(".flash").await.contains("Your organization is ready"));
    assert!(browser.text("table").await.contains("ada@example.com"));
    browser.screenshot("members").await;

    // sign out through the account menu
    browser.click(".account-menu summary").await;
    browser.click(".account-menu button[type=submit]").await;
    browser.wait_for_path("the sign-in page", |p| p == "/login").await;

    // a protected page sends us to sign in, and back
    browser.goto(&format!("{base}{members}")).await;
    browser.wait_for_path("the sign-in page", |p| p == "/login").await;
    browser.fill("#email", "ada@example.com").await;
    browser.fill("#password", "not-the-password").await;
    browser.click("form button[type=submit]").await;
    assert_eq!(browser.text(".alert-error").await, "The email or password is not correct.");
    browser.fill("#password", PASSWORD).await;
    browser.click("form button[type=submit]").await;
    let back = browser.wait_for_path("the member list", |p| p.ends_with("/members")).await;
    assert_eq!(back, members);

    browser.close().await;
    app.stop().await;
}
