//! A small checker of answers against the served OpenAPI document.
//!
//! It finds the operation of a request by method and path template, checks that the status is
//! documented, and validates the JSON body against the documented schema (the subset of JSON
//! Schema that utoipa emits).
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::Value;

/// The API's OpenAPI document, fetched once per running app (keyed by its base URL).
pub async fn spec_of(base: &str) -> Arc<Value> {
    static DOCS: OnceLock<Mutex<HashMap<String, Arc<Value>>>> = OnceLock::new();
    let docs = DOCS.get_or_init(Default::default);
    if let Some(doc) = docs.lock().expect("lock").get(base) {
        return doc.clone();
    }
    let resp = reqwest::get(format!("{base}/api/v1/openapi.json")).await.expect("GET /api/v1/openapi.json");
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("the OpenAPI document's body");
    assert_eq!(status, 200, "GET /api/v1/openapi.json (no key) answered {status}:\n{text}");
    let doc: Arc<Value> = Arc::new(serde_json::from_str(&text).expect("the OpenAPI document is JSON"));
    docs.lock().expect("lock").insert(base.to_string(), doc.clone());
    doc
}

/// The path prefixes the document's `servers` put in front of its paths ("" when none).
fn server_prefixes(doc: &Value) -> Vec<String> {
    let mut prefixes = vec![String::new()];
    for server in doc["servers"].as_array().into_iter().flatten() {
        let Some(url) = server["url"].as_str() else { continue };
        // "http://host:port/api/v1" or "/api/v1": keep the path only
        let path = match url.split_once("://") {
            Some((_, rest)) => rest.find('/').map(|i| &rest[i..]).unwrap_or(""),
            None => url,
        };
        let path = path.trim_end_matches('/');
        if !path.is_empty() && !prefixes.iter().any(|p| p == path) {
            prefixes.push(path.to_string());
        }
    }
    prefixes
}

fn is_template(segment: &str) -> bool {
    segment.len() > 2 && segment.starts_with('{') && segment.ends_with('}')
}

/// How well `template` matches `path`, segment by segment: None when it does not, else the
/// number of literal segments (so that `/members/me` would beat `/members/{account}`).
fn template_score(template: &str, path: &str) -> Option<usize> {
    let t: Vec<&str> = template.trim_end_matches('/').split('/').collect();
    let p: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    if t.len() != p.len() {
        return None;
    }
    let mut literal = 0;
    for (t, p) in t.iter().zip(&p) {
        if is_template(t) {
            if p.is_empty() {
                return None;
            }
        } else if t == p {
            literal += 1;
        } else {
            return None;
        }
    }
    Some(literal)
}

/// The documented path template of a request path (query ignored), and its path item.
pub fn find_path<'a>(doc: &'a Value, path: &str) -> Option<(String, &'a Value)> {
    let path = path.split(['?', '#']).next().unwrap_or(path);
    let paths = doc["paths"].as_object()?;
    let mut best: Option<(usize, String, &Value)> = None;
    for prefix in server_prefixes(doc) {
        let Some(rest) = path.strip_prefix(prefix.as_str()) else { continue };
        let rest = if rest.is_empty() { "/" } else { rest };
        for (template, item) in paths {
            if let Some(score) = template_score(template, rest) {
                if best.as_ref().is_none_or(|(s, _, _)| score > *s) {
                    best = Some((score, format!("{prefix}{template}"), item));
                }
            }
        }
    }
    best.map(|(_, t, item)| (t, item))
}

/// The operation documented for `method` (any case) on `path`, with its full template.
pub fn find_operation<'a>(doc: &'a Value, method: &str, path: &str) -> Result<(String, &'a Value), String> {
    let (template, item) = find_path(doc, path).ok_or_else(|| format!("no documented path matches {path}"))?;
    let method = method.to_ascii_lowercase();
    match item.get(method.as_str()) {
        Some(op) => Ok((template, op)),
        None => Err(format!("{} is not documented for {template}", method.to_ascii_uppercase())),
    }
}

/// Follows `$ref`s (local ones, `#/…`) to the object they name.
fn resolve<'a>(doc: &'a Value, mut value: &'a Value) -> Result<&'a Value, String> {
    for _ in 0..32 {
        match value.get("$ref").and_then(Value::as_str) {
            Some(reference) => {
                let pointer = reference.strip_prefix('#').ok_or_else(|| format!("non-local $ref {reference}"))?;
                value = doc.pointer(pointer).ok_or_else(|| format!("$ref {reference} names nothing"))?;
            }
            None => return Ok(value),
        }
    }
    Err("a $ref cycle".into())
}

/// The media type of a Content-Type header, without parameters, in lower case.
fn media_type(content_type: &str) -> String {
    content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase()
}

/// Everything in an answer that the document does not describe; empty when all is well.
pub fn check_response(doc: &Value, method: &str, path: &str, status: u16, content_type: Option<&str>, body: &str) -> Vec<String> {
    let (template, op) = match find_operation(doc, method, path) {
        Ok(found) => found,
        Err(e) => return vec![e],
    };
    let responses = &op["responses"];
    let wildcard = format!("{}XX", status / 100);
    let documented = [status.to_string(), wildcard.clone(), wildcard.to_ascii_lowercase(), "default".into()]
        .into_iter()
        .find_map(|key| responses.get(key.as_str()));
    let Some(response) = documented else {
        let listed: Vec<&String> = responses.as_object().map(|o| o.keys().collect()).unwrap_or_default();
        return vec![format!("status {status} is not documented for {} {template} (documented: {listed:?})", method.to_ascii_uppercase())];
    };
    let response = match resolve(doc, response) {
        Ok(r) => r,
        Err(e) => return vec![format!("response {status}: {e}")],
    };
    let content = response.get("content").and_then(Value::as_object);
    let media = content_type.map(media_type).filter(|m| !m.is_empty());
    let Some(content) = content.filter(|c| !c.is_empty()) else {
        return if body.is_empty() {
            Vec::new()
        } else {
            vec![format!("response {status} has a body ({}) but documents no content", media.unwrap_or_else(|| "no content type".into()))]
        };
    };
    if body.is_empty() && status == 204 {
        return Vec::new();
    }
    let Some(media) = media else {
        return vec![format!("response {status} has no Content-Type; documented: {:?}", content.keys().collect::<Vec<_>>())];
    };
    let Some(entry) = content.get(&media).or_else(|| content.get(&format!("{}/*", media.split('/').next().unwrap_or("")))).or_else(|| content.get("*/*")) else {
        return vec![format!("response {status} is {media}; documented: {:?}", content.keys().collect::<Vec<_>>())];
    };
    let is_json = media == "application/json" || media.ends_with("+json");
    let Some(schema) = entry.get("schema").filter(|_| is_json) else { return Vec::new() };
    let value: Value = match serde_json::from_str(body) {
        Ok(v) => v,
        Err(e) => return vec![format!("response {status} says {media} but its body is not JSON ({e}): {body}")],
    };
    let mut errors = Vec::new();
    validate(doc, schema, &value, "$", &mut errors);
    errors
}

/// Panics, naming every mismatch, when the answer strays from the document.
pub fn assert_documented(doc: &Value, method: &str, path: &str, status: u16, content_type: Option<&str>, body: &str) {
    let errors = check_response(doc, method, path, status, content_type, body);
    if !errors.is_empty() {
        panic!(
            "{} {path} answered {status}, which does not match the OpenAPI document:\n  - {}\nbody: {body}",
            method.to_ascii_uppercase(),
            errors.join("\n  - ")
        );
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn has_type(value: &Value, ty: &str) -> bool {
    match ty {
        "integer" => value.as_i64().is_some() || value.as_u64().is_some() || value.as_f64().is_some_and(|f| f.fract() == 0.0),
        "number" => value.is_number(),
        other => type_name(value) == other,
    }
}

fn short(value: &Value) -> String {
    let s = value.to_string();
    if s.chars().count() > 80 { format!("{}…", s.chars().take(80).collect::<String>()) } else { s }
}

/// Whether `value` matches `schema`, without collecting why not.
pub fn matches(doc: &Value, schema: &Value, value: &Value) -> bool {
    let mut errors = Vec::new();
    validate(doc, schema, value, "$", &mut errors);
    errors.is_empty()
}

/// Validates `value` against `schema`, pushing one message per mismatch, each naming where.
pub fn validate(doc: &Value, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
    validate_depth(doc, schema, value, at, errors, 0)
}

fn validate_depth(doc: &Value, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>, depth: usize) {
    if depth > 64 {
        errors.push(format!("{at}: the schema nests too deep (a $ref cycle?)"));
        return;
    }
    let schema = match schema {
        Value::Bool(true) => return,
        Value::Bool(false) => {
            errors.push(format!("{at}: no value is allowed here, got {}", short(value)));
            return;
        }
        Value::Object(o) => o,
        other => {
            errors.push(format!("{at}: the schema is not an object: {other}"));
            return;
        }
    };
    let recurse = |s: &Value, v: &Value, at: &str, errors: &mut Vec<String>| validate_depth(doc, s, v, at, errors, depth + 1);

    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        match reference.strip_prefix('#').and_then(|p| doc.pointer(p)) {
            Some(target) => recurse(target, value, at, errors),
            None => errors.push(format!("{at}: $ref {reference} names nothing in the document")),
        }
    }

    // OpenAPI 3.0's `nullable` lets null through whatever else the schema says
    if value.is_null() && schema.get("nullable").and_then(Value::as_bool) == Some(true) {
        return;
    }

    if let Some(ty) = schema.get("type") {
        let allowed: Vec<&str> = match ty {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        if !allowed.is_empty() && !allowed.iter().any(|t| has_type(value, t)) {
            errors.push(format!("{at}: expected type {}, got {} {}", allowed.join(" or "), type_name(value), short(value)));
            return;
        }
    }

    if let Some(options) = schema.get("enum").and_then(Value::as_array) {
        if !options.contains(value) {
            errors.push(format!("{at}: {} is not one of {}", short(value), Value::Array(options.clone())));
        }
    }
    if let Some(constant) = schema.get("const") {
        if constant != value {
            errors.push(format!("{at}: expected {constant}, got {}", short(value)));
        }
    }

    if let (Some("date-time"), Some(s)) = (schema.get("format").and_then(Value::as_str), value.as_str()) {
        if chrono::DateTime::parse_from_rfc3339(s).is_err() {
            errors.push(format!("{at}: {s:?} is not an RFC 3339 date-time"));
        }
    }
    if let (Some("uuid"), Some(s)) = (schema.get("format").and_then(Value::as_str), value.as_str()) {
        if uuid::Uuid::parse_str(s).is_err() {
            errors.push(format!("{at}: {s:?} is not a UUID"));
        }
    }

    if let Some(object) = value.as_object() {
        let properties = schema.get("properties").and_then(Value::as_object);
        for name in schema.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
            if !object.contains_key(name) {
                errors.push(format!("{at}: the required property {name:?} is missing"));
            }
        }
        for (name, v) in object {
            let child = format!("{at}.{name}");
            match properties.and_then(|p| p.get(name)) {
                Some(s) => recurse(s, v, &child, errors),
                None => match schema.get("additionalProperties") {
                    Some(Value::Bool(false)) => errors.push(format!("{at}: the property {name:?} is not documented")),
                    Some(extra @ Value::Object(_)) => recurse(extra, v, &child, errors),
                    _ => {}
                },
            }
        }
    }

    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        for (i, v) in array.iter().enumerate() {
            recurse(items, v, &format!("{at}[{i}]"), errors);
        }
    }

    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        for s in all {
            recurse(s, value, at, errors);
        }
    }
    if let Some(any) = schema.get("anyOf").and_then(Value::as_array) {
        let mut why = Vec::new();
        if !any.iter().any(|s| {
            let mut e = Vec::new();
            recurse(s, value, at, &mut e);
            let ok = e.is_empty();
            why.extend(e);
            ok
        }) {
            errors.push(format!("{at}: {} matches none of anyOf ({})", short(value), why.join("; ")));
        }
    }
    if let Some(one) = schema.get("oneOf").and_then(Value::as_array) {
        let mut why = Vec::new();
        let matched = one
            .iter()
            .filter(|s| {
                let mut e = Vec::new();
                recurse(s, value, at, &mut e);
                let ok = e.is_empty();
                why.extend(e);
                ok
            })
            .count();
        match matched {
            1 => {}
            0 => errors.push(format!("{at}: {} matches none of oneOf ({})", short(value), why.join("; "))),
            n => errors.push(format!("{at}: {} matches {n} schemas of oneOf, not exactly one", short(value))),
        }
    }
}

#[cfg(test)]
mod tests;
