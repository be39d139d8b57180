//! Sign-up, sign-in, sign-out, sessions and the profile.


use steward::domain::Role;
use steward::storage;

use crate::helpers::{Backend, PASSWORD, TestApp};

async fn sign_up_creates_the_owner_and_lands_on_the_member_list(app: &TestApp) {
    let (client, org) = app.sign_up("ada@example.com", "Analytical Engines").await;
    let members = client.get(&format!("/orgs/{org}/members")).await;
    members.assert_status(200);
    assert!(members.contains("ada@example.com"));
    assert_eq!(
        members.texts(".flash"),
        vec!["Welcome to Steward. Your organization is ready. We sent a link to ada@example.com to confirm the address. ×"]
    );

    let ada = app.account_id("ada@example.com").await;
    let membership = app.with_db(move |db| storage::members::find(&mut db.conn().unwrap(), org, ada).unwrap().unwrap()).await;
    let events = app.events(org).await;
    assert_eq!(membership.role, Role::Owner);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].body.action, "org.created");
    assert_eq!(events[0].body.actor_email.as_deref(), Some("ada@example.com"));
    assert_eq!(events[0].hash, events[0].compute_hash());
}

async fn sign_up_refuses_bad_input_with_422_and_changes_nothing(app: &TestApp) {
    let client = app.client();
    let cases: [(&[(&str, &str)], &str); 6] = [
        (&[("name", "Ada"), ("email", "not-an-email"), ("password", PASSWORD), ("organization", "Acme")], "Enter a valid email address"),
        (&[("name", "Ada"), ("email", "ada@example.com"), ("password", "short"), ("organization", "Acme")], "at least 12 characters"),
        (&[("name", "Ada"), ("email", "ada@example.com"), ("password", &"x".repeat(129)), ("organization", "Acme")], "at most 128 characters"),
        (&[("name", ""), ("email", "ada@example.com"), ("password", PASSWORD), ("organization", "Acme")], "This field is required"),
        (&[("name", "Ada"), ("email", "ada@example.com"), ("password", PASSWORD), ("organization", "   ")], "This field is required"),
        (&[("name", &"n".repeat(5000)), ("email", "ada@example.com"), ("password", PASSWORD), ("organization", "Acme")], "at most 100 characters"),
    ];
    for (fields, message) in cases {
        let page = client.post("/signup", fields).await;
        page.assert_status(422);
        assert!(page.contains(message), "expected {message:?} in the form");
        assert!(!page.contains(PASSWORD), "the password is never echoed back");
    }
    assert_eq!(app.count("accounts").await, 0);
}

async fn an_email_can_sign_up_only_once_whatever_its_case(app: &TestApp) {
    app.sign_up("grace@example.com", "Navy").await;
    let page = app
        .client()
        .post(
            "/signup",
            &[("name", "Grace"), ("email", "  GRACE@Example.com "), ("password", PASSWORD), ("organization", "Other")],
        )
        .await;
    page.assert_status(422);
    assert!(page.contains("cannot be used to sign up"));
}

async fn sign_in_lands_on_the_member_list_and_sign_out_ends_the_session(app: &TestApp) {
    let (first, org) = app.sign_up("ada@example.com", "Acme").await;
    first.sign_out().await.assert_status(303);
    first.get(&format!("/orgs/{org}/members")).await.assert_status(303);

    let client = app.client();
    let page = client.sign_in("ADA@example.com ", PASSWORD).await;
    page.assert_status(303);
    assert_eq!(page.location.as_deref(), Some(format!("/orgs/{org}/members").as_str()));
    client.get(&format!("/orgs/{org}/members")).await.assert_status(200);

    let out = client.sign_out().await;
    assert_eq!(out.location.as_deref(), Some("/login"));
    let after = client.get(&format!("/orgs/{org}/members")).await;
    after.assert_status(303);
    assert!(after.location.unwrap().starts_with("/login?next="));
}

async fn a_wrong_email_and_a_wrong_password_get_the_same_answer(app: &TestApp) {
    app.sign_up("ada@example.com", "Acme").await;
    let client = app.client();
    let unknown = client.sign_in("nobody@example.com", "whatever-password").await;
    let wrong = client.sign_in("ada@example.com", "wrong-password-123").await;
    unknown.assert_status(422);
    wrong.assert_status(422);
    assert_eq!(unknown.texts(".alert-error"), wrong.texts(".alert-error"));
    assert_eq!(unknown.texts(".alert-error"), vec!["The email or password is not correct."]);
    // that both run one argon2 verification is a rule of operations::accounts::sign_in (unit
    // tests of crypto::verify_or_dummy): time is measured in scripts/bench, not asserted here
}

async fn a_password_too_long_to_be_anyones_gets_the_same_answer_for_every_email(app: &TestApp) {
    app.sign_up("ada@example.com", "Acme").await;
    let client = app.client();
    let too_long = format!("{PASSWORD}{}", "x".repeat(600));

    let known = client.sign_in("ada@example.com", &too_long).await;
    let unknown = client.sign_in("nobody@example.com", &too_long).await;
    known.assert_status(422);
    unknown.assert_status(422);
    assert_eq!(known.texts(".alert-error"), unknown.texts(".alert-error"));
    assert_eq!(known.texts(".alert-error"), vec!["The email or password is not correct."]);
    // that both cost one argon2 verification is a rule of operations::accounts::sign_in,
    // unit-tested there: timing is measured in scripts/bench, never asserted in a test
}

async fn a_signed_out_request_is_sent_to_sign_in_and_back(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    owner.sign_out().await;
    let client = app.client();
    let page = client.get(&format!("/orgs/{org}/members?page=2")).await;
    page.assert_status(303);
    let location = page.location.unwrap();
    assert_eq!(location, format!("/login?next=%2Forgs%2F{org}%2Fmembers%3Fpage%3D2"));
    let form = client.get(&location).await;
    assert!(form.contains(&format!(r#"name="next" value="/orgs/{org}/members?page=2""#)));
    let signed_in = client
        .post("/login", &[("email", "ada@example.com"), ("password", PASSWORD), ("next", &format!("/orgs/{org}/members?page=2"))])
        .await;
    assert_eq!(signed_in.location.as_deref(), Some(format!("/orgs/{org}/members?page=2").as_str()));
}

async fn next_is_never_followed_off_the_site(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    owner.sign_out().await;
    for next in ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"] {
        let client = app.client();
        let page = client.post("/login", &[("email", "ada@example.com"), ("password", PASSWORD), ("next", next)]).await;
        page.assert_status(303);
        assert_eq!(page.location.as_deref(), Some(format!("/orgs/{org}/members").as_str()), "next={next}");
        let form = app.client().get(&format!("/login?next={}", urlencode(next))).await;
        assert!(!form.contains("evil.example"));
    }
}

fn urlencode(s: &str) -> String {
    s.bytes().map(|b| format!("%{b:02X}")).collect()
}

async fn changing_the_password_ends_every_other_session(app: &TestApp) {
    let (first, org) = app.sign_up("ada@example.com", "Acme").await;
    let second = app.client();
    second.sign_in("ada@example.com", PASSWORD).await.assert_status(303);

    let wrong = first.post("/profile/password", &[("current_password", "not-my-password"), ("new_password", "a-new-password-123")]).await;
    wrong.assert_status(422);
    assert!(wrong.contains("The current password is not correct."));
    let short = first.post("/profile/password", &[("current_password", PASSWORD), ("new_password", "short")]).await;
    short.assert_status(422);

    let changed = first.post("/profile/password", &[("current_password", PASSWORD), ("new_password", "a-new-password-123")]).await;
    changed.assert_status(303);
    first.get(&format!("/orgs/{org}/members")).await.assert_status(200);
    second.get(&format!("/orgs/{org}/members")).await.assert_status(303);

    let old = app.client().sign_in("ada@example.com", PASSWORD).await;
    old.assert_status(422);
    app.client().sign_in("ada@example.com", "a-new-password-123").await.assert_status(303);
}

async fn the_profile_shows_and_saves_the_name(app: &TestApp) {
    let (client, _) = app.sign_up("ada@example.com", "Acme").await;
    let page = client.get("/profile").await;
    page.assert_status(200);
    assert!(page.contains("ada@example.com"));
    assert!(page.contains("Acme"));
    client.post("/profile", &[("name", "  Ada King ")]).await.assert_status(303);
    let page = client.get("/profile").await;
    assert!(page.contains(r#"value="Ada King""#));
    assert_eq!(page.texts(".flash"), vec!["Profile saved. ×"]);
    let bad = client.post("/profile", &[("name", "")]).await;
    bad.assert_status(422);
    assert!(bad.contains("This field is required."));
}

async fn an_owner_cannot_delete_their_account_but_a_member_can(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    let refused = owner.post("/profile/delete", &[("confirm_email", "ada@example.com")]).await;
    refused.assert_status(422);
    assert!(refused.contains("Transfer its ownership or delete it"));

    let (_, member) = app.add_member(org, "bob@example.com", Role::Editor).await;
    let mistyped = member.post("/profile/delete", &[("confirm_email", "bob@example.co")]).await;
    mistyped.assert_status(422);
    member.post("/profile/delete", &[("confirm_email", " BOB@example.com ")]).await.assert_status(303);
    app.client().sign_in("bob@example.com", PASSWORD).await.assert_status(422);
    let events = app.events(org).await;
    assert_eq!(events.last().map(|e| e.body.action.as_str()), Some("member.left"));
}

async fn another_organization_can_be_created_and_switched_to(app: &TestApp) {
    let (client, first) = app.sign_up("ada@example.com", "Acme").await;
    let page = client.post("/orgs", &[("name", "Second Org")]).await;
    page.assert_status(303);
    let location = page.location.unwrap();
    assert!(location.ends_with("/members") && !location.contains(&first.to_string()));
    let orgs = client.get("/orgs").await;
    assert_eq!(orgs.texts("td.cell-primary"), vec!["Acme", "Second Org"]);
    let members = client.get(&location).await;
    assert!(members.texts(".org-switcher .menu-item").contains(&"Acme".to_string()));
    client.post("/orgs", &[("name", "")]).await.assert_status(422);
}

async fn closed_sign_up_hides_the_sign_up_page(backend: Backend) {
    let app = TestApp::builder().signup_closed().spawn(backend).await;
    let client = app.client();
    client.get("/signup").await.assert_status(404);
    client
        .post("/signup", &[("name", "Eve"), ("email", "eve@example.com"), ("password", PASSWORD), ("organization", "X")])
        .await
        .assert_status(404);
    assert!(!client.get("/login").await.contains("/signup"));
    app.stop().await;
}

async fn session_cookies_are_http_only_lax_and_secure_over_https(backend: Backend) {
    for (builder, secure) in [(TestApp::builder(), false), (TestApp::builder().base_url("https://console.example.com"), true)] {
        let app = builder.spawn(backend).await;
        let page = app.client().get("/login").await;
        let cookie = page.header("set-cookie").expect("a session cookie");
        assert!(cookie.starts_with("steward_session="), "{cookie}");
        assert!(cookie.contains("HttpOnly"), "{cookie}");
        assert!(cookie.contains("SameSite=Lax"), "{cookie}");
        assert_eq!(cookie.contains("Secure"), secure, "{cookie}");
        assert_eq!(page.header("strict-transport-security").is_some(), secure);
        app.stop().await;
    }
}

crate::on_both_backends!(
    sign_up_creates_the_owner_and_lands_on_the_member_list,
    sign_up_refuses_bad_input_with_422_and_changes_nothing,
    an_email_can_sign_up_only_once_whatever_its_case,
    sign_in_lands_on_the_member_list_and_sign_out_ends_the_session,
    a_wrong_email_and_a_wrong_password_get_the_same_answer,
    a_password_too_long_to_be_anyones_gets_the_same_answer_for_every_email,
    a_signed_out_request_is_sent_to_sign_in_and_back,
    next_is_never_followed_off_the_site,
    changing_the_password_ends_every_other_session,
    the_profile_shows_and_saves_the_name,
    an_owner_cannot_delete_their_account_but_a_member_can,
    another_organization_can_be_created_and_switched_to,
    closed_sign_up_hides_the_sign_up_page(backend),
    session_cookies_are_http_only_lax_and_secure_over_https(backend),
);
