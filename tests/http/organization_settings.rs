//! Organization settings: rename, transfer ownership, leave, delete.

use steward::domain::Role;

use crate::helpers::TestApp;

async fn an_admin_renames_the_organization_but_cannot_transfer_or_delete_it(app: &TestApp) {
    let (_, org) = app.sign_up("ada@example.com", "Acme").await;
    let (_, admin) = app.add_member(org, "al@example.com", Role::Admin).await;
    admin.get(&format!("/orgs/{org}/settings")).await.assert_status(200);
    admin.post(&format!("/orgs/{org}/settings"), &[("name", "  Acme Corp ")]).await.assert_status(303);
    let page = admin.get(&format!("/orgs/{org}/settings")).await;
    assert!(page.contains(r#"value="Acme Corp""#));
    assert!(page.texts(".danger-zone h2").is_empty(), "transfer and delete are the owner's");
    admin.post(&format!("/orgs/{org}/settings"), &[("name", "")]).await.assert_status(422);
    assert_eq!(app.actions(org).await, vec!["org.created", "org.renamed"]);
}

async fn ownership_goes_to_an_active_member_and_the_old_owner_becomes_admin(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    let (_, bob) = app.add_member(org, "bob@example.com", Role::Viewer).await;
    app.add_member(org, "ina@example.com", Role::Editor).await;
    let (ada, bob_id, ina) =
        (app.account_id("ada@example.com").await, app.account_id("bob@example.com").await, app.account_id("ina@example.com").await);
    owner.deactivate(org, ina).await;

    let inactive = owner.post(&format!("/orgs/{org}/transfer"), &[("account", &ina.to_string())]).await;
    inactive.assert_status(422);
    assert!(inactive.contains("only go to an active member"));
    owner.post(&format!("/orgs/{org}/transfer"), &[("account", &ada.to_string())]).await.assert_status(422);
    owner.post(&format!("/orgs/{org}/transfer"), &[("account", &uuid::Uuid::new_v4().to_string())]).await.assert_status(422);
    owner.post(&format!("/orgs/{org}/transfer"), &[("account", "not-a-uuid")]).await.assert_status(422);
    bob.post(&format!("/orgs/{org}/transfer"), &[("account", &bob_id.to_string())]).await.assert_status(403);

    owner.post(&format!("/orgs/{org}/transfer"), &[("account", &bob_id.to_string())]).await.assert_status(303);
    let roles = app
        .with_db(move |db| {
            let mut conn = db.conn().unwrap();
            (
                steward::storage::members::find(&mut conn, org, ada).unwrap().unwrap().role,
                steward::storage::members::find(&mut conn, org, bob_id).unwrap().unwrap().role,
            )
        })
        .await;
    assert_eq!(roles, (Role::Admin, Role::Owner));
    // the old owner can no longer transfer; the new one can leave only after transferring
    owner.post(&format!("/orgs/{org}/transfer"), &[("account", &ada.to_string())]).await.assert_status(403);
    bob.post(&format!("/orgs/{org}/leave"), &[]).await.assert_status(403);
    assert_eq!(app.actions(org).await.last().map(String::as_str), Some("org.ownership_transferred"));
}

async fn a_member_leaves_but_the_owner_cannot(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    let (_, vic) = app.add_member(org, "vic@example.com", Role::Viewer).await;
    let refused = owner.post(&format!("/orgs/{org}/leave"), &[]).await;
    refused.assert_status(403);
    assert!(refused.contains("Transfer ownership to another member first"));
    let left = vic.post(&format!("/orgs/{org}/leave"), &[]).await;
    left.assert_status(303);
    assert_eq!(left.location.as_deref(), Some("/orgs"));
    vic.get(&format!("/orgs/{org}/deployments")).await.assert_status(404);
    assert_eq!(app.actions(org).await, vec!["org.created", "member.left"]);
}

async fn deleting_the_organization_takes_everything_it_holds(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    let (_, admin) = app.add_member(org, "al@example.com", Role::Admin).await;
    owner.invite(org, "bob@example.com", "viewer").await;
    owner.create_deployment(org, "web", "eu-west-1").await;
    admin.post(&format!("/orgs/{org}/delete"), &[("confirm_name", "Acme")]).await.assert_status(403);
    let wrong = owner.post(&format!("/orgs/{org}/delete"), &[("confirm_name", "acme")]).await;
    wrong.assert_status(422);
    assert!(wrong.contains("Type the organization"));
    let (other, other_org) = app.sign_up("zed@example.com", "Other").await;

    owner.post(&format!("/orgs/{org}/delete"), &[("confirm_name", " Acme ")]).await.assert_status(303);
    owner.get(&format!("/orgs/{org}/members")).await.assert_status(404);
    admin.get(&format!("/orgs/{org}/settings")).await.assert_status(404);
    for table in ["organizations", "memberships", "audit_events"] {
        assert_eq!(app.count(table).await, 1, "{table} keeps only the other organization's row");
    }
    assert_eq!(app.count("invitations").await, 0);
    assert_eq!(app.count("deployments").await, 0);
    assert_eq!(app.count("accounts").await, 3, "accounts stay");
    other.get(&format!("/orgs/{other_org}/members")).await.assert_status(200);
}

crate::on_both_backends!(
    an_admin_renames_the_organization_but_cannot_transfer_or_delete_it,
    ownership_goes_to_an_active_member_and_the_old_owner_becomes_admin,
    a_member_leaves_but_the_owner_cannot,
    deleting_the_organization_takes_everything_it_holds,
);
