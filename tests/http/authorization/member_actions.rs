//! The member actions' own rules: never on the owner or oneself, a new role counts at once.

use steward::domain::{MembershipStatus, Role};
use steward::storage;

use crate::helpers::TestApp;

use super::{Get, Post, Request, owned, send, summary};

/// Nobody acts on the owner, nor on themselves, through the member actions: 403.
async fn member_actions_on_the_owner_or_oneself_are_refused_with_403(app: &TestApp) {
    let (owner, org) = app.sign_up("owner@example.com", "Acme").await;
    let (admin_id, admin) = app.add_member(org, "admin@example.com", Role::Admin).await;
    let owner_id = app.account_id("owner@example.com").await;
    let events_before = app.events(org).await.len();
    let mut mismatches = Vec::new();
    for (actor_name, actor, target, email) in [
        ("owner on self", &owner, owner_id, "owner@example.com"),
        ("admin on owner", &admin, owner_id, "owner@example.com"),
        ("admin on self", &admin, admin_id, "admin@example.com"),
    ] {
        let base = format!("/orgs/{org}/members/{target}");
        let attempts: Vec<Request> = vec![
            (Get, format!("{base}/edit"), vec![]),
            (Post, base.clone(), owned(&[("role", "viewer")])),
            (Get, format!("{base}/deactivate"), vec![]),
            (Post, format!("{base}/deactivate"), vec![]),
            (Post, format!("{base}/activate"), vec![]),
            (Get, format!("{base}/remove"), vec![]),
            (Post, format!("{base}/remove"), owned(&[("confirm_email", email)])),
        ];
        for (method, path, fields) in attempts {
            let page = send(actor, method, &path, &fields).await;
            if page.status != 403 {
                mismatches.push(format!("{actor_name}: {method:?} {path} {fields:?}: expected 403, got {}", summary(&page)));
            }
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    assert_eq!(app.events(org).await.len(), events_before);
    let roles = app
        .with_db(move |db| {
            let mut conn = db.conn().unwrap();
            let owner = storage::members::find(&mut conn, org, owner_id).unwrap().unwrap();
            let admin = storage::members::find(&mut conn, org, admin_id).unwrap().unwrap();
            [(owner.role, owner.status), (admin.role, admin.status)]
        })
        .await;
    assert_eq!(roles, [(Role::Owner, MembershipStatus::Active), (Role::Admin, MembershipStatus::Active)]);
}

/// Permissions are read on every request: a demoted admin loses them at once, in the session
/// already open, and a promoted viewer gains them.
async fn a_role_change_takes_effect_on_the_next_request(app: &TestApp) {
    let (owner, org) = app.sign_up("owner@example.com", "Acme").await;
    let (admin_id, admin) = app.add_member(org, "admin@example.com", Role::Admin).await;
    let (viewer_id, viewer) = app.add_member(org, "viewer@example.com", Role::Viewer).await;
    admin.get(&format!("/orgs/{org}/members")).await.assert_status(200);
    viewer.get(&format!("/orgs/{org}/members")).await.assert_status(403);

    owner.post(&format!("/orgs/{org}/members/{admin_id}"), &[("role", "viewer")]).await.assert_status(303);
    owner.post(&format!("/orgs/{org}/members/{viewer_id}"), &[("role", "admin")]).await.assert_status(303);

    admin.get(&format!("/orgs/{org}/members")).await.assert_status(403);
    admin.get(&format!("/orgs/{org}/settings")).await.assert_status(403);
    admin.post(&format!("/orgs/{org}/invitations"), &[("email", "x@example.com"), ("role", "admin")]).await.assert_status(403);
    admin.post(&format!("/orgs/{org}/deployments"), &[("name", "web-1"), ("region", "eu-west-1")]).await.assert_status(403);
    admin.get(&format!("/orgs/{org}/deployments")).await.assert_status(200);
    viewer.get(&format!("/orgs/{org}/members")).await.assert_status(200);
    viewer.post(&format!("/orgs/{org}/members/{admin_id}/deactivate"), &[]).await.assert_status(303);
    // the demoted admin, now deactivated too, is out
    admin.get(&format!("/orgs/{org}/deployments")).await.assert_status(404);
}

crate::on_both_backends!(
    member_actions_on_the_owner_or_oneself_are_refused_with_403,
    a_role_change_takes_effect_on_the_next_request,
);
