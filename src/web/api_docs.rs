//! `/api/docs`: the JSON API's reference, a page read from the same OpenAPI document the server
//! serves at `/api/v1/openapi.json`, so that the two never disagree.

use std::sync::OnceLock;

use actix_web::{HttpResponse, web};
use askama::Template;
use serde_json::Value;
use utoipa::OpenApi;

use crate::api::openapi::ApiDoc;
use crate::app::AppState;
use crate::web::error::WebError;
use crate::web::shell::{self, SignedOutShell};

/// Text of the document, in runs: `code` ones were between backticks.
pub type Text = Vec<Run>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub code: bool,
    pub text: String,
}

/// A schema's type as the page shows it, with the named schema it refers to (a link).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeView {
    pub label: String,
    pub schema: Option<String>,
    /// What the value must be besides its type: a range, a length, a choice of values.
    pub constraints: String,
}

#[derive(Debug, Clone)]
pub struct ParamView {
    pub name: String,
    pub location: String,
    pub required: bool,
    pub ty: TypeView,
    pub description: Text,
}

#[derive(Debug, Clone)]
pub struct FieldView {
    pub name: String,
    pub required: bool,
    pub ty: TypeView,
    pub description: Text,
}

#[derive(Debug, Clone)]
pub struct BodyView {
    pub media: String,
    pub required: bool,
    pub ty: TypeView,
    pub fields: Vec<FieldView>,
}

#[derive(Debug, Clone)]
pub struct ResponseView {
    pub status: String,
    pub description: Text,
    pub media: String,
    pub ty: Option<TypeView>,
}

#[derive(Debug, Clone)]
pub struct OperationView {
    pub anchor: String,
    pub method: String,
    /// `get`, `post`, … for the method's colour.
    pub method_class: String,
    pub path: String,
    /// The path under the API's base, for the table of contents.
    pub short_path: String,
    pub summary: Text,
    pub description: Vec<Text>,
    /// Whether it takes the API key (every endpoint but the document itself).
    pub authenticated: bool,
    pub parameters: Vec<ParamView>,
    pub body: Option<BodyView>,
    pub responses: Vec<ResponseView>,
}

#[derive(Debug, Clone)]
pub struct GroupView {
    pub anchor: String,
    pub name: String,
    pub description: Text,
    pub operations: Vec<OperationView>,
}

#[derive(Debug, Clone)]
pub struct SchemaView {
    pub anchor: String,
    pub name: String,
    pub description: Text,
    pub fields: Vec<FieldView>,
    /// For a schema that is not an object: its type.
    pub ty: Option<TypeView>,
}

/// The whole reference, read once from the document.
#[derive(Debug, Clone)]
pub struct Reference {
    pub title: String,
    pub version: String,
    pub description: Text,
    pub bearer_format: String,
    pub auth_description: Text,
    pub groups: Vec<GroupView>,
    pub schemas: Vec<SchemaView>,
}

#[derive(Template)]
#[template(path = "api_docs/index.html")]
struct DocsPage<'a> {
    shell: SignedOutShell,
    /// Where the API answers: the console's base URL and `/api/v1`.
    base: String,
    reference: &'a Reference,
}

/// `GET /api/docs`, for anyone: the reference says nothing a key would not.
pub async fn show(state: web::Data<AppState>) -> Result<HttpResponse, WebError> {
    static REFERENCE: OnceLock<Reference> = OnceLock::new();
    let reference = REFERENCE.get_or_init(|| {
        let document = serde_json::to_value(ApiDoc::openapi()).unwrap_or(Value::Null);
        reference(&document)
    });
    let page = DocsPage {
        shell: SignedOutShell::bare("API reference"),
        base: format!("{}/api/v1", state.config.base_url),
        reference,
    };
    shell::ok(&page)
}

/// The methods in the order the page lists them under a path.
const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// Reads the reference out of an OpenAPI 3.1 document.
pub fn reference(doc: &Value) -> Reference {
    let info = &doc["info"];
    let scheme = doc["components"]["securitySchemes"].as_object().and_then(|s| s.values().next()).cloned().unwrap_or(Value::Null);
    let mut groups: Vec<GroupView> = doc["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|tag| {
            let name = tag["name"].as_str()?;
            Some(GroupView { anchor: format!("tag-{name}"), name: name.to_string(), description: text(&tag["description"]), operations: Vec::new() })
        })
        .collect();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for method in METHODS {
            let Some(op) = item.get(method).filter(|op| op.is_object()) else { continue };
            let tag = op["tags"].get(0).and_then(Value::as_str).unwrap_or("other");
            let index = match groups.iter().position(|g| g.name == tag) {
                Some(i) => i,
                None => {
                    groups.push(GroupView { anchor: format!("tag-{tag}"), name: tag.to_string(), description: Vec::new(), operations: Vec::new() });
                    groups.len() - 1
                }
            };
            groups[index].operations.push(operation(doc, method, path, item, op));
        }
    }
    groups.retain(|g| !g.operations.is_empty());
    let schemas = doc["components"]["schemas"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(name, schema)| {
            let fields = fields(doc, schema);
            SchemaView {
                anchor: format!("schema-{name}"),
                name: name.clone(),
                description: text(&schema["description"]),
                ty: fields.is_empty().then(|| type_view(schema)),
                fields,
            }
        })
        .collect();
    Reference {
        title: info["title"].as_str().unwrap_or("API").to_string(),
        version: info["version"].as_str().unwrap_or_default().to_string(),
        description: text(&info["description"]),
        bearer_format: scheme["bearerFormat"].as_str().unwrap_or_default().to_string(),
        auth_description: text(&scheme["description"]),
        groups,
        schemas,
    }
}

fn operation(doc: &Value, method: &str, path: &str, item: &Value, op: &Value) -> OperationView {
    // parameters may be given for the whole path and for the operation; the operation's win
    let mut parameters: Vec<ParamView> = Vec::new();
    for p in op["parameters"].as_array().into_iter().flatten().chain(item["parameters"].as_array().into_iter().flatten()) {
        let p = resolve(doc, p);
        let name = p["name"].as_str().unwrap_or_default().to_string();
        let location = p["in"].as_str().unwrap_or_default().to_string();
        if parameters.iter().any(|q| q.name == name && q.location == location) {
            continue;
        }
        parameters.push(ParamView {
            required: p["required"].as_bool().unwrap_or(location == "path"),
            ty: type_view(&p["schema"]),
            description: text(&p["description"]),
            name,
            location,
        });
    }
    let body = op.get("requestBody").map(|b| resolve(doc, b)).and_then(|b| {
        let (media, content) = b["content"].as_object()?.iter().next()?;
        Some(BodyView {
            media: media.clone(),
            required: b["required"].as_bool().unwrap_or(false),
            ty: type_view(&content["schema"]),
            fields: fields(doc, &content["schema"]),
        })
    });
    let responses = op["responses"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(status, response)| {
            let response = resolve(doc, response);
            let content = response["content"].as_object().and_then(|c| c.iter().next());
            let description = match response["description"].as_str().map(str::trim) {
                Some(d) if !d.is_empty() => text(&Value::from(d)),
                _ => text(&Value::from(usual_meaning(status))),
            };
            ResponseView {
                status: status.clone(),
                description,
                media: content.map(|(media, _)| media.clone()).unwrap_or_default(),
                ty: content.map(|(_, c)| type_view(&c["schema"])).filter(|t| !t.label.is_empty()),
            }
        })
        .collect();
    let description = op["description"]
        .as_str()
        .map(|d| d.split("\n\n").map(|p| text(&Value::from(p))).filter(|p| !p.is_empty()).collect())
        .unwrap_or_default();
    OperationView {
        anchor: format!("{method}-{}", slug(path)),
        method: method.to_ascii_uppercase(),
        method_class: method.to_string(),
        path: path.to_string(),
        short_path: path.strip_prefix("/api/v1").filter(|p| !p.is_empty()).unwrap_or(path).to_string(),
        summary: text(&op["summary"]),
        description,
        authenticated: op["security"].as_array().is_some_and(|s| !s.is_empty()) || doc["security"].as_array().is_some_and(|s| !s.is_empty()),
        parameters,
        body,
        responses,
    }
}

/// What a status says when the document gives it no words.
fn usual_meaning(status: &str) -> &'static str {
    match status {
        "200" => "OK.",
        "201" => "Created.",
        "204" => "Done; no content.",
        "4XX" => "Refused: the error's code says why (unauthorized, forbidden, not_found, invalid, conflict, rate_limited, …).",
        "5XX" => "An unexpected error; nothing was changed.",
        _ => "",
    }
}

/// The fields of an object schema (through a `$ref`, and the parts of an `allOf`).
fn fields(doc: &Value, schema: &Value) -> Vec<FieldView> {
    let schema = resolve(doc, schema);
    if let Some(parts) = schema["allOf"].as_array() {
        return parts.iter().flat_map(|part| fields(doc, part)).collect();
    }
    let required: Vec<&str> = schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    schema["properties"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(name, property)| FieldView {
            name: name.clone(),
            required: required.contains(&name.as_str()),
            ty: type_view(property),
            description: text(&property["description"]),
        })
        .collect()
}

/// `$ref` followed, once: the page names a referred schema rather than spelling it out again.
fn resolve<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    value["$ref"].as_str().and_then(|r| r.strip_prefix('#')).and_then(|p| doc.pointer(p)).unwrap_or(value)
}

fn schema_name(value: &Value) -> Option<String> {
    value["$ref"].as_str().and_then(|r| r.rsplit('/').next()).map(str::to_string)
}

/// A schema's type in a few words: `string`, `integer (int64)`, `array of Member`, `Role`, and
/// `or null` when it may be null.
pub fn type_view(schema: &Value) -> TypeView {
    let mut constraints = Vec::new();
    if let Some(values) = schema["enum"].as_array() {
        let values: Vec<String> = values.iter().map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())).collect();
        constraints.push(format!("one of {}", values.join(", ")));
    }
    match (schema["minimum"].as_f64(), schema["maximum"].as_f64()) {
        (Some(min), Some(max)) => constraints.push(format!("{min} to {max}")),
        (Some(min), None) => constraints.push(format!("at least {min}")),
        (None, Some(max)) => constraints.push(format!("at most {max}")),
        (None, None) => {}
    }
    match (schema["minLength"].as_u64(), schema["maxLength"].as_u64()) {
        (Some(min), Some(max)) => constraints.push(format!("{min} to {max} characters")),
        (Some(min), None) => constraints.push(format!("at least {min} characters")),
        (None, Some(max)) => constraints.push(format!("at most {max} characters")),
        (None, None) => {}
    }
    if let Some(items) = schema["minItems"].as_u64() {
        constraints.push(format!("at least {items} items"));
    }
    if let Some(pattern) = schema["pattern"].as_str() {
        constraints.push(match choices(pattern) {
            Some((values, optional)) => format!("one of {}{}", values.join(", "), if optional { " (or empty)" } else { "" }),
            None => format!("matches {pattern}"),
        });
    }
    let (label, referred) = label(schema);
    TypeView { label, schema: referred, constraints: constraints.join("; ") }
}

/// The values of a pattern that is a plain choice, `^(a|b|c)$`, and whether it may be empty
/// (`^(a|b|c)?$`): read as words rather than as a regular expression.
fn choices(pattern: &str) -> Option<(Vec<String>, bool)> {
    let inner = pattern.strip_prefix("^(")?;
    let (inner, optional) = match inner.strip_suffix(")?$") {
        Some(inner) => (inner, true),
        None => (inner.strip_suffix(")$")?, false),
    };
    let literal = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-');
    inner
        .split('|')
        .map(|choice| {
            let plain = choice.replace("\\.", ".");
            plain.chars().all(|c| literal(c) || c == '.').then_some(plain).filter(|p| !p.is_empty())
        })
        .collect::<Option<Vec<String>>>()
        .map(|values| (values, optional))
}

fn label(schema: &Value) -> (String, Option<String>) {
    if let Some(name) = schema_name(schema) {
        return (name.clone(), Some(name));
    }
    for (key, joint) in [("allOf", " and "), ("oneOf", " or "), ("anyOf", " or ")] {
        if let Some(parts) = schema[key].as_array() {
            let labels: Vec<(String, Option<String>)> = parts.iter().map(label).collect();
            let referred = labels.iter().find_map(|(_, r)| r.clone());
            return (labels.into_iter().map(|(l, _)| l).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(joint), referred);
        }
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let nullable = types.contains(&"null");
    let mut referred = None;
    let named: Vec<String> = types
        .iter()
        .filter(|t| **t != "null")
        .map(|t| match *t {
            "array" => {
                let (items, r) = label(&schema["items"]);
                referred = r;
                if items.is_empty() { "array".to_string() } else { format!("array of {items}") }
            }
            other => match schema["format"].as_str() {
                Some(format) => format!("{other} ({format})"),
                None => other.to_string(),
            },
        })
        .collect();
    let mut out = named.join(" or ");
    if nullable {
        out = if out.is_empty() { "null".into() } else { format!("{out} or null") };
    }
    (out, referred)
}

/// A description as runs of plain text and code (between backticks), its line breaks
/// (the width of a doc comment, not of the page) joined.
pub fn text(value: &Value) -> Text {
    let Some(raw) = value.as_str() else { return Vec::new() };
    let joined = raw.split('\n').map(str::trim).collect::<Vec<_>>().join(" ");
    joined
        .split('`')
        .enumerate()
        .filter(|(_, t)| !t.is_empty())
        .map(|(i, t)| Run { code: i % 2 == 1, text: t.to_string() })
        .collect()
}

/// A path as an anchor: `/api/v1/members/{account}` → `api-v1-members-account`.
fn slug(path: &str) -> String {
    path.split(|c: char| !c.is_ascii_alphanumeric()).filter(|s| !s.is_empty()).collect::<Vec<_>>().join("-")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn backticks_make_code_and_doc_comment_line_breaks_go() {
        let runs = text(&json!("The `next_cursor` of the\nprevious page."));
        assert_eq!(
            runs,
            [
                Run { code: false, text: "The ".into() },
                Run { code: true, text: "next_cursor".into() },
                Run { code: false, text: " of the previous page.".into() },
            ]
        );
        assert!(text(&Value::Null).is_empty());
    }

    #[test]
    fn types_read_in_words_with_their_constraints() {
        assert_eq!(type_view(&json!({"type": "integer", "format": "int64", "minimum": 1, "maximum": 200})).label, "integer (int64)");
        assert_eq!(type_view(&json!({"type": "integer", "minimum": 1, "maximum": 200})).constraints, "1 to 200");
        assert_eq!(type_view(&json!({"type": "string", "pattern": "^(active|inactive)?$"})).constraints, "one of active, inactive (or empty)");
        assert_eq!(type_view(&json!({"type": "string", "pattern": "^(org\\.created|member\\.left)$"})).constraints, "one of org.created, member.left");
        assert_eq!(type_view(&json!({"type": "string", "pattern": "^[a-z][a-z0-9-]{0,62}$"})).constraints, "matches ^[a-z][a-z0-9-]{0,62}$");
        assert_eq!(type_view(&json!({"type": ["string", "null"]})).label, "string or null");
        let list = type_view(&json!({"type": "array", "items": {"$ref": "#/components/schemas/Member"}}));
        assert_eq!((list.label.as_str(), list.schema.as_deref()), ("array of Member", Some("Member")));
        assert_eq!(type_view(&json!({"type": "string", "enum": ["read", "write"]})).constraints, "one of read, write");
    }

    #[test]
    fn every_operation_of_the_document_is_in_the_reference_under_its_tag() {
        let doc = serde_json::to_value(ApiDoc::openapi()).expect("the document");
        let reference = reference(&doc);
        let mut listed = 0;
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for method in METHODS.iter().filter(|m| item.get(**m).is_some()) {
                let tag = item[*method]["tags"][0].as_str().expect("a tag");
                let group = reference.groups.iter().find(|g| g.name == tag).expect("its group");
                assert!(group.operations.iter().any(|o| &o.path == path && o.method_class == *method), "{method} {path}");
                listed += 1;
            }
        }
        assert_eq!(reference.groups.iter().map(|g| g.operations.len()).sum::<usize>(), listed);
        assert!(reference.groups.iter().flat_map(|g| &g.operations).all(|o| o.authenticated));
        assert_eq!(reference.bearer_format, "stw_…");
    }
}
