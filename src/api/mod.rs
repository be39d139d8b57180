//! The JSON API under `/api/v1`: the same operations as the console, authenticated by an
//! organization's API key (`Authorization: Bearer stw_…`).

pub mod audit;
pub mod deployments;
pub mod error;
pub mod invitations;
pub mod members;
pub mod openapi;
pub mod roles;

use actix_web::dev::Payload;
use actix_web::http::Method;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use serde::Deserialize;

use crate::domain::ids::DeploymentId;
use crate::domain::{OrgId, Permission};
use crate::operations::api_keys::{self, Authenticated, Refused};
use crate::operations::Ctx;
use crate::domain::Actor;
use crate::app::request_meta;
use crate::app::AppState;

pub use error::ApiError;

/// Page sizes of the list endpoints.
pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

/// The key making the request, already checked: authentic, live, within its rate limit, and
/// allowed this kind of request (`read` for GET, `write` for the rest).
pub struct ApiKey {
    pub key: Authenticated,
    pub org: OrgId,
    pub ctx: Ctx,
}

impl ApiKey {
    /// Whether the key holds `permission` (changes are checked again inside their transaction).
    pub fn require(&self, permission: Permission) -> Result<(), ApiError> {
        if self.key.key.permission_set().contains(permission) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!("This API key does not hold the permission {permission}.")))
        }
    }

    /// Organization-level endpoints (members, invitations, audit) need scope `all`.
    pub fn require_org_scope(&self) -> Result<(), ApiError> {
        if self.key.key.all_deployments() {
            Ok(())
        } else {
            Err(ApiError::forbidden("This API key is scoped to selected deployments; it cannot use organization endpoints."))
        }
    }

    /// Whether the key reaches this deployment.
    pub fn reaches(&self, deployment: DeploymentId) -> bool {
        self.key.key.all_deployments() || self.key.deployments.contains(&deployment)
    }

    pub fn require_deployment(&self, deployment: DeploymentId) -> Result<(), ApiError> {
        if self.reaches(deployment) {
            Ok(())
        } else {
            Err(ApiError::forbidden("This API key's scope does not include this deployment."))
        }
    }
}

async fn authenticate(req: HttpRequest) -> Result<ApiKey, ApiError> {
    let presented = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        // the scheme's name is case-insensitive (RFC 9110 §11.1)
        .and_then(|v| v.split_once(' ').filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer")).map(|(_, key)| key))
        .map(str::trim)
        .ok_or_else(|| ApiError::unauthorized("Send an API key: Authorization: Bearer stw_…"))?
        .to_string();
    let state = req.app_data::<web::Data<AppState>>().map(|s| s.get_ref().clone()).ok_or_else(ApiError::internal)?;
    let limits = state.limits.clone();
    let checked = state
        .run(move |db| {
            let checked = api_keys::authenticate(db, &presented)?;
            // only an authentic key is counted: someone else's guesses never use up its quota
            if let Ok(key) = &checked {
                limits.api_key(db, &key.key.id.to_string())?;
            }
            Ok::<_, crate::operations::OpError>(checked)
        })
        .await
        .map_err(ApiError::from)?;
    let key = checked.map_err(|refused| {
        ApiError::unauthorized(match refused {
            Refused::Malformed => "This is not a Steward API key (they start with stw_).",
            Refused::Unknown => "This API key is not valid.",
            Refused::Revoked => "This API key has been revoked.",
            Refused::Expired => "This API key has expired.",
        })
    })?;
    let reads = matches!(*req.method(), Method::GET | Method::HEAD);
    // the presets answer by the kind of request; a key with chosen permissions by each endpoint's
    match key.key.preset() {
        "write" if reads => return Err(ApiError::forbidden("This API key may not read: it has the write permission only.")),
        "read" if !reads => return Err(ApiError::forbidden("This API key may only read.")),
        _ => {}
    }
    let org: OrgId = key.key.org_id;
    let ctx = Ctx { actor: Actor::ApiKey { id: key.key.id, name: key.key.name.clone() }, meta: request_meta(&req) };
    Ok(ApiKey { key, org, ctx })
}

impl FromRequest for ApiKey {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(authenticate(req.clone()))
    }
}

/// `cursor` and `limit` of a list endpoint.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Paging {
    /// The `next_cursor` of the previous page: each list declares its own form (`cursor_param!`).
    #[param(ignore)]
    pub cursor: Option<String>,
    /// Items per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

impl Paging {
    /// A cursor that is a position in a list sorted by text (an email, a name): any text but
    /// control characters, which no email or name holds (and PostgreSQL refuses a NUL).
    pub fn text_cursor(&self) -> Result<Option<String>, ApiError> {
        match &self.cursor {
            Some(c) if c.chars().any(char::is_control) => {
                Err(ApiError::invalid_field("cursor", "Use the next_cursor of the previous page."))
            }
            cursor => Ok(cursor.clone()),
        }
    }

    pub fn limit(&self) -> Result<i64, ApiError> {
        match self.limit {
            None => Ok(DEFAULT_LIMIT),
            Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            Some(_) => Err(ApiError::invalid_field("limit", "Use a limit from 1 to 200.")),
        }
    }
}

/// A page of a list endpoint.
#[derive(Debug, serde::Serialize)]
pub struct Page<T> {
    pub data: Vec<T>,
    pub next_cursor: Option<String>,
}

/// RFC 3339, UTC, to the second.
pub fn time(t: chrono::NaiveDateTime) -> String {
    t.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    let query = web::QueryConfig::default().error_handler(|e, _| ApiError::bad_request(format!("The query could not be read: {e}")).into());
    let path = web::PathConfig::default().error_handler(|_, _| ApiError::not_found().into());
    cfg.service(
        web::scope("/api/v1")
            .app_data(query)
            .app_data(path)
            .service(endpoint("/openapi.json", vec![(Method::GET, web::to(openapi::document))]))
            .service(endpoint("/members", vec![(Method::GET, web::to(members::list))]))
            .service(endpoint(
                "/members/{account}",
                vec![
                    (Method::GET, web::to(members::get)),
                    (Method::PATCH, web::to(members::update)),
                    (Method::DELETE, web::to(members::remove)),
                ],
            ))
            .service(endpoint(
                "/invitations",
                vec![
                    (Method::GET, web::to(invitations::list)),
                    (Method::POST, web::to(invitations::create)),
                ],
            ))
            .service(endpoint("/invitations/{id}/resend", vec![(Method::POST, web::to(invitations::resend))]))
            .service(endpoint("/invitations/{id}", vec![(Method::DELETE, web::to(invitations::cancel))]))
            .service(endpoint(
                "/roles",
                vec![
                    (Method::GET, web::to(roles::list)),
                    (Method::POST, web::to(roles::create)),
                ],
            ))
            .service(endpoint(
                "/roles/{role}",
                vec![
                    (Method::GET, web::to(roles::get)),
                    (Method::PATCH, web::to(roles::update)),
                    (Method::DELETE, web::to(roles::delete)),
                ],
            ))
            .service(endpoint("/audit-events", vec![(Method::GET, web::to(audit::list))]))
            .service(endpoint("/audit-events.csv", vec![(Method::GET, web::to(audit::export))]))
            .service(endpoint("/audit-events/head", vec![(Method::GET, web::to(audit::head))]))
            .service(endpoint(
                "/deployments",
                vec![
                    (Method::GET, web::to(deployments::list)),
                    (Method::POST, web::to(deployments::create)),
                ],
            ))
            .service(endpoint(
                "/deployments/{id}",
                vec![
                    (Method::GET, web::to(deployments::get)),
                    (Method::PATCH, web::to(deployments::update)),
                    (Method::DELETE, web::to(deployments::delete)),
                ],
            ))
            .default_service(web::to(|| async { ApiError::not_found() })),
    );
}

/// One path of the API with the methods it takes, each with its handler. The methods are
/// written once, here: any other method on the path answers 405 with an `Allow` header listing
/// them (a path the API does not have stays a 404, from the scope).
fn endpoint(path: &str, methods: Vec<(Method, actix_web::Route)>) -> actix_web::Resource {
    let allow = methods.iter().map(|(method, _)| method.as_str()).collect::<Vec<_>>().join(", ");
    methods
        .into_iter()
        .fold(web::resource(path), |resource, (method, route)| resource.route(route.method(method)))
        .default_service(web::to(move || {
            let allow = allow.clone();
            async move { ApiError::method_not_allowed(allow) }
        }))
}

/// A JSON body, read in two steps so that each failure gets its own answer: text that is not
/// JSON is a malformed request (400); JSON of the wrong shape is invalid input (422), naming
/// the field.
pub struct Body<T>(pub T);

/// The largest body the API reads.
pub const MAX_BODY: usize = 64 * 1024;

impl<T: serde::de::DeserializeOwned + 'static> FromRequest for Body<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let json = req
            .headers()
            .get(actix_web::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(';').next().is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json")));
        let bytes = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            if !json {
                return Err(ApiError::bad_request("Send a JSON body with Content-Type: application/json."));
            }
            let bytes = bytes.await.map_err(|e| match e.as_response_error().status_code() {
                actix_web::http::StatusCode::PAYLOAD_TOO_LARGE => ApiError::payload_too_large(),
                _ => ApiError::bad_request("The body could not be read."),
            })?;
            if bytes.len() > MAX_BODY {
                return Err(ApiError::payload_too_large());
            }
            let value: serde_json::Value = serde_json::from_slice(&bytes)
                .map_err(|e| ApiError::bad_request(format!("The body is not valid JSON: {e}")))?;
            // every body is an object: serde would also read a struct from an array of its fields
            if !value.is_object() {
                return Err(ApiError::invalid_field("body", "Send a JSON object."));
            }
            serde_path_to_error::deserialize(value).map(Body).map_err(|e| {
                let field = e.path().to_string();
                let field = if field.is_empty() || field == "." { "body".to_string() } else { field };
                let message = e.into_inner().to_string();
                let mut err = ApiError::invalid_field(&field, &message);
                err.message = format!("The body does not match: {message} ({field}).");
                err
            })
        })
    }
}
