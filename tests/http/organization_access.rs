//! Who reaches an organization's pages: members by permission, nobody else.

use steward::domain::Role;
use steward::storage;

use crate::helpers::TestApp;

async fn a_non_member_gets_404_as_if_the_organization_did_not_exist(app: &TestApp) {
    let (_, org) = app.sign_up("ada@example.com", "Acme").await;
    let (stranger, _) = app.sign_up("eve@example.com", "Evil").await;
    let theirs = stranger.get(&format!("/orgs/{org}/members")).await;
    theirs.assert_status(404);
    let nowhere = stranger.get(&format!("/orgs/{}/members", uuid::Uuid::new_v4())).await;
    nowhere.assert_status(404);
    assert_eq!(theirs.texts("h1"), nowhere.texts("h1"));
    stranger.get("/orgs/not-a-uuid/members").await.assert_status(404);
    stranger.get(&format!("/orgs/{org}")).await.assert_status(404);
}

async fn a_member_without_the_permission_gets_403(app: &TestApp) {
    let (_, org) = app.sign_up("ada@example.com", "Acme").await;
    let (_, viewer) = app.add_member(org, "vic@example.com", Role::Viewer).await;
    let (_, editor) = app.add_member(org, "ed@example.com", Role::Editor).await;
    let (_, admin) = app.add_member(org, "al@example.com", Role::Admin).await;
    viewer.get(&format!("/orgs/{org}/members")).await.assert_status(403);
    editor.get(&format!("/orgs/{org}/members")).await.assert_status(403);
    admin.get(&format!("/orgs/{org}/members")).await.assert_status(200);
    // the navigation only offers what the member may open
    let nav = admin.get(&format!("/orgs/{org}/members")).await.texts(".nav-link");
    assert!(nav.contains(&"Members".to_string()));
}

async fn a_deactivated_member_loses_access_at_once(app: &TestApp) {
    let (_, org) = app.sign_up("ada@example.com", "Acme").await;
    let (account, admin) = app.add_member(org, "al@example.com", Role::Admin).await;
    admin.get(&format!("/orgs/{org}/members")).await.assert_status(200);
    app.with_db(move |db| {
        use diesel::prelude::*;
        use steward::storage::schema::memberships::dsl::*;
        diesel::update(memberships.find((org.to_string(), account.to_string())))
            .set(status.eq("inactive"))
            .execute(&mut *db.conn().unwrap())
            .unwrap();
    })
    .await;
    admin.get(&format!("/orgs/{org}/members")).await.assert_status(404);
}

async fn last_active_is_kept_to_the_minute_without_a_write_per_request(app: &TestApp) {
    let (client, org) = app.sign_up("ada@example.com", "Acme").await;
    let account = app.account_id("ada@example.com").await;
    let read = move |db: &steward::storage::Db| storage::members::find(&mut *db.conn().unwrap(), org, account).unwrap().unwrap().last_active_at;
    // pretend the last request was five minutes ago
    let old = storage::now() - chrono::Duration::minutes(5);
    app.with_db(move |db| storage::members::touch(&mut *db.conn().unwrap(), org, account, old).unwrap()).await;
    client.get(&format!("/orgs/{org}/members")).await.assert_status(200);
    let first = app.with_db(read).await.unwrap();
    assert!(first > old);
    client.get(&format!("/orgs/{org}/members")).await.assert_status(200);
    let second = app.with_db(read).await.unwrap();
    assert_eq!(first, second, "a second request within the minute writes nothing");
}

crate::on_both_backends!(
    a_non_member_gets_404_as_if_the_organization_did_not_exist,
    a_member_without_the_permission_gets_403,
    a_deactivated_member_loses_access_at_once,
    last_active_is_kept_to_the_minute_without_a_write_per_request,
);
