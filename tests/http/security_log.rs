//! The security log: each account's sign-ins and credential changes, shown to its owner alone.

use steward::domain::Role;

use crate::helpers::{PASSWORD, TestApp};

async fn sign_ins_and_changes_are_logged_with_their_address_and_browser(app: &TestApp) {
    let (ada, _) = app.sign_up("ada@example.com", "Acme").await;
    ada.sign_out().await;
    app.client().sign_in("ada@example.com", "not-my-password").await.assert_status(422);
    let ada = app.client();
    ada.sign_in("ada@example.com", PASSWORD).await.assert_status(303);
    ada.post("/profile/password", &[("current_password", PASSWORD), ("new_password", "a-new-password-123")]).await.assert_status(303);
    let other = app.client();
    other.sign_in("ada@example.com", "a-new-password-123").await.assert_status(303);
    ada.post("/profile/sessions/revoke-others", &[]).await.assert_status(303);

    let page = ada.get("/profile/security").await;
    page.assert_status(200);
    let events = page.texts("#security-log tbody td.cell-primary");
    assert_eq!(
        events,
        vec![
            "Signed out everywhere else",
            "Signed in",
            "Password changed",
            "Signed in",
            "Sign-in failed (wrong password)",
        ],
        "newest first"
    );
    assert!(page.contains("127.0.0.1") && page.contains("steward-tests"));
}

async fn resets_verifications_and_an_admins_sign_out_are_logged(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    let (bob_id, bob) = app.add_member(org, "bob@example.com", Role::Viewer).await;
    owner.post(&format!("/orgs/{org}/members/{bob_id}/sign-out"), &[]).await.assert_status(303);
    app.client().post("/password/forgot", &[("email", "bob@example.com")]).await.assert_status(303);
    let token = app.wait_for_link("bob@example.com", "/password/reset/").await;
    app.client().post(&format!("/password/reset/{token}"), &[("password", "bobs-new-password")]).await.assert_status(303);
    drop(bob);
    let bob = app.client();
    bob.sign_in("bob@example.com", "bobs-new-password").await.assert_status(303);
    let events = bob.get("/profile/security").await.texts("#security-log tbody td.cell-primary");
    assert_eq!(
        events,
        vec!["Signed in", "Password reset by email", "Signed out everywhere by an organization admin", "Signed in"]
    );

    app.verify_email(&owner, "ada@example.com").await;
    let events = owner.get("/profile/security").await.texts("#security-log tbody td.cell-primary");
    assert_eq!(events.first().map(String::as_str), Some("Email address confirmed"));
}

async fn only_the_owner_sees_their_log(app: &TestApp) {
    let (ada, _) = app.sign_up("ada@example.com", "Acme").await;
    app.client().sign_in("ada@example.com", "not-my-password").await.assert_status(422);
    let (bob, _) = app.sign_up("bob@example.com", "Bob's").await;
    let page = bob.get("/profile/security").await;
    assert!(!page.contains("Sign-in failed"), "bob sees only his own log");
    assert!(ada.get("/profile/security").await.contains("Sign-in failed"));
    app.client().get("/profile/security").await.assert_status(303);
}

crate::on_both_backends!(
    sign_ins_and_changes_are_logged_with_their_address_and_browser,
    resets_verifications_and_an_admins_sign_out_are_logged,
    only_the_owner_sees_their_log,
);
