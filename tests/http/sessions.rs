//! Sessions live on the server: signing out makes a copied cookie worthless, the profile lists
//! and ends sessions, an admin signs a member out, only signed-in people have a row.

use steward::domain::Role;

use crate::helpers::{PASSWORD, TestApp};

async fn a_copied_cookie_is_worthless_after_sign_out(app: &TestApp) {
    let (ada, org) = app.sign_up("ada@example.com", "Acme").await;
    let thief = ada.copy_of_cookies();
    thief.get(&format!("/orgs/{org}/members")).await.assert_status(200);

    ada.sign_out().await.assert_status(303);
    assert_eq!(app.count("sessions").await, 0, "signing out deletes the row");
    let refused = thief.get(&format!("/orgs/{org}/members")).await;
    refused.assert_status(303);
    assert!(refused.location.as_deref().is_some_and(|l| l.starts_with("/login")));
    thief.get("/profile").await.assert_status(303);
}

async fn only_signed_in_people_have_a_session_row(app: &TestApp) {
    let visitor = app.client();
    for page in ["/login", "/signup", "/password/forgot"] {
        visitor.get(page).await.assert_status(200);
    }
    // a signed-out form still works (its CSRF token lives in the cookie)
    visitor.post("/login", &[("email", "nobody@example.com"), ("password", "not-a-password")]).await.assert_status(422);
    assert_eq!(app.count("sessions").await, 0);
    app.sign_up("ada@example.com", "Acme").await;
    assert_eq!(app.count("sessions").await, 1);
}

async fn the_profile_lists_the_sessions_and_ends_them(app: &TestApp) {
    let (laptop, _) = app.sign_up("ada@example.com", "Acme").await;
    let phone = app.client();
    phone.sign_in("ada@example.com", PASSWORD).await.assert_status(303);
    let tablet = app.client();
    tablet.sign_in("ada@example.com", PASSWORD).await.assert_status(303);

    let page = laptop.get("/profile/sessions").await;
    page.assert_status(200);
    assert_eq!(page.texts("#sessions tbody tr").len(), 3);
    assert_eq!(page.texts("#sessions .badge").iter().filter(|t| t.contains("This session")).count(), 1);
    assert!(page.contains("127.0.0.1") && page.contains("steward-tests"));

    // ending one: the phone's
    let ids = app
        .with_db(|db| {
            use diesel::prelude::*;
            use steward::storage::schema::sessions::dsl::*;
            sessions.order(created_at.asc()).select(id).load::<String>(&mut *db.conn().unwrap()).unwrap()
        })
        .await;
    assert_eq!(ids.len(), 3);
    laptop.post(&format!("/profile/sessions/{}/revoke", ids[1]), &[]).await.assert_status(303);
    phone.get("/profile").await.assert_status(303);
    tablet.get("/profile").await.assert_status(200);
    // this session is ended by signing out, not from the list
    laptop.post(&format!("/profile/sessions/{}/revoke", ids[0]), &[]).await.assert_status(409);

    // someone else's session is not found
    let (bob, _) = app.sign_up("bob@example.com", "Bob's").await;
    bob.post(&format!("/profile/sessions/{}/revoke", ids[2]), &[]).await.assert_status(404);
    tablet.get("/profile").await.assert_status(200);

    let everywhere = laptop.post("/profile/sessions/revoke-others", &[]).await;
    everywhere.assert_status(303);
    assert!(laptop.get("/profile/sessions").await.contains("1 other session was signed out."));
    tablet.get("/profile").await.assert_status(303);
    laptop.get("/profile").await.assert_status(200);
}

async fn an_admin_signs_a_member_out_everywhere(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    let (bob_id, bob) = app.add_member(org, "bob@example.com", Role::Editor).await;
    let (carol_id, carol) = app.add_member(org, "carol@example.com", Role::Admin).await;
    let owner_id = app.account_id("ada@example.com").await;

    let done = carol.post(&format!("/orgs/{org}/members/{bob_id}/sign-out"), &[]).await;
    done.assert_status(303);
    bob.get(&format!("/orgs/{org}/deployments")).await.assert_status(303);
    assert_eq!(app.actions(org).await.last().map(String::as_str), Some("member.signed_out"));
    // bob can sign in again
    app.client().sign_in("bob@example.com", PASSWORD).await.assert_status(303);

    // nobody signs out the owner, nor themselves, and an editor cannot at all
    carol.post(&format!("/orgs/{org}/members/{owner_id}/sign-out"), &[]).await.assert_status(403);
    carol.post(&format!("/orgs/{org}/members/{carol_id}/sign-out"), &[]).await.assert_status(403);
    let bob = app.client();
    bob.sign_in("bob@example.com", PASSWORD).await.assert_status(303);
    bob.post(&format!("/orgs/{org}/members/{carol_id}/sign-out"), &[]).await.assert_status(403);
    owner.get(&format!("/orgs/{org}/members")).await.assert_status(200);
    carol.get(&format!("/orgs/{org}/members")).await.assert_status(200);
}

async fn a_session_ends_after_two_idle_hours(app: &TestApp) {
    let (ada, org) = app.sign_up("ada@example.com", "Acme").await;
    app.with_db(|db| {
        use diesel::prelude::*;
        use steward::storage::schema::sessions::dsl::*;
        let long_ago = steward::storage::now() - chrono::Duration::hours(3);
        diesel::update(sessions).set(last_seen_at.eq(long_ago)).execute(&mut *db.conn().unwrap()).unwrap();
    })
    .await;
    ada.get(&format!("/orgs/{org}/members")).await.assert_status(303);
    assert_eq!(app.count("sessions").await, 0, "the expired row is gone");
}

crate::on_both_backends!(
    a_copied_cookie_is_worthless_after_sign_out,
    only_signed_in_people_have_a_session_row,
    the_profile_lists_the_sessions_and_ends_them,
    an_admin_signs_a_member_out_everywhere,
    a_session_ends_after_two_idle_hours,
);
