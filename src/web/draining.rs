//! Stopping without cutting anyone off: once the server has been told to stop, every answer
//! closes its connection. A client on a kept-alive connection then sends its next request on a
//! new connection (to another instance, or refused), instead of holding this one open until the
//! shutdown timeout cuts a request off half-way.

use std::sync::atomic::Ordering;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::ConnectionType;
use actix_web::middleware::Next;
use actix_web::{Error, web};

use crate::app::AppState;

pub async fn close_when_draining(req: ServiceRequest, next: Next<impl MessageBody + 'static>) -> Result<ServiceResponse<BoxBody>, Error> {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let mut res = next.call(req).await?.map_into_boxed_body();
    // read after the handler: a request that began before the signal may end after it
    if state.is_some_and(|s| s.draining.load(Ordering::Relaxed)) {
        res.response_mut().head_mut().set_connection_type(ConnectionType::Close);
    }
    Ok(res)
}
