//! Requests the API refuses, and how: 422 naming fields, 400, 413, 404, and 500 keeping nothing.
//!
//! Invalid or incomplete bodies get 422 naming the fields, malformed JSON 400, oversized bodies
//! 413, unknown paths a JSON 404; a change whose audit event cannot be written gets 500 and is
//! not kept.

use serde_json::{Value, json};
use steward::domain::Role;

use crate::helpers::TestApp;

use super::{acme_with_key, sorted};

async fn invalid_bodies_get_422_naming_their_fields_and_change_nothing(app: &TestApp) {
    let (_, org, api) = acme_with_key(app, "read_write").await;
    let id = api.create_deployment("web", "us-east-1").await;
    let before = app.actions(org).await;

    let invitations: [(Value, &[&str]); 4] = [
        (json!({ "email": "not-an-email", "role": "viewer" }), &["email"]),
        (json!({ "email": "", "role": "viewer" }), &["email"]),
        (json!({ "email": "dan@example.com", "role": "owner" }), &["role"]),
        (json!({ "email": "nope", "role": "owner" }), &["email", "role"]),
    ];
    for (body, fields) in invitations {
        let refused = api.post("/invitations", &body).await;
        refused.expect_error(422, "invalid");
        assert_eq!(sorted(refused.invalid_fields()), *fields, "{body}");
    }
    let deployments: [(Value, &[&str]); 6] = [
        (json!({ "name": "db", "region": "mars-1" }), &["region"]),
        (json!({ "name": "db", "region": "" }), &["region"]),
        (json!({ "name": "Web_Prod", "region": "us-east-1" }), &["name"]),
        (json!({ "name": "9lives", "region": "us-east-1" }), &["name"]),
        (json!({ "name": "", "region": "us-east-1" }), &["name"]),
        (json!({ "name": "Bad Name", "region": "moon" }), &["name", "region"]),
    ];
    for (body, fields) in deployments {
        let refused = api.post("/deployments", &body).await;
        refused.expect_error(422, "invalid");
        assert_eq!(sorted(refused.invalid_fields()), *fields, "{body}");
    }
    let rename = api.patch(&format!("/deployments/{id}"), &json!({ "name": "UPPER" })).await;
    rename.expect_error(422, "invalid");
    assert_eq!(rename.invalid_fields(), ["name"]);
    let long = api.patch(&format!("/deployments/{id}"), &json!({ "name": format!("a{}", "b".repeat(200)) })).await;
    long.expect_error(422, "invalid");

    assert_eq!(app.actions(org).await, before);
    assert_eq!(app.count("invitations").await, 0);
    assert_eq!(api.get("/deployments").await.expect(200).data_field("name"), ["web"]);
    assert!(app.invitation_mails().await.is_empty(), "no email went out");
}

/// Well-formed JSON that lacks a field or has one of the wrong type is invalid input (422, naming
/// the field), not malformed JSON (400).
async fn a_missing_or_mistyped_field_gets_422_naming_it(app: &TestApp) {
    let (_, org, api) = acme_with_key(app, "read_write").await;
    let before = app.actions(org).await;
    let cases: [(&str, Value, &str); 4] = [
        ("/deployments", json!({ "name": "web" }), "region"),
        ("/deployments", json!({ "name": 5, "region": "us-east-1" }), "name"),
        ("/invitations", json!({ "email": "carl@example.com" }), "role"),
        ("/invitations", json!({ "email": ["carl@example.com"], "role": "viewer" }), "email"),
    ];
    for (path, body, field) in cases {
        let refused = api.post(path, &body).await;
        assert_eq!(refused.status, 422, "POST {path} {body} answered {}: {}", refused.status, refused.text);
        refused.expect_error(422, "invalid");
        assert_eq!(refused.invalid_fields(), [field], "{body}");
    }
    assert_eq!(app.actions(org).await, before);
}

async fn malformed_json_gets_400_and_changes_nothing(app: &TestApp) {
    let (_, org, api) = acme_with_key(app, "read_write").await;
    let (bob, _) = app.add_member(org, "bob@example.com", Role::Viewer).await;
    let id = api.create_deployment("web", "us-east-1").await;
    let before = app.actions(org).await;
    use reqwest::Method;
    let cases: [(Method, String, &str); 5] = [
        (Method::POST, "/invitations".into(), r#"{"email": "#),
        (Method::POST, "/deployments".into(), "not json"),
        (Method::POST, "/deployments".into(), r#"{"name": "db", "region": "us-east-1",}"#),
        (Method::PATCH, format!("/members/{bob}"), "[1, 2"),
        (Method::PATCH, format!("/deployments/{id}"), r#"{"name": 'db'}"#),
    ];
    for (method, path, body) in cases {
        api.send_raw(method, &path, "application/json", body.as_bytes().to_vec()).await.expect_error(400, "bad_request");
    }
    assert_eq!(app.actions(org).await, before);
}

async fn an_oversized_body_gets_413_and_changes_nothing(app: &TestApp) {
    let (_, org, api) = acme_with_key(app, "read_write").await;
    let huge = json!({ "name": "web", "region": "us-east-1", "padding": "x".repeat(100 * 1024) });
    api.post("/deployments", &huge).await.expect_error(413, "payload_too_large");
    assert_eq!(app.actions(org).await, ["org.created", "api_key.created"]);
}

async fn an_unknown_api_path_answers_json_404(app: &TestApp) {
    let (_, _, api) = acme_with_key(app, "read_write").await;
    let secret_free = reqwest::Client::new();
    for path in ["/api/v1/nothing-here", "/api/v1/members/x/y"] {
        let resp = secret_free.get(format!("{}{path}", api.base)).send().await.expect("GET");
        assert_eq!(resp.status().as_u16(), 404, "{path}");
        assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("application/json"), "{path}");
        let body: Value = resp.json().await.expect("JSON");
        assert_eq!(body["error"]["code"], "not_found", "{path}");
    }
}

async fn a_change_whose_event_cannot_be_written_answers_500_and_is_not_kept(app: &TestApp) {
    let (_, org, api) = acme_with_key(app, "read_write").await;
    app.refuse_audit_events("deployment.created").await;
    let failed = api.post("/deployments", &json!({ "name": "web", "region": "us-east-1" })).await;
    failed.expect_error(500, "internal");
    assert!(!failed.text.contains("audit store refused"), "no internals leak: {}", failed.text);
    assert_eq!(app.count("deployments").await, 0, "the deployment was rolled back with its event");
    assert_eq!(app.actions(org).await, ["org.created", "api_key.created"]);
}

crate::on_both_backends!(
    invalid_bodies_get_422_naming_their_fields_and_change_nothing,
    a_missing_or_mistyped_field_gets_422_naming_it,
    malformed_json_gets_400_and_changes_nothing,
    an_oversized_body_gets_413_and_changes_nothing,
    an_unknown_api_path_answers_json_404,
    a_change_whose_event_cannot_be_written_answers_500_and_is_not_kept,
);
