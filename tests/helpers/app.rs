//! The server under test, on a free port over a fresh database, with the options of its builder.
//!
//! The database is a temporary SQLite file or a new PostgreSQL database, dropped at `stop`. A
//! second instance can run beside a first on the same database (`beside`), like two instances
//! behind a load balancer.

use std::net::IpAddr;
use std::time::Duration;

use diesel::{Connection, PgConnection, RunQueryDsl};
use steward::config::{Config, Rate, RateLimits, SessionKey, Signup};
use steward::storage::Db;

use super::client::Client;

/// The database a test runs on. Every HTTP test runs on both (see `on_both_backends!`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Whether the test command asked for every suite: then nothing may be skipped.
pub fn require_all() -> bool {
    std::env::var("STEWARD_TEST_REQUIRE_ALL").is_ok_and(|v| v == "1")
}

fn postgres_admin_url() -> Option<String> {
    std::env::var("STEWARD_TEST_POSTGRES_URL").ok().filter(|s| !s.is_empty())
}

impl Backend {
    /// Whether tests can run on this database here. SQLite always can; PostgreSQL when
    /// `STEWARD_TEST_POSTGRES_URL` is set (scripts/test sets it). Without it a developer's plain
    /// `cargo test` skips the PostgreSQL suite, and the test command, which asks for every suite,
    /// fails.
    pub fn is_available(self) -> bool {
        match self {
            Backend::Sqlite => true,
            Backend::Postgres if postgres_admin_url().is_some() => true,
            Backend::Postgres => {
                if require_all() {
                    panic!("STEWARD_TEST_REQUIRE_ALL=1 but STEWARD_TEST_POSTGRES_URL is not set");
                }
                eprintln!("PostgreSQL suite skipped: STEWARD_TEST_POSTGRES_URL is not set (scripts/test sets it)");
                false
            }
        }
    }
}

/// Runs each listed test once on SQLite and once on PostgreSQL, as `sqlite::name` and
/// `postgres::name`. A test listed as `name` is `async fn name(app: &TestApp)` and gets an app
/// with the default options. A test listed as `name(backend)` is
/// `async fn name(backend: Backend)` and starts its own app (or apps) with the options it needs:
///
/// ```ignore
/// async fn closed_sign_up_hides_the_sign_up_page(backend: Backend) {
///     let app = TestApp::builder().signup_closed().spawn(backend).await;
///     …
/// }
/// crate::on_both_backends!(the_profile_shows_and_saves_the_name, closed_sign_up_hides_the_sign_up_page(backend));
/// ```
///
/// On PostgreSQL a test runs only when `Backend::is_available` says so.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident $(($arg:ident))?),* $(,)?) => {
        mod sqlite {
            $( $crate::backend_test!(Sqlite, $name $(($arg))?); )*
        }
        mod postgres {
            $( $crate::backend_test!(Postgres, $name $(($arg))?); )*
        }
    };
}

/// One test of `on_both_backends!` on one database.
#[doc(hidden)]
#[macro_export]
macro_rules! backend_test {
    ($db:ident, $name:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            let backend = $crate::helpers::Backend::$db;
            if backend.is_available() {
                let app = $crate::helpers::TestApp::builder().spawn(backend).await;
                super::$name(&app).await;
                app.stop().await;
            }
        }
    };
    ($db:ident, $name:ident(backend)) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            let backend = $crate::helpers::Backend::$db;
            if backend.is_available() {
                super::$name(backend).await;
            }
        }
    };
}

/// The running server and its database.
pub struct TestApp {
    pub base: String,
    pub db: Db,
    pub backend: Backend,
    /// The database's URL, which an instance started `beside` this one shares.
    database_url: String,
    handle: actix_web::dev::ServerHandle,
    /// The `/metrics` listener's address (`http://127.0.0.1:PORT`), when the builder asked for
    /// one (`metrics()`), and its handle.
    pub metrics_base: Option<String>,
    metrics_handle: Option<actix_web::dev::ServerHandle>,
    background: Option<steward::background::Background>,
    _dir: tempfile::TempDir,
    pg: Option<(String, String)>,
    /// Where invitation emails go when no SMTP server is configured.
    pub outbox: std::path::PathBuf,
}

/// The options of a [`TestApp`], read as words:
/// `TestApp::builder().signup_closed().smtp(&url).spawn(backend)`.
///
/// By default sign-up is open, invitations live a day, mail goes to the outbox, no proxy is
/// trusted, and every rate limit is on but so generous that no test trips it (tests sign in a
/// lot from 127.0.0.1).
#[derive(Debug, Clone)]
pub struct TestAppBuilder {
    signup: Signup,
    base_url: Option<String>,
    invite_ttl: Duration,
    reset_ttl: Duration,
    smtp_url: Option<String>,
    trusted_proxies: Vec<IpAddr>,
    rate_limits: RateLimits,
    housekeeping_interval: Duration,
    /// Whether `/metrics` is served (on a free port of its own).
    metrics: bool,
    /// Hosts of identity providers allowed on loopback over plain HTTP.
    sso_allow_private_issuers: Vec<String>,
    /// Listen on a port chosen before starting, and name it in the base URL (the redirect URI
    /// an identity provider sends people back to).
    own_base_url: bool,
    /// The database and outbox of the instance this one runs beside, if any.
    beside: Option<(Backend, String, std::path::PathBuf)>,
}

impl Default for TestAppBuilder {
    fn default() -> TestAppBuilder {
        let lots = Some(Rate::per_second(10_000));
        TestAppBuilder {
            signup: Signup::Open,
            base_url: None,
            invite_ttl: Duration::from_secs(86_400),
            reset_ttl: Duration::from_secs(3600),
            smtp_url: None,
            trusted_proxies: Vec::new(),
            rate_limits: RateLimits {
                login_ip: lots,
                login_account: lots,
                invite_org: lots,
                accept_ip: lots,
                api_key: lots,
                signup_ip: lots,
                invite_account: lots,
                org_create: lots,
                reset_ip: lots,
                reset_email: lots,
                verify_resend: lots,
                two_factor: lots,
            },
            // the product's default: no round during a test unless it asks for one
            housekeeping_interval: Duration::from_secs(600),
            metrics: false,
            sso_allow_private_issuers: Vec::new(),
            own_base_url: false,
            beside: None,
        }
    }
}

impl TestAppBuilder {
    /// Nobody may sign up: accounts come from invitations only.
    pub fn signup_closed(mut self) -> Self {
        self.signup = Signup::Closed;
        self
    }

    /// The address the console is reached at (links in emails, secure cookies over https).
    pub fn base_url(mut self, url: &str) -> Self {
        self.base_url = Some(url.to_string());
        self
    }

    /// How long an invitation stays valid.
    pub fn invite_ttl(mut self, ttl: Duration) -> Self {
        self.invite_ttl = ttl;
        self
    }

    /// How long password reset links work.
    pub fn reset_ttl(mut self, ttl: Duration) -> Self {
        self.reset_ttl = ttl;
        self
    }

    /// Sends invitation emails through this SMTP server instead of writing them to the outbox.
    pub fn smtp(mut self, url: &str) -> Self {
        self.smtp_url = Some(url.to_string());
        self
    }

    /// Trusts the `X-Forwarded-For` header of requests coming from `proxy`.
    pub fn trust_proxy(mut self, proxy: &str) -> Self {
        self.trusted_proxies.push(proxy.parse().expect("an IP address"));
        self
    }

    /// Limits sign-ups from one address.
    pub fn limit_sign_ups_per_address(mut self, rate: Rate) -> Self {
        self.rate_limits.signup_ip = Some(rate);
        self
    }

    /// Limits the invitations one person sends, across organizations.
    pub fn limit_invitations_per_account(mut self, rate: Rate) -> Self {
        self.rate_limits.invite_account = Some(rate);
        self
    }

    /// Limits the organizations one person creates.
    pub fn limit_organizations_per_account(mut self, rate: Rate) -> Self {
        self.rate_limits.org_create = Some(rate);
        self
    }

    /// Limits password reset requests from one address.
    pub fn limit_password_resets_per_address(mut self, rate: Rate) -> Self {
        self.rate_limits.reset_ip = Some(rate);
        self
    }

    /// Limits password reset requests for one typed email.
    pub fn limit_password_resets_per_email(mut self, rate: Rate) -> Self {
        self.rate_limits.reset_email = Some(rate);
        self
    }

    /// Limits how often one account has its verification email sent again.
    pub fn limit_verification_resends(mut self, rate: Rate) -> Self {
        self.rate_limits.verify_resend = Some(rate);
        self
    }

    /// Limits the two-factor codes tried for one account (sign-in's second step, turning it off).
    pub fn limit_two_factor_attempts(mut self, rate: Rate) -> Self {
        self.rate_limits.two_factor = Some(rate);
        self
    }

    /// Limits sign-in attempts for one typed email.
    pub fn limit_sign_in_per_email(mut self, rate: Rate) -> Self {
        self.rate_limits.login_account = Some(rate);
        self
    }

    /// No limit on sign-in attempts for one typed email.
    pub fn no_sign_in_limit_per_email(mut self) -> Self {
        self.rate_limits.login_account = None;
        self
    }

    /// Limits sign-in attempts from one address.
    pub fn limit_sign_in_per_address(mut self, rate: Rate) -> Self {
        self.rate_limits.login_ip = Some(rate);
        self
    }

    /// Limits the invitations one organization sends.
    pub fn limit_invitations_per_organization(mut self, rate: Rate) -> Self {
        self.rate_limits.invite_org = Some(rate);
        self
    }

    /// Limits the requests to invitation links (looking, accepting, declining) from one address.
    pub fn limit_invitation_links_per_address(mut self, rate: Rate) -> Self {
        self.rate_limits.accept_ip = Some(rate);
        self
    }

    /// Limits the requests one API key makes.
    pub fn limit_api_key_requests(mut self, rate: Rate) -> Self {
        self.rate_limits.api_key = Some(rate);
        self
    }

    /// Runs a round of the background housekeeping every `interval`.
    pub fn housekeeping_every(mut self, interval: Duration) -> Self {
        self.housekeeping_interval = interval;
        self
    }

    /// Serves `/metrics` on a free port of its own (`STEWARD_METRICS_BIND`), at
    /// `TestApp::metrics_base`.
    pub fn metrics(mut self) -> Self {
        self.metrics = true;
        self
    }

    /// Ready for a test identity provider on 127.0.0.1: the operator allows that host
    /// (`STEWARD_SSO_ALLOW_PRIVATE_ISSUERS`), and the base URL names the app's real port.
    pub fn sso_provider_on_loopback(mut self) -> Self {
        self.sso_allow_private_issuers = vec!["127.0.0.1".to_string()];
        self.own_base_url = true;
        self
    }

    /// The base URL names the app's real port (for redirects back from another site).
    pub fn own_base_url(mut self) -> Self {
        self.own_base_url = true;
        self
    }

    /// A second instance on the database of `first` (the same session key, its own port and
    /// its own options), as behind a load balancer. Its `stop` leaves the database to `first`:
    /// stop it before `first`.
    pub fn beside(mut self, first: &TestApp) -> Self {
        self.beside = Some((first.backend, first.database_url.clone(), first.outbox.clone()));
        self
    }

    /// Starts the app on `backend`, which must be available (`Backend::is_available`; the tests
    /// of `on_both_backends!` run only then).
    pub async fn spawn(self, backend: Backend) -> TestApp {
        self.try_spawn(backend).await.expect("the test's database is available")
    }

    /// Starts the app on `backend`, or None when that database is not available here.
    pub async fn try_spawn(self, backend: Backend) -> Option<TestApp> {
        if !backend.is_available() {
            return None;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let (database_url, pg) = match &self.beside {
            Some((first, url, _)) => {
                assert_eq!(*first, backend, "an instance beside another runs on the same database");
                (url.clone(), None)
            }
            None => match backend {
                Backend::Sqlite => (format!("sqlite://{}", dir.path().join("steward.db").display()), None),
                Backend::Postgres => {
                    let admin = postgres_admin_url().expect("STEWARD_TEST_POSTGRES_URL");
                    let name = format!("steward_t_{}", uuid::Uuid::new_v4().simple());
                    let admin2 = admin.clone();
                    let name2 = name.clone();
                    tokio::task::spawn_blocking(move || {
                        let mut conn = PgConnection::establish(&admin2)
                            .unwrap_or_else(|e| panic!("cannot connect to STEWARD_TEST_POSTGRES_URL: {e}"));
                        diesel::sql_query(format!("CREATE DATABASE {name2}")).execute(&mut conn).expect("create database");
                    })
                    .await
                    .expect("create database task");
                    (with_database(&admin, &name), Some((admin, name)))
                }
            },
        };
        let outbox = match &self.beside {
            Some((_, _, outbox)) => outbox.clone(),
            None => dir.path().join("outbox"),
        };
        // a port chosen now, so that the base URL can name it
        let bind: std::net::SocketAddr = if self.own_base_url {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
            probe.local_addr().expect("its address")
        } else {
            "127.0.0.1:0".parse().expect("addr")
        };
        let base_url = match (&self.base_url, self.own_base_url) {
            (Some(url), _) => url.clone(),
            (None, true) => format!("http://{bind}"),
            (None, false) => "http://127.0.0.1:8080".into(),
        };
        let config = Config {
            bind,
            database_url: database_url.clone(),
            base_url,
            smtp_url: self.smtp_url,
            outbox: outbox.clone(),
            mail_from: "Steward <steward@localhost>".into(),
            session_key: SessionKey::Given(vec![7u8; 64]),
            invite_ttl: self.invite_ttl,
            reset_ttl: self.reset_ttl,
            security_log_retention: Duration::from_secs(365 * 86_400),
            signup: self.signup,
            db_pool_size: 4,
            workers: 2,
            trusted_proxies: self.trusted_proxies,
            rate_limits: self.rate_limits,
            housekeeping_interval: self.housekeeping_interval,
            log_format: steward::config::LogFormat::Text,
            metrics_bind: self.metrics.then(|| "127.0.0.1:0".parse().expect("addr")),
            sso_allow_private_issuers: self.sso_allow_private_issuers,
        };
        let running = tokio::task::spawn_blocking(move || steward::build(config))
            .await
            .expect("build task")
            .expect("the server starts");
        let handle = running.server.handle();
        let background = Some(running.background);
        tokio::spawn(running.server);
        let (metrics_base, metrics_handle) = match running.metrics {
            Some(listener) => {
                let handle = listener.server.handle();
                tokio::spawn(listener.server);
                (Some(format!("http://{}", listener.addr)), Some(handle))
            }
            None => (None, None),
        };
        Some(TestApp {
            base: format!("http://{}", running.addr),
            db: running.db,
            backend,
            database_url,
            handle,
            metrics_base,
            metrics_handle,
            background,
            _dir: dir,
            pg,
            outbox,
        })
    }
}

/// `url` with its database name replaced.
fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{db}?{q}"),
        None => format!("{base}/{db}"),
    }
}

impl TestApp {
    /// The options of a new app, all at their defaults until said otherwise.
    pub fn builder() -> TestAppBuilder {
        TestAppBuilder::default()
    }

    /// Stops the server and its workers, as a restart would, keeping the database and the
    /// outbox directory for an instance started `beside` this one (`stop` drops them later).
    pub async fn stop_server(&mut self) {
        self.handle.stop(false).await;
        if let Some(metrics) = self.metrics_handle.take() {
            metrics.stop(false).await;
        }
        if let Some(background) = self.background.take() {
            tokio::task::spawn_blocking(move || background.shutdown()).await.expect("background shutdown");
        }
    }

    /// Stops the server and drops its PostgreSQL database (unless it runs beside another).
    pub async fn stop(mut self) {
        self.stop_server().await;
        if let Some((admin, name)) = self.pg.clone() {
            drop(self.db);
            let _ = tokio::task::spawn_blocking(move || {
                if let Ok(mut conn) = PgConnection::establish(&admin) {
                    let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut conn);
                }
            })
            .await;
        }
    }

    /// A new visitor: no session yet.
    pub fn client(&self) -> Client {
        Client::new(&self.base)
    }

    /// Runs blocking database work, for a setup or an assertion.
    pub async fn with_db<T: Send + 'static>(&self, f: impl FnOnce(&Db) -> T + Send + 'static) -> T {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || f(&db)).await.expect("db task")
    }
}
