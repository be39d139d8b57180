//! Verified email: an account proves it reads its address through a mailed link, and until it
//! does, invitations reach it only through their own emailed link.

use steward::config::Rate;

use crate::helpers::{Backend, PASSWORD, TestApp};

async fn a_new_account_is_unverified_until_it_confirms_the_mailed_link(app: &TestApp) {
    let (ada, _) = app.sign_up("ada@example.com", "Acme").await;
    let profile = ada.get("/profile").await;
    assert!(profile.contains("Not verified") && profile.contains("Send the link again"), "{}", profile.body);

    let token = app.wait_for_link("ada@example.com", "/verify-email/").await;
    // the token is stored only as a hash
    let stored = app
        .with_db(|db| {
            use diesel::prelude::*;
            use steward::storage::schema::account_tokens::dsl::*;
            account_tokens.select(token_hash).load::<String>(&mut *db.conn().unwrap()).unwrap()
        })
        .await;
    assert_eq!(stored, vec![steward::crypto::sha256_hex(token.as_bytes())]);

    // opening the link confirms nothing: a mail scanner may open it; the button does
    let page = app.client().get(&format!("/verify-email/{token}")).await;
    page.assert_status(200);
    assert!(page.contains("ada@example.com") && page.contains("Confirm my email address"));
    assert!(ada.get("/profile").await.contains("Not verified"));

    let confirmed = ada.post(&format!("/verify-email/{token}"), &[]).await;
    confirmed.assert_status(303);
    assert_eq!(confirmed.location.as_deref(), Some("/profile"));
    let profile = ada.get("/profile").await;
    assert!(profile.contains("Your email address is confirmed.") && profile.contains(">Verified<"));
    assert!(!profile.contains("Not verified"));

    // single use, and a made-up link is not found
    let again = app.client().get(&format!("/verify-email/{token}")).await;
    again.assert_status(410);
    assert!(again.contains("already been used"));
    app.client().post(&format!("/verify-email/{token}"), &[]).await.assert_status(410);
    let unknown = app.client().get(&format!("/verify-email/{}", "A".repeat(43))).await;
    unknown.assert_status(404);
    assert!(unknown.contains("This link is not valid"));
    app.client().get("/verify-email/short").await.assert_status(404);
}

/// Someone signs up with an address they cannot read, then an admin invites that address: the
/// invitation never reaches the squatter; the person who reads the mailbox takes the account
/// back with a password reset and joins.
async fn an_invitation_cannot_be_captured_by_signing_up_with_someone_elses_address(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Analytical Engines").await;
    let (squatter, _) = app.sign_up("grace@example.com", "Squat").await;
    owner.invite(org, "grace@example.com", "admin").await;
    let id = app.invitation_id(org, "grace@example.com").await;

    for page in ["/profile", "/orgs"] {
        let seen = squatter.get(page).await;
        seen.assert_status(200);
        assert!(!seen.contains("Analytical Engines"), "{page} shows the invitation to an unverified account");
    }
    let members = app.count("memberships").await;
    squatter.post(&format!("/profile/invitations/{id}/accept"), &[]).await.assert_status(404);
    squatter.post(&format!("/profile/invitations/{id}/decline"), &[]).await.assert_status(404);
    assert_eq!(app.count("memberships").await, members, "nothing changed");
    assert_eq!(app.actions(org).await, vec!["org.created", "member.invited"]);

    // the real Grace reads the mailbox: she resets the password, which proves the address
    let grace = app.client();
    grace.post("/password/forgot", &[("email", "grace@example.com")]).await.assert_status(303);
    let reset = app.wait_for_link("grace@example.com", "/password/reset/").await;
    grace.post(&format!("/password/reset/{reset}"), &[("password", "grace-s-own-password")]).await.assert_status(303);
    // the squatter's session ended with the reset
    squatter.get("/profile").await.assert_status(303);

    grace.sign_in("grace@example.com", "grace-s-own-password").await.assert_status(303);
    assert!(grace.get("/profile").await.contains("Analytical Engines"));
    grace.post(&format!("/profile/invitations/{id}/accept"), &[]).await.assert_status(303);
    grace.get(&format!("/orgs/{org}/members")).await.assert_status(200);
}

async fn accepting_through_the_emailed_link_confirms_the_address(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    let (bob, _) = app.sign_up("bob@example.com", "Bob's").await;
    owner.invite(org, "bob@example.com", "viewer").await;
    let token = app.outbox_token_for("bob@example.com").await;
    bob.post(&format!("/invitations/{token}/accept"), &[]).await.assert_status(303);
    let profile = bob.get("/profile").await;
    assert!(profile.contains(">Verified<") && !profile.contains("Not verified"), "{}", profile.body);
}

async fn the_link_is_sent_again_from_the_profile_within_a_limit(backend: Backend) {
    let app = TestApp::builder().limit_verification_resends(Rate::per_hour(2)).spawn(backend).await;
    let (ada, _) = app.sign_up("ada@example.com", "Acme").await;
    let first = app.wait_for_link("ada@example.com", "/verify-email/").await;

    let sent = ada.post("/profile/verify-email", &[]).await;
    sent.assert_status(303);
    assert!(ada.get("/profile").await.contains("We sent a new link to ada@example.com"));
    let second = app.wait_for_link("ada@example.com", "/verify-email/").await;
    assert_ne!(first, second);
    // the newer link replaces the older
    app.client().get(&format!("/verify-email/{first}")).await.assert_status(410);

    ada.post("/profile/verify-email", &[]).await.assert_status(303);
    let refused = ada.post("/profile/verify-email", &[]).await;
    refused.assert_status(429);
    assert!(refused.header("retry-after").is_some());

    let third = app.wait_for_link("ada@example.com", "/verify-email/").await;
    ada.post(&format!("/verify-email/{third}"), &[]).await.assert_status(303);
    // once verified, asking again sends nothing
    ada.post("/profile/verify-email", &[]).await.assert_status(303);
    assert!(ada.get("/profile").await.contains("already confirmed"));
    app.stop().await;
}

async fn the_first_owner_made_by_the_operator_is_verified(app: &TestApp) {
    let made = app
        .with_db(|db| steward::operations::accounts::create_owner(db, "op@example.com", "Op", "Ops", PASSWORD).unwrap())
        .await;
    let client = app.client();
    client.sign_in("op@example.com", PASSWORD).await.assert_status(303);
    assert!(client.get("/profile").await.contains(">Verified<"));
    assert_eq!(app.account_id("op@example.com").await, made.0);
}

async fn a_new_email_address_takes_effect_only_once_its_link_is_opened(app: &TestApp) {
    let (ada, org) = app.sign_up("ada@example.com", "Acme").await;
    app.sign_up("bob@example.com", "Bob's").await;

    let wrong = ada.post("/profile/email", &[("email", "ada@new.example"), ("password", "not-my-password")]).await;
    wrong.assert_status(422);
    assert!(wrong.contains("The password is not correct."));
    let taken = ada.post("/profile/email", &[("email", "Bob@Example.com"), ("password", PASSWORD)]).await;
    taken.assert_status(422);
    assert!(taken.contains("This address cannot be used."));
    ada.post("/profile/email", &[("email", "not an email"), ("password", PASSWORD)]).await.assert_status(422);

    let asked = ada.post("/profile/email", &[("email", "Ada@New.Example"), ("password", PASSWORD)]).await;
    asked.assert_status(303);
    assert!(ada.get("/profile").await.contains("We sent a link to ada@new.example"));
    // the current address is told, and nothing has changed yet
    let notice = app.outbox().await.into_iter().find(|m| m.contains("To: ada@example.com") && m.contains("ada@new.example"));
    assert!(notice.is_some(), "the current address is told");
    assert!(ada.get("/profile").await.contains(r#"value="ada@example.com""#));
    app.client().sign_in("ada@example.com", PASSWORD).await.assert_status(303);

    let token = app.wait_for_link("ada@new.example", "/verify-email/").await;
    let page = app.client().get(&format!("/verify-email/{token}")).await;
    page.assert_status(200);
    assert!(page.contains("ada@new.example"));
    let done = ada.post(&format!("/verify-email/{token}"), &[]).await;
    done.assert_status(303);
    let profile = ada.get("/profile").await;
    assert!(profile.contains("Your email address is now ada@new.example."));
    assert!(profile.contains(r#"value="ada@new.example""#) && profile.contains(">Verified<"));
    assert!(ada.get(&format!("/orgs/{org}/members")).await.contains("ada@new.example"), "the member list follows");
    app.client().sign_in("ada@example.com", PASSWORD).await.assert_status(422);
    app.client().sign_in("ada@new.example", PASSWORD).await.assert_status(303);
    assert!(ada.get("/profile/security").await.contains("Email address changed"));
    app.client().get(&format!("/verify-email/{token}")).await.assert_status(410);
}

crate::on_both_backends!(
    a_new_email_address_takes_effect_only_once_its_link_is_opened,
    a_new_account_is_unverified_until_it_confirms_the_mailed_link,
    an_invitation_cannot_be_captured_by_signing_up_with_someone_elses_address,
    accepting_through_the_emailed_link_confirms_the_address,
    the_link_is_sent_again_from_the_profile_within_a_limit(backend),
    the_first_owner_made_by_the_operator_is_verified,
);
