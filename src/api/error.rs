//! The API's errors: `{"error": {"code", "message"}}` with the matching status.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, Responder, ResponseError};

use crate::operations::OpError;
use crate::app::TaskFailed;

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// bad_request, unauthorized, forbidden, not_found, conflict, payload_too_large, invalid,
    /// rate_limited, unavailable or internal.
    pub code: String,
    pub message: String,
    /// For `invalid`: what is wrong with which field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<Vec<FieldError>>,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub fields: Option<Vec<FieldError>>,
    pub retry_after: Option<u64>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, code, message: message.into(), fields: None, retry_after: None }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn not_found() -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", "Not found.")
    }

    pub fn payload_too_large() -> ApiError {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "The body is larger than 64 KB.")
    }

    pub fn internal() -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "An unexpected error occurred. It has been logged.")
    }

    pub fn rate_limited(seconds: u64) -> ApiError {
        let mut e = ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", format!("Too many requests. Try again in {seconds} s."));
        e.retry_after = Some(seconds);
        e
    }

    pub fn invalid_field(field: &str, message: &str) -> ApiError {
        let mut e = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message);
        e.fields = Some(vec![FieldError { field: field.into(), message: message.into() }]);
        e
    }
}

impl From<OpError> for ApiError {
    fn from(e: OpError) -> ApiError {
        match e {
            OpError::NotFound => ApiError::not_found(),
            OpError::Forbidden(m) if m.is_empty() => ApiError::forbidden("This API key may not do this."),
            OpError::Forbidden(m) => ApiError::forbidden(m),
            OpError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, "conflict", m),
            OpError::TooManyRequests(wait) => ApiError::rate_limited(wait.seconds),
            OpError::Invalid(list) => {
                let message = list.iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join(" ");
                let mut err = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message);
                err.fields = Some(list.into_iter().map(|e| FieldError { field: e.field.into(), message: e.message }).collect());
                err
            }
            OpError::Mail(m) => {
                tracing::error!(error = %m, "email not sent");
                ApiError::invalid_field("email", &OpError::Mail(m).to_string())
            }
            e if e.is_unavailable() => {
                tracing::error!(error = %e, "database unreachable");
                let mut err = ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "The database cannot be reached. Try again in a few seconds.");
                err.retry_after = Some(5);
                err
            }
            e @ (OpError::Db(_) | OpError::Hash(_) | OpError::Internal(_)) => {
                tracing::error!(error = %e, "internal error in the API");
                ApiError::internal()
            }
        }
    }
}

impl From<TaskFailed> for ApiError {
    fn from(e: TaskFailed) -> ApiError {
        ApiError::from(OpError::from(e))
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_string(),
                message: self.message.clone(),
                fields: self.fields.as_ref().map(|f| f.iter().map(|e| FieldError { field: e.field.clone(), message: e.message.clone() }).collect()),
            },
        };
        let mut response = HttpResponse::build(self.status);
        if self.status == StatusCode::UNAUTHORIZED {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        if let Some(s) = self.retry_after {
            response.insert_header((header::RETRY_AFTER, s.to_string()));
        }
        if self.status == StatusCode::PAYLOAD_TOO_LARGE {
            response.force_close();
        }
        response.json(body)
    }
}

impl Responder for ApiError {
    type Body = actix_web::body::BoxBody;

    fn respond_to(self, _: &HttpRequest) -> HttpResponse {
        self.error_response()
    }
}
