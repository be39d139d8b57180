//! The request log: each request's span (tracing-actix-web's fields, with the tokens of links
//! left out, and the signed-in account once known) and the line written when it is answered,
//! which also counts and times the request in the metrics.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::{Error, HttpMessage, web};
use std::time::Instant;
use tracing::Span;
use tracing::field::Empty;
use tracing_actix_web::{RequestId, RootSpanBuilder};

use crate::app::AppState;

/// Paths whose next segment is a secret: the invitation link, and the links that verify an
/// email address and reset a password.
const TOKEN_PATHS: [&str; 3] = ["/invitations/", "/verify-email/", "/password/reset/"];

/// What a secret is replaced with in the log.
pub const REDACTED: &str = "[redacted]";

/// When the request arrived, kept with it for the latency of its log line and its metrics,
/// with its route's pattern (None when no route matches), the metrics' `route` label.
struct Arrived {
    at: Instant,
    route: Option<String>,
}

/// The root span of every request, as tracing-actix-web's default one but for `http.target`:
/// the path with the token of a link replaced, and the query with every value replaced (a
/// `next` can hold an invitation link, another parameter a token). A token in the log would
/// let anyone who reads the log answer the invitation or reset the password.
pub struct RedactedRootSpan;

impl RootSpanBuilder for RedactedRootSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let method = request.method().as_str().to_owned();
        // the route's pattern, such as /invitations/{token}: it never holds the token itself
        let pattern = request.match_pattern();
        let route = pattern.as_deref().unwrap_or("default");
        let user_agent = request.headers().get("User-Agent").and_then(|h| h.to_str().ok()).unwrap_or("").to_owned();
        let request_id = request.extensions().get::<RequestId>().map(ToString::to_string).unwrap_or_default();
        let connection = request.connection_info().clone();
        let span = tracing::info_span!(
            "HTTP request",
            http.method = %method,
            http.route = %route,
            http.flavor = ?request.version(),
            http.scheme = %connection.scheme(),
            http.host = %connection.host(),
            http.client_ip = %connection.realip_remote_addr().unwrap_or(""),
            http.user_agent = %user_agent,
            http.target = %redact_target(request.path(), request.query_string()),
            http.status_code = Empty,
            otel.name = %format!("{method} {route}"),
            otel.kind = "server",
            otel.status_code = Empty,
            request_id = %request_id,
            // recorded by the extractor that reads the session (web::extract): an id, never
            // the cookie or anything that would let a reader of the log act as the account
            account_id = Empty,
            exception.message = Empty,
            exception.details = Empty,
        );
        // the pattern moves into the request's extensions: one allocation serves the log and
        // the metrics
        request.extensions_mut().insert(Arrived { at: Instant::now(), route: pattern });
        span
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        let (status, error, arrived) = match outcome {
            Ok(response) => {
                let request = response.request();
                let extensions = request.extensions();
                let arrived = extensions.get::<Arrived>();
                if let (Some(arrived), Some(state)) = (arrived, request.app_data::<web::Data<AppState>>()) {
                    let status = response.status();
                    state.metrics.http_request(arrived.route.as_deref(), request.method().as_str(), status.as_str(), arrived.at.elapsed());
                }
                (response.status(), response.response().error().map(Error::as_response_error), arrived.map(|a| a.at))
            }
            // a middleware's own failure: the request is gone with its arrival time (and is
            // not counted in the metrics, which need its route)
            Err(error) => (error.as_response_error().status_code(), Some(error.as_response_error()), None),
        };
        span.record("http.status_code", status.as_u16());
        let failed = error.is_some() && !status.is_client_error();
        span.record("otel.status_code", if failed { "ERROR" } else { "OK" });
        if let Some(error) = error {
            // an error can quote a path too (the page to come back to after signing in)
            span.record("exception.message", redact_text(&error.to_string()));
            span.record("exception.details", redact_text(&format!("{error:?}")));
        }
        // one line per request, in its span: the span's fields (id, route, status, account)
        // go with it, in the text log as in the JSON one
        let latency_ms = arrived.map(|at| at.elapsed().as_micros() as f64 / 1000.0);
        span.in_scope(|| tracing::info!(latency_ms, "answered"));
    }
}

/// A request's path and query as the log shows them: the token of a link replaced in the path,
/// every value of the query replaced (its names kept).
pub fn redact_target(path: &str, query: &str) -> String {
    let path = redact(path, Where::PathStart);
    if query.is_empty() {
        return path;
    }
    let query: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) => format!("{name}={REDACTED}"),
            None if pair.is_empty() => String::new(),
            None => REDACTED.to_string(),
        })
        .collect();
    format!("{path}?{}", query.join("&"))
}

/// `text` (an error's message) with the segment after every token path replaced, wherever it
/// is: a message may quote a path, or a whole link.
pub fn redact_text(text: &str) -> String {
    redact(text, Where::Anywhere)
}

/// Where a token path counts.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Where {
    /// Where a path starts: at the beginning, or after a character that cannot end a path
    /// segment (another slash, a quote, a space). So `/orgs/{org}/invitations/{id}` and
    /// `/api/v1/invitations/{id}`, whose ids are not secrets, stay readable.
    PathStart,
    Anywhere,
}

fn redact(text: &str, at: Where) -> String {
    let mut out = String::with_capacity(text.len());
    let mut done = 0;
    while let Some((found, prefix)) = next_token_path(text, done, at) {
        let token_at = found + prefix.len();
        out.push_str(&text[done..token_at]);
        let token_len = text[token_at..].find(ends_token).unwrap_or(text.len() - token_at);
        if token_len > 0 {
            out.push_str(REDACTED);
        }
        done = token_at + token_len;
    }
    out.push_str(&text[done..]);
    out
}

/// The first token path in `text` from `from` on: where it is, and which one.
fn next_token_path(text: &str, from: usize, at: Where) -> Option<(usize, &'static str)> {
    TOKEN_PATHS
        .iter()
        .flat_map(|prefix| text[from..].match_indices(prefix).map(move |(i, _)| (from + i, *prefix)))
        .filter(|(i, _)| at == Where::Anywhere || text[..*i].chars().next_back().is_none_or(|c| !in_segment(c)))
        .min_by_key(|(i, _)| *i)
}

/// Whether `c` can end a path segment just before a slash (`…/orgs/{id}/invitations/…`).
fn in_segment(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-_.~%".contains(c)
}

/// Whether `c` ends a token. Anything else is taken as part of it, so that a percent-encoded
/// or oddly typed token is replaced whole rather than in part.
fn ends_token(c: char) -> bool {
    c.is_whitespace() || "/?#&\"'<>\\".contains(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "Xq3v_9-kLmN0pQrStUvWxYz0123456789abcdefGHIJ";

    #[test]
    fn the_token_of_each_link_family_is_replaced() {
        for (path, logged) in [
            (format!("/invitations/{TOKEN}"), "/invitations/[redacted]"),
            (format!("/invitations/{TOKEN}/accept"), "/invitations/[redacted]/accept"),
            (format!("/invitations/{TOKEN}/decline"), "/invitations/[redacted]/decline"),
            (format!("/verify-email/{TOKEN}"), "/verify-email/[redacted]"),
            (format!("/password/reset/{TOKEN}"), "/password/reset/[redacted]"),
            (format!("/password/reset/{TOKEN}/"), "/password/reset/[redacted]/"),
            // a base URL written with a trailing slash makes links with two
            (format!("//invitations/{TOKEN}"), "//invitations/[redacted]"),
            (format!("/invitations/{TOKEN}%2Fmore"), "/invitations/[redacted]"),
        ] {
            assert_eq!(redact_target(&path, ""), logged);
        }
    }

    #[test]
    fn other_paths_are_logged_as_they_are() {
        for path in [
            "/orgs/0193a5b0-7c1e-7b3a-9e4f-1a2b3c4d5e6f/invitations/0193a5b0-7c1e-7b3a-9e4f-aaaaaaaaaaaa/resend",
            "/orgs/0193a5b0-7c1e-7b3a-9e4f-1a2b3c4d5e6f/invitations/new",
            "/profile/invitations/0193a5b0-7c1e-7b3a-9e4f-aaaaaaaaaaaa/accept",
            "/api/v1/invitations/0193a5b0-7c1e-7b3a-9e4f-aaaaaaaaaaaa",
            "/invitations/",
            "/password/forgot",
            "/login",
            "/",
        ] {
            assert_eq!(redact_target(path, ""), path);
        }
    }

    #[test]
    fn query_values_are_never_logged() {
        let next = format!("next=%2Finvitations%2F{TOKEN}");
        assert_eq!(redact_target("/login", &next), "/login?next=[redacted]");
        assert_eq!(redact_target("/verify-email", &format!("token={TOKEN}&x=1")), "/verify-email?token=[redacted]&x=[redacted]");
        assert_eq!(redact_target("/reset", TOKEN), "/reset?[redacted]");
        assert_eq!(
            redact_target(&format!("/invitations/{TOKEN}"), "a=&&b"),
            "/invitations/[redacted]?a=[redacted]&&[redacted]"
        );
    }

    #[test]
    fn a_path_or_a_link_quoted_in_a_message_is_redacted_too() {
        let details = format!("SignInRequired {{ next: \"/invitations/{TOKEN}/accept\" }}");
        assert_eq!(redact_text(&details), "SignInRequired { next: \"/invitations/[redacted]/accept\" }");
        let two = format!("from /verify-email/{TOKEN} to https://example.com:8443/password/reset/{TOKEN}");
        assert_eq!(redact_text(&two), "from /verify-email/[redacted] to https://example.com:8443/password/reset/[redacted]");
        assert_eq!(redact_text(&format!("next=/invitations/{TOKEN}&x")), "next=/invitations/[redacted]&x");
        assert_eq!(redact_text("nothing to hide"), "nothing to hide");
    }
}
