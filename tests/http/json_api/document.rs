//! The OpenAPI document: served without a key, OpenAPI 3.1, every endpoint, every `$ref` resolving.

use serde_json::Value;

use crate::helpers::TestApp;
use crate::support::openapi;

/// Every endpoint of the API, with its path as documented (parameter names aside).
const ENDPOINTS: &[(&str, &str)] = &[
    ("GET", "/api/v1/members"),
    ("GET", "/api/v1/members/{account}"),
    ("PATCH", "/api/v1/members/{account}"),
    ("DELETE", "/api/v1/members/{account}"),
    ("GET", "/api/v1/invitations"),
    ("POST", "/api/v1/invitations"),
    ("POST", "/api/v1/invitations/{id}/resend"),
    ("DELETE", "/api/v1/invitations/{id}"),
    ("GET", "/api/v1/roles"),
    ("POST", "/api/v1/roles"),
    ("GET", "/api/v1/roles/{role}"),
    ("PATCH", "/api/v1/roles/{role}"),
    ("DELETE", "/api/v1/roles/{role}"),
    ("GET", "/api/v1/audit-events"),
    ("GET", "/api/v1/audit-events.csv"),
    ("GET", "/api/v1/audit-events/head"),
    ("GET", "/api/v1/deployments"),
    ("POST", "/api/v1/deployments"),
    ("GET", "/api/v1/deployments/{id}"),
    ("PATCH", "/api/v1/deployments/{id}"),
    ("DELETE", "/api/v1/deployments/{id}"),
];

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

crate::on_both_backends!(
    the_openapi_document_is_3_1_lists_every_endpoint_and_needs_no_key,
);
