//! Stopping without cutting anyone off: once the server has been told to stop, a request that
//! arrives is answered 503 without being started, and every answer closes its connection. A
//! client on a kept-alive connection then sends its next request on a new connection (to another
//! instance, or refused), instead of holding this one open until the shutdown timeout cuts a
//! request off half-way.

use std::sync::atomic::Ordering;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, ContentType};
use actix_web::http::ConnectionType;
use actix_web::middleware::Next;
use actix_web::{Error, HttpResponse, web};

use crate::app::AppState;

pub async fn close_when_draining(req: ServiceRequest, next: Next<impl MessageBody + 'static>) -> Result<ServiceResponse<BoxBody>, Error> {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let draining = || state.as_ref().is_some_and(|s| s.draining.load(Ordering::Relaxed));
    // a request read once the server is stopping is never started: its connection may be
    // dropped with the worker before an answer could go out, and a change made then would be
    // applied without anyone hearing of it
    if draining() {
        let answer = stopping(req.path().starts_with("/api/"));
        return Ok(req.into_response(answer));
    }
    let mut res = next.call(req).await?.map_into_boxed_body();
    // read after the handler: a request that began before the signal may end after it
    if draining() {
        res.response_mut().head_mut().set_connection_type(ConnectionType::Close);
    }
    Ok(res)
}

/// 503 with `Retry-After`, closing the connection: the client sends the request again, to
/// another instance or to this one once it is back.
fn stopping(api: bool) -> HttpResponse {
    let mut answer = HttpResponse::ServiceUnavailable();
    answer.insert_header((header::RETRY_AFTER, "1")).force_close();
    if api {
        answer.json(serde_json::json!({
            "error": { "code": "unavailable", "message": "The server is stopping. Send the request again." }
        }))
    } else {
        answer.content_type(ContentType::plaintext()).body("Steward is restarting. Try again in a moment.")
    }
}
