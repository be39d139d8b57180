//! The metrics listener's one page: `GET /metrics` in Prometheus's text format, on
//! `STEWARD_METRICS_BIND` only, never on the console's address.

use std::sync::Arc;

use actix_web::{App, HttpResponse, HttpServer, dev::Server, web};

use crate::metrics::{CONTENT_TYPE, Metrics};

/// The listener on `addr`, one worker: a scrape every few seconds needs no more, and takes
/// nothing from the console's workers. Not a middleware of the console's is on it: no session,
/// no log line per scrape.
pub fn server(addr: std::net::SocketAddr, metrics: Arc<Metrics>) -> std::io::Result<(Server, std::net::SocketAddr)> {
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::from(metrics.clone()))
            .route("/metrics", web::get().to(scrape))
            .default_service(web::to(|| async { HttpResponse::NotFound().content_type("text/plain; charset=utf-8").body("not found\n") }))
    })
    .workers(1)
    // stopped by the caller after the console, so that a scrape can watch it drain
    .disable_signals()
    .shutdown_timeout(5)
    .bind(addr)?;
    let bound = server.addrs().first().copied().unwrap_or(addr);
    Ok((server.run(), bound))
}

/// `GET /metrics`: every metric as it stands, the pool's gauges read now.
pub async fn scrape(metrics: web::Data<Metrics>) -> HttpResponse {
    match metrics.render() {
        Ok(text) => HttpResponse::Ok().content_type(CONTENT_TYPE).insert_header(("Cache-Control", "no-store")).body(text),
        Err(e) => {
            tracing::error!(error = %e, "the metrics could not be written");
            HttpResponse::InternalServerError().content_type("text/plain; charset=utf-8").body("the metrics could not be written\n")
        }
    }
}
