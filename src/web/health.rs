//! `/healthz`: the server answers and its database too.

use actix_web::{HttpResponse, web};

use crate::db;
use crate::web::state::AppState;

pub async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    let result = state.run(|d| db::ping(&mut *d.conn()?)).await;
    match result {
        Ok(()) => HttpResponse::Ok().json(serde_json::json!({ "status": "ok", "database": "ok" })),
        Err(e) => {
            tracing::error!(error = %e, "health check failed");
            HttpResponse::ServiceUnavailable().json(serde_json::json!({ "status": "unavailable", "database": "unreachable" }))
        }
    }
}
