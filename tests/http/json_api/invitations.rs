//! Invitations through the API: created, listed, resent, cancelled, accepted, expired.

use serde_json::json;
use steward::domain::Role;

use crate::helpers::{PASSWORD, TestApp};

use super::{KEY, acme_with_key, assert_made_by_key, assert_utc, sorted, time_of};

async fn invitations_are_created_listed_resent_and_cancelled(app: &TestApp) {
    let (_, org, api) = acme_with_key(app, "read_write").await;
    app.add_member(org, "bob@example.com", Role::Viewer).await;

    let created = api.post("/invitations", &json!({ "email": "  Carl@Example.com ", "role": "editor" })).await;
    created.expect(201);
    let id = created.str("id");
    assert_eq!(created.json["email"], "carl@example.com", "the email is normalised");
    assert_eq!(created.json["role"], "editor");
    assert_eq!(created.json["status"], "pending");
    assert_utc(&created.json["created_at"]);
    assert_utc(&created.json["expires_at"]);
    assert!(time_of(&created.json["expires_at"]) > time_of(&created.json["created_at"]));
    assert_eq!(created.json["invited_by"], "ada@example.com", "the key's maker is the inviter");
    let first_token = app.outbox_token_for("carl@example.com").await;

    let list = api.get("/invitations").await;
    list.expect(200);
    assert_eq!(list.data_field("id"), [id.as_str()]);
    assert_eq!(list.next_cursor(), None);
    // the email went out between the two answers: queued (or already sent), then sent
    assert!(["queued", "sent"].contains(&created.str("delivery").as_str()), "{}", created.text);
    assert_eq!(list.data()[0]["delivery"], "sent");
    let without_delivery = |v: &serde_json::Value| {
        let mut v = v.clone();
        v.as_object_mut().expect("an object").remove("delivery");
        v
    };
    assert_eq!(without_delivery(&list.data()[0]), without_delivery(&created.json), "the list shows the invitation as it was created");
    assert_eq!(api.get("/invitations?status=pending").await.expect(200).data_field("id"), [id.as_str()]);
    assert!(api.get("/invitations?status=cancelled").await.expect(200).data().is_empty());

    let resent = api.post_empty(&format!("/invitations/{id}/resend")).await;
    resent.expect(200);
    assert_eq!((resent.str("id"), resent.str("status")), (id.clone(), "pending".to_string()));
    assert!(time_of(&resent.json["expires_at"]) >= time_of(&created.json["expires_at"]));
    let second_token = app.outbox_token_for("carl@example.com").await;
    assert_ne!(first_token, second_token, "a resend mails a new link");
    assert_eq!(app.invitation_mails().await.len(), 2);

    let cancelled = api.delete(&format!("/invitations/{id}")).await;
    cancelled.expect(204);
    assert!(cancelled.text.is_empty());
    let listed = api.get("/invitations?status=cancelled").await;
    assert_eq!(listed.expect(200).data_field("id"), [id.as_str()]);
    assert_eq!(listed.data()[0]["status"], "cancelled");
    assert!(api.get("/invitations?status=pending").await.expect(200).data().is_empty());
    api.delete(&format!("/invitations/{id}")).await.expect_error(409, "conflict");
    api.post_empty(&format!("/invitations/{id}/resend")).await.expect_error(409, "conflict");

    let unknown = uuid::Uuid::new_v4();
    api.post_empty(&format!("/invitations/{unknown}/resend")).await.expect_error(404, "not_found");
    api.delete(&format!("/invitations/{unknown}")).await.expect_error(404, "not_found");

    // the same rules as the member list: one pending invitation per email, none for a member
    let again = api.invite("carl@example.com", "viewer").await;
    assert_ne!(again, id);
    let twice = api.post("/invitations", &json!({ "email": "carl@example.com", "role": "viewer" })).await;
    twice.expect_error(422, "invalid");
    assert_eq!(twice.invalid_fields(), ["email"]);
    let member = api.post("/invitations", &json!({ "email": "bob@example.com", "role": "viewer" })).await;
    member.expect_error(422, "invalid");
    assert_eq!(member.invalid_fields(), ["email"]);
    assert_eq!(sorted(api.get("/invitations").await.expect(200).data_field("status")), ["cancelled", "pending"]);

    assert_made_by_key(app, org, KEY, &["member.invited", "invitation.resent", "invitation.cancelled", "member.invited"]).await;
}

async fn an_invitation_made_through_the_api_is_accepted_like_any_other(app: &TestApp) {
    let (_, org, api) = acme_with_key(app, "read_write").await;
    let id = api.invite("carl@example.com", "editor").await;
    let token = app.outbox_token_for("carl@example.com").await;
    let carl = app.client();
    let page = carl.get(&format!("/invitations/{token}")).await;
    page.assert_status(200);
    assert!(page.contains("Acme"), "the page names the organization");
    let accepted = carl.post(&format!("/invitations/{token}/accept"), &[("name", "Carl"), ("password", PASSWORD)]).await;
    accepted.assert_status(303);

    let invitation = api.get("/invitations?status=accepted").await;
    assert_eq!(invitation.expect(200).data_field("id"), [id]);
    let carl_id = app.account_id("carl@example.com").await;
    let member = api.get(&format!("/members/{carl_id}")).await;
    member.expect(200);
    assert_eq!((member.str("email"), member.str("role"), member.str("status")), ("carl@example.com".into(), "editor".into(), "active".into()));
    assert_eq!(app.actions(org).await, ["org.created", "api_key.created", "member.invited", "invitation.accepted"]);
}

async fn an_expired_invitation_is_listed_as_expired_and_can_be_resent(app: &TestApp) {
    let (_, org, api) = acme_with_key(app, "read_write").await;
    let old = api.invite("carl@example.com", "viewer").await;
    let fresh = api.invite("dan@example.com", "viewer").await;
    app.expire_invitation(org, "carl@example.com").await;

    let all = api.get("/invitations").await;
    all.expect(200);
    let status_of = |id: &str| all.data().iter().find(|i| i["id"] == id).map(|i| i["status"].clone());
    assert_eq!(status_of(&old), Some(json!("expired")));
    assert_eq!(status_of(&fresh), Some(json!("pending")));
    assert_eq!(api.get("/invitations?status=expired").await.expect(200).data_field("id"), [old.as_str()]);
    assert_eq!(api.get("/invitations?status=pending").await.expect(200).data_field("id"), [fresh.as_str()]);
    let bad = api.get("/invitations?status=lost").await;
    bad.expect_error(422, "invalid");
    assert_eq!(bad.invalid_fields(), ["status"]);

    let resent = api.post_empty(&format!("/invitations/{old}/resend")).await;
    resent.expect(200);
    assert_eq!(resent.str("status"), "pending");
    assert!(time_of(&resent.json["expires_at"]) > chrono::Utc::now(), "a resend gives a new expiry");
    assert!(api.get("/invitations?status=expired").await.expect(200).data().is_empty());
    assert_made_by_key(app, org, KEY, &["member.invited", "member.invited", "invitation.resent"]).await;
}

crate::on_both_backends!(
    invitations_are_created_listed_resent_and_cancelled,
    an_invitation_made_through_the_api_is_accepted_like_any_other,
    an_expired_invitation_is_listed_as_expired_and_can_be_resent,
);
