//! The JSON API as a script sees it: a client whose every answer must match the OpenAPI document.
//!
//! It holds a key made with `Client::create_api_key`.
#![allow(dead_code)]

use std::sync::Arc;

use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::Value;

use crate::helpers::TestApp;
use crate::support::openapi;

/// One answer of the API. `json` is `Null` when the body is not JSON.
#[derive(Debug, Clone)]
pub struct Reply {
    pub method: String,
    pub path: String,
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
    pub json: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
    }

    /// Asserts the status, showing the body when it differs.
    pub fn expect(&self, status: u16) -> &Reply {
        assert_eq!(self.status, status, "{} {} answered {}:\n{}", self.method, self.path, self.status, self.text);
        self
    }

    /// Asserts an error answer as the API documents it: the status, `{"error": {"code", "message"}}`,
    /// and what goes with some statuses (WWW-Authenticate, fields, Retry-After).
    pub fn expect_error(&self, status: u16, code: &str) -> &Reply {
        self.expect(status);
        let media = self.header("content-type").unwrap_or_default();
        assert!(media.starts_with("application/json"), "{} {}: an error is JSON, not {media:?}", self.method, self.path);
        let error = &self.json["error"];
        assert_eq!(error["code"], code, "{} {}: {}", self.method, self.path, self.text);
        assert!(error["message"].as_str().is_some_and(|m| !m.trim().is_empty()), "an error has a message: {}", self.text);
        match status {
            401 => {
                let challenge = self.header("www-authenticate").unwrap_or_default();
                assert!(challenge.starts_with("Bearer"), "401 carries WWW-Authenticate: Bearer, got {challenge:?}");
            }
            422 => {
                let fields = error["fields"].as_array().unwrap_or_else(|| panic!("422 lists its fields: {}", self.text));
                assert!(!fields.is_empty(), "422 names at least one field: {}", self.text);
                for f in fields {
                    assert!(f["field"].is_string() && f["message"].as_str().is_some_and(|m| !m.is_empty()), "{f}");
                }
            }
            429 => assert!(self.header("retry-after").is_some_and(|s| s.parse::<u64>().is_ok()), "429 carries Retry-After"),
            _ => {}
        }
        self
    }

    /// The fields a 422 names.
    pub fn invalid_fields(&self) -> Vec<String> {
        self.json["error"]["fields"].as_array().into_iter().flatten().filter_map(|f| f["field"].as_str().map(str::to_owned)).collect()
    }

    /// The items of a list answer.
    pub fn data(&self) -> &Vec<Value> {
        self.json["data"].as_array().unwrap_or_else(|| panic!("{} {}: not a list: {}", self.method, self.path, self.text))
    }

    /// The values of `field` in a list answer's items.
    pub fn data_field(&self, field: &str) -> Vec<String> {
        self.data().iter().map(|item| item[field].as_str().unwrap_or_else(|| panic!("{field} in {item}")).to_string()).collect()
    }

    pub fn next_cursor(&self) -> Option<String> {
        assert!(self.json.get("next_cursor").is_some(), "a list always says next_cursor: {}", self.text);
        self.json["next_cursor"].as_str().map(str::to_owned)
    }

    /// A string field of a JSON object answer.
    pub fn str(&self, field: &str) -> String {
        self.json[field].as_str().unwrap_or_else(|| panic!("no string {field:?} in {}", self.text)).to_string()
    }
}

/// A script's client of `/api/v1`: an optional key, and the document every answer must match.
pub struct Api {
    pub base: String,
    authorization: Option<String>,
    http: reqwest::Client,
    pub spec: Arc<Value>,
}

impl Api {
    async fn build(app: &TestApp, authorization: Option<String>) -> Api {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent("steward-api-tests")
            .build()
            .expect("client");
        Api { base: app.base.clone(), authorization, http, spec: openapi::spec_of(&app.base).await }
    }

    /// A client presenting `key` as a bearer token.
    pub async fn new(app: &TestApp, key: Option<&str>) -> Api {
        Api::build(app, key.map(|k| format!("Bearer {k}"))).await
    }

    pub async fn with_key(app: &TestApp, key: &str) -> Api {
        Api::new(app, Some(key)).await
    }

    /// A client sending exactly this `Authorization` header.
    pub async fn with_authorization(app: &TestApp, header: &str) -> Api {
        Api::build(app, Some(header.to_string())).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, json: &Value) -> Reply {
        self.send(Method::POST, path, Some(("application/json", json.to_string().into_bytes()))).await
    }

    /// A POST without a body (actions such as resend).
    pub async fn post_empty(&self, path: &str) -> Reply {
        self.send(Method::POST, path, None).await
    }

    pub async fn patch(&self, path: &str, json: &Value) -> Reply {
        self.send(Method::PATCH, path, Some(("application/json", json.to_string().into_bytes()))).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.send(Method::DELETE, path, None).await
    }

    /// Sends `body` as is, with this content type (for malformed and oversized bodies).
    pub async fn send_raw(&self, method: Method, path: &str, content_type: &'static str, body: Vec<u8>) -> Reply {
        self.send(method, path, Some((content_type, body))).await
    }

    /// Creates a deployment, expecting success; returns its id.
    pub async fn create_deployment(&self, name: &str, region: &str) -> String {
        let created = self.post("/deployments", &serde_json::json!({ "name": name, "region": region })).await;
        created.expect(201);
        created.str("id")
    }

    /// Invites `email` as `role`, expecting success; returns the invitation's id.
    pub async fn invite(&self, email: &str, role: &str) -> String {
        let created = self.post("/invitations", &serde_json::json!({ "email": email, "role": role })).await;
        created.expect(201);
        created.str("id")
    }

    /// Creates a custom role holding `permissions`, expecting success; returns its id.
    pub async fn create_role(&self, name: &str, permissions: &[&str]) -> String {
        let created = self.post("/roles", &serde_json::json!({ "name": name, "permissions": permissions })).await;
        created.expect(201);
        created.str("id")
    }

    /// `path` is relative to `/api/v1`.
    async fn send(&self, method: Method, path: &str, body: Option<(&'static str, Vec<u8>)>) -> Reply {
        let full = format!("/api/v1{path}");
        let mut request = self.http.request(method.clone(), format!("{}{full}", self.base));
        if let Some(auth) = &self.authorization {
            request = request.header("authorization", auth);
        }
        if let Some((content_type, bytes)) = body {
            request = request.header("content-type", content_type).body(bytes);
        }
        let resp = request.send().await.unwrap_or_else(|e| panic!("{method} {full}: {e}"));
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap_or_else(|e| panic!("{method} {full}: reading the body: {e}"));
        let content_type = headers.get("content-type").and_then(|v| v.to_str().ok());
        openapi::assert_documented(&self.spec, method.as_str(), &full, status, content_type, &text);
        let json = if content_type.is_some_and(|c| c.starts_with("application/json")) {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{method} {full}: the JSON body does not parse ({e}): {text}"))
        } else {
            Value::Null
        };
        Reply { method: method.to_string(), path: full, status, headers, text, json }
    }
}
