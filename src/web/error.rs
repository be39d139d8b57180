//! The web layer's one error type, mapped once to a page (or a redirect to sign in).

use actix_web::http::StatusCode;
use actix_web::http::header::{self, ContentType};
use actix_web::{HttpResponse, ResponseError};
use askama::Template;

use crate::app::TaskFailed;
use crate::rate_limit::RetryAfter;
use crate::operations::OpError;
use crate::web::shell::SignedOutShell;

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("sign in required")]
    SignInRequired { next: String },
    /// The organization requires two-factor of its members and this one has not turned it on:
    /// 303 to the page that does.
    #[error("two-factor authentication required")]
    TwoFactorRequired,
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Forbidden(String),
    #[error("invalid request: {0}")]
    BadRequest(String),
    #[error("the form has expired")]
    Csrf,
    /// A body over the limit. The rest of it is never read, so the connection is closed
    /// with the answer rather than left to be misread as the next request.
    #[error("the request is too large")]
    TooLarge,
    #[error("{0}")]
    Conflict(String),
    /// Input a rule refused; shown as 422, in the form when a handler catches it.
    #[error("{}", .0.iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join(" "))]
    Invalid(Vec<crate::domain::Invalid>),
    #[error("internal error: {0}")]
    Internal(String),
    /// The database cannot be reached: 503 with `Retry-After`, never a sign-out.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// Over a rate limit: 429 with `Retry-After` (seconds).
    #[error("too many requests; try again in {retry_after} seconds")]
    TooManyRequests { retry_after: u64 },
}

impl From<OpError> for WebError {
    fn from(e: OpError) -> WebError {
        match e {
            OpError::NotFound => WebError::NotFound,
            OpError::Forbidden(m) => WebError::Forbidden(m),
            OpError::Conflict(m) => WebError::Conflict(m),
            OpError::Invalid(list) => WebError::Invalid(list),
            OpError::TooManyRequests(wait) => WebError::from(wait),
            e if e.is_unavailable() => WebError::Unavailable(e.to_string()),
            OpError::Db(e) => WebError::Internal(e.to_string()),
            OpError::Hash(e) => WebError::Internal(e.to_string()),
            OpError::Internal(e) => WebError::Internal(e),
            // shown in the form that tried to send, like any other refusal
            OpError::Mail(m) => {
                tracing::error!(error = %m, "email not sent");
                WebError::Invalid(vec![crate::domain::Invalid::new("email", OpError::Mail(m).to_string())])
            }
        }
    }
}

impl From<TaskFailed> for WebError {
    fn from(e: TaskFailed) -> WebError {
        WebError::Internal(e.to_string())
    }
}

impl From<RetryAfter> for WebError {
    fn from(r: RetryAfter) -> WebError {
        WebError::TooManyRequests { retry_after: r.seconds }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    shell: SignedOutShell,
    code: u16,
    heading: &'a str,
    message: &'a str,
}

/// Where two-factor authentication is turned on.
pub const TWO_FACTOR_PAGE: &str = "/profile/two-factor";

/// `/login?next=…` for a path on this site.
pub fn login_url(next: &str) -> String {
    if next.is_empty() || next == "/" {
        return "/login".to_string();
    }
    let query: String = serde_urlencoded::to_string([("next", next)]).unwrap_or_default();
    format!("/login?{query}")
}

impl ResponseError for WebError {
    fn status_code(&self) -> StatusCode {
        match self {
            WebError::SignInRequired { .. } | WebError::TwoFactorRequired => StatusCode::SEE_OTHER,
            WebError::NotFound => StatusCode::NOT_FOUND,
            WebError::Forbidden(_) | WebError::Csrf => StatusCode::FORBIDDEN,
            WebError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            WebError::BadRequest(_) => StatusCode::BAD_REQUEST,
            WebError::Conflict(_) => StatusCode::CONFLICT,
            WebError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            WebError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            WebError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            WebError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let redirect = match self {
            WebError::SignInRequired { next } => Some(login_url(next)),
            WebError::TwoFactorRequired => Some(TWO_FACTOR_PAGE.to_string()),
            _ => None,
        };
        if let Some(to) = redirect {
            return HttpResponse::SeeOther()
                .insert_header((header::LOCATION, to.clone()))
                .insert_header(("HX-Redirect", to))
                .finish();
        }
        let status = self.status_code();
        let (title, message): (&str, String) = match self {
            WebError::NotFound => {
                ("Page not found", "The page you asked for does not exist, or you do not have access to it.".into())
            }
            WebError::Forbidden(m) if m.is_empty() => {
                ("Not allowed", "Your roles in this organization do not allow this action.".into())
            }
            WebError::Forbidden(m) => ("Not allowed", m.clone()),
            WebError::Csrf => (
                "This form has expired",
                "For your security the form could not be accepted. Go back, reload the page and try again.".into(),
            ),
            WebError::BadRequest(m) => ("Bad request", m.clone()),
            WebError::TooLarge => ("Too large", "The form is larger than Steward accepts (at most 256 KiB).".into()),
            WebError::Conflict(m) => ("Conflict", m.clone()),
            WebError::Invalid(_) => ("Please check your input", self.to_string()),
            WebError::Internal(detail) => {
                tracing::error!(error = %detail, "internal error");
                ("Something went wrong", "An unexpected error occurred. It has been logged; please try again.".into())
            }
            WebError::Unavailable(detail) => {
                tracing::error!(error = %detail, "database unreachable");
                ("Steward is unavailable for a moment", "Its database cannot be reached right now. Please try again in a few seconds.".into())
            }
            WebError::TooManyRequests { retry_after } => {
                let unit = if *retry_after == 1 { "second" } else { "seconds" };
                ("Too many attempts", format!("Too many attempts. Try again in {retry_after} {unit}."))
            }
            WebError::SignInRequired { .. } | WebError::TwoFactorRequired => unreachable_page(),
        };
        let page = ErrorPage { shell: SignedOutShell::bare(title), code: status.as_u16(), heading: title, message: &message };
        let body = page.render().unwrap_or_else(|_| message.clone());
        let mut response = HttpResponse::build(status);
        match self {
            WebError::TooManyRequests { retry_after } => {
                response.insert_header((header::RETRY_AFTER, retry_after.to_string()));
            }
            WebError::Unavailable(_) => {
                response.insert_header((header::RETRY_AFTER, "5"));
            }
            // the rest of the body is never read: close rather than misread it as a request
            WebError::TooLarge => {
                response.force_close();
            }
            _ => {}
        }
        response.content_type(ContentType::html()).body(body)
    }
}

fn unreachable_page() -> (&'static str, String) {
    ("Sign in required", "Sign in to continue.".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_oversized_body_closes_the_connection() {
        let response = WebError::TooLarge.error_response();
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert!(!response.head().keep_alive());
    }

    #[test]
    fn over_a_limit_answers_429_with_retry_after() {
        let response = WebError::from(RetryAfter { seconds: 7 }).error_response();
        assert_eq!(response.status().as_u16(), 429);
        assert_eq!(response.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("7"));
    }
}
