//! Deployments through the API: created, shown, renamed and deleted, in every region.

use serde_json::{Value, json};

use crate::helpers::TestApp;

use super::{KEY, acme_with_key, assert_made_by_key, assert_utc, time_of};

async fn deployments_are_created_shown_renamed_and_deleted(app: &TestApp) {
    let (owner, org, api) = acme_with_key(app, "read_write").await;

    let created = api.post("/deployments", &json!({ "name": "web-prod", "region": "eu-west-1" })).await;
    created.expect(201);
    let id = created.str("id");
    assert_eq!((created.str("name"), created.str("region")), ("web-prod".into(), "eu-west-1".into()));
    assert_utc(&created.json["created_at"]);
    assert_utc(&created.json["updated_at"]);

    let list = api.get("/deployments").await;
    list.expect(200);
    assert_eq!(list.data_field("id"), [id.as_str()]);
    assert_eq!(list.next_cursor(), None);
    let one = api.get(&format!("/deployments/{id}")).await;
    one.expect(200);
    assert_eq!(one.json, created.json);
    assert!(owner.get(&format!("/orgs/{org}/deployments")).await.contains("web-prod"), "the page shows it too");

    let renamed = api.patch(&format!("/deployments/{id}"), &json!({ "name": "web-staging" })).await;
    renamed.expect(200);
    assert_eq!((renamed.str("id"), renamed.str("name"), renamed.str("region")), (id.clone(), "web-staging".into(), "eu-west-1".into()));
    assert!(time_of(&renamed.json["updated_at"]) >= time_of(&created.json["updated_at"]));
    assert_eq!(renamed.json["created_at"], created.json["created_at"]);
    assert_eq!(api.get(&format!("/deployments/{id}")).await.expect(200).str("name"), "web-staging");

    // the same name again is no change, and records none
    api.patch(&format!("/deployments/{id}"), &json!({ "name": "web-staging" })).await.expect(200);

    let taken = api.post("/deployments", &json!({ "name": "web-staging", "region": "us-east-1" })).await;
    taken.expect_error(422, "invalid");
    assert_eq!(taken.invalid_fields(), ["name"]);

    let deleted = api.delete(&format!("/deployments/{id}")).await;
    deleted.expect(204);
    assert!(deleted.text.is_empty());
    api.get(&format!("/deployments/{id}")).await.expect_error(404, "not_found");
    api.patch(&format!("/deployments/{id}"), &json!({ "name": "again" })).await.expect_error(404, "not_found");
    api.delete(&format!("/deployments/{id}")).await.expect_error(404, "not_found");
    api.get("/deployments/not-a-uuid").await.expect_error(404, "not_found");
    assert!(api.get("/deployments").await.expect(200).data().is_empty());

    assert_made_by_key(app, org, KEY, &["deployment.created", "deployment.updated", "deployment.deleted"]).await;
    let events = app.events(org).await;
    let created_event = events.iter().find(|e| e.body.action == "deployment.created").unwrap();
    assert_eq!(serde_json::from_str::<Value>(&created_event.body.details).unwrap(), json!({ "name": "web-prod", "region": "eu-west-1" }));
}

async fn every_listed_region_is_accepted(app: &TestApp) {
    let (_, _, api) = acme_with_key(app, "read_write").await;
    for (i, region) in ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-1", "ap-northeast-1"].iter().enumerate() {
        let created = api.post("/deployments", &json!({ "name": format!("svc-{i}"), "region": region })).await;
        created.expect(201);
        assert_eq!(created.json["region"], *region);
    }
    assert_eq!(api.get("/deployments").await.expect(200).data().len(), 6);
}

crate::on_both_backends!(
    deployments_are_created_shown_renamed_and_deleted,
    every_listed_region_is_accepted,
);
