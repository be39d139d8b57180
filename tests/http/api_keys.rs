//! The API keys page: create (the secret shown once), list, revoke.

use steward::domain::Role;

use crate::helpers::{Client, TestApp};

fn secret_on(page: &crate::helpers::Page) -> Option<String> {
    page.texts("code#secret").into_iter().next()
}

async fn create(client: &Client, org: steward::domain::OrgId, fields: &[(&str, &str)]) -> crate::helpers::Page {
    client.post(&format!("/orgs/{org}/api-keys"), fields).await
}

async fn a_new_key_is_shown_once_and_stored_only_as_a_hash(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    let made = create(&owner, org, &[("name", "CI deploy"), ("permissions", "read_write"), ("lifetime_days", "30"), ("scope", "all")]).await;
    made.assert_status(303);
    let page = owner.get(&format!("/orgs/{org}/api-keys")).await;
    let secret = secret_on(&page).expect("the secret is shown");
    assert!(secret.starts_with("stw_") && secret.len() >= 4 + 16 + 1 + 43, "{secret}");
    assert!(page.contains("shown only once"));
    let row = page.texts("#api-keys tbody tr td");
    assert!(row[0].starts_with("CI deploy stw_"), "{row:?}");
    assert_eq!(row[1], "Read and write");
    assert_eq!(row[2], "All deployments");
    assert!(row[3].contains("ada@example.com"));
    assert_eq!(row[5], "Never");
    assert_eq!(row[6], "active");

    // never again
    assert!(secret_on(&owner.get(&format!("/orgs/{org}/api-keys")).await).is_none());
    let stored = app
        .with_db(|db| {
            use diesel::prelude::*;
            use steward::storage::schema::api_keys::dsl::*;
            api_keys.select((lookup, secret_hash)).first::<(String, String)>(&mut *db.conn().unwrap()).unwrap()
        })
        .await;
    let (lookup_part, secret_part) = secret.strip_prefix("stw_").unwrap().split_once('_').unwrap();
    assert_eq!(stored.0, lookup_part);
    assert_eq!(stored.1, steward::crypto::sha256_hex(secret_part.as_bytes()));
    assert!(!stored.1.contains(secret_part));
    let events = app.actions(org).await;
    assert_eq!(events.last().map(String::as_str), Some("api_key.created"));
}

async fn a_key_can_be_scoped_to_selected_deployments(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    for name in ["api-prod", "web-prod"] {
        owner.create_deployment(org, name, "eu-west-1").await;
    }
    let page = owner.get(&format!("/orgs/{org}/api-keys")).await;
    let ids: Vec<String> = page
        .html()
        .select(&scraper::Selector::parse("input[name=deployments]").unwrap())
        .filter_map(|e| e.value().attr("value").map(str::to_owned))
        .collect();
    assert_eq!(ids.len(), 2);
    let none = create(&owner, org, &[("name", "scoped"), ("permissions", "read"), ("scope", "selected")]).await;
    none.assert_status(422);
    assert!(none.contains("Choose at least one deployment"));
    // the repeated field is read whole
    let made = create(&owner, org, &[("name", "scoped"), ("permissions", "read"), ("scope", "selected"), ("deployments", &ids[0]), ("deployments", &ids[1])]).await;
    made.assert_status(303);
    let page = owner.get(&format!("/orgs/{org}/api-keys")).await;
    assert_eq!(page.texts("#api-keys tbody td:nth-child(3)"), vec!["api-prod, web-prod"]);

    // another organization's deployment is not a choice
    let (other, other_org) = app.sign_up("zed@example.com", "Other").await;
    other.create_deployment(other_org, "theirs", "eu-west-1").await;
    let theirs = other.get(&format!("/orgs/{other_org}/api-keys")).await;
    let their_id = theirs
        .html()
        .select(&scraper::Selector::parse("input[name=deployments]").unwrap())
        .find_map(|e| e.value().attr("value").map(str::to_owned))
        .unwrap();
    let stolen = create(&owner, org, &[("name", "x"), ("permissions", "read"), ("scope", "selected"), ("deployments", &their_id)]).await;
    stolen.assert_status(422);
}

async fn a_deployment_listed_twice_is_scoped_once(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    owner.create_deployment(org, "api-prod", "eu-west-1").await;
    let id = app.deployment_id(org, "api-prod").await.to_string();
    let fields = [("name", "twice"), ("permissions", "read"), ("scope", "selected"), ("deployments", &id), ("deployments", &id)];
    create(&owner, org, &fields).await.assert_status(303);

    let page = owner.get(&format!("/orgs/{org}/api-keys")).await;
    assert_eq!(page.texts("#api-keys tbody td:nth-child(3)"), vec!["api-prod"]);
    let key = app.api_key_id(org, "twice").await;
    let scoped = app
        .with_db(move |db| steward::storage::api_keys::scoped_deployments(&mut db.conn().unwrap(), key.parse().unwrap()).unwrap())
        .await;
    assert_eq!(scoped.iter().map(ToString::to_string).collect::<Vec<_>>(), vec![id]);
    let created = app.events(org).await.pop().unwrap();
    assert_eq!(created.body.action, "api_key.created");
    let details: serde_json::Value = serde_json::from_str(&created.body.details).unwrap();
    assert_eq!(details["deployments"], serde_json::json!(["api-prod"]));
}

async fn bad_key_input_is_refused_and_changes_nothing(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    for (fields, message) in [
        (vec![("name", ""), ("permissions", "read"), ("scope", "all")], "This field is required."),
        (vec![("name", "x"), ("permissions", "admin"), ("scope", "all")], "Choose read, write, or read and write."),
        (vec![("name", "x"), ("permissions", "read"), ("lifetime_days", "0"), ("scope", "all")], "Enter a number of days"),
        (vec![("name", "x"), ("permissions", "read"), ("lifetime_days", "forever"), ("scope", "all")], "Enter a number of days"),
        (vec![("name", "x"), ("permissions", "read"), ("scope", "everything")], "Choose all deployments or selected ones."),
    ] {
        let page = create(&owner, org, &fields).await;
        page.assert_status(422);
        assert!(page.contains(message), "{message}");
    }
    assert_eq!(app.count("api_keys").await, 0);
}

async fn revoking_a_key_records_it_and_only_managers_see_keys(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    create(&owner, org, &[("name", "ci"), ("permissions", "read"), ("scope", "all")]).await.assert_status(303);
    let id = app.api_key_id(org, "ci").await;
    let (_, editor) = app.add_member(org, "ed@example.com", Role::Editor).await;
    editor.get(&format!("/orgs/{org}/api-keys")).await.assert_status(403);
    editor.post(&format!("/orgs/{org}/api-keys/{id}/revoke"), &[]).await.assert_status(403);
    let (_, admin) = app.add_member(org, "al@example.com", Role::Admin).await;
    admin.post(&format!("/orgs/{org}/api-keys/{id}/revoke"), &[]).await.assert_status(303);
    let page = admin.get(&format!("/orgs/{org}/api-keys")).await;
    assert_eq!(page.texts("#api-keys tbody td:nth-child(7)"), vec!["revoked"]);
    admin.post(&format!("/orgs/{org}/api-keys/{id}/revoke"), &[]).await.assert_status(409);
    admin.post(&format!("/orgs/{org}/api-keys/not-a-uuid/revoke"), &[]).await.assert_status(404);
    assert_eq!(app.actions(org).await.last().map(String::as_str), Some("api_key.revoked"));
}

crate::on_both_backends!(
    a_new_key_is_shown_once_and_stored_only_as_a_hash,
    a_key_can_be_scoped_to_selected_deployments,
    a_deployment_listed_twice_is_scoped_once,
    bad_key_input_is_refused_and_changes_nothing,
    revoking_a_key_records_it_and_only_managers_see_keys,
);
