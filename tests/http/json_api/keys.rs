//! Authentication by API key: who gets 401, when a key stops working, when it gets 429.
//!
//! A missing, malformed or unknown key gets 401; a revoked or expired key stops working at
//! once, as do the keys of a deleted organization; a busy key gets 429.

use serde_json::json;
use steward::config::Rate;
use steward::storage;

use crate::helpers::{Backend, NewKey, TestApp};
use crate::support::api::Api;

use super::{KEY, acme_with_key, script_with_key};

async fn missing_malformed_and_unknown_keys_get_401(app: &TestApp) {
    let (owner, org, api) = acme_with_key(app, "read_write").await;
    api.get("/members").await.expect(200);
    let secret = owner.create_api_key(org, NewKey::named("second")).await;
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
    let other = script_with_key(app, &owner, org, NewKey::named("other").read_only()).await;
    api.get("/members").await.expect(200);
    let id = app.api_key_id(org, KEY).await;
    owner.post(&format!("/orgs/{org}/api-keys/{id}/revoke"), &[]).await.assert_status(303);

    api.get("/members").await.expect_error(401, "unauthorized");
    api.post("/deployments", &json!({ "name": "web", "region": "us-east-1" })).await.expect_error(401, "unauthorized");
    other.get("/members").await.expect(200);
    assert_eq!(app.count("deployments").await, 0);
    assert_eq!(app.actions(org).await, ["org.created", "api_key.created", "api_key.created", "api_key.revoked"]);
}

async fn an_expired_key_stops_working_at_once(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    let secret = owner.create_api_key(org, NewKey::named("short-lived").expiring_in_days(30)).await;
    let api = Api::with_key(app, &secret).await;
    api.get("/deployments").await.expect(200);
    api.create_deployment("web", "us-east-1").await;

    app.with_db(move |db| {
        use diesel::prelude::*;
        use steward::storage::schema::api_keys as k;
        let past = storage::now() - chrono::Duration::seconds(1);
        let n = diesel::update(k::table.filter(k::org_id.eq(org.to_string())).filter(k::name.eq("short-lived")))
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

async fn deleting_the_organization_ends_its_keys(app: &TestApp) {
    let (owner, org, api) = acme_with_key(app, "read_write").await;
    api.get("/members").await.expect(200);
    owner.post(&format!("/orgs/{org}/delete"), &[("confirm_name", "Acme")]).await.assert_status(303);
    api.get("/members").await.expect_error(401, "unauthorized");
    api.post("/deployments", &json!({ "name": "web", "region": "us-east-1" })).await.expect_error(401, "unauthorized");
}

async fn a_busy_key_gets_429_with_retry_after_and_other_keys_do_not(backend: Backend) {
    let app = TestApp::builder().limit_api_key_requests(Rate::per_minute(3)).spawn(backend).await;
    let (owner, org, api) = acme_with_key(&app, "read_write").await;
    for _ in 0..3 {
        api.get("/deployments").await.expect(200);
    }
    api.get("/deployments").await.expect_error(429, "rate_limited");
    api.post("/deployments", &json!({ "name": "web", "region": "us-east-1" })).await.expect_error(429, "rate_limited");
    assert_eq!(app.count("deployments").await, 0);
    // the limit is the key's own
    script_with_key(&app, &owner, org, NewKey::named("other").read_only()).await.get("/deployments").await.expect(200);
    app.stop().await;
}

crate::on_both_backends!(
    missing_malformed_and_unknown_keys_get_401,
    a_revoked_key_stops_working_at_once,
    an_expired_key_stops_working_at_once,
    deleting_the_organization_ends_its_keys,
    a_busy_key_gets_429_with_retry_after_and_other_keys_do_not(backend),
);
