//! Steward: a self-hostable console for the user management of a multi-tenant cloud product.
//! `build` assembles the server (and its metrics listener); `main.rs` and the tests both go
//! through it.

pub mod api;
pub mod app;
pub mod background;
pub mod config;
pub mod crypto;
pub mod csv_export;
pub mod csv_verify;
pub mod domain;
pub mod mail;
pub mod metrics;
pub mod oidc;
pub mod operations;
pub mod rate_limit;
pub mod seed;
pub mod storage;
pub mod thread_lane;
pub mod web;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use actix_session::SessionMiddleware;
use actix_session::config::{BrowserSession, CookieContentSecurity};
use actix_session::storage::CookieSessionStore;
use actix_web::cookie::{Key, SameSite};
use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, ResponseError, web as aweb};
use tracing_actix_web::TracingLogger;

use crate::config::{Config, SessionKey};
use crate::metrics::{KnownLabels, Metrics, PoolSample};
use crate::storage::Db;
use crate::web::error::WebError;
use crate::app::AppState;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Db(#[from] storage::DbError),
    #[error(transparent)]
    Mail(#[from] mail::MailError),
    #[error("session key: {0}")]
    SessionKey(String),
    #[error("cannot start a background worker: {0}")]
    Worker(std::io::Error),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("cannot set up the metrics: {0}")]
    Metrics(#[from] prometheus::Error),
}

/// A server ready to be awaited, the address it listens on, and the workers beside it (stop
/// them with `background.shutdown()` once the server has stopped).
pub struct Running {
    pub server: Server,
    pub addr: SocketAddr,
    pub db: Db,
    pub background: background::Background,
    /// Set it before stopping the server: answers then close their connections.
    pub draining: Arc<AtomicBool>,
    /// The `/metrics` listener, when `STEWARD_METRICS_BIND` is set: run it beside `server`,
    /// stop it once `server` has stopped.
    pub metrics: Option<MetricsListener>,
}

/// The server of `/metrics` and the address it listens on.
pub struct MetricsListener {
    pub server: Server,
    pub addr: SocketAddr,
}

/// Opens the database (applying migrations), loads the session key and binds the listener.
pub fn build(config: Config) -> Result<Running, StartupError> {
    let pool = storage::connect(&config.database_url, config.db_pool_size)?;
    let metrics = Arc::new(match config.metrics_bind {
        Some(_) => new_metrics(pool.clone())?,
        None => Metrics::off(),
    });
    let db = Db::with_metrics(pool, metrics.clone());
    let key = load_session_key(&config.session_key)?;
    let https = config.is_https();
    let workers = config.workers;
    let transport = mail::Transport::from_config(&config)?;
    let limits = rate_limit::RateLimits::new(&config.rate_limits, config.trusted_proxies.clone());
    let mut background = background::Background::new();
    operations::housekeeping::start(&mut background, db.clone(), operations::housekeeping::Settings::of(&config))
        .map_err(StartupError::Worker)?;
    let delivery_db = db.clone();
    let mail_waker = background
        .spawn("mail", move |ticker| mail::delivery::run(delivery_db, transport, ticker))
        .map_err(StartupError::Worker)?;
    let mail = mail::Postbox::from_config(&config, mail_waker)?;
    let draining = Arc::new(AtomicBool::new(false));
    let state = AppState {
        db: db.clone(),
        config: Arc::new(config.clone()),
        mail,
        limits: Arc::new(limits),
        draining: draining.clone(),
        metrics: metrics.clone(),
        sso_key: Arc::new(crypto::derive_key(key.master(), operations::sso::SECRET_KEY_LABEL)),
    };

    let server = HttpServer::new(move || {
        let session = SessionMiddleware::builder(CookieSessionStore::default(), key.clone())
            .cookie_name("steward_session".into())
            .cookie_http_only(true)
            .cookie_same_site(SameSite::Lax)
            .cookie_secure(https)
            .cookie_path("/".into())
            .cookie_content_security(CookieContentSecurity::Private)
            .session_lifecycle(BrowserSession::default())
            .build();
        App::new()
            .app_data(aweb::Data::new(state.clone()))
            .app_data(
                aweb::FormConfig::default()
                    .limit(web::security::MAX_FORM_BYTES)
                    .error_handler(|e, _| match e {
                        actix_web::error::UrlencodedError::Overflow { .. } => WebError::TooLarge.into(),
                        e => WebError::BadRequest(format!("The form could not be read: {e}")).into(),
                    }),
            )
            .app_data(
                aweb::QueryConfig::default()
                    .error_handler(|e, _| WebError::BadRequest(format!("The query could not be read: {e}")).into()),
            )
            .app_data(aweb::PathConfig::default().error_handler(|_, _| WebError::NotFound.into()))
            // the API first: its one scope answers for /api/v1 at a glance
            .configure(api::routes)
            .configure(web::routes)
            .default_service(aweb::to(|| async { WebError::NotFound.error_response() }))
            // the last wrap runs first: logging, headers, no-store, session, then CSRF
            .wrap(from_fn(web::security::csrf))
            .wrap(session)
            .wrap(from_fn(web::security::no_store_html))
            .wrap(web::security::headers(https))
            .wrap(from_fn(web::draining::close_when_draining))
            .wrap(TracingLogger::<web::request_log::RedactedRootSpan>::new())
    })
    // the caller stops the server on a signal, marking it as draining first (see main.rs)
    .disable_signals()
    .shutdown_timeout(20);
    let workers = if workers > 0 { workers } else { std::thread::available_parallelism().map_or(1, |n| n.get()) };
    // Blocking work is database work, which waits for one of the pool's connections anyway:
    // as many threads as connections. With actix's default (512 per process) the pool grew
    // under a steady load, thread after thread, and with each new thread glibc's malloc spread
    // the heap over one more arena (scripts/bench --soak: the resident memory never settled).
    let blocking = (config.db_pool_size as usize).div_ceil(workers).max(4);
    let server = server.workers(workers).worker_max_blocking_threads(blocking);
    let server = server.bind(config.bind).map_err(|source| StartupError::Bind { addr: config.bind, source })?;
    let addr = server.addrs().first().copied().unwrap_or(config.bind);
    let metrics = match config.metrics_bind {
        Some(at) => {
            let (server, addr) = web::metrics::server(at, metrics).map_err(|source| StartupError::Bind { addr: at, source })?;
            Some(MetricsListener { server, addr })
        }
        None => None,
    };
    Ok(Running { server: server.run(), addr, db, background, draining, metrics })
}

/// The registry of a server serving metrics, the pool's gauges read from `pool` at each scrape,
/// and every series of a fixed label set at zero.
fn new_metrics(pool: storage::DbPool) -> Result<Metrics, prometheus::Error> {
    let email_kinds = storage::outbox::Kind::ALL.map(storage::outbox::Kind::as_str);
    let known = KnownLabels { rate_limits: &rate_limit::LIMITS, audit_actions: &storage::audit::ACTIONS, email_kinds: &email_kinds };
    let sample = move || {
        let state = pool.state();
        PoolSample { in_use: state.connections.saturating_sub(state.idle_connections), idle: state.idle_connections, max: pool.max_size() }
    };
    Metrics::new(sample, known)
}

/// The cookie key: given, or read from its file, or generated into it on first start.
fn load_session_key(source: &SessionKey) -> Result<Key, StartupError> {
    match source {
        SessionKey::Given(bytes) => Key::try_from(bytes.as_slice()).map_err(|e| StartupError::SessionKey(e.to_string())),
        SessionKey::File(path) => {
            if let Ok(bytes) = std::fs::read(path) {
                return Key::try_from(bytes.as_slice())
                    .map_err(|e| StartupError::SessionKey(format!("{}: {e}", path.display())));
            }
            let bytes = crypto::random_bytes::<64>();
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| StartupError::SessionKey(format!("{}: {e}", parent.display())))?;
            }
            write_private(path, &bytes).map_err(|e| StartupError::SessionKey(format!("{}: {e}", path.display())))?;
            Key::try_from(bytes.as_slice()).map_err(|e| StartupError::SessionKey(e.to_string()))
        }
    }
}

fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(bytes)
}
