//! The checker's own tests, on a small document of its own: what passes, what is refused and why.

use serde_json::json;

use super::*;

fn doc() -> Value {
    json!({
        "openapi": "3.1.0",
        "info": { "title": "t", "version": "1" },
        "paths": {
            "/api/v1/things": {
                "get": { "responses": { "200": { "description": "ok", "content": { "application/json": {
                    "schema": { "type": "object", "required": ["data", "next_cursor"], "properties": {
                        "data": { "type": "array", "items": { "$ref": "#/components/schemas/Thing" } },
                        "next_cursor": { "type": ["string", "null"] }
                    } }
                } } } } }
            },
            "/api/v1/things/{id}": {
                "get": { "responses": {
                    "200": { "description": "ok", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Thing" } } } },
                    "default": { "$ref": "#/components/responses/Error" }
                } },
                "delete": { "responses": { "204": { "description": "gone" } } }
            },
            "/api/v1/things/special": {
                "get": { "responses": { "200": { "description": "ok", "content": { "text/csv": {} } } } }
            }
        },
        "components": {
            "schemas": {
                "Thing": {
                    "type": "object",
                    "required": ["id", "name", "kind", "note"],
                    "additionalProperties": false,
                    "properties": {
                        "id": { "type": "integer", "format": "int64" },
                        "name": { "type": "string" },
                        "kind": { "type": "string", "enum": ["big", "small"] },
                        "note": { "type": ["string", "null"] },
                        "at": { "type": "string", "format": "date-time" },
                        "owner": { "oneOf": [{ "type": "null" }, { "$ref": "#/components/schemas/Owner" }] },
                        "tag": { "anyOf": [{ "type": "integer" }, { "type": "string" }] },
                        "details": {}
                    }
                },
                "Owner": { "type": "object", "required": ["email"], "properties": { "email": { "type": "string" } } },
                "Error": { "type": "object", "required": ["error"], "properties": { "error": {
                    "type": "object", "required": ["code", "message"],
                    "properties": { "code": { "type": "string" }, "message": { "type": "string" } }
                } } }
            },
            "responses": {
                "Error": { "description": "error", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } }
            }
        }
    })
}

const JSON: Option<&str> = Some("application/json");

#[test]
fn a_matching_body_passes() {
    let body = json!({
        "data": [
            { "id": 1, "name": "a", "kind": "big", "note": null, "at": "2026-01-01T00:00:00Z", "owner": null, "tag": 3, "details": { "x": [1] } },
            { "id": 2, "name": "b", "kind": "small", "note": "n", "owner": { "email": "x@y" }, "tag": "t" }
        ],
        "next_cursor": "abc"
    });
    assert_eq!(check_response(&doc(), "GET", "/api/v1/things?limit=2", 200, Some("application/json; charset=utf-8"), &body.to_string()), Vec::<String>::new());
    let error = json!({ "error": { "code": "not_found", "message": "No such thing." } });
    assert!(check_response(&doc(), "get", "/api/v1/things/7", 404, JSON, &error.to_string()).is_empty(), "default answers any status");
    assert!(check_response(&doc(), "DELETE", "/api/v1/things/7", 204, None, "").is_empty());
    assert!(check_response(&doc(), "GET", "/api/v1/things/special", 200, Some("text/csv; charset=utf-8"), "a,b\n").is_empty());
}

#[test]
fn a_body_that_strays_is_refused_with_every_reason() {
    let body = json!({
        "data": [{ "id": "1", "name": "a", "kind": "huge", "extra": true, "owner": { "mail": "x" }, "tag": 1.5, "at": "yesterday" }],
        "next_cursor": 5
    });
    let errors = check_response(&doc(), "GET", "/api/v1/things", 200, JSON, &body.to_string());
    let expect = [
        "$.data[0]: the required property \"note\" is missing",
        "$.data[0].id: expected type integer, got string",
        "$.data[0].kind: \"huge\" is not one of",
        "$.data[0]: the property \"extra\" is not documented",
        "$.data[0].owner: {\"mail\":\"x\"} matches none of oneOf",
        "$.data[0].tag: 1.5 matches none of anyOf",
        "$.data[0].at: \"yesterday\" is not an RFC 3339 date-time",
        "$.next_cursor: expected type string or null, got integer",
    ];
    for e in expect {
        assert!(errors.iter().any(|got| got.starts_with(e)), "expected {e:?} among {errors:#?}");
    }
    assert_eq!(errors.len(), expect.len(), "{errors:#?}");
}

#[test]
fn undocumented_statuses_methods_paths_and_media_types_are_refused() {
    let d = doc();
    let errors = check_response(&d, "GET", "/api/v1/things", 500, JSON, "{}");
    assert!(errors[0].starts_with("status 500 is not documented for GET /api/v1/things"), "{errors:?}");
    assert_eq!(check_response(&d, "POST", "/api/v1/things", 201, JSON, "{}"), vec!["POST is not documented for /api/v1/things"]);
    assert_eq!(check_response(&d, "GET", "/api/v1/nothing", 200, JSON, "{}"), vec!["no documented path matches /api/v1/nothing"]);
    assert!(check_response(&d, "GET", "/api/v1/things/special", 200, JSON, "{}")[0].contains("is application/json"));
    assert!(check_response(&d, "DELETE", "/api/v1/things/7", 204, JSON, "{}")[0].contains("documents no content"));
    assert!(check_response(&d, "GET", "/api/v1/things", 200, JSON, "not json")[0].contains("is not JSON"));
}

#[test]
fn paths_match_by_segments_literals_first_and_through_servers() {
    let d = doc();
    assert_eq!(find_path(&d, "/api/v1/things/42").unwrap().0, "/api/v1/things/{id}");
    assert_eq!(find_path(&d, "/api/v1/things/special").unwrap().0, "/api/v1/things/special");
    assert!(find_path(&d, "/api/v1/things/42/more").is_none());
    assert!(find_path(&d, "/api/v1/things/").is_some_and(|(t, _)| t == "/api/v1/things"));

    let relative = json!({ "servers": [{ "url": "http://localhost/api/v1/" }], "paths": { "/members/{account}": { "get": {} } } });
    assert_eq!(find_operation(&relative, "get", "/api/v1/members/abc").unwrap().0, "/api/v1/members/{account}");
    assert!(find_operation(&relative, "get", "/members/abc").is_ok(), "a server's path is optional");
}

#[test]
fn schema_keywords_behave_like_json_schema() {
    let d = json!({});
    assert!(matches(&d, &json!({ "type": "integer" }), &json!(3)));
    assert!(matches(&d, &json!({ "type": "number" }), &json!(3)));
    assert!(!matches(&d, &json!({ "type": "integer" }), &json!(3.5)));
    assert!(matches(&d, &json!({ "type": "string", "nullable": true }), &Value::Null));
    assert!(matches(&d, &json!({ "type": "object" }), &json!({ "anything": 1 })), "extra properties are allowed by default");
    assert!(!matches(&d, &json!({ "oneOf": [{ "type": "integer" }, { "type": "number" }] }), &json!(1)), "oneOf means exactly one");
    assert!(matches(&d, &json!({ "allOf": [{ "required": ["a"] }, { "required": ["b"] }] }), &json!({ "a": 1, "b": 2 })));
    assert!(!matches(&d, &json!({ "allOf": [{ "required": ["a"] }, { "required": ["b"] }] }), &json!({ "a": 1 })));
    assert!(matches(&d, &json!({ "type": "array", "items": { "type": "boolean" } }), &json!([true, false])));
    assert!(!matches(&d, &json!({ "type": "array", "items": { "type": "boolean" } }), &json!([true, 0])));
    assert!(!matches(&d, &json!({ "additionalProperties": { "type": "string" } }), &json!({ "a": 1 })));
    assert!(matches(&d, &json!(true), &json!(null)) && !matches(&d, &json!(false), &json!(null)));
    let looping = json!({ "components": { "schemas": { "A": { "$ref": "#/components/schemas/A" } } } });
    assert!(!matches(&looping, &json!({ "$ref": "#/components/schemas/A" }), &json!(1)));
}
