//! Single sign-on in a browser: "Sign in with SSO" on the sign-in page, the identity provider's
//! own login page (oidc-provider), and back into the console.

use crate::driver::Browser;
use crate::helpers::oidc::{CLIENT_ID, CLIENT_SECRET, OidcProvider};
use crate::helpers::{Backend, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_person_signs_in_through_the_providers_login_page_into_the_console() {
    let app = TestApp::builder().sso_provider_on_loopback().spawn(Backend::Sqlite).await;
    let Some(provider) = OidcProvider::start(&app).await else { return app.stop().await };
    let Some(browser) = Browser::start().await else {
        drop(provider);
        return app.stop().await;
    };
    let (owner, org) = app.sign_up("owner@owner.test", "Acme").await;
    let fields = [
        ("issuer", provider.issuer.as_str()),
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
        ("domains", "acme.test"),
        ("base_role", "viewer"),
        ("action", "save"),
    ];
    owner.post(&format!("/orgs/{org}/settings/sso"), &fields).await.assert_status(303);

    browser.goto(&format!("{}/login", app.base)).await;
    browser.fill("#sso-email", "alice@acme.test").await;
    browser.click("#sso button[type=submit]").await;
    // the provider's own page, the address passed on as a hint
    browser.wait_for_text("#idp-title", "Test identity provider").await;
    browser.wait_for_value("#login-email", "alice@acme.test").await;
    browser.click("#login-submit").await;

    let prefix = format!("/orgs/{org}");
    browser.wait_for_path("the organization", |p| p.starts_with(&prefix)).await;
    browser.goto(&format!("{}/profile/security", app.base)).await;
    browser.wait_for_text("#security-log", "Signed in with single sign-on").await;
    browser.screenshot("sso-security-log").await;

    browser.close().await;
    drop(provider);
    app.stop().await;
}
