//! The JSON API under /api/v1: every endpoint, the key's permissions and scope, revocation and
//! expiry, the organization boundary, errors, pagination, the audit trail and the OpenAPI
//! document. Every answer is also checked against that document (see `api_client`).

use chrono::Utc;
use serde_json::{Value, json};
use steward::config::Rate;
use steward::domain::{OrgId, Role};
use steward::store;

use crate::support::api::{Api, create_key};
use crate::helpers::{Backend, Client, TestApp};
use crate::support::openapi;

/// The name of the key most tests use: the audit log names the key by it.
const KEY: &str = "ci-script";

/// Every endpoint of the contract, with its path as documented (parameter names aside).
const ENDPOINTS: &[(&str, &str)] = &[
    ("GET", "/api/v1/members"),
    ("GET", "/api/v1/members/{account}"),
    ("PATCH", "/api/v1/members/{account}"),
    ("DELETE", "/api/v1/members/{account}"),
    ("GET", "/api/v1/invitations"),
    ("POST", "/api/v1/invitations"),
    ("POST", "/api/v1/invitations/{id}/resend"),
    ("DELETE", "/api/v1/invitations/{id}"),
    ("GET", "/api/v1/audit-events"),
    ("GET", "/api/v1/audit-events.csv"),
    ("GET", "/api/v1/deployments"),
    ("POST", "/api/v1/deployments"),
    ("GET", "/api/v1/deployments/{id}"),
    ("PATCH", "/api/v1/deployments/{id}"),
    ("DELETE", "/api/v1/deployments/{id}"),
];

/// Ada's organization "Acme", and a script holding a key of hers named `KEY`.
async fn acme_with_key(app: &TestApp, permissions: &str) -> (Client, OrgId, Api) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    let secret = create_key(&owner, org, KEY, permissions, "all", &[], "").await;
    let api = Api::with_key(app, &secret).await;
    (owner, org, api)
}

/// Another key of `org`, made by its owner.
async fn another_key(app: &TestApp, owner: &Client, org: OrgId, name: &str, permissions: &str, scope: &str, deployments: &[&str]) -> Api {
    Api::with_key(app, &create_key(owner, org, name, permissions, scope, deployments, "").await).await
}

/// Creates a deployment through the API; returns its id.
async fn deploy(api: &Api, name: &str, region: &str) -> String {
    let created = api.post("/deployments", &json!({ "name": name, "region": region })).await;
    created.expect(201);
    created.str("id")
}

/// Invites `email` through the API; returns the invitation's id.
async fn invite(api: &Api, email: &str, role: &str) -> String {
    let created = api.post("/invitations", &json!({ "email": email, "role": role })).await;
    created.expect(201);
    created.str("id")
}

async fn events_of(app: &TestApp, org: OrgId) -> Vec<store::audit::EventRow> {
    app.with_db(move |db| store::audit::all_of_org(&mut db.conn().expect("conn"), org).expect("events")).await
}

/// The organization's events made through the key named `key`, oldest first, are `expected`,
/// and each names the key as its actor.
async fn assert_made_by_key(app: &TestApp, org: OrgId, key: &str, expected: &[&str]) {
    let id = key_id(app, org, key).await;
    let events: Vec<_> =
        events_of(app, org).await.into_iter().filter(|e| e.actor_kind == "api_key" && e.actor_id.as_deref() == Some(&id)).collect();
    let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, expected);
    for e in &events {
        assert_eq!(e.actor_email.as_deref(), Some(key), "{} names the key", e.action);
        assert_eq!(e.user_agent.as_deref(), Some("steward-api-tests"));
        assert_eq!(e.ip.as_deref(), Some("127.0.0.1"));
    }
    app.actions(org).await; // walks the hash chain
}

/// The id of the key of `org` named `name`.
async fn key_id(app: &TestApp, org: OrgId, name: &str) -> String {
    let name = name.to_string();
    app.with_db(move |db| {
        use diesel::prelude::*;
        use steward::db::schema::api_keys as k;
        k::table
            .filter(k::org_id.eq(org.to_db()))
            .filter(k::name.eq(name))
            .select(k::id)
            .first::<String>(&mut *db.conn().expect("conn"))
            .expect("the key")
    })
    .await
}

fn assert_utc(value: &Value) {
    let text = value.as_str().unwrap_or_else(|| panic!("a time is a string, got {value}"));
    let time = chrono::DateTime::parse_from_rfc3339(text).unwrap_or_else(|e| panic!("{text} is not RFC 3339: {e}"));
    assert_eq!(time.offset().local_minus_utc(), 0, "{text} is in UTC");
}

fn time_of(value: &Value) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::parse_from_rfc3339(value.as_str().expect("a time")).expect("RFC 3339")
}

/// Percent-encodes a query value.
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-._~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

// ---------------------------------------------------------------------------------------------
// The document

async fn the_openapi_document_is_3_1_lists_every_endpoint_and_needs_no_key(app: &TestApp) {
    let resp = reqwest::get(format!("{}/api/v1/openapi.json", app.base)).await.expect("GET");
    assert_eq!(resp.status().as_u16(), 200);
    let media = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    assert!(media.starts_with("application/json"), "{media}");
    let doc: Value = resp.json().await.expect("JSON");
    let version = doc["openapi"].as_str().unwrap_or_default();
    assert!(version.starts_with("3.1."), "OpenAPI 3.1.x, got {version:?}");
    for (method, path) in ENDPOINTS {
        if let Err(e) = openapi::find_operation(&doc, method, path) {
            panic!("{method} {path} is not in the document: {e}");
        }
    }
    let schemes = doc["components"]["securitySchemes"].as_object().cloned().unwrap_or_default();
    assert!(
        schemes.values().any(|s| s["type"] == "http" && s["scheme"].as_str().is_some_and(|x| x.eq_ignore_ascii_case("bearer"))),
        "the document describes the bearer key: {schemes:?}"
    );
    // every reference resolves
    fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
        match v {
            Value::Object(o) => {
                if let Some(r) = o.get("$ref").and_then(Value::as_str) {
                    out.push(r);
                }
                o.values().for_each(|v| refs(v, out));
            }
            Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    refs(&doc, &mut all);
    for r in all {
        assert!(r.strip_prefix('#').and_then(|p| doc.pointer(p)).is_some(), "$ref {r} resolves");
    }
}

// ---------------------------------------------------------------------------------------------
// Members

async fn members_are_listed_shown_changed_and_removed(app: &TestApp) {
    let (_, org, api) = acme_with_key(app, "read_write").await;
    let (bob, bob_client) = app.add_member(org, "bob@example.com", Role::Viewer).await;
    let ada = app.account_id("ada@example.com").await;

    let list = api.get("/members").await;
    list.expect(200);
    assert_eq!(sorted(list.data_field("email")), ["ada@example.com", "bob@example.com"]);
    assert_eq!(list.next_cursor(), None);
    let owner = list.data().iter().find(|m| m["email"] == "ada@example.com").expect("ada");
    assert_eq!(owner["account_id"], ada.to_string());
    assert_eq!((owner["role"].as_str(), owner["status"].as_str()), (Some("owner"), Some("active")));
    assert_utc(&owner["created_at"]);
    assert_eq!(api.get("/members?role=viewer").await.expect(200).data_field("email"), ["bob@example.com"]);
    assert_eq!(api.get("/members?role=owner").await.expect(200).data_field("email"), ["ada@example.com"]);

    let one = api.get(&format!("/members/{bob}")).await;
    one.expect(200);
    assert_eq!(one.json["account_id"], bob.to_string());
    assert_eq!(one.json["email"], "bob@example.com");
    assert_eq!(one.json["name"], "bob");
    assert_eq!(one.json["role"], "viewer");
    assert_eq!(one.json["status"], "active");
    assert_utc(&one.json["created_at"]);
    assert!(one.json["last_active_at"].is_null() || one.json["last_active_at"].is_string());

    let promoted = api.patch(&format!("/members/{bob}"), &json!({ "role": "editor" })).await;
    promoted.expect(200);
    assert_eq!((promoted.json["role"].as_str(), promoted.json["status"].as_str()), (Some("editor"), Some("active")));
    assert_eq!(promoted.json["account_id"], bob.to_string());

    let deactivated = api.patch(&format!("/members/{bob}"), &json!({ "status": "inactive" })).await;
    deactivated.expect(200);
    assert_eq!((deactivated.json["role"].as_str(), deactivated.json["status"].as_str()), (Some("editor"), Some("inactive")));
    assert_eq!(api.get("/members?status=inactive").await.expect(200).data_field("email"), ["bob@example.com"]);
    assert_eq!(api.get("/members?status=active").await.expect(200).data_field("email"), ["ada@example.com"]);
    bob_client.get(&format!("/orgs/{org}/deployments")).await.assert_status(404);

    let activated = api.patch(&format!("/members/{bob}"), &json!({ "status": "active" })).await;
    activated.expect(200);
    assert_eq!(activated.json["status"], "active");
    bob_client.get(&format!("/orgs/{org}/deployments")).await.assert_status(200);

    // one request may change both, in one change
    let both = api.patch(&format!("/members/{bob}"), &json!({ "role": "admin", "status": "inactive" })).await;
    both.expect(200);
    assert_eq!((both.json["role"].as_str(), both.json["status"].as_str()), (Some("admin"), Some("inactive")));
    // an invalid half leaves the other half undone
    let half = api.patch(&format!("/members/{bob}"), &json!({ "role": "viewer", "status": "asleep" })).await;
    half.expect_error(422, "invalid");
    assert_eq!(api.get(&format!("/members/{bob}")).await.expect(200).str("role"), "admin");
    api.patch(&format!("/members/{bob}"), &json!({ "status": "active" })).await.expect(200);

    let removed = api.delete(&format!("/members/{bob}")).await;
    removed.expect(204);
    assert!(removed.text.is_empty(), "204 has no body: {}", removed.text);
    api.get(&format!("/members/{bob}")).await.expect_error(404, "not_found");
    api.delete(&format!("/members/{bob}")).await.expect_error(404, "not_found");
    assert_eq!(api.get("/members").await.expect(200).data_field("email"), ["ada@example.com"]);
    bob_client.get(&format!("/orgs/{org}/deployments")).await.assert_status(404);

    assert_made_by_key(
        app,
        org,
        KEY,
        &[
            "member.role_changed",
            "member.deactivated",
            "member.activated",
            "member.role_changed",
            "member.deactivated",
            "member.activated",
            "member.removed",
        ],
    )
    .await;
}

async fn the_owner_cannot_be_changed_deactivated_or_removed_and_owner_is_never_granted(app: &TestApp) {
    let (_, org, api) = acme_with_key(app, "read_write").await;
    let (bob, _) = app.add_member(org, "bob@example.com", Role::Viewer).await;
    let ada = app.account_id("ada@example.com").await;

    api.patch(&format!("/members/{ada}"), &json!({ "role": "admin" })).await.expect_error(403, "forbidden");
    api.patch(&format!("/members/{ada}"), &json!({ "status": "inactive" })).await.expect_error(403, "forbidden");
    api.delete(&format!("/members/{ada}")).await.expect_error(403, "forbidden");

    let owner_role = api.patch(&format!("/members/{bob}"), &json!({ "role": "owner" })).await;
    owner_role.expect_error(422, "invalid");
    assert_eq!(owner_role.invalid_fields(), ["role"]);
    let unknown_role = api.patch(&format!("/members/{bob}"), &json!({ "role": "superuser" })).await;
    unknown_role.expect_error(422, "invalid");
    assert_eq!(unknown_role.invalid_fields(), ["role"]);
    let unknown_status = api.patch(&format!("/members/{bob}"), &json!({ "status": "asleep" })).await;
    unknown_status.expect_error(422, "invalid");
    assert_eq!(unknown_status.invalid_fields(), ["status"]);

    let nobody = uuid::Uuid::new_v4();
    api.get(&format!("/members/{nobody}")).await.expect_error(404, "not_found");
    api.patch(&format!("/members/{nobody}"), &json!({ "role": "editor" })).await.expect_error(404, "not_found");
    api.delete(&format!("/members/{nobody}")).await.expect_error(404, "not_found");
    api.get("/members/not-a-uuid").await.expect_error(404, "not_found");

    let members = api.get("/members").await;
    let roles: Vec<(String, String)> =
        members.data().iter().map(|m| (m["email"].as_str().unwrap().into(), m["role"].as_str().unwrap().into())).collect();
    assert_eq!(sorted(roles.iter().map(|(e, r)| format!("{e}={r}")).collect()), ["ada@example.com=owner", "bob@example.com=viewer"]);
    assert_eq!(app.actions(org).await, ["org.created", "api_key.created"], "nothing was recorded");
}

// ---------------------------------------------------------------------------------------------
// Invitations

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
    let first_token = app.outbox_token_for("carl@example.com");

    let list = api.get("/invitations").await;
    list.expect(200);
    assert_eq!(list.data_field("id"), [id.as_str()]);
    assert_eq!(list.next_cursor(), None);
    assert_eq!(list.data()[0], created.json, "the list shows the invitation as it was created");
    assert_eq!(api.get("/invitations?status=pending").await.expect(200).data_field("id"), [id.as_str()]);
    assert!(api.get("/invitations?status=cancelled").await.expect(200).data().is_empty());

    let resent = api.post_empty(&format!("/invitations/{id}/resend")).await;
    resent.expect(200);
    assert_eq!((resent.str("id"), resent.str("status")), (id.clone(), "pending".to_string()));
    assert!(time_of(&resent.json["expires_at"]) >= time_of(&created.json["expires_at"]));
    let second_token = app.outbox_token_for("carl@example.com");
    assert_ne!(first_token, second_token, "a resend mails a new link");
    assert_eq!(app.outbox().len(), 2);

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
    let again = invite(&api, "carl@example.com", "viewer").await;
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

// ---------------------------------------------------------------------------------------------
// Deployments

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
    let events = events_of(app, org).await;
    let created_event = events.iter().find(|e| e.action == "deployment.created").unwrap();
    assert_eq!(serde_json::from_str::<Value>(&created_event.details).unwrap(), json!({ "name": "web-prod", "region": "eu-west-1" }));
}

async fn every_region_of_the_contract_is_accepted(app: &TestApp) {
    let (_, _, api) = acme_with_key(app, "read_write").await;
    for (i, region) in ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-1", "ap-northeast-1"].iter().enumerate() {
        let created = api.post("/deployments", &json!({ "name": format!("svc-{i}"), "region": region })).await;
        created.expect(201);
        assert_eq!(created.json["region"], *region);
    }
    assert_eq!(api.get("/deployments").await.expect(200).data().len(), 6);
}

// ---------------------------------------------------------------------------------------------
// Bad requests

async fn invalid_bodies_get_422_naming_their_fields_and_change_nothing(app: &TestApp) {
    let (_, org, api) = acme_with_key(app, "read_write").await;
    let id = deploy(&api, "web", "us-east-1").await;
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
    assert!(app.outbox().is_empty(), "no email went out");
}

async fn malformed_json_gets_400(app: &TestApp) {
    let (_, org, api) = acme_with_key(app, "read_write").await;
    let (bob, _) = app.add_member(org, "bob@example.com", Role::Viewer).await;
    let id = deploy(&api, "web", "us-east-1").await;
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

async fn an_oversized_body_gets_413(app: &TestApp) {
    let (_, org, api) = acme_with_key(app, "read_write").await;
    let huge = json!({ "name": "web", "region": "us-east-1", "padding": "x".repeat(100 * 1024) });
    api.post("/deployments", &huge).await.expect_error(413, "payload_too_large");
    assert_eq!(app.actions(org).await, ["org.created", "api_key.created"]);
}

// ---------------------------------------------------------------------------------------------
// Permissions and scope

async fn a_read_key_reads_everything_and_changes_nothing(app: &TestApp) {
    let (owner, org, rw) = acme_with_key(app, "read_write").await;
    let (bob, _) = app.add_member(org, "bob@example.com", Role::Viewer).await;
    let dep = deploy(&rw, "web", "us-east-1").await;
    let inv = invite(&rw, "carl@example.com", "viewer").await;
    let read = another_key(app, &owner, org, "reader", "read", "all", &[]).await;
    let before = app.actions(org).await;

    for path in [
        "/members".to_string(),
        format!("/members/{bob}"),
        "/invitations".into(),
        "/audit-events".into(),
        "/audit-events.csv".into(),
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
    let dep = deploy(&rw, "web", "us-east-1").await;
    let write = another_key(app, &owner, org, "writer", "write", "all", &[]).await;

    for path in [
        "/members".to_string(),
        format!("/members/{bob}"),
        "/invitations".into(),
        "/audit-events".into(),
        "/audit-events.csv".into(),
        "/deployments".into(),
        format!("/deployments/{dep}"),
    ] {
        write.get(&path).await.expect_error(403, "forbidden");
    }
    deploy(&write, "db", "eu-west-1").await;
    write.patch(&format!("/deployments/{dep}"), &json!({ "name": "web-2" })).await.expect(200);
    write.patch(&format!("/members/{bob}"), &json!({ "role": "editor" })).await.expect(200);
    let inv = invite(&write, "carl@example.com", "viewer").await;
    write.delete(&format!("/invitations/{inv}")).await.expect(204);
    assert_made_by_key(app, org, "writer", &["deployment.created", "deployment.updated", "member.role_changed", "member.invited", "invitation.cancelled"])
        .await;
}

async fn a_key_scoped_to_selected_deployments_reaches_only_those(app: &TestApp) {
    let (owner, org, rw) = acme_with_key(app, "read_write").await;
    let (bob, _) = app.add_member(org, "bob@example.com", Role::Viewer).await;
    let ada = app.account_id("ada@example.com").await;
    let web = deploy(&rw, "web", "us-east-1").await;
    let db = deploy(&rw, "db", "eu-west-1").await;
    let inv = invite(&rw, "carl@example.com", "viewer").await;
    let scoped = another_key(app, &owner, org, "web-only", "read_write", "selected", &[&web]).await;
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

    for path in ["/members".to_string(), format!("/members/{ada}"), "/invitations".into(), "/audit-events".into(), "/audit-events.csv".into()] {
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

// ---------------------------------------------------------------------------------------------
// Authentication

async fn missing_malformed_and_unknown_keys_get_401(app: &TestApp) {
    let (owner, org, api) = acme_with_key(app, "read_write").await;
    api.get("/members").await.expect(200);
    let secret = create_key(&owner, org, "second", "read_write", "all", &[], "").await;
    let mut wrong_secret = secret.clone();
    let last = wrong_secret.pop().unwrap();
    wrong_secret.push(if last == 'A' { 'B' } else { 'A' });
    let unknown = format!("stw_{}_{}", "0".repeat(16), "A".repeat(43));

    let none = Api::new(app, None).await;
    none.get("/members").await.expect_error(401, "unauthorized");
    none.post("/deployments", &json!({ "name": "web", "region": "us-east-1" })).await.expect_error(401, "unauthorized");
    for header in [
        "Bearer".to_string(),
        "Bearer ".into(),
        "Bearer not-a-key".into(),
        "Basic YWRhOmNvcnJlY3QtaG9yc2U=".into(),
        secret.clone(),
        format!("Token {secret}"),
        format!("Bearer {unknown}"),
        format!("Bearer {wrong_secret}"),
        format!("Bearer {}", secret.replacen("stw_", "stx_", 1)),
    ] {
        let client = Api::with_authorization(app, &header).await;
        let answer = client.get("/members").await;
        assert_eq!(answer.status, 401, "Authorization: {header:?} answered {}", answer.text);
        answer.expect_error(401, "unauthorized");
        client.delete(&format!("/deployments/{}", uuid::Uuid::new_v4())).await.expect_error(401, "unauthorized");
    }
    // a signed-in browser session is not a key
    let resp = owner.http.get(format!("{}/api/v1/members", app.base)).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    Api::with_key(app, &secret).await.get("/members").await.expect(200);
    assert_eq!(app.actions(org).await, ["org.created", "api_key.created", "api_key.created"]);
}

async fn a_revoked_key_stops_working_at_once(app: &TestApp) {
    let (owner, org, api) = acme_with_key(app, "read_write").await;
    let other = another_key(app, &owner, org, "other", "read", "all", &[]).await;
    api.get("/members").await.expect(200);
    let id = key_id(app, org, KEY).await;
    owner.post(&format!("/orgs/{org}/api-keys/{id}/revoke"), &[]).await.assert_status(303);

    api.get("/members").await.expect_error(401, "unauthorized");
    api.post("/deployments", &json!({ "name": "web", "region": "us-east-1" })).await.expect_error(401, "unauthorized");
    other.get("/members").await.expect(200);
    assert_eq!(app.count("deployments").await, 0);
    assert_eq!(app.actions(org).await, ["org.created", "api_key.created", "api_key.created", "api_key.revoked"]);
}

async fn an_expired_key_stops_working_at_once(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    let secret = create_key(&owner, org, "short-lived", "read_write", "all", &[], "30").await;
    let api = Api::with_key(app, &secret).await;
    api.get("/deployments").await.expect(200);
    deploy(&api, "web", "us-east-1").await;

    app.with_db(move |db| {
        use diesel::prelude::*;
        use steward::db::schema::api_keys as k;
        let past = store::now() - chrono::Duration::seconds(1);
        let n = diesel::update(k::table.filter(k::org_id.eq(org.to_db())).filter(k::name.eq("short-lived")))
            .set(k::expires_at.eq(Some(past)))
            .execute(&mut *db.conn().expect("conn"))
            .expect("expire the key");
        assert_eq!(n, 1);
    })
    .await;
    api.get("/deployments").await.expect_error(401, "unauthorized");
    api.post("/deployments", &json!({ "name": "db", "region": "us-east-1" })).await.expect_error(401, "unauthorized");
    assert_eq!(app.count("deployments").await, 1);
}

// ---------------------------------------------------------------------------------------------
// The organization boundary

async fn a_key_reaches_only_its_own_organization(app: &TestApp) {
    let (_, acme, api_a) = acme_with_key(app, "read_write").await;
    let (bob, _) = app.add_member(acme, "bob@example.com", Role::Viewer).await;
    let ada = app.account_id("ada@example.com").await;
    let web = deploy(&api_a, "web", "us-east-1").await;
    let inv = invite(&api_a, "carl@example.com", "viewer").await;
    let acme_before = app.actions(acme).await;

    let (bea, beta) = app.sign_up("bea@example.com", "Beta").await;
    let api_b = another_key(app, &bea, beta, "beta-script", "read_write", "all", &[]).await;
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
    let mine = deploy(&api_b, "web", "us-east-1").await;
    assert_ne!(mine, web);
    api_a.get(&format!("/deployments/{mine}")).await.expect_error(404, "not_found");

    assert_eq!(app.actions(acme).await, acme_before, "org A is untouched");
    assert_eq!(api_a.get("/deployments").await.expect(200).data_field("id"), [web]);
    assert_eq!(sorted(api_a.get("/members").await.expect(200).data_field("email")), ["ada@example.com", "bob@example.com"]);
}

// ---------------------------------------------------------------------------------------------
// Lists

async fn members_are_paged_with_a_cursor(app: &TestApp) {
    let (_, org, api) = acme_with_key(app, "read").await;
    app.add_bulk_members(org, 120, Role::Viewer).await;

    let mut seen = Vec::new();
    let mut path = "/members?limit=50".to_string();
    for expected in [50, 50, 21] {
        let page = api.get(&path).await;
        page.expect(200);
        assert_eq!(page.data().len(), expected, "{path}");
        seen.extend(page.data_field("account_id"));
        match page.next_cursor() {
            Some(cursor) => path = format!("/members?limit=50&cursor={}", enc(&cursor)),
            None => assert_eq!(expected, 21, "only the last page has no next cursor"),
        }
    }
    assert_eq!(seen.len(), 121);
    let unique: std::collections::BTreeSet<_> = seen.iter().collect();
    assert_eq!(unique.len(), 121, "no member appears twice");

    let default = api.get("/members").await;
    assert_eq!(default.expect(200).data().len(), 50, "the default limit is 50");
    assert!(default.next_cursor().is_some());
    let all = api.get("/members?limit=200").await;
    assert_eq!(all.expect(200).data().len(), 121);
    assert_eq!(all.next_cursor(), None);

    // filters hold across pages
    let first = api.get("/members?role=viewer&limit=100").await;
    assert_eq!(first.expect(200).data().len(), 100);
    let cursor = first.next_cursor().expect("more viewers");
    let rest = api.get(&format!("/members?role=viewer&limit=100&cursor={}", enc(&cursor))).await;
    assert_eq!(rest.expect(200).data().len(), 20);
    assert_eq!(rest.next_cursor(), None);
    assert!(rest.data().iter().chain(first.data()).all(|m| m["role"] == "viewer"));
}

async fn a_limit_out_of_range_gets_422(app: &TestApp) {
    let (_, _, api) = acme_with_key(app, "read").await;
    for list in ["/members", "/invitations", "/audit-events", "/deployments"] {
        api.get(&format!("{list}?limit=1")).await.expect(200);
        api.get(&format!("{list}?limit=200")).await.expect(200);
        for limit in ["0", "201", "-1", "100000"] {
            let refused = api.get(&format!("{list}?limit={limit}")).await;
            refused.expect_error(422, "invalid");
            assert_eq!(refused.invalid_fields(), ["limit"], "{list}?limit={limit}");
        }
        // a forged cursor is either a position like any other or refused, never a failure
        let forged = api.get(&format!("{list}?cursor={}", enc("not-a-cursor_'\"%"))).await;
        assert!([200, 422].contains(&forged.status), "{list}: a forged cursor answered {}: {}", forged.status, forged.text);
        if forged.status == 422 {
            forged.expect_error(422, "invalid");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The audit log

/// Three changes through the key: a deployment created and renamed, an invitation.
async fn three_changes(api: &Api) {
    let id = deploy(api, "web", "us-east-1").await;
    api.patch(&format!("/deployments/{id}"), &json!({ "name": "web-2" })).await.expect(200);
    invite(api, "carl@example.com", "viewer").await;
}

async fn audit_events_are_listed_newest_first_filtered_and_paged(app: &TestApp) {
    let (_, _, api) = acme_with_key(app, "read_write").await;
    three_changes(&api).await;

    let list = api.get("/audit-events").await;
    list.expect(200);
    assert_eq!(list.data_field("action"), ["member.invited", "deployment.updated", "deployment.created", "api_key.created", "org.created"]);
    assert_eq!(list.next_cursor(), None);
    let events = list.data();
    for e in events {
        assert!(e["id"].is_i64(), "an event's id is an integer: {e}");
        assert_utc(&e["time"]);
        assert!(e["details"].is_object(), "details are an object: {e}");
    }
    for e in &events[..3] {
        assert_eq!(e["actor_kind"], "api_key", "{e}");
        assert_eq!(e["actor_email"], KEY, "{e}");
        assert_eq!(e["ip"], "127.0.0.1");
        assert_eq!(e["user_agent"], "steward-api-tests");
    }
    for e in &events[3..] {
        assert_eq!((e["actor_kind"].as_str(), e["actor_email"].as_str()), (Some("account"), Some("ada@example.com")), "{e}");
    }
    assert_eq!(events[0]["target_email"], "carl@example.com");
    assert_eq!(events[0]["details"]["role"], "viewer");
    assert_eq!(events[1]["details"], json!({ "old_name": "web", "new_name": "web-2" }));
    assert_eq!(events[2]["target"], "web");
    let ids: Vec<i64> = events.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");

    let filtered = |q: &'static str| {
        let api = &api;
        async move { api.get(&format!("/audit-events?{q}")).await.expect(200).data_field("action") }
    };
    assert_eq!(filtered("action=deployment.created").await, ["deployment.created"]);
    assert_eq!(filtered("email=carl@example.com").await, ["member.invited"]);
    assert_eq!(filtered("email=ADA@example.com").await, ["api_key.created", "org.created"]);
    assert_eq!(filtered("from=2000-01-01&to=2000-01-02").await, Vec::<String>::new());
    assert_eq!(filtered("from=2999-01-01").await, Vec::<String>::new());
    let today = Utc::now().date_naive().format("%Y-%m-%d").to_string();
    let whole_day = api.get(&format!("/audit-events?from={today}&to={today}")).await;
    assert_eq!(whole_day.expect(200).data().len(), 5, "both ends of the range are whole days");
    let combined = api.get(&format!("/audit-events?action=member.invited&email=carl@example.com&from={today}")).await;
    assert_eq!(combined.expect(200).data_field("action"), ["member.invited"]);

    let bad_date = api.get("/audit-events?from=yesterday").await;
    bad_date.expect_error(422, "invalid");
    assert_eq!(bad_date.invalid_fields(), ["from"]);
    api.get("/audit-events?to=2026-13-01").await.expect_error(422, "invalid");
    api.get("/audit-events?action=member.exploded").await.expect_error(422, "invalid");

    // a cursor walks the same events, page by page
    let mut walked = Vec::new();
    let mut path = "/audit-events?limit=2".to_string();
    for expected in [2, 2, 1] {
        let page = api.get(&path).await;
        assert_eq!(page.expect(200).data().len(), expected);
        walked.extend(page.data().iter().map(|e| e["id"].as_i64().unwrap()));
        if let Some(cursor) = page.next_cursor() {
            path = format!("/audit-events?limit=2&cursor={}", enc(&cursor));
        } else {
            assert_eq!(expected, 1);
        }
    }
    assert_eq!(walked, ids);
    let filtered_pages = api.get("/audit-events?limit=1&email=ada@example.com").await;
    let cursor = filtered_pages.expect(200).next_cursor().expect("a second page");
    let second = api.get(&format!("/audit-events?limit=1&email=ada@example.com&cursor={}", enc(&cursor))).await;
    assert_eq!(second.expect(200).data_field("action"), ["org.created"]);
    assert_eq!(second.next_cursor(), None);
}

async fn the_csv_export_has_the_contract_header_and_names_the_key(app: &TestApp) {
    let (_, _, api) = acme_with_key(app, "read_write").await;
    three_changes(&api).await;

    let export = api.get("/audit-events.csv").await;
    export.expect(200);
    let media = export.header("content-type").unwrap_or_default();
    assert!(media.starts_with("text/csv"), "{media}");
    assert!(export.text.starts_with("time,action,actor_email,actor_kind,target,ip,user_agent,details"), "{}", export.text);
    let mut reader = csv::Reader::from_reader(export.text.as_bytes());
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        ["time", "action", "actor_email", "actor_kind", "target", "ip", "user_agent", "details"]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let actions: Vec<&str> = rows.iter().map(|r| &r[1]).collect();
    assert_eq!(actions, ["member.invited", "deployment.updated", "deployment.created", "api_key.created", "org.created"]);
    for row in &rows[..3] {
        assert_eq!((&row[2], &row[3]), (KEY, "api_key"), "{row:?}");
        assert_eq!(&row[5], "127.0.0.1");
        assert_eq!(&row[6], "steward-api-tests");
        assert!(serde_json::from_str::<Value>(&row[7]).is_ok_and(|d| d.is_object()), "{row:?}");
    }
    for row in &rows {
        assert_utc(&json!(&row[0]));
    }
    assert_eq!(&rows[2][4], "web");

    let filtered = api.get("/audit-events.csv?action=deployment.created").await;
    let rows = csv::Reader::from_reader(filtered.expect(200).text.as_bytes()).records().count();
    assert_eq!(rows, 1);
    let by_email = api.get("/audit-events.csv?email=carl@example.com").await;
    assert_eq!(csv::Reader::from_reader(by_email.expect(200).text.as_bytes()).records().count(), 1);
    api.get("/audit-events.csv?to=never").await.expect_error(422, "invalid");
}

async fn every_change_through_the_api_is_audited_as_the_key(app: &TestApp) {
    let (_, org, api) = acme_with_key(app, "read_write").await;
    let (bob, _) = app.add_member(org, "bob@example.com", Role::Viewer).await;
    let dep = deploy(&api, "web", "us-east-1").await;
    api.patch(&format!("/deployments/{dep}"), &json!({ "name": "web-2" })).await.expect(200);
    api.delete(&format!("/deployments/{dep}")).await.expect(204);
    let inv = invite(&api, "carl@example.com", "editor").await;
    api.post_empty(&format!("/invitations/{inv}/resend")).await.expect(200);
    api.delete(&format!("/invitations/{inv}")).await.expect(204);
    api.patch(&format!("/members/{bob}"), &json!({ "role": "admin" })).await.expect(200);
    api.patch(&format!("/members/{bob}"), &json!({ "status": "inactive" })).await.expect(200);
    api.patch(&format!("/members/{bob}"), &json!({ "status": "active" })).await.expect(200);
    api.delete(&format!("/members/{bob}")).await.expect(204);
    let expected = [
        "deployment.created",
        "deployment.updated",
        "deployment.deleted",
        "member.invited",
        "invitation.resent",
        "invitation.cancelled",
        "member.role_changed",
        "member.deactivated",
        "member.activated",
        "member.removed",
    ];
    assert_made_by_key(app, org, KEY, &expected).await;

    // and the API shows them so, the member events naming their target
    let listed = api.get("/audit-events?limit=200").await;
    listed.expect(200);
    let by_key: Vec<&Value> = listed.data().iter().filter(|e| e["actor_kind"] == "api_key").collect();
    let mut actions: Vec<&str> = by_key.iter().map(|e| e["action"].as_str().unwrap()).collect();
    actions.reverse();
    assert_eq!(actions, expected);
    assert!(by_key.iter().all(|e| e["actor_email"] == KEY));
    for e in by_key.iter().filter(|e| e["action"].as_str().unwrap().starts_with("member.")) {
        let target = if e["action"] == "member.invited" { "carl@example.com" } else { "bob@example.com" };
        assert_eq!(e["target_email"], target, "{e}");
    }
    // reading leaves no trace
    let before = app.count("audit_events").await;
    api.get("/members").await.expect(200);
    api.get("/audit-events.csv").await.expect(200);
    assert_eq!(app.count("audit_events").await, before);
}


async fn an_invitation_made_through_the_api_is_accepted_like_any_other(app: &TestApp) {
    let (_, org, api) = acme_with_key(app, "read_write").await;
    let id = invite(&api, "carl@example.com", "editor").await;
    let token = app.outbox_token_for("carl@example.com");
    let carl = app.client();
    let page = carl.get(&format!("/invitations/{token}")).await;
    page.assert_status(200);
    assert!(page.contains("Acme"), "the page names the organization");
    let accepted = carl.post(&format!("/invitations/{token}/accept"), &[("name", "Carl"), ("password", crate::helpers::PASSWORD)]).await;
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
    let old = invite(&api, "carl@example.com", "viewer").await;
    let fresh = invite(&api, "dan@example.com", "viewer").await;
    let old_id = old.clone();
    app.with_db(move |db| {
        use diesel::prelude::*;
        use steward::db::schema::invitations as i;
        let past = store::now() - chrono::Duration::hours(1);
        diesel::update(i::table.filter(i::id.eq(old_id))).set(i::expires_at.eq(past)).execute(&mut *db.conn().expect("conn")).expect("expire");
    })
    .await;

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

async fn every_list_walks_its_cursor_to_the_end(app: &TestApp) {
    let (_, org, api) = acme_with_key(app, "read_write").await;
    app.add_bulk_members(org, 7, Role::Editor).await;
    for i in 0..7 {
        deploy(&api, &format!("svc-{i}"), "us-east-1").await;
        invite(&api, &format!("person-{i}@example.com"), "viewer").await;
    }
    for list in ["/deployments", "/invitations", "/audit-events", "/members"] {
        let whole = api.get(&format!("{list}?limit=200")).await;
        whole.expect(200);
        let key = if list == "/members" { "account_id" } else { "id" };
        let expected: Vec<Value> = whole.data().iter().map(|item| item[key].clone()).collect();
        assert!(expected.len() >= 7, "{list}");
        let mut walked = Vec::new();
        let mut path = format!("{list}?limit=3");
        for _ in 0..20 {
            let page = api.get(&path).await;
            page.expect(200);
            assert!(page.data().len() <= 3);
            walked.extend(page.data().iter().map(|item| item[key].clone()));
            match page.next_cursor() {
                Some(cursor) => path = format!("{list}?limit=3&cursor={}", enc(&cursor)),
                None => break,
            }
        }
        assert_eq!(walked, expected, "{list}: the pages hold the whole list once, in its order");
    }
}

async fn deleting_the_organization_ends_its_keys(app: &TestApp) {
    let (owner, org, api) = acme_with_key(app, "read_write").await;
    api.get("/members").await.expect(200);
    owner.post(&format!("/orgs/{org}/delete"), &[("confirm_name", "Acme")]).await.assert_status(303);
    api.get("/members").await.expect_error(401, "unauthorized");
    api.post("/deployments", &json!({ "name": "web", "region": "us-east-1" })).await.expect_error(401, "unauthorized");
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


async fn a_change_whose_event_cannot_be_written_answers_500_and_is_not_kept(app: &TestApp) {
    let (_, org, api) = acme_with_key(app, "read_write").await;
    let backend = app.backend;
    app.with_db(move |db| {
        use diesel::RunQueryDsl;
        let statements: &[&str] = match backend {
            Backend::Sqlite => &["CREATE TRIGGER no_deployment_events BEFORE INSERT ON audit_events \
                 WHEN NEW.action = 'deployment.created' BEGIN SELECT RAISE(ABORT, 'audit store refused'); END"],
            Backend::Postgres => &[
                "CREATE FUNCTION no_deployment_events() RETURNS trigger AS $$ BEGIN \
                 IF NEW.action = 'deployment.created' THEN RAISE EXCEPTION 'audit store refused'; END IF; \
                 RETURN NEW; END $$ LANGUAGE plpgsql",
                "CREATE TRIGGER no_deployment_events BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION no_deployment_events()",
            ],
        };
        for statement in statements {
            diesel::sql_query(*statement).execute(&mut *db.conn().expect("conn")).expect("trigger");
        }
    })
    .await;
    let failed = api.post("/deployments", &json!({ "name": "web", "region": "us-east-1" })).await;
    failed.expect_error(500, "internal");
    assert!(!failed.text.contains("audit store refused"), "no internals leak: {}", failed.text);
    assert_eq!(app.count("deployments").await, 0, "the deployment was rolled back with its event");
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

async fn a_busy_key_gets_429_with_retry_after(backend: Backend) {
    let app = TestApp::builder().limit_api_key_requests(Rate::per_minute(3)).spawn(backend).await;
    let (owner, org, api) = acme_with_key(&app, "read_write").await;
    for _ in 0..3 {
        api.get("/deployments").await.expect(200);
    }
    api.get("/deployments").await.expect_error(429, "rate_limited");
    api.post("/deployments", &json!({ "name": "web", "region": "us-east-1" })).await.expect_error(429, "rate_limited");
    assert_eq!(app.count("deployments").await, 0);
    // the limit is the key's own
    another_key(&app, &owner, org, "other", "read", "all", &[]).await.get("/deployments").await.expect(200);
    app.stop().await;
}

crate::on_both_backends!(
    the_openapi_document_is_3_1_lists_every_endpoint_and_needs_no_key,
    members_are_listed_shown_changed_and_removed,
    the_owner_cannot_be_changed_deactivated_or_removed_and_owner_is_never_granted,
    invitations_are_created_listed_resent_and_cancelled,
    deployments_are_created_shown_renamed_and_deleted,
    every_region_of_the_contract_is_accepted,
    invalid_bodies_get_422_naming_their_fields_and_change_nothing,
    malformed_json_gets_400,
    an_oversized_body_gets_413,
    a_read_key_reads_everything_and_changes_nothing,
    a_write_key_changes_but_cannot_read,
    a_key_scoped_to_selected_deployments_reaches_only_those,
    missing_malformed_and_unknown_keys_get_401,
    a_revoked_key_stops_working_at_once,
    an_expired_key_stops_working_at_once,
    a_key_reaches_only_its_own_organization,
    members_are_paged_with_a_cursor,
    a_limit_out_of_range_gets_422,
    audit_events_are_listed_newest_first_filtered_and_paged,
    the_csv_export_has_the_contract_header_and_names_the_key,
    every_change_through_the_api_is_audited_as_the_key,
    an_invitation_made_through_the_api_is_accepted_like_any_other,
    an_expired_invitation_is_listed_as_expired_and_can_be_resent,
    every_list_walks_its_cursor_to_the_end,
    deleting_the_organization_ends_its_keys,
    a_missing_or_mistyped_field_gets_422_naming_it,
    a_change_whose_event_cannot_be_written_answers_500_and_is_not_kept,
    an_unknown_api_path_answers_json_404,
    a_busy_key_gets_429_with_retry_after(backend),
);
