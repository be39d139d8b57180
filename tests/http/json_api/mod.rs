//! The JSON API under /api/v1, one file per resource.
//!
//! Every endpoint, the key's permissions and scope, revocation and expiry, the organization
//! boundary, errors, pagination, the audit trail and the OpenAPI document. Every answer is also
//! checked against that document (see `support::api`).
//!
//! Most tests start from Ada's organization "Acme" and a script holding a key of hers named
//! [`KEY`] (`acme_with_key`).

mod audit;
mod deployments;
mod document;
mod errors;
mod fuzz;
mod invitations;
mod keys;
mod lists;
mod members;
mod methods;
mod permissions;
mod roles;

use serde_json::Value;
use steward::domain::OrgId;

use crate::helpers::{Client, NewKey, TestApp};
use crate::support::api::Api;

/// The name of the key most tests use: the audit log names the key by it.
const KEY: &str = "ci-script";

/// Ada's organization "Acme", and a script holding a key of hers named `KEY` with these
/// permissions (`read`, `write` or `read_write`), for every deployment.
async fn acme_with_key(app: &TestApp, permissions: &str) -> (Client, OrgId, Api) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    let secret = owner.create_api_key(org, NewKey::named(KEY).permissions(permissions)).await;
    let api = Api::with_key(app, &secret).await;
    (owner, org, api)
}

/// A script holding another key of `org`, made by its owner.
async fn script_with_key(app: &TestApp, owner: &Client, org: OrgId, key: NewKey) -> Api {
    Api::with_key(app, &owner.create_api_key(org, key).await).await
}

/// The organization's events made through the key named `key`, oldest first, are `expected`,
/// and each names the key as its actor.
async fn assert_made_by_key(app: &TestApp, org: OrgId, key: &str, expected: &[&str]) {
    let id = app.api_key_id(org, key).await;
    let events: Vec<_> =
        app.events(org).await.into_iter().filter(|e| e.body.actor_kind == "api_key" && e.actor_id.as_deref() == Some(&id)).collect();
    let actions: Vec<&str> = events.iter().map(|e| e.body.action.as_str()).collect();
    assert_eq!(actions, expected);
    for e in &events {
        assert_eq!(e.body.actor_email.as_deref(), Some(key), "{} names the key", e.body.action);
        assert_eq!(e.body.user_agent.as_deref(), Some("steward-api-tests"));
        assert_eq!(e.body.ip.as_deref(), Some("127.0.0.1"));
    }
    app.actions(org).await; // walks the hash chain
}

/// A time of the API: RFC 3339, in UTC.
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
