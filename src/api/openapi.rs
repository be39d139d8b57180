//! The OpenAPI 3.1 document, generated from the handlers' annotations.

use actix_web::HttpResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::api::{audit, deployments, error, invitations, members, roles};

struct BearerKey;

/// The errors every operation can answer, declared once here from the operation's shape, since
/// they come from the extractors every handler shares: the key (401, 403, 429), the query
/// (400 when it cannot be read, 422 when a value is out of its range), the path's id (404) and
/// the JSON body (400, 413, 422). What an operation answers besides (409, a 422 of a business
/// rule) its own annotation declares, and is kept. And any 5XX, with `Retry-After` on 503.
struct ErrorResponses;

impl ErrorResponses {
    const STANDING: [(&'static str, &'static str); 3] = [
        ("401", "No API key, or one that is malformed, unknown, revoked or expired"),
        ("403", "The key does not hold the permission, or its scope does not reach this"),
        ("429", "The key made too many requests: wait the seconds of Retry-After"),
    ];
    const QUERY: [(&'static str, &'static str); 2] = [
        ("400", "The query string could not be read"),
        ("422", "A query parameter is outside what it takes (see its schema)"),
    ];
    const PATH: [(&'static str, &'static str); 1] = [("404", "No such item in the key's organization")];
    const BODY: [(&'static str, &'static str); 3] = [
        ("400", "The body is not JSON, or not sent as application/json"),
        ("413", "The body is larger than 64 KB"),
        ("422", "The body does not match its schema"),
    ];
}

impl Modify for ErrorResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::ParameterIn;
        use utoipa::openapi::{RefOr, ResponseBuilder, content::ContentBuilder, schema::Ref};
        let response = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content("application/json", ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build())
                .build()
        };
        for item in openapi.paths.paths.values_mut() {
            for op in [&mut item.get, &mut item.post, &mut item.patch, &mut item.delete, &mut item.put].into_iter().flatten() {
                let params = op.parameters.as_deref().unwrap_or_default();
                let has = |place: ParameterIn| params.iter().any(|p| p.parameter_in == place);
                let mut errors: Vec<(&str, &str)> = Self::STANDING.to_vec();
                if has(ParameterIn::Query) {
                    errors.extend(Self::QUERY);
                }
                if has(ParameterIn::Path) {
                    errors.extend(Self::PATH);
                }
                if op.request_body.is_some() {
                    errors.extend(Self::BODY);
                }
                let responses = &mut op.responses.responses;
                for (status, description) in errors {
                    // an operation's own description of the status (a business rule) wins
                    responses.entry(status.to_string()).or_insert_with(|| RefOr::T(response(description)));
                }
                responses.insert("5XX".to_string(), RefOr::T(response("The database is unreachable (503, with Retry-After) or an unexpected error occurred; nothing was changed")));
            }
        }
    }
}

/// The audit filters' `action` takes exactly the actions the log writes: the choice is written
/// here from that list, so that an action added to the log is in the document too.
struct ActionNames;

impl Modify for ActionNames {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::RefOr;
        let escaped: Vec<String> = crate::storage::audit::ACTIONS.iter().map(|a| a.replace('.', "\\.")).collect();
        let pattern = format!("^({})?$", escaped.join("|"));
        for path in ["/api/v1/audit-events", "/api/v1/audit-events.csv"] {
            let Some(op) = openapi.paths.paths.get_mut(path).and_then(|item| item.get.as_mut()) else { continue };
            for parameter in op.parameters.iter_mut().flatten().filter(|p| p.name == "action") {
                if let Some(RefOr::T(utoipa::openapi::schema::Schema::Object(schema))) = parameter.schema.as_mut() {
                    schema.pattern = Some(pattern.clone());
                }
            }
        }
    }
}

impl Modify for BearerKey {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("stw_…")
                    .description(Some("An organization's API key, made on the console's API keys page."))
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Steward API",
        description = "Members, invitations, custom roles, deployments and the audit log of the organization the API key belongs to. \
                       Errors are {\"error\": {\"code\", \"message\"}}; a method a path does not take answers 405 \
                       (code method_not_allowed) with an Allow header listing those it does.",
        version = "1"
    ),
    paths(
        members::list, members::get, members::update, members::remove,
        invitations::list, invitations::create, invitations::resend, invitations::cancel,
        roles::list, roles::create, roles::get, roles::update, roles::delete,
        audit::list, audit::export, audit::head,
        deployments::list, deployments::create, deployments::get, deployments::update, deployments::delete,
    ),
    components(schemas(
        members::Member, members::MemberList, members::MemberUpdate,
        invitations::Invitation, invitations::InvitationList, invitations::NewInvitation, invitations::Delivery,
        roles::Role, roles::RoleList, roles::RoleDetail, roles::RoleHolder, roles::RoleTag, roles::NewRole, roles::RoleUpdate, roles::PermissionName,
        audit::AuditEvent, audit::AuditEventList, audit::ChainHead,
        deployments::Deployment, deployments::DeploymentList, deployments::NewDeployment, deployments::DeploymentUpdate,
        error::ErrorBody, error::ErrorDetail, error::FieldError,
    )),
    modifiers(&BearerKey, &ErrorResponses, &ActionNames),
    tags(
        (name = "members", description = "The organization's members"),
        (name = "invitations", description = "Invitations to join the organization"),
        (name = "roles", description = "The organization's custom roles: named sets of permissions given to members on top of \
                                        their built-in role (owner, admin, editor or viewer). The built-in roles are not listed: \
                                        they are fixed, and a member's or an invitation's `role` names theirs."),
        (name = "deployments", description = "The organization's deployments"),
        (name = "audit", description = "The audit log, its CSV export (with the hash chain's columns on request), and the head \
                                        of the organization's hash chain"),
    )
)]
pub struct ApiDoc;

/// `GET /api/v1/openapi.json`
pub async fn document() -> HttpResponse {
    match ApiDoc::openapi().to_json() {
        Ok(json) => HttpResponse::Ok().content_type("application/json").body(json),
        Err(e) => {
            tracing::error!(error = %e, "the OpenAPI document could not be written");
            HttpResponse::InternalServerError().finish()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Permission;

    fn document() -> serde_json::Value {
        serde_json::to_value(ApiDoc::openapi()).expect("the document is JSON")
    }

    /// The choices a `^(a|b|c)$` or `^(a|b|c)?$` pattern allows, unescaped.
    fn choices(pattern: &str) -> Vec<String> {
        let inner = pattern.trim_start_matches("^(").trim_end_matches('$').trim_end_matches('?').trim_end_matches(')');
        inner.split('|').map(|c| c.replace("\\.", ".")).collect()
    }

    fn query_parameter<'a>(doc: &'a serde_json::Value, path: &str, name: &str) -> &'a serde_json::Value {
        doc["paths"][path]["get"]["parameters"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["name"] == name))
            .unwrap_or_else(|| panic!("{path} has no parameter {name}"))
    }

    #[test]
    fn the_action_filter_takes_exactly_the_actions_the_log_writes() {
        let doc = document();
        for path in ["/api/v1/audit-events", "/api/v1/audit-events.csv"] {
            let pattern = query_parameter(&doc, path, "action")["schema"]["pattern"].as_str().expect("a pattern");
            assert_eq!(choices(pattern), crate::storage::audit::ACTIONS.to_vec(), "{path}");
        }
    }

    #[test]
    fn a_custom_role_takes_every_permission_but_org_owner() {
        let doc = document();
        let pattern = doc["components"]["schemas"]["PermissionName"]["pattern"].as_str().expect("a pattern");
        let expected: Vec<&str> = Permission::ALL.into_iter().filter(|p| *p != Permission::OrgOwner).map(Permission::as_str).collect();
        assert_eq!(choices(pattern), expected);
    }

    #[test]
    fn a_deployment_takes_exactly_the_listed_regions() {
        let doc = document();
        let pattern = doc["components"]["schemas"]["NewDeployment"]["properties"]["region"]["pattern"].as_str().expect("a pattern");
        let expected: Vec<&str> = crate::operations::deployments::REGIONS.iter().map(|(code, _)| *code).collect();
        assert_eq!(choices(pattern), expected);
    }

    #[test]
    fn every_operation_declares_its_errors_and_none_as_a_range_of_4xx() {
        let doc = document();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for (method, op) in item.as_object().expect("an item") {
                let responses = op["responses"].as_object().expect("responses");
                assert!(!responses.contains_key("4XX"), "{method} {path} declares 4XX");
                for status in ["401", "403", "429", "5XX"] {
                    assert!(responses.contains_key(status), "{method} {path} lacks {status}");
                }
                let params = op["parameters"].as_array().cloned().unwrap_or_default();
                if params.iter().any(|p| p["in"] == "path") {
                    assert!(responses.contains_key("404"), "{method} {path} lacks 404");
                }
                if params.iter().any(|p| p["in"] == "query") || op.get("requestBody").is_some() {
                    assert!(responses.contains_key("400") && responses.contains_key("422"), "{method} {path} lacks 400/422");
                }
                if op.get("requestBody").is_some() {
                    assert!(responses.contains_key("413"), "{method} {path} lacks 413");
                }
            }
        }
    }

    #[test]
    fn every_list_bounds_its_limit() {
        let doc = document();
        for path in ["/api/v1/members", "/api/v1/invitations", "/api/v1/audit-events", "/api/v1/deployments"] {
            let schema = &query_parameter(&doc, path, "limit")["schema"];
            assert_eq!((schema["minimum"].as_i64(), schema["maximum"].as_i64()), (Some(1), Some(200)), "{path}: {schema}");
        }
    }
}
