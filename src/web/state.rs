//! What every handler shares: the database, the configuration, the mail sender, the rate limits.

use std::sync::Arc;

use actix_web::web;

use crate::config::Config;
use crate::db::Db;
use crate::mail::Sender;
use crate::ops::invitations;
use crate::web::error::WebError;
use crate::web::rate_limit::RateLimits;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<Config>,
    pub mail: Arc<Sender>,
    pub limits: Arc<RateLimits>,
}

impl AppState {
    pub fn invitation_settings(&self) -> invitations::Settings {
        invitations::Settings { base_url: self.config.base_url.clone(), ttl: self.config.invite_ttl }
    }

    /// Runs blocking work (Diesel, argon2) on the blocking thread pool, never on the async
    /// workers, and maps its error once.
    pub async fn run<T, E>(&self, f: impl FnOnce(&Db) -> Result<T, E> + Send + 'static) -> Result<T, WebError>
    where
        T: Send + 'static,
        E: Into<WebError> + Send + 'static,
    {
        let db = self.db.clone();
        match web::block(move || f(&db)).await {
            Ok(result) => result.map_err(Into::into),
            Err(e) => Err(WebError::Internal(format!("blocking task failed: {e}"))),
        }
    }
}
