//! Request-wide protections: CSRF on every POST of the HTML side, security headers, no-store pages.

use actix_session::SessionExt;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{Method, header};
use actix_web::middleware::{DefaultHeaders, Next};
use actix_web::{Error, HttpMessage, ResponseError, web::Bytes};
use futures_util::StreamExt;

use crate::crypto::constant_time_eq;
use crate::web::error::WebError;
use crate::web::forms;
use crate::web::session;

/// The largest form body the CSRF check reads (and so the largest form Steward accepts).
pub const MAX_FORM_BYTES: usize = 256 * 1024;

/// Rejects with 403 every state-changing request of the HTML side that does not carry this
/// session's CSRF token, in the `X-CSRF-Token` header (htmx) or the `csrf_token` form field of
/// an urlencoded or a multipart/form-data body (a form with a file).
/// The JSON API is exempt: it authenticates with a bearer key, never with the cookie.
pub async fn csrf(mut req: ServiceRequest, next: Next<impl MessageBody + 'static>) -> Result<ServiceResponse<BoxBody>, Error> {
    let unsafe_method = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !unsafe_method || req.path().starts_with("/api/") {
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    }
    let expected = session::stored_csrf_token(&req.get_session());
    let header_token = req.headers().get("X-CSRF-Token").and_then(|v| v.to_str().ok()).map(str::to_owned);

    let presented = match header_token {
        Some(t) => Some(t),
        None => {
            // Read the form body, find the token, and put the body back for the handler.
            let mut payload = req.take_payload();
            let mut body = web_bytes();
            let mut too_large = false;
            while let Some(chunk) = payload.next().await {
                let chunk = chunk?;
                if body.len() + chunk.len() > MAX_FORM_BYTES {
                    too_large = true;
                    break;
                }
                body.extend_from_slice(&chunk);
            }
            if too_large {
                let resp = WebError::TooLarge.error_response();
                return Ok(req.into_response(resp));
            }
            let bytes = Bytes::from(body);
            let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
            let token = if forms::is_multipart(content_type.as_deref()) {
                // a form with a file: its token is one of its parts
                multipart_field(content_type.as_deref().unwrap_or_default(), bytes.clone(), "csrf_token").await
            } else {
                form_field(&bytes, "csrf_token")
            };
            let stream: BoxedStream =
                Box::pin(futures_util::stream::once(async move { Ok::<_, actix_web::error::PayloadError>(bytes) }));
            req.set_payload(Payload::from(stream));
            token
        }
    };

    let valid = match (expected, presented) {
        (Some(e), Some(p)) => constant_time_eq(e.as_bytes(), p.as_bytes()),
        _ => false,
    };
    if !valid {
        let path = crate::web::request_log::redact_target(req.path(), "");
        tracing::warn!(path = %path, "request refused: missing or wrong CSRF token");
        return Ok(req.into_response(WebError::Csrf.error_response()));
    }
    next.call(req).await.map(ServiceResponse::map_into_boxed_body)
}

type BoxedStream =
    std::pin::Pin<Box<dyn futures_util::Stream<Item = Result<Bytes, actix_web::error::PayloadError>>>>;

fn web_bytes() -> Vec<u8> {
    Vec::with_capacity(1024)
}

/// The first value of `name` in an urlencoded body.
fn form_field(body: &[u8], name: &str) -> Option<String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).ok()?;
    pairs.into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

/// The text of the first part named `name` of a multipart/form-data body; none when the body
/// cannot be read as one (then there is no token either, and the request is refused).
async fn multipart_field(content_type: &str, body: Bytes, name: &str) -> Option<String> {
    let parts = forms::read_multipart(content_type, body).await.ok()?;
    let part = parts.into_iter().find(|p| p.name == name && p.file_name.is_none())?;
    String::from_utf8(part.data.to_vec()).ok()
}

/// `Cache-Control: no-store` on every HTML response that does not say otherwise: pages show
/// personal data, a new API key's secret, CSRF tokens and invitation links, which must not stay
/// in a browser's or a proxy's cache after the session. Assets (cached for a year) and the JSON
/// of `/healthz` and the API are left as they are.
pub async fn no_store_html(req: ServiceRequest, next: Next<impl MessageBody + 'static>) -> Result<ServiceResponse<BoxBody>, Error> {
    let mut res = next.call(req).await?.map_into_boxed_body();
    let headers = res.headers_mut();
    let is_html = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("text/html"));
    if is_html && !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    }
    Ok(res)
}

/// Headers on every response. No inline script or style is allowed anywhere.
pub fn headers(https: bool) -> DefaultHeaders {
    let mut h = DefaultHeaders::new()
        .add((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
        ))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::REFERRER_POLICY, "same-origin"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add(("Cross-Origin-Opener-Policy", "same-origin"))
        .add(("Permissions-Policy", "camera=(), microphone=(), geolocation=()"));
    if https {
        h = h.add((header::STRICT_TRANSPORT_SECURITY, "max-age=31536000; includeSubDomains"));
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_found_among_other_fields() {
        assert_eq!(form_field(b"name=a&csrf_token=abc%2Bd&x=1", "csrf_token").as_deref(), Some("abc+d"));
        assert_eq!(form_field(b"name=a", "csrf_token"), None);
        assert_eq!(form_field(b"\xff\xfe", "csrf_token"), None);
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        futures_util::FutureExt::now_or_never(f).expect("reading a buffered body never waits")
    }

    #[test]
    fn the_token_is_found_in_a_multipart_body_but_never_in_a_file() {
        let body = "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"csrf_token\"\r\n\r\nnot it\r\n\
                    --XyZ\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\nabc+d\r\n--XyZ--\r\n";
        let ct = "multipart/form-data; boundary=XyZ";
        assert_eq!(block_on(multipart_field(ct, Bytes::from(body), "csrf_token")).as_deref(), Some("abc+d"));
        let only_file = "--XyZ\r\nContent-Disposition: form-data; name=\"csrf_token\"; filename=\"t.txt\"\r\n\r\nabc\r\n--XyZ--\r\n";
        assert_eq!(block_on(multipart_field(ct, Bytes::from(only_file), "csrf_token")), None);
        assert_eq!(block_on(multipart_field("multipart/form-data", Bytes::from(body), "csrf_token")), None, "no boundary");
        assert_eq!(block_on(multipart_field(ct, Bytes::from("garbage"), "csrf_token")), None);
    }
}
