//! What both faces of the server (the HTML console in `web` and the JSON API in `api`) share:
//! the application state handed to every handler, and where a request came from.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use actix_web::{HttpRequest, web};

use crate::config::Config;
use crate::domain::RequestMeta;
use crate::mail::Postbox;
use crate::metrics::Metrics;
use crate::operations::{OpError, identity, invitations};
use crate::rate_limit::RateLimits;
use crate::storage::Db;
use crate::thread_lane::{Job, Lane};

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<Config>,
    /// Where operations queue their emails, and the bell of the worker delivering them.
    pub mail: Postbox,
    pub limits: Arc<RateLimits>,
    /// Set once the server has been told to stop (`web::draining`).
    pub draining: Arc<AtomicBool>,
    /// This server's metrics (the same registry `db` records into); off without
    /// `STEWARD_METRICS_BIND`.
    pub metrics: Arc<Metrics>,
    /// The key sealing the client secrets of single sign-on connections, derived from the
    /// session key (so it needs no configuration of its own, and changes with it).
    pub sso_key: Arc<[u8; 32]>,
}

/// The blocking thread pool could not run a task (it is shutting down).
#[derive(Debug, Clone, thiserror::Error)]
#[error("blocking task failed: {0}")]
pub struct TaskFailed(pub String);

impl From<TaskFailed> for OpError {
    fn from(e: TaskFailed) -> OpError {
        OpError::Internal(e.to_string())
    }
}

impl AppState {
    /// The state registered with the server, for code that only has the request.
    pub fn of(req: &HttpRequest) -> Option<AppState> {
        req.app_data::<web::Data<AppState>>().map(|d| d.get_ref().clone())
    }

    pub fn identity_settings(&self) -> identity::Settings {
        identity::Settings { base_url: self.config.base_url.clone(), reset_ttl: self.config.reset_ttl }
    }

    pub fn invitation_settings(&self) -> invitations::Settings {
        invitations::Settings { base_url: self.config.base_url.clone(), ttl: self.config.invite_ttl }
    }

    /// Runs blocking work (Diesel, argon2) on the blocking thread pool, never on the async
    /// workers. The error is the work's own, so each face maps it once, its own way.
    pub async fn run<T, E>(&self, f: impl FnOnce(&Db) -> Result<T, E> + Send + 'static) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<TaskFailed> + Send + 'static,
    {
        let db = self.db.clone();
        match web::block(move || f(&db)).await {
            Ok(result) => result,
            Err(e) => Err(TaskFailed(e.to_string()).into()),
        }
    }

    /// `run` on the sign-in lane: threads of its own instead of the blocking pool, where a
    /// sign-in would queue behind every page request of its worker. Sign-ins queue only
    /// behind each other (and their hashes behind each other, `crypto`).
    pub async fn run_sign_in<T, E>(&self, f: impl FnOnce(&Db) -> Result<T, E> + Send + 'static) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<TaskFailed> + Send + 'static,
    {
        let db = self.db.clone();
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = done.send(f(&db));
        });
        match sign_in_lane() {
            Some(lane) => {
                if lane.send(job).is_err() {
                    return Err(TaskFailed("the sign-in lane stopped".into()).into());
                }
            }
            None => {
                // no thread could start: the blocking pool, as any other request
                return match web::block(job).await {
                    Ok(()) => result.await.unwrap_or_else(|_| Err(TaskFailed("the sign-in failed".into()).into())),
                    Err(e) => Err(TaskFailed(e.to_string()).into()),
                };
            }
        }
        result.await.unwrap_or_else(|_| Err(TaskFailed("the sign-in failed".into()).into()))
    }
}

/// Threads of the sign-in lane: two, so that one sign-in's database work overlaps another's
/// hash.
const SIGN_IN_THREADS: usize = 2;

/// The sign-in lane, started on first use (None if no thread could start).
fn sign_in_lane() -> Option<&'static Lane> {
    static LANE: std::sync::OnceLock<Option<Lane>> = std::sync::OnceLock::new();
    LANE.get_or_init(|| Lane::start("steward-sign-in", SIGN_IN_THREADS, || {})).as_ref()
}

/// The client's address: the peer, or, when the peer is a trusted proxy, the nearest address
/// in `X-Forwarded-For` that is not itself a trusted proxy. A forwarded header from anyone
/// else is ignored: it is whatever the client chose to write.
pub fn client_ip(peer: Option<IpAddr>, forwarded_for: Option<&str>, trusted: &[IpAddr]) -> Option<IpAddr> {
    let peer = peer?;
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    let Some(header) = forwarded_for else { return Some(peer) };
    let mut nearest = peer;
    for hop in header.rsplit(',').map(str::trim) {
        match hop.parse::<IpAddr>() {
            Ok(ip) if trusted.contains(&ip) => nearest = ip,
            Ok(ip) => return Some(ip),
            Err(_) => return Some(nearest),
        }
    }
    Some(nearest)
}

/// Where the request came from, for the audit log.
pub fn request_meta(req: &HttpRequest) -> RequestMeta {
    let trusted = req.app_data::<web::Data<AppState>>().map(|s| s.config.trusted_proxies.clone()).unwrap_or_default();
    let forwarded = req.headers().get("X-Forwarded-For").and_then(|v| v.to_str().ok());
    RequestMeta {
        ip: client_ip(req.peer_addr().map(|a| a.ip()), forwarded, &trusted).map(|ip| ip.to_string()),
        user_agent: req
            .headers()
            .get(actix_web::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    }
}

#[cfg(test)]
mod tests {
    use super::client_ip;

    #[test]
    fn forwarded_for_is_believed_only_from_a_trusted_proxy() {
        let proxy = "10.0.0.1".parse().unwrap();
        let client = "203.0.113.9".parse().unwrap();
        // a client writing the header itself is ignored
        assert_eq!(client_ip(Some(client), Some("1.2.3.4"), &[proxy]), Some(client));
        // through the proxy, the address it saw
        assert_eq!(client_ip(Some(proxy), Some("1.2.3.4, 203.0.113.9"), &[proxy]), Some(client));
        assert_eq!(client_ip(Some(proxy), None, &[proxy]), Some(proxy));
        assert_eq!(client_ip(Some(proxy), Some("garbage"), &[proxy]), Some(proxy));
        assert_eq!(client_ip(Some(proxy), Some("203.0.113.9"), &[]), Some(proxy));
    }
}
