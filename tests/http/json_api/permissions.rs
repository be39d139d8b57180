//! What a key may do: read, write or both, on all or some deployments, in its organization only.

use serde_json::json;
use steward::domain::Role;

use crate::helpers::{NewKey, TestApp};

use super::{KEY, acme_with_key, assert_made_by_key, script_with_key, sorted};

async fn a_read_key_reads_everything_and_changes_nothing(app: &TestApp) {
    let (owner, org, rw) = acme_with_key(app, "read_write").await;
    let (bob, _) = app.add_member(org, "bob@example.com", Role::Viewer).await;
    let dep = rw.create_deployment("web", "us-east-1").await;
    let inv = rw.invite("carl@example.com", "viewer").await;
    let read = script_with_key(app, &owner, org, NewKey::named("reader").read_only()).await;
    let before = app.actions(org).await;

    for path in [
        "/members".to_string(),
        format!("/members/{bob}"),
        "/invitations".into(),
        "/audit-events".into(),
        "/audit-events.csv".into(),
        "/audit-events/head".into(),
        "/deployments".into(),
        format!("/deployments/{dep}"),
    ] {
        read.get(&path).await.expect(200);
    }
    read.post("/deployments", &json!({ "name": "db", "region": "us-east-1" })).await.expect_error(403, "forbidden");
    read.patch(&format!("/deployments/{dep}"), &json!({ "name": "db" })).await.expect_error(403, "forbidden");
    read.delete(&format!("/deployments/{dep}")).await.expect_error(403, "forbidden");
    read.patch(&format!("/members/{bob}"), &json!({ "role": "editor" })).await.expect_error(403, "forbidden");
    read.delete(&format!("/members/{bob}")).await.expect_error(403, "forbidden");
    read.post("/invitations", &json!({ "email": "dan@example.com", "role": "viewer" })).await.expect_error(403, "forbidden");
    read.post_empty(&format!("/invitations/{inv}/resend")).await.expect_error(403, "forbidden");
    read.delete(&format!("/invitations/{inv}")).await.expect_error(403, "forbidden");

    assert_eq!(app.actions(org).await, before, "nothing changed");
    assert_eq!(rw.get(&format!("/members/{bob}")).await.expect(200).str("role"), "viewer");
    assert_eq!(rw.get(&format!("/deployments/{dep}")).await.expect(200).str("name"), "web");
    assert_eq!(rw.get("/invitations").await.expect(200).data_field("status"), ["pending"]);
}

async fn a_write_key_changes_but_cannot_read(app: &TestApp) {
    let (owner, org, rw) = acme_with_key(app, "read_write").await;
    let (bob, _) = app.add_member(org, "bob@example.com", Role::Viewer).await;
    let dep = rw.create_deployment("web", "us-east-1").await;
    let write = script_with_key(app, &owner, org, NewKey::named("writer").write_only()).await;

    for path in [
        "/members".to_string(),
        format!("/members/{bob}"),
        "/invitations".into(),
        "/audit-events".into(),
        "/audit-events.csv".into(),
        "/audit-events/head".into(),
        "/deployments".into(),
        format!("/deployments/{dep}"),
    ] {
        write.get(&path).await.expect_error(403, "forbidden");
    }
    write.create_deployment("db", "eu-west-1").await;
    write.patch(&format!("/deployments/{dep}"), &json!({ "name": "web-2" })).await.expect(200);
    write.patch(&format!("/members/{bob}"), &json!({ "role": "editor" })).await.expect(200);
    let inv = write.invite("carl@example.com", "viewer").await;
    write.delete(&format!("/invitations/{inv}")).await.expect(204);
    assert_made_by_key(app, org, "writer", &["deployment.created", "deployment.updated", "member.role_changed", "member.invited", "invitation.cancelled"])
        .await;
}

async fn a_key_scoped_to_selected_deployments_reaches_only_those(app: &TestApp) {
    let (owner, org, rw) = acme_with_key(app, "read_write").await;
    let (bob, _) = app.add_member(org, "bob@example.com", Role::Viewer).await;
    let ada = app.account_id("ada@example.com").await;
    let web = rw.create_deployment("web", "us-east-1").await;
    let db = rw.create_deployment("db", "eu-west-1").await;
    let inv = rw.invite("carl@example.com", "viewer").await;
    let scoped = script_with_key(app, &owner, org, NewKey::named("web-only").only_for(&[&web])).await;
    let before = app.actions(org).await;

    let list = scoped.get("/deployments").await;
    list.expect(200);
    assert_eq!(list.data_field("id"), [web.as_str()]);
    assert_eq!(list.next_cursor(), None);
    scoped.get(&format!("/deployments/{web}")).await.expect(200);

    scoped.get(&format!("/deployments/{db}")).await.expect_error(403, "forbidden");
    scoped.patch(&format!("/deployments/{db}"), &json!({ "name": "db-2" })).await.expect_error(403, "forbidden");
    scoped.delete(&format!("/deployments/{db}")).await.expect_error(403, "forbidden");
    scoped.post("/deployments", &json!({ "name": "cache", "region": "us-east-1" })).await.expect_error(403, "forbidden");

    for path in ["/members".to_string(), format!("/members/{ada}"), "/invitations".into(), "/audit-events".into(), "/audit-events.csv".into(), "/audit-events/head".into()] {
        scoped.get(&path).await.expect_error(403, "forbidden");
    }
    scoped.patch(&format!("/members/{bob}"), &json!({ "role": "editor" })).await.expect_error(403, "forbidden");
    scoped.delete(&format!("/members/{bob}")).await.expect_error(403, "forbidden");
    scoped.post("/invitations", &json!({ "email": "dan@example.com", "role": "viewer" })).await.expect_error(403, "forbidden");
    scoped.post_empty(&format!("/invitations/{inv}/resend")).await.expect_error(403, "forbidden");
    scoped.delete(&format!("/invitations/{inv}")).await.expect_error(403, "forbidden");
    assert_eq!(app.actions(org).await, before, "nothing changed");

    // its own deployment it may change
    let renamed = scoped.patch(&format!("/deployments/{web}"), &json!({ "name": "web-2" })).await;
    renamed.expect(200);
    assert_eq!(renamed.str("name"), "web-2");
    scoped.delete(&format!("/deployments/{web}")).await.expect(204);
    assert!(scoped.get("/deployments").await.expect(200).data().is_empty());
    assert_eq!(rw.get("/deployments").await.expect(200).data_field("name"), ["db"]);
    assert_made_by_key(app, org, "web-only", &["deployment.updated", "deployment.deleted"]).await;
}

async fn a_key_reaches_only_its_own_organization(app: &TestApp) {
    let (_, acme, api_a) = acme_with_key(app, "read_write").await;
    let (bob, _) = app.add_member(acme, "bob@example.com", Role::Viewer).await;
    let ada = app.account_id("ada@example.com").await;
    let web = api_a.create_deployment("web", "us-east-1").await;
    let inv = api_a.invite("carl@example.com", "viewer").await;
    let acme_before = app.actions(acme).await;

    let (bea, beta) = app.sign_up("bea@example.com", "Beta").await;
    let api_b = script_with_key(app, &bea, beta, NewKey::named("beta-script")).await;
    for who in [ada, bob] {
        api_b.get(&format!("/members/{who}")).await.expect_error(404, "not_found");
        api_b.patch(&format!("/members/{who}"), &json!({ "role": "editor" })).await.expect_error(404, "not_found");
        api_b.patch(&format!("/members/{who}"), &json!({ "status": "inactive" })).await.expect_error(404, "not_found");
        api_b.delete(&format!("/members/{who}")).await.expect_error(404, "not_found");
    }
    api_b.get(&format!("/deployments/{web}")).await.expect_error(404, "not_found");
    api_b.patch(&format!("/deployments/{web}"), &json!({ "name": "mine" })).await.expect_error(404, "not_found");
    api_b.delete(&format!("/deployments/{web}")).await.expect_error(404, "not_found");
    api_b.post_empty(&format!("/invitations/{inv}/resend")).await.expect_error(404, "not_found");
    api_b.delete(&format!("/invitations/{inv}")).await.expect_error(404, "not_found");

    // its lists hold only its own organization
    assert_eq!(api_b.get("/members").await.expect(200).data_field("email"), ["bea@example.com"]);
    assert_eq!(api_b.get("/members?role=viewer").await.expect(200).data().len(), 0);
    assert!(api_b.get("/deployments").await.expect(200).data().is_empty());
    assert!(api_b.get("/invitations").await.expect(200).data().is_empty());
    let events = api_b.get("/audit-events?limit=200").await;
    assert_eq!(events.expect(200).data_field("action"), ["api_key.created", "org.created"]);
    assert!(api_b.get("/audit-events?email=ada@example.com").await.expect(200).data().is_empty());
    assert!(api_b.get("/audit-events?email=carl@example.com").await.expect(200).data().is_empty());
    let csv = api_b.get("/audit-events.csv").await;
    csv.expect(200);
    for secret in ["ada@example.com", "bob@example.com", "carl@example.com", KEY, "Acme"] {
        assert!(!csv.text.contains(secret) && !events.text.contains(secret), "org B sees nothing of org A ({secret})");
    }
    // a deployment of the same name is its own
    let mine = api_b.create_deployment("web", "us-east-1").await;
    assert_ne!(mine, web);
    api_a.get(&format!("/deployments/{mine}")).await.expect_error(404, "not_found");

    assert_eq!(app.actions(acme).await, acme_before, "org A is untouched");
    assert_eq!(api_a.get("/deployments").await.expect(200).data_field("id"), [web]);
    assert_eq!(sorted(api_a.get("/members").await.expect(200).data_field("email")), ["ada@example.com", "bob@example.com"]);
}

async fn a_key_with_chosen_permissions_mails_no_invitation_it_may_not_send(app: &TestApp) {
    let (owner, org, rw) = acme_with_key(app, "read_write").await;
    let inv = rw.invite("carl@example.com", "viewer").await;
    let deployer = script_with_key(app, &owner, org, NewKey::named("deployer").grants(&["deployments.read", "deployments.write"])).await;
    let inviter = script_with_key(app, &owner, org, NewKey::named("inviter").grants(&["members.invite", "deployments.read"])).await;
    let before = (app.actions(org).await, app.invitation_mails().await.len());

    deployer.post("/invitations", &json!({ "email": "dan@example.com", "role": "viewer" })).await.expect_error(403, "forbidden");
    deployer.post_empty(&format!("/invitations/{inv}/resend")).await.expect_error(403, "forbidden");
    deployer.delete(&format!("/invitations/{inv}")).await.expect_error(403, "forbidden");
    // nor into a role holding more than the key
    inviter.post("/invitations", &json!({ "email": "dan@example.com", "role": "editor" })).await.expect_error(403, "forbidden");
    assert_eq!((app.actions(org).await, app.invitation_mails().await.len()), before, "nothing changed and no email went out");

    inviter.invite("dan@example.com", "viewer").await;
    inviter.post_empty(&format!("/invitations/{inv}/resend")).await.expect(200);
    assert_eq!(app.invitation_mails().await.len(), before.1 + 2);
    assert_made_by_key(app, org, "inviter", &["member.invited", "invitation.resent"]).await;
}

crate::on_both_backends!(
    a_read_key_reads_everything_and_changes_nothing,
    a_write_key_changes_but_cannot_read,
    a_key_scoped_to_selected_deployments_reaches_only_those,
    a_key_reaches_only_its_own_organization,
    a_key_with_chosen_permissions_mails_no_invitation_it_may_not_send,
);
