//! Configuration from the environment, each variable with a working default.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::storage::Backend;

#[derive(Debug, thiserror::Error)]
#[error("{var}: {message}")]
pub struct ConfigError {
    pub var: &'static str,
    pub message: String,
}

fn invalid(var: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError { var, message: message.into() }
}

/// How the log is written (`STEWARD_LOG_FORMAT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One human-readable line per event.
    Text,
    /// One JSON object per line, for a log collector.
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signup {
    Open,
    Closed,
}

/// Where the session cookie key comes from.
#[derive(Clone)]
pub enum SessionKey {
    /// Given in `STEWARD_SESSION_KEY` (at least 64 bytes once decoded).
    Given(Vec<u8>),
    /// Read from this file, or generated into it on first start.
    File(PathBuf),
}

impl std::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SessionKey::Given(_) => f.write_str("SessionKey::Given(..)"),
            SessionKey::File(p) => write!(f, "SessionKey::File({})", p.display()),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub bind: SocketAddr,
    pub database_url: String,
    pub base_url: String,
    pub smtp_url: Option<String>,
    pub outbox: PathBuf,
    pub mail_from: String,
    pub session_key: SessionKey,
    pub invite_ttl: Duration,
    /// How long a password reset link works (`STEWARD_RESET_TTL`).
    pub reset_ttl: Duration,
    /// How long the entries of the accounts' security logs are kept
    /// (`STEWARD_SECURITY_LOG_RETENTION`).
    pub security_log_retention: Duration,
    pub signup: Signup,
    /// Connections in the database pool.
    pub db_pool_size: u32,
    /// HTTP worker threads (0 = one per core).
    pub workers: usize,
    /// Reverse proxies whose `X-Forwarded-For` is believed (`STEWARD_TRUSTED_PROXIES`).
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// How often sign-in, invitations and the API may be used (`STEWARD_RATE_LIMIT_*`).
    pub rate_limits: RateLimits,
    /// The pause between two rounds of the background housekeeping
    /// (`STEWARD_HOUSEKEEPING_INTERVAL`).
    pub housekeeping_interval: Duration,
    /// How the log is written (`STEWARD_LOG_FORMAT`).
    pub log_format: LogFormat,
    /// Where `/metrics` is served (`STEWARD_METRICS_BIND`); none, the default, serves no
    /// metrics at all.
    pub metrics_bind: Option<SocketAddr>,
    /// Hosts of identity providers the server may fetch over plain HTTP and on loopback or
    /// private addresses (`STEWARD_SSO_ALLOW_PRIVATE_ISSUERS`); every other issuer must be
    /// https on a public address.
    pub sso_allow_private_issuers: Vec<String>,
}

/// A rate limit: `count` requests every `per`, and at most `burst` of them at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub count: u32,
    pub per: Duration,
    pub burst: u32,
}

impl Rate {
    pub const fn per_second(count: u32) -> Rate {
        Rate { count, per: Duration::from_secs(1), burst: count }
    }

    pub const fn per_minute(count: u32) -> Rate {
        Rate { count, per: Duration::from_secs(60), burst: count }
    }

    pub const fn per_hour(count: u32) -> Rate {
        Rate { count, per: Duration::from_secs(3600), burst: count }
    }

    /// The same rate, allowing `burst` requests at once instead of `count`.
    pub const fn burst(self, burst: u32) -> Rate {
        Rate { burst, ..self }
    }
}

/// The request limits; `None` turns a limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// Sign-in attempts per client address (`STEWARD_RATE_LIMIT_LOGIN_IP`).
    pub login_ip: Option<Rate>,
    /// Sign-in attempts per email typed, whether or not it has an account
    /// (`STEWARD_RATE_LIMIT_LOGIN_ACCOUNT`).
    pub login_account: Option<Rate>,
    /// Invitations sent per organization (`STEWARD_RATE_LIMIT_INVITE_ORG`).
    pub invite_org: Option<Rate>,
    /// Invitation pages, acceptances and declines per client address (`STEWARD_RATE_LIMIT_ACCEPT_IP`).
    pub accept_ip: Option<Rate>,
    /// JSON API requests per API key (`STEWARD_RATE_LIMIT_API_KEY`).
    pub api_key: Option<Rate>,
    /// Sign-ups per client address (`STEWARD_RATE_LIMIT_SIGNUP_IP`).
    pub signup_ip: Option<Rate>,
    /// Invitations sent per inviting account, across its organizations
    /// (`STEWARD_RATE_LIMIT_INVITE_ACCOUNT`).
    pub invite_account: Option<Rate>,
    /// Organizations created per account (`STEWARD_RATE_LIMIT_ORG_CREATE`).
    pub org_create: Option<Rate>,
    /// Password reset requests per client address (`STEWARD_RATE_LIMIT_RESET_IP`).
    pub reset_ip: Option<Rate>,
    /// Password reset requests per email typed (`STEWARD_RATE_LIMIT_RESET_EMAIL`).
    pub reset_email: Option<Rate>,
    /// Verification emails sent again per account (`STEWARD_RATE_LIMIT_VERIFY_RESEND`).
    pub verify_resend: Option<Rate>,
    /// Two-factor codes tried per account: the second step of sign-in, turning two-factor off
    /// (`STEWARD_RATE_LIMIT_TWO_FACTOR`).
    pub two_factor: Option<Rate>,
}

impl Default for RateLimits {
    fn default() -> RateLimits {
        RateLimits {
            login_ip: Some(Rate::per_minute(20)),
            login_account: Some(Rate::per_minute(10)),
            invite_org: Some(Rate::per_hour(100).burst(50)),
            accept_ip: Some(Rate::per_minute(30)),
            api_key: Some(Rate::per_minute(600).burst(100)),
            signup_ip: Some(Rate::per_hour(10)),
            invite_account: Some(Rate::per_hour(200).burst(50)),
            org_create: Some(Rate::per_hour(10)),
            reset_ip: Some(Rate::per_hour(20)),
            reset_email: Some(Rate::per_hour(5)),
            verify_resend: Some(Rate::per_hour(5)),
            two_factor: Some(Rate::per_minute(5)),
        }
    }
}

impl RateLimits {
    /// Every limit off.
    pub const fn off() -> RateLimits {
        RateLimits {
            login_ip: None,
            login_account: None,
            invite_org: None,
            accept_ip: None,
            api_key: None,
            signup_ip: None,
            invite_account: None,
            org_create: None,
            reset_ip: None,
            reset_email: None,
            verify_resend: None,
            two_factor: None,
        }
    }
}

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup`, so that tests can give their own values.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());

        let bind_raw = get("STEWARD_BIND").unwrap_or_else(|| "127.0.0.1:8080".into());
        let bind = bind_raw
            .trim()
            .parse()
            .map_err(|_| invalid("STEWARD_BIND", format!("{bind_raw:?} is not an address like 127.0.0.1:8080")))?;

        // its own address, never the console's: the metrics are for the operator's network
        let metrics_bind = match get("STEWARD_METRICS_BIND") {
            Some(raw) => {
                let addr: SocketAddr = raw.trim().parse().map_err(|_| {
                    invalid("STEWARD_METRICS_BIND", format!("{raw:?} is not an address like 127.0.0.1:9100"))
                })?;
                if addr == bind && addr.port() != 0 {
                    return Err(invalid("STEWARD_METRICS_BIND", format!("{addr} is STEWARD_BIND too; the metrics need an address of their own")));
                }
                Some(addr)
            }
            None => None,
        };

        let database_url = get("STEWARD_DATABASE_URL").unwrap_or_else(|| "sqlite://data/steward.db".into());
        if Backend::of_url(&database_url).is_none() {
            return Err(invalid(
                "STEWARD_DATABASE_URL",
                "must start with sqlite:// or postgres:// (for example sqlite://data/steward.db)",
            ));
        }

        let base_url = get("STEWARD_BASE_URL").unwrap_or_else(|| "http://127.0.0.1:8080".into());
        let base_url = base_url.trim().trim_end_matches('/').to_string();
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) || base_url.len() < 10 {
            return Err(invalid("STEWARD_BASE_URL", "must be an http:// or https:// URL"));
        }

        let smtp_url = get("STEWARD_SMTP_URL");
        if let Some(url) = &smtp_url {
            if !(url.starts_with("smtp://") || url.starts_with("smtps://")) {
                return Err(invalid("STEWARD_SMTP_URL", "must be an smtp:// or smtps:// URL"));
            }
        }

        let outbox = PathBuf::from(get("STEWARD_OUTBOX").unwrap_or_else(|| "data/outbox".into()));
        let mail_from = get("STEWARD_MAIL_FROM").unwrap_or_else(|| "Steward <steward@localhost>".into());
        if !mail_from.contains('@') {
            return Err(invalid("STEWARD_MAIL_FROM", "must be an address like Steward <steward@example.com>"));
        }

        let session_key = match get("STEWARD_SESSION_KEY") {
            Some(raw) => SessionKey::Given(decode_session_key(raw.trim())?),
            None => SessionKey::File(PathBuf::from("data/session.key")),
        };

        let invite_ttl = match get("STEWARD_INVITE_TTL") {
            Some(raw) => parse_duration(&raw).ok_or_else(|| {
                invalid("STEWARD_INVITE_TTL", format!("{raw:?} is not a duration like 90s, 30m, 24h or 3d"))
            })?,
            None => Duration::from_secs(24 * 3600),
        };
        let reset_ttl = match get("STEWARD_RESET_TTL") {
            Some(raw) => parse_duration(&raw).ok_or_else(|| {
                invalid("STEWARD_RESET_TTL", format!("{raw:?} is not a duration like 90s, 30m, 1h or 3d"))
            })?,
            None => Duration::from_secs(3600),
        };
        let security_log_retention = match get("STEWARD_SECURITY_LOG_RETENTION") {
            Some(raw) => parse_duration(&raw).ok_or_else(|| {
                invalid("STEWARD_SECURITY_LOG_RETENTION", format!("{raw:?} is not a duration like 90d or 24h"))
            })?,
            None => Duration::from_secs(365 * 86_400),
        };

        let housekeeping_interval = match get("STEWARD_HOUSEKEEPING_INTERVAL") {
            Some(raw) => parse_duration(&raw).ok_or_else(|| {
                invalid("STEWARD_HOUSEKEEPING_INTERVAL", format!("{raw:?} is not a duration like 10m, 1h or 90s"))
            })?,
            None => Duration::from_secs(600),
        };

        let signup = match get("STEWARD_SIGNUP").as_deref().map(str::trim) {
            None | Some("open") => Signup::Open,
            Some("closed") => Signup::Closed,
            Some(other) => return Err(invalid("STEWARD_SIGNUP", format!("{other:?} is neither open nor closed"))),
        };

        let log_format = match get("STEWARD_LOG_FORMAT").as_deref().map(str::trim) {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => return Err(invalid("STEWARD_LOG_FORMAT", format!("{other:?} is neither text nor json"))),
        };

        let db_pool_size = match get("STEWARD_DB_POOL") {
            Some(raw) => raw
                .trim()
                .parse()
                .ok()
                .filter(|n| (1..=256).contains(n))
                .ok_or_else(|| invalid("STEWARD_DB_POOL", "must be a number from 1 to 256"))?,
            None => 16,
        };
        let workers = match get("STEWARD_WORKERS") {
            Some(raw) => raw.trim().parse().map_err(|_| invalid("STEWARD_WORKERS", "must be a number"))?,
            None => 0,
        };

        let trusted_proxies = match get("STEWARD_TRUSTED_PROXIES") {
            Some(raw) => raw
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| s.parse().map_err(|_| invalid("STEWARD_TRUSTED_PROXIES", format!("{s:?} is not an IP address"))))
                .collect::<Result<Vec<_>, _>>()?,
            None => Vec::new(),
        };

        let sso_allow_private_issuers = get("STEWARD_SSO_ALLOW_PRIVATE_ISSUERS")
            .map(|raw| raw.split(',').map(|h| h.trim().to_lowercase()).filter(|h| !h.is_empty()).collect())
            .unwrap_or_default();

        let defaults = RateLimits::default();
        let rate = |var: &'static str, default: Option<Rate>| match get(var) {
            Some(raw) => parse_rate(&raw).ok_or_else(|| {
                invalid(var, format!("{raw:?} is not a rate like 20/min, 100/h or 600/min,burst=100 (0 or off turns it off)"))
            }),
            None => Ok(default),
        };
        let rate_limits = RateLimits {
            login_ip: rate("STEWARD_RATE_LIMIT_LOGIN_IP", defaults.login_ip)?,
            login_account: rate("STEWARD_RATE_LIMIT_LOGIN_ACCOUNT", defaults.login_account)?,
            invite_org: rate("STEWARD_RATE_LIMIT_INVITE_ORG", defaults.invite_org)?,
            accept_ip: rate("STEWARD_RATE_LIMIT_ACCEPT_IP", defaults.accept_ip)?,
            api_key: rate("STEWARD_RATE_LIMIT_API_KEY", defaults.api_key)?,
            signup_ip: rate("STEWARD_RATE_LIMIT_SIGNUP_IP", defaults.signup_ip)?,
            invite_account: rate("STEWARD_RATE_LIMIT_INVITE_ACCOUNT", defaults.invite_account)?,
            org_create: rate("STEWARD_RATE_LIMIT_ORG_CREATE", defaults.org_create)?,
            reset_ip: rate("STEWARD_RATE_LIMIT_RESET_IP", defaults.reset_ip)?,
            reset_email: rate("STEWARD_RATE_LIMIT_RESET_EMAIL", defaults.reset_email)?,
            verify_resend: rate("STEWARD_RATE_LIMIT_VERIFY_RESEND", defaults.verify_resend)?,
            two_factor: rate("STEWARD_RATE_LIMIT_TWO_FACTOR", defaults.two_factor)?,
        };

        Ok(Config {
            trusted_proxies,
            rate_limits,
            bind,
            database_url,
            base_url,
            smtp_url,
            outbox,
            mail_from,
            session_key,
            invite_ttl,
            reset_ttl,
            security_log_retention,
            housekeeping_interval,
            log_format,
            metrics_bind,
            sso_allow_private_issuers,
            signup,
            db_pool_size,
            workers,
        })
    }

    /// Whether the console is served over https (Secure cookies, HSTS).
    pub fn is_https(&self) -> bool {
        self.base_url.starts_with("https://")
    }
}

/// A session key given as hex or base64; it must hold at least 64 bytes.
fn decode_session_key(raw: &str) -> Result<Vec<u8>, ConfigError> {
    use base64::Engine;
    let bytes = if raw.len() % 2 == 0 && raw.bytes().all(|b| b.is_ascii_hexdigit()) {
        (0..raw.len()).step_by(2).map(|i| u8::from_str_radix(&raw[i..i + 2], 16).unwrap_or(0)).collect()
    } else {
        base64::engine::general_purpose::STANDARD
            .decode(raw)
            .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(raw))
            .map_err(|_| invalid("STEWARD_SESSION_KEY", "must be hex or base64"))?
    };
    if bytes.len() < 64 {
        return Err(invalid("STEWARD_SESSION_KEY", "must hold at least 64 bytes (128 hex characters)"));
    }
    Ok(bytes)
}

/// Parses `90s`, `30m`, `24h`, `3d` (a bare number is seconds).
pub fn parse_duration(raw: &str) -> Option<Duration> {
    let raw = raw.trim();
    let split = raw.find(|c: char| !c.is_ascii_digit()).unwrap_or(raw.len());
    let (number, unit) = raw.split_at(split);
    let n: u64 = number.parse().ok()?;
    let seconds = match unit.trim() {
        "" | "s" => n,
        "m" => n.checked_mul(60)?,
        "h" => n.checked_mul(3600)?,
        "d" => n.checked_mul(86_400)?,
        _ => return None,
    };
    (seconds > 0).then(|| Duration::from_secs(seconds))
}

/// Parses a rate limit: `N/s`, `N/min` or `N/h`, optionally followed by `,burst=B` (otherwise
/// the burst is N). `0` or `off` turns the limit off: `Some(None)`. `None` when malformed.
pub fn parse_rate(raw: &str) -> Option<Option<Rate>> {
    let raw = raw.trim();
    if raw == "0" || raw.eq_ignore_ascii_case("off") {
        return Some(None);
    }
    let (rate, burst) = match raw.split_once(',') {
        Some((rate, burst)) => (rate, Some(burst.trim().strip_prefix("burst")?.trim_start().strip_prefix('=')?)),
        None => (raw, None),
    };
    let (count, unit) = rate.split_once('/')?;
    let count: u32 = count.trim().parse().ok().filter(|n| *n > 0)?;
    let per = match unit.trim() {
        "s" | "sec" | "second" => Duration::from_secs(1),
        "min" | "minute" => Duration::from_secs(60),
        "h" | "hour" => Duration::from_secs(3600),
        _ => return None,
    };
    let burst = match burst {
        Some(b) => b.trim().parse().ok().filter(|n| *n > 0)?,
        None => count,
    };
    // one request every per/count: below a nanosecond it cannot be measured
    if (per / count).is_zero() {
        return None;
    }
    Some(Some(Rate { count, per, burst }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
    }

    #[test]
    fn every_variable_has_a_working_default() {
        let c = config(&[]).expect("defaults");
        assert_eq!(c.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(c.database_url, "sqlite://data/steward.db");
        assert_eq!(c.base_url, "http://127.0.0.1:8080");
        assert_eq!(c.invite_ttl, Duration::from_secs(86_400));
        assert_eq!(c.reset_ttl, Duration::from_secs(3600));
        assert_eq!(c.security_log_retention, Duration::from_secs(365 * 86_400));
        assert_eq!(c.housekeeping_interval, Duration::from_secs(600));
        assert_eq!(c.signup, Signup::Open);
        assert_eq!(c.log_format, LogFormat::Text);
        assert!(c.smtp_url.is_none());
        assert!(!c.is_https());
        assert_eq!(c.metrics_bind, None);
    }

    #[test]
    fn metrics_are_served_on_an_address_of_their_own() {
        let c = config(&[("STEWARD_METRICS_BIND", " 127.0.0.1:9100 ")]).expect("an address");
        assert_eq!(c.metrics_bind, Some("127.0.0.1:9100".parse().unwrap()));
        let c = config(&[("STEWARD_METRICS_BIND", "[::1]:9100"), ("STEWARD_BIND", "[::1]:8080")]).expect("IPv6");
        assert_eq!(c.metrics_bind, Some("[::1]:9100".parse().unwrap()));
        let err = config(&[("STEWARD_METRICS_BIND", "9100")]).expect_err("a port alone");
        assert_eq!(err.to_string(), "STEWARD_METRICS_BIND: \"9100\" is not an address like 127.0.0.1:9100");
        let err = config(&[("STEWARD_METRICS_BIND", "0.0.0.0:8080"), ("STEWARD_BIND", "0.0.0.0:8080")]).expect_err("the console's");
        assert_eq!(err.var, "STEWARD_METRICS_BIND");
        assert!(err.to_string().contains("STEWARD_BIND too"), "{err}");
    }

    #[test]
    fn private_identity_providers_are_allowed_by_host() {
        assert!(config(&[]).expect("defaults").sso_allow_private_issuers.is_empty());
        let c = config(&[("STEWARD_SSO_ALLOW_PRIVATE_ISSUERS", " 127.0.0.1, IdP.Internal ,")]).expect("hosts");
        assert_eq!(c.sso_allow_private_issuers, vec!["127.0.0.1".to_string(), "idp.internal".to_string()]);
    }

    #[test]
    fn a_malformed_value_names_its_variable() {
        for (var, value) in [
            ("STEWARD_BIND", "not-an-address"),
            ("STEWARD_DATABASE_URL", "mysql://x"),
            ("STEWARD_BASE_URL", "ftp://x"),
            ("STEWARD_INVITE_TTL", "tomorrow"),
            ("STEWARD_HOUSEKEEPING_INTERVAL", "often"),
            ("STEWARD_SIGNUP", "maybe"),
            ("STEWARD_LOG_FORMAT", "yaml"),
            ("STEWARD_METRICS_BIND", "localhost:9100"),
            ("STEWARD_SESSION_KEY", "short"),
            ("STEWARD_SMTP_URL", "mail.example.com"),
            ("STEWARD_TRUSTED_PROXIES", "10.0.0.1, proxy.local"),
        ] {
            let err = config(&[(var, value)]).expect_err(var);
            assert_eq!(err.var, var);
            assert!(err.to_string().starts_with(var), "{err}");
        }
    }

    #[test]
    fn the_log_is_text_or_json() {
        assert_eq!(config(&[("STEWARD_LOG_FORMAT", "text")]).expect("text").log_format, LogFormat::Text);
        assert_eq!(config(&[("STEWARD_LOG_FORMAT", "json")]).expect("json").log_format, LogFormat::Json);
        let err = config(&[("STEWARD_LOG_FORMAT", "JSON ")]).expect_err("the values are lower case");
        assert!(err.to_string().contains("neither text nor json"), "{err}");
    }

    #[test]
    fn invite_ttl_accepts_seconds_minutes_hours_days() {
        assert_eq!(parse_duration("90s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("30m"), Some(Duration::from_secs(1800)));
        assert_eq!(parse_duration("24h"), Some(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("3d"), Some(Duration::from_secs(259_200)));
        assert_eq!(parse_duration("0h"), None);
        assert_eq!(parse_duration("h"), None);
    }

    #[test]
    fn rate_limits_have_defaults_and_read_their_variables() {
        assert_eq!(config(&[]).expect("defaults").rate_limits, RateLimits::default());
        let c = config(&[
            ("STEWARD_RATE_LIMIT_LOGIN_IP", "5/s"),
            ("STEWARD_RATE_LIMIT_LOGIN_ACCOUNT", "off"),
            ("STEWARD_RATE_LIMIT_INVITE_ORG", "200/h,burst=10"),
            ("STEWARD_RATE_LIMIT_ACCEPT_IP", "0"),
            ("STEWARD_RATE_LIMIT_API_KEY", " 1000/min "),
            ("STEWARD_RATE_LIMIT_SIGNUP_IP", "3/h"),
            ("STEWARD_RATE_LIMIT_INVITE_ACCOUNT", "off"),
            ("STEWARD_RATE_LIMIT_ORG_CREATE", "2/h"),
            ("STEWARD_RATE_LIMIT_RESET_IP", "4/h"),
            ("STEWARD_RATE_LIMIT_RESET_EMAIL", "1/h"),
            ("STEWARD_RATE_LIMIT_VERIFY_RESEND", "6/h"),
            ("STEWARD_RATE_LIMIT_TWO_FACTOR", "3/min"),
        ])
        .expect("rate limits");
        assert_eq!(c.rate_limits.login_ip, Some(Rate::per_second(5)));
        assert_eq!(c.rate_limits.login_account, None);
        assert_eq!(c.rate_limits.invite_org, Some(Rate::per_hour(200).burst(10)));
        assert_eq!(c.rate_limits.accept_ip, None);
        assert_eq!(c.rate_limits.api_key, Some(Rate::per_minute(1000)));
        assert_eq!(c.rate_limits.signup_ip, Some(Rate::per_hour(3)));
        assert_eq!(c.rate_limits.invite_account, None);
        assert_eq!(c.rate_limits.org_create, Some(Rate::per_hour(2)));
        assert_eq!(c.rate_limits.reset_ip, Some(Rate::per_hour(4)));
        assert_eq!(c.rate_limits.reset_email, Some(Rate::per_hour(1)));
        assert_eq!(c.rate_limits.verify_resend, Some(Rate::per_hour(6)));
        assert_eq!(c.rate_limits.two_factor, Some(Rate::per_minute(3)));
    }

    #[test]
    fn a_rate_is_n_per_second_minute_or_hour_with_an_optional_burst() {
        assert_eq!(parse_rate("20/min"), Some(Some(Rate::per_minute(20))));
        assert_eq!(parse_rate("3/s"), Some(Some(Rate::per_second(3))));
        assert_eq!(parse_rate("100/h"), Some(Some(Rate::per_hour(100))));
        assert_eq!(parse_rate("100/hour, burst = 20"), Some(Some(Rate::per_hour(100).burst(20))));
        assert_eq!(parse_rate("600/min,burst=100"), Some(Some(Rate::per_minute(600).burst(100))));
        assert_eq!(parse_rate("OFF"), Some(None));
        assert_eq!(parse_rate("0"), Some(None));
        for bad in ["", "20", "20/day", "0/min", "-1/min", "x/min", "20/min,burst=0", "20/min,bursts=3", "20/min,3", "4294967295/s"] {
            assert_eq!(parse_rate(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_malformed_rate_limit_names_its_variable() {
        for var in [
            "STEWARD_RATE_LIMIT_LOGIN_IP",
            "STEWARD_RATE_LIMIT_LOGIN_ACCOUNT",
            "STEWARD_RATE_LIMIT_INVITE_ORG",
            "STEWARD_RATE_LIMIT_ACCEPT_IP",
            "STEWARD_RATE_LIMIT_API_KEY",
        ] {
            let err = config(&[(var, "lots")]).expect_err(var);
            assert_eq!(err.var, var);
            assert!(err.to_string().starts_with(var), "{err}");
        }
    }

    #[test]
    fn https_base_url_turns_on_secure_cookies() {
        let c = config(&[("STEWARD_BASE_URL", "https://console.example.com/")]).expect("https");
        assert!(c.is_https());
        assert_eq!(c.base_url, "https://console.example.com");
    }
}
