//! Rate limits: over a limit the answer is 429 with `Retry-After`.
//!
//! Sign-in per address and per email, sign-ups per address, invitations per organization and
//! per inviting person, organizations created per person, invitation links per address.

use steward::config::Rate;
use steward::domain::{OrgId, Role};

use crate::helpers::{Backend, Client, PASSWORD, Page, TestApp};

/// A 429 whose `Retry-After` is a number of seconds within `max`, with a page that says so.
fn assert_too_many(page: &Page, max: u64) -> u64 {
    page.assert_status(429);
    let seconds: u64 = page.header("retry-after").and_then(|v| v.parse().ok()).expect("a Retry-After in seconds");
    assert!((1..=max).contains(&seconds), "Retry-After {seconds} not within 1..={max}");
    assert!(page.contains("Too many attempts. Try again in"), "{}", page.body);
    seconds
}

async fn sign_in_is_limited_per_email_typed_and_per_address(backend: Backend) {
    // hourly limits, so that no count moves while the test runs, however slow the machine
    let app = TestApp::builder()
        .limit_sign_in_per_email(Rate::per_hour(10))
        .limit_sign_in_per_address(Rate::per_hour(30))
        .spawn(backend)
        .await;
    app.sign_up("ada@example.com", "Acme").await.0.sign_out().await;
    app.sign_up("bob@example.com", "Globex").await.0.sign_out().await;
    let client = app.client();

    for _ in 0..10 {
        client.sign_in("ada@example.com", "not-the-password").await.assert_status(422);
    }
    let refused = client.sign_in(" ADA@example.com", PASSWORD).await;
    assert_too_many(&refused, 360);
    assert!(!refused.contains("not correct"));

    // an email without an account is limited the same way: the answer tells nothing
    for _ in 0..10 {
        client.sign_in("nobody@example.com", "not-the-password").await.assert_status(422);
    }
    assert_too_many(&client.sign_in("nobody@example.com", "not-the-password").await, 360);

    // another email from the same client still works, until the address's own limit
    client.sign_in("bob@example.com", PASSWORD).await.assert_status(303);
    client.sign_out().await;
    for i in 0..7 {
        client.sign_in(&format!("guess-{i}@example.com"), "not-the-password").await.assert_status(422);
    }
    assert_too_many(&client.sign_in("carol@example.com", "not-the-password").await, 3600);
    app.stop().await;
}

async fn sign_in_limits_follow_the_forwarded_address_only_through_a_trusted_proxy(backend: Backend) {
    let limited = || TestApp::builder().limit_sign_in_per_address(Rate::per_hour(2)).no_sign_in_limit_per_email();
    for (builder, separate) in [(limited(), false), (limited().trust_proxy("127.0.0.1"), true)] {
        let app = builder.spawn(backend).await;
        let client = app.client();
        for _ in 0..2 {
            client.sign_in("nobody@example.com", "not-the-password").await.assert_status(422);
        }
        assert_too_many(&client.sign_in("nobody@example.com", "not-the-password").await, 3600);
        let forwarded = post_from(&client, "203.0.113.5", "/login", &[("email", "x@example.com"), ("password", "nope")]).await;
        assert_eq!(forwarded == 422, separate, "a forwarded address answered {forwarded}");
        app.stop().await;
    }
}

/// Posts a form as if forwarded for `ip`; returns the status.
async fn post_from(client: &Client, ip: &str, path: &str, fields: &[(&str, &str)]) -> u16 {
    let token = client.csrf().await;
    let mut all = vec![("csrf_token", token.as_str())];
    all.extend_from_slice(fields);
    let resp = client
        .http
        .post(format!("{}{path}", client.base))
        .header("X-Forwarded-For", ip)
        .form(&all)
        .send()
        .await
        .expect("POST");
    resp.status().as_u16()
}

async fn invitations_are_limited_per_organization(backend: Backend) {
    let app = TestApp::builder().limit_invitations_per_organization(Rate::per_hour(3)).spawn(backend).await;
    let (acme, acme_id) = app.sign_up("ada@example.com", "Acme").await;
    let (globex, globex_id) = app.sign_up("grace@example.com", "Globex").await;

    for i in 0..3 {
        acme.invite(acme_id, &format!("person-{i}@example.com"), "viewer").await;
    }
    let refused = acme
        .post(&format!("/orgs/{acme_id}/invitations"), &[("email", "one-too-many@example.com"), ("role", "viewer")])
        .await;
    assert_too_many(&refused, 3600);
    assert_eq!(app.count("invitations").await, 3, "the refused invitation was not made");
    assert_eq!(app.invitation_mails().await.len(), 3, "nor mailed");

    // another organization has its own quota
    globex.invite(globex_id, "someone@example.com", "editor").await;
    assert_eq!(app.count("invitations").await, 4);
    app.stop().await;
}

async fn invitation_links_are_limited_per_address(backend: Backend) {
    let app = TestApp::builder()
        .limit_invitation_links_per_address(Rate::per_hour(3))
        .trust_proxy("127.0.0.1")
        .spawn(backend)
        .await;
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    owner.invite(org, "bob@example.com", "viewer").await;
    let token = app.outbox_token_for("bob@example.com").await;
    let link = format!("/invitations/{token}");

    // looking, guessing and answering all count against the address
    let visitor = app.client();
    visitor.get(&link).await.assert_status(200);
    visitor.post(&format!("/invitations/{}/decline", "x".repeat(43)), &[]).await.assert_status(404);
    visitor.get(&format!("/invitations/{}", "y".repeat(43))).await.assert_status(404);
    assert_too_many(&visitor.get(&link).await, 3600);
    let accept = visitor.post(&format!("{link}/accept"), &[("name", "Bob"), ("password", PASSWORD)]).await;
    assert_too_many(&accept, 3600);
    assert_eq!(app.actions(org).await, vec!["org.created", "member.invited"], "nothing was answered");

    // a client at another address is not held back
    let status = post_from(&app.client(), "203.0.113.5", &format!("{link}/accept"), &[("name", "Bob"), ("password", PASSWORD)]).await;
    assert_eq!(status, 303);
    assert_eq!(app.actions(org).await.last().map(String::as_str), Some("invitation.accepted"));
    app.stop().await;
}

async fn sign_ups_are_limited_per_address(backend: Backend) {
    let app = TestApp::builder().limit_sign_ups_per_address(Rate::per_hour(2)).trust_proxy("127.0.0.1").spawn(backend).await;
    app.sign_up("ada@example.com", "Acme").await;
    // a refused form counts too: the limit comes before any work
    let bad = [("name", "Bob"), ("email", "not-an-email"), ("password", PASSWORD), ("organization", "Globex")];
    app.client().post("/signup", &bad).await.assert_status(422);
    let fields = [("name", "Carl"), ("email", "carl@example.com"), ("password", PASSWORD), ("organization", "Initech")];
    let refused = app.client().post("/signup", &fields).await;
    assert_too_many(&refused, 3600);
    assert_eq!(app.count("accounts").await, 1, "the refused sign-up made no account");
    assert_eq!(app.count("organizations").await, 1);

    // another address is not held back
    assert_eq!(post_from(&app.client(), "203.0.113.5", "/signup", &fields).await, 303);
    assert_eq!(app.count("accounts").await, 2);
    app.stop().await;
}

/// Creates an organization on the organization list, expecting success; returns its id.
async fn create_org(client: &Client, name: &str) -> OrgId {
    let page = client.post("/orgs", &[("name", name)]).await;
    page.assert_status(303);
    let location = page.location.expect("a redirect to the new organization");
    location.split('/').nth(2).and_then(|id| id.parse().ok()).unwrap_or_else(|| panic!("unexpected landing {location}"))
}

async fn invitations_are_limited_per_inviting_person_across_organizations(backend: Backend) {
    let app = TestApp::builder().limit_invitations_per_account(Rate::per_hour(3)).spawn(backend).await;
    let (ada, acme) = app.sign_up("ada@example.com", "Acme").await;
    let globex = create_org(&ada, "Globex").await;
    ada.invite(acme, "one@example.com", "viewer").await;
    ada.invite(acme, "two@example.com", "viewer").await;
    ada.invite(globex, "three@example.com", "viewer").await;

    // her fourth, in either organization, is refused: one quota for the person
    let refused = ada.post(&format!("/orgs/{globex}/invitations"), &[("email", "four@example.com"), ("role", "viewer")]).await;
    assert_too_many(&refused, 3600);
    let id = app.invitation_id(acme, "one@example.com").await;
    assert_too_many(&ada.post(&format!("/orgs/{acme}/invitations/{id}/resend"), &[]).await, 3600);
    assert_eq!(app.count("invitations").await, 3, "nothing more was made");
    assert_eq!(app.invitation_mails().await.len(), 3, "nor mailed");

    // another admin of the same organization has their own quota
    let (_, grace) = app.add_member(acme, "grace@example.com", Role::Admin).await;
    grace.invite(acme, "four@example.com", "viewer").await;
    grace.post(&format!("/orgs/{acme}/invitations/{id}/resend"), &[]).await.assert_status(303);
    assert_eq!(app.invitation_mails().await.len(), 5);
    app.stop().await;
}

async fn organizations_created_are_limited_per_person(backend: Backend) {
    let app = TestApp::builder().limit_organizations_per_account(Rate::per_hour(2)).spawn(backend).await;
    // the organization made with the account does not count
    let (ada, _) = app.sign_up("ada@example.com", "Acme").await;
    create_org(&ada, "Globex").await;
    create_org(&ada, "Initech").await;
    let refused = ada.post("/orgs", &[("name", "Umbrella")]).await;
    assert_too_many(&refused, 3600);
    assert_eq!(app.count("organizations").await, 3);

    let (bob, _) = app.sign_up("bob@example.com", "Hooli").await;
    create_org(&bob, "Pied Piper").await;
    assert_eq!(app.count("organizations").await, 5);
    app.stop().await;
}

crate::on_both_backends!(
    sign_in_is_limited_per_email_typed_and_per_address(backend),
    sign_in_limits_follow_the_forwarded_address_only_through_a_trusted_proxy(backend),
    invitations_are_limited_per_organization(backend),
    invitation_links_are_limited_per_address(backend),
    sign_ups_are_limited_per_address(backend),
    invitations_are_limited_per_inviting_person_across_organizations(backend),
    organizations_created_are_limited_per_person(backend),
);
