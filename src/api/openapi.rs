//! The OpenAPI 3.1 document, generated from the handlers' annotations.

use actix_web::HttpResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::api::{audit, deployments, error, invitations, members, roles};

struct BearerKey;

/// Every operation can fail with `{"error": …}` and a 5XX status; documented once here.
struct ServerErrors;

impl Modify for ServerErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{RefOr, ResponseBuilder, content::ContentBuilder, schema::Ref};
        let response = ResponseBuilder::new()
            .description("An unexpected error; nothing was changed")
            .content("application/json", ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build())
            .build();
        for item in openapi.paths.paths.values_mut() {
            for op in [&mut item.get, &mut item.post, &mut item.patch, &mut item.delete, &mut item.put].into_iter().flatten() {
                op.responses.responses.insert("5XX".to_string(), RefOr::T(response.clone()));
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
        roles::Role, roles::RoleList, roles::RoleDetail, roles::RoleHolder, roles::RoleTag, roles::NewRole, roles::RoleUpdate,
        audit::AuditEvent, audit::AuditEventList, audit::ChainHead,
        deployments::Deployment, deployments::DeploymentList, deployments::NewDeployment, deployments::DeploymentUpdate,
        error::ErrorBody, error::ErrorDetail, error::FieldError,
    )),
    modifiers(&BearerKey, &ServerErrors),
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
