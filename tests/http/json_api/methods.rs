//! A method a path of the API does not take: 405, with an `Allow` header listing the methods it
//! does and the API's JSON error; a path the API does not have stays a 404.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::Value;

use crate::helpers::TestApp;

/// The methods tried on every path.
const METHODS: [&str; 6] = ["GET", "POST", "PUT", "PATCH", "DELETE", "TRACE"];

/// Every path of the API with the methods it takes: the paths of its OpenAPI document (their
/// parameters filled in), and the document itself.
async fn paths_and_methods(app: &TestApp) -> Vec<(String, BTreeSet<String>)> {
    let doc: Value = reqwest::get(format!("{}/api/v1/openapi.json", app.base)).await.expect("GET").json().await.expect("JSON");
    let mut all = vec![("/api/v1/openapi.json".to_string(), BTreeSet::from(["GET".to_string()]))];
    for (template, item) in doc["paths"].as_object().expect("paths") {
        let path = template
            .split('/')
            .map(|segment| if segment.starts_with('{') { "0193a5b0-7c1e-7b3a-9e4f-1a2b3c4d5e6f" } else { segment })
            .collect::<Vec<_>>()
            .join("/");
        let methods = item
            .as_object()
            .expect("a path item")
            .keys()
            .filter(|k| METHODS.iter().any(|m| m.eq_ignore_ascii_case(k)))
            .map(|k| k.to_ascii_uppercase())
            .collect();
        all.push((path, methods));
    }
    assert!(all.len() > 10, "the document lists the API's paths: {all:?}");
    all
}

async fn every_api_path_answers_a_method_it_does_not_take_with_405_and_allow(app: &TestApp) {
    let http = reqwest::Client::new();
    for (path, allowed) in paths_and_methods(app).await {
        for method in METHODS.iter().filter(|m| !allowed.contains(**m)) {
            let resp = http
                .request(Method::from_bytes(method.as_bytes()).expect("method"), format!("{}{path}", app.base))
                .send()
                .await
                .expect("request");
            assert_eq!(resp.status().as_u16(), 405, "{method} {path}");
            let allow = resp.headers().get("allow").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
            let listed: BTreeSet<String> = allow.split(',').map(|m| m.trim().to_string()).filter(|m| !m.is_empty()).collect();
            assert_eq!(listed, allowed, "{method} {path}: Allow: {allow}");
            let media = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
            assert!(media.starts_with("application/json"), "{method} {path}: {media}");
            let body: Value = resp.json().await.expect("JSON");
            assert_eq!(body["error"]["code"], "method_not_allowed", "{method} {path}: {body}");
            assert!(body["error"]["message"].as_str().is_some_and(|m| m.contains(&allow)), "{method} {path}: {body}");
        }
    }
}

async fn the_methods_a_path_takes_still_reach_it(app: &TestApp) {
    let http = reqwest::Client::new();
    for (path, allowed) in paths_and_methods(app).await {
        for method in &allowed {
            let resp = http
                .request(Method::from_bytes(method.as_bytes()).expect("method"), format!("{}{path}", app.base))
                .send()
                .await
                .expect("request");
            let status = resp.status().as_u16();
            // without a key every endpoint but the document asks for one
            let expected = if path.ends_with("/openapi.json") { 200 } else { 401 };
            assert_eq!(status, expected, "{method} {path}");
        }
    }
}

async fn the_examples_answer_405_with_their_allow_and_an_unknown_path_stays_404(app: &TestApp) {
    let http = reqwest::Client::new();
    for (method, path, allow) in [
        ("TRACE", "/api/v1/audit-events.csv", "GET"),
        ("PUT", "/api/v1/members", "GET"),
        ("POST", "/api/v1/members/0193a5b0-7c1e-7b3a-9e4f-1a2b3c4d5e6f", "GET, PATCH, DELETE"),
        ("GET", "/api/v1/invitations/0193a5b0-7c1e-7b3a-9e4f-1a2b3c4d5e6f/resend", "POST"),
    ] {
        let resp = http.request(Method::from_bytes(method.as_bytes()).expect("method"), format!("{}{path}", app.base)).send().await.expect("request");
        assert_eq!(resp.status().as_u16(), 405, "{method} {path}");
        assert_eq!(resp.headers()["allow"], allow, "{method} {path}");
    }
    for (method, path) in [("PUT", "/api/v1/nothing-here"), ("GET", "/api/v1/members/x/y"), ("TRACE", "/api/v1/audit-events.json")] {
        let resp = http.request(Method::from_bytes(method.as_bytes()).expect("method"), format!("{}{path}", app.base)).send().await.expect("request");
        assert_eq!(resp.status().as_u16(), 404, "{method} {path}");
        assert!(resp.headers().get("allow").is_none(), "{method} {path}");
        let body: Value = resp.json().await.expect("JSON");
        assert_eq!(body["error"]["code"], "not_found", "{method} {path}");
    }
}

crate::on_both_backends!(
    every_api_path_answers_a_method_it_does_not_take_with_405_and_allow,
    the_methods_a_path_takes_still_reach_it,
    the_examples_answer_405_with_their_allow_and_an_unknown_path_stays_404,
);
