//! `/healthz`: the server answers and its database too.

use actix_web::{HttpResponse, web};

use crate::operations::{self, OpError};
use crate::app::AppState;

pub async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    let result: Result<(), OpError> = state.run(operations::database_answers).await;
    match result {
        Ok(()) => HttpResponse::Ok().json(serde_json::json!({ "status": "ok", "database": "ok" })),
        Err(e) => {
            tracing::error!(error = %e, "health check failed");
            HttpResponse::ServiceUnavailable().json(serde_json::json!({ "status": "unavailable", "database": "unreachable" }))
        }
    }
}
