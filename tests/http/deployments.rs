//! Deployments: the list, creating, renaming and deleting, who may, and the audit trail.

use serde_json::{Value, json};
use steward::domain::ids::DeploymentId;
use steward::domain::Role;
use steward::storage;

use crate::helpers::{NewKey, TestApp};

fn actions(events: &[storage::audit::Event]) -> Vec<&str> {
    events.iter().map(|e| e.body.action.as_str()).collect()
}

async fn an_editor_creates_renames_and_deletes_a_deployment(app: &TestApp) {
    let (_, org) = app.sign_up("ada@example.com", "Acme").await;
    let (_, editor) = app.add_member(org, "ed@example.com", Role::Editor).await;
    let list = format!("/orgs/{org}/deployments");

    let created = editor.post(&list, &[("name", "  web-production "), ("region", "eu-west-1")]).await;
    created.assert_status(303);
    assert_eq!(created.location.as_deref(), Some(list.as_str()));
    let page = editor.get(&list).await;
    page.assert_status(200);
    assert_eq!(page.texts(".flash"), vec!["Deployment “web-production” created in eu-west-1. ×"]);
    assert_eq!(page.texts("tbody td.cell-primary"), vec!["web-production"]);
    let row = page.texts("tbody tr").join(" ");
    assert!(row.contains("eu-west-1") && row.contains("ed@example.com"), "{row}");
    let [(id, _, _)] = app.deployments(org).await.try_into().unwrap();

    let renamed = editor.post(&format!("{list}/{id}"), &[("name", "web-staging")]).await;
    renamed.assert_status(303);
    assert_eq!(renamed.location.as_deref(), Some(list.as_str()));
    let page = editor.get(&list).await;
    assert_eq!(page.texts(".flash"), vec!["Deployment “web-production” renamed to “web-staging”. ×"]);
    assert_eq!(page.texts("tbody td.cell-primary"), vec!["web-staging"]);
    // the same name again is no change, and records none
    editor.post(&format!("{list}/{id}"), &[("name", "web-staging")]).await.assert_status(303);

    let deleted = editor.post(&format!("{list}/{id}/delete"), &[]).await;
    deleted.assert_status(303);
    assert_eq!(deleted.location.as_deref(), Some(list.as_str()));
    let page = editor.get(&list).await;
    assert_eq!(page.texts(".flash"), vec!["Deployment “web-staging” deleted. ×"]);
    assert!(page.contains("No deployments yet"));
    assert!(app.deployments(org).await.is_empty());

    let events = app.events(org).await;
    assert_eq!(actions(&events), ["org.created", "deployment.created", "deployment.updated", "deployment.deleted"]);
    let details: Vec<Value> = events[1..].iter().map(|e| serde_json::from_str(&e.body.details).unwrap()).collect();
    assert_eq!(details[0], json!({ "name": "web-production", "region": "eu-west-1" }));
    assert_eq!(details[1], json!({ "old_name": "web-production", "new_name": "web-staging" }));
    assert_eq!(details[2], json!({ "name": "web-staging", "region": "eu-west-1" }));
    let targets: Vec<_> = events[1..].iter().map(|e| e.body.target.as_deref()).collect();
    assert_eq!(targets, [Some("web-production"), Some("web-staging"), Some("web-staging")]);
    for pair in events.windows(2) {
        assert_eq!(pair[1].prev_hash, pair[0].hash, "the chain is unbroken");
    }
    for e in &events[1..] {
        assert_eq!(e.body.actor_email.as_deref(), Some("ed@example.com"));
        assert_eq!(e.body.actor_kind, "account");
        assert_eq!(e.body.user_agent.as_deref(), Some("steward-tests"));
        assert_eq!(e.hash, e.compute_hash());
    }
}

async fn a_viewer_sees_the_list_but_cannot_change_it(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    let list = format!("/orgs/{org}/deployments");
    owner.create_deployment(org, "api", "us-east-1").await;
    let owner_page = owner.get(&list).await;
    assert_eq!(owner_page.texts(".page-actions summary"), vec!["Create deployment"]);
    assert!(owner_page.contains(&format!(r#"action="/orgs/{org}/deployments""#)));
    let [(id, _, _)] = app.deployments(org).await.try_into().unwrap();

    let (_, viewer) = app.add_member(org, "vic@example.com", Role::Viewer).await;
    let page = viewer.get(&list).await;
    page.assert_status(200);
    assert_eq!(page.texts("tbody td.cell-primary"), vec!["api"]);
    assert!(page.texts(".nav-link").contains(&"Deployments".to_string()));
    // no form is offered that the server would refuse
    assert!(page.texts(".page-actions").is_empty());
    assert!(!page.contains(&format!(r#"action="/orgs/{org}/deployments"#)));

    viewer.post(&list, &[("name", "sneaky"), ("region", "us-east-1")]).await.assert_status(403);
    viewer.post(&format!("{list}/{id}"), &[("name", "renamed")]).await.assert_status(403);
    viewer.post(&format!("{list}/{id}/delete"), &[]).await.assert_status(403);
    assert_eq!(app.deployments(org).await, vec![(id, "api".to_string(), "us-east-1".to_string())]);
    assert_eq!(actions(&app.events(org).await), ["org.created", "deployment.created"]);
}

async fn bad_names_and_regions_get_422_and_change_nothing(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    let list = format!("/orgs/{org}/deployments");
    let huge = "a".repeat(100_000);
    let long = "a".repeat(64);
    let cases: [(&str, &str, &str); 11] = [
        ("", "us-east-1", "This field is required."),
        ("   ", "us-east-1", "This field is required."),
        (&long, "us-east-1", "Use at most 63 characters."),
        (&huge, "us-east-1", "Use at most 63 characters."),
        ("Web", "us-east-1", "Start the name with a lowercase letter."),
        ("1web", "us-east-1", "Start the name with a lowercase letter."),
        ("web_1", "us-east-1", "Use only lowercase letters, digits and hyphens."),
        ("web.example", "us-east-1", "Use only lowercase letters, digits and hyphens."),
        ("web", "", "Choose a region."),
        ("web", "mars-north-1", "Choose one of the listed regions."),
        ("web", &huge, "Choose one of the listed regions."),
    ];
    for (name, region, message) in cases {
        let page = owner.post(&list, &[("name", name), ("region", region)]).await;
        page.assert_status(422);
        assert_eq!(page.texts(".field-error"), vec![message], "name {:.20}…, region {:.20}…", name, region);
        // the form comes back open, holding what was typed
        assert_eq!(page.texts("details.create-deployment[open] summary"), vec!["Create deployment"]);
    }
    let both = owner.post(&list, &[("name", "")]).await;
    both.assert_status(422);
    assert_eq!(both.texts(".field-error"), vec!["This field is required.", "Choose a region."]);
    let kept = owner.post(&list, &[("name", "Web"), ("region", "ap-southeast-1")]).await;
    assert!(kept.contains(r#"value="Web""#));
    assert!(kept.contains(r#"<option value="ap-southeast-1" selected>"#));
    assert!(app.deployments(org).await.is_empty());

    owner.create_deployment(org, "web", "us-east-1").await;
    let [(id, _, _)] = app.deployments(org).await.try_into().unwrap();
    for (name, message) in [
        ("", "This field is required."),
        ("Bad Name", "Start the name with a lowercase letter."),
        (huge.as_str(), "Use at most 63 characters."),
    ] {
        let page = owner.post(&format!("{list}/{id}"), &[("name", name)]).await;
        page.assert_status(422);
        // the row's rename form is open again, with the message
        assert_eq!(page.texts("details[open] .field-error"), vec![message]);
    }
    assert_eq!(app.deployments(org).await, vec![(id, "web".to_string(), "us-east-1".to_string())]);
    assert_eq!(actions(&app.events(org).await), ["org.created", "deployment.created"]);
}

async fn a_name_is_unique_within_its_organization(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    let list = format!("/orgs/{org}/deployments");
    owner.create_deployment(org, "web", "us-east-1").await;
    owner.create_deployment(org, "api", "us-east-1").await;

    let again = owner.post(&list, &[("name", " web "), ("region", "eu-central-1")]).await;
    again.assert_status(422);
    assert_eq!(again.texts(".field-error"), vec!["A deployment with this name already exists."]);
    let api = app.deployment_id(org, "api").await;
    let taken = owner.post(&format!("{list}/{api}"), &[("name", "web")]).await;
    taken.assert_status(422);
    assert_eq!(taken.texts("details[open] .field-error"), vec!["A deployment with this name already exists."]);
    assert_eq!(app.deployments(org).await.len(), 2);
    // the database holds the line too, as the unique violation the operation turns into that message
    let raced = app
        .with_db(move |db| {
            let at = storage::now();
            let d = storage::deployments::Deployment {
                id: DeploymentId::new(),
                org_id: org,
                name: "web".into(),
                region: "us-east-1".into(),
                created_by: None,
                created_at: at,
                updated_at: at,
            };
            storage::deployments::insert(&mut db.conn().unwrap(), &d).unwrap_err()
        })
        .await;
    assert!(
        matches!(raced, diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)),
        "{raced:?}"
    );

    // another organization may use the same name
    let (other, other_org) = app.sign_up("bob@example.com", "Other").await;
    other
        .post(&format!("/orgs/{other_org}/deployments"), &[("name", "web"), ("region", "us-east-1")])
        .await
        .assert_status(303);
    assert_eq!(app.deployments(other_org).await.len(), 1);
}

async fn another_organizations_deployment_is_out_of_reach(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    let (other, other_org) = app.sign_up("eve@example.com", "Other").await;
    other.create_deployment(other_org, "secret-db", "us-west-2").await;
    let [(theirs, _, _)] = app.deployments(other_org).await.try_into().unwrap();

    let list = format!("/orgs/{org}/deployments");
    let page = owner.get(&list).await;
    assert!(!page.contains("secret-db"));
    assert!(page.contains("No deployments yet"));
    owner.post(&format!("{list}/{theirs}"), &[("name", "mine-now")]).await.assert_status(404);
    owner.post(&format!("{list}/{theirs}"), &[("name", "Not Valid")]).await.assert_status(404);
    owner.post(&format!("{list}/{theirs}/delete"), &[]).await.assert_status(404);
    // and through their organization's path, where Ada is not a member
    let theirs_path = format!("/orgs/{other_org}/deployments/{theirs}");
    owner.post(&theirs_path, &[("name", "mine-now")]).await.assert_status(404);
    owner.post(&format!("{theirs_path}/delete"), &[]).await.assert_status(404);
    owner.get(&format!("/orgs/{other_org}/deployments")).await.assert_status(404);

    assert_eq!(app.deployments(other_org).await, vec![(theirs, "secret-db".to_string(), "us-west-2".to_string())]);
    assert_eq!(actions(&app.events(other_org).await), ["org.created", "deployment.created"]);
    assert_eq!(actions(&app.events(org).await), ["org.created"]);
}

async fn a_malformed_or_unknown_deployment_id_gets_404(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    let list = format!("/orgs/{org}/deployments");
    for id in ["not-a-uuid".to_string(), "1234".to_string(), uuid::Uuid::new_v4().to_string()] {
        owner.post(&format!("{list}/{id}"), &[("name", "web")]).await.assert_status(404);
        owner.post(&format!("{list}/{id}/delete"), &[]).await.assert_status(404);
    }
    assert_eq!(actions(&app.events(org).await), ["org.created"]);
}

async fn the_list_is_paginated_by_fifty(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    app.with_db(move |db| {
        let mut conn = db.conn().unwrap();
        let at = storage::now();
        for i in 0..120 {
            let d = storage::deployments::Deployment {
                id: DeploymentId::new(),
                org_id: org,
                name: format!("svc-{i:03}"),
                region: "eu-west-1".into(),
                created_by: None,
                created_at: at,
                updated_at: at,
            };
            storage::deployments::insert(&mut conn, &d).unwrap();
        }
    })
    .await;
    let list = format!("/orgs/{org}/deployments");
    let first = owner.get(&list).await;
    let names = first.texts("tbody td.cell-primary");
    assert_eq!(names.len(), 50);
    assert_eq!((names[0].as_str(), names[49].as_str()), ("svc-000", "svc-049"));
    assert_eq!(first.texts(".pagination .muted"), vec!["Showing 1–50 of 120"]);
    assert!(first.contains(&format!(r#"href="{list}?page=2" rel="next""#)));

    let last = owner.get(&format!("{list}?page=3")).await;
    let names = last.texts("tbody td.cell-primary");
    assert_eq!((names.len(), names[0].as_str()), (20, "svc-100"));
    assert_eq!(last.texts(".pagination .muted"), vec!["Showing 101–120 of 120"]);
    assert!(last.contains(&format!(r#"href="{list}?page=2" rel="prev""#)));

    let beyond = owner.get(&format!("{list}?page=9")).await;
    beyond.assert_status(200);
    assert!(beyond.contains("This page is empty"));
    for junk in ["abc", "-1", "0", "99999999999999999999999"] {
        let page = owner.get(&format!("{list}?page={junk}")).await;
        page.assert_status(200);
        assert_eq!(page.texts("tbody td.cell-primary")[0], "svc-000", "page={junk}");
    }

    // a refused rename shows the list where that deployment stands
    let id = app.deployment_id(org, "svc-075").await;
    let refused = owner.post(&format!("{list}/{id}"), &[("name", "svc-076")]).await;
    refused.assert_status(422);
    assert_eq!(refused.texts(".pagination .muted"), vec!["Showing 51–100 of 120"]);
    assert_eq!(refused.texts("details[open] .field-error"), vec!["A deployment with this name already exists."]);
}

async fn deleting_a_deployment_removes_it_from_api_key_scopes(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    let list = format!("/orgs/{org}/deployments");
    owner.create_deployment(org, "web", "us-east-1").await;
    let [(id, _, _)] = app.deployments(org).await.try_into().unwrap();
    let scopes = move |db: &steward::storage::Db| {
        use diesel::prelude::*;
        use steward::storage::schema::api_key_deployments as akd;
        akd::table
            .filter(akd::deployment_id.eq(id.to_string()))
            .count()
            .get_result::<i64>(&mut *db.conn().unwrap())
            .unwrap()
    };
    owner.create_api_key(org, NewKey::named("ci").read_only().only_for(&[&id.to_string()])).await;
    assert_eq!(app.with_db(scopes).await, 1);
    owner.post(&format!("{list}/{id}/delete"), &[]).await.assert_status(303);
    assert_eq!(app.with_db(scopes).await, 0);
}

crate::on_both_backends!(
    an_editor_creates_renames_and_deletes_a_deployment,
    a_viewer_sees_the_list_but_cannot_change_it,
    bad_names_and_regions_get_422_and_change_nothing,
    a_name_is_unique_within_its_organization,
    another_organizations_deployment_is_out_of_reach,
    a_malformed_or_unknown_deployment_id_gets_404,
    the_list_is_paginated_by_fifty,
    deleting_a_deployment_removes_it_from_api_key_scopes,
);
