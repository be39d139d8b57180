//! Test helpers: spawn the real server on a free port over a fresh database (a temporary SQLite
//! file, or a new PostgreSQL database), and a client that speaks the product's language.
#![allow(dead_code)]

use std::sync::Mutex;
use std::time::Duration;

use diesel::{Connection, PgConnection, RunQueryDsl};
use steward::config::{Config, SessionKey, Signup};
use steward::db::Db;
use steward::domain::{AccountId, OrgId};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Whether the test command asked for every suite: then nothing may be skipped.
pub fn require_all() -> bool {
    std::env::var("STEWARD_TEST_REQUIRE_ALL").is_ok_and(|v| v == "1")
}

pub const PASSWORD: &str = "correct-horse-battery";

pub struct TestApp {
    pub base: String,
    pub db: Db,
    pub backend: Backend,
    handle: actix_web::dev::ServerHandle,
    _dir: tempfile::TempDir,
    pg: Option<(String, String)>,
    pub outbox: std::path::PathBuf,
}

/// Settings a test may change before the server starts.
pub struct Options {
    pub signup: Signup,
    pub base_url: Option<String>,
    pub invite_ttl: Duration,
    pub smtp_url: Option<String>,
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// None: limits so generous that no test trips them (tests sign in a lot from 127.0.0.1).
    pub rate_limits: Option<steward::config::RateLimits>,
}

/// Rate limits that stay on, so that every test goes through them, but never trip.
pub fn generous_rate_limits() -> steward::config::RateLimits {
    let lots = Some(steward::config::Rate::per_second(10_000));
    steward::config::RateLimits { login_ip: lots, login_account: lots, invite_org: lots, accept_ip: lots, api_key: lots }
}

impl Default for Options {
    fn default() -> Options {
        Options {
            signup: Signup::Open,
            base_url: None,
            invite_ttl: Duration::from_secs(86_400),
            smtp_url: None,
            trusted_proxies: Vec::new(),
            rate_limits: None,
        }
    }
}

fn postgres_admin_url() -> Option<String> {
    std::env::var("STEWARD_TEST_POSTGRES_URL").ok().filter(|s| !s.is_empty())
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
    /// The app on `backend`, or None when PostgreSQL is not configured and the test command
    /// did not ask for it (a developer's plain `cargo test`).
    pub async fn try_spawn(backend: Backend, options: Options) -> Option<TestApp> {
        let dir = tempfile::tempdir().expect("temp dir");
        let (database_url, pg) = match backend {
            Backend::Sqlite => (format!("sqlite://{}", dir.path().join("steward.db").display()), None),
            Backend::Postgres => {
                let Some(admin) = postgres_admin_url() else {
                    if require_all() {
                        panic!("STEWARD_TEST_REQUIRE_ALL=1 but STEWARD_TEST_POSTGRES_URL is not set");
                    }
                    eprintln!("PostgreSQL suite skipped: STEWARD_TEST_POSTGRES_URL is not set (scripts/test sets it)");
                    return None;
                };
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
        };
        let outbox = dir.path().join("outbox");
        let config = Config {
            bind: "127.0.0.1:0".parse().expect("addr"),
            database_url,
            base_url: options.base_url.unwrap_or_else(|| "http://127.0.0.1:8080".into()),
            smtp_url: options.smtp_url,
            outbox: outbox.clone(),
            mail_from: "Steward <steward@localhost>".into(),
            session_key: SessionKey::Given(vec![7u8; 64]),
            invite_ttl: options.invite_ttl,
            signup: options.signup,
            db_pool_size: 4,
            workers: 2,
            trusted_proxies: options.trusted_proxies,
            rate_limits: options.rate_limits.unwrap_or_else(generous_rate_limits),
        };
        let running = tokio::task::spawn_blocking(move || steward::build(config))
            .await
            .expect("build task")
            .expect("the server starts");
        let handle = running.server.handle();
        tokio::spawn(running.server);
        Some(TestApp {
            base: format!("http://{}", running.addr),
            db: running.db,
            backend,
            handle,
            _dir: dir,
            pg,
            outbox,
        })
    }

    /// Stops the server and drops its PostgreSQL database.
    pub async fn stop(self) {
        self.handle.stop(false).await;
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

    pub fn client(&self) -> Client {
        Client::new(&self.base)
    }

    /// Runs blocking database work for an assertion.
    pub async fn with_db<T: Send + 'static>(&self, f: impl FnOnce(&Db) -> T + Send + 'static) -> T {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || f(&db)).await.expect("db task")
    }

    /// Signs up a new person owning a new organization; returns their signed-in client.
    pub async fn sign_up(&self, email: &str, org: &str) -> (Client, OrgId) {
        let client = self.client();
        let name = email.split('@').next().unwrap_or("someone").replace('.', " ");
        let page = client
            .post("/signup", &[("name", &name), ("email", email), ("password", PASSWORD), ("organization", org)])
            .await;
        assert_eq!(page.status, 303, "sign-up of {email} failed: {}", page.body);
        let location = page.location.clone().expect("redirect");
        let org_id: OrgId = location
            .strip_prefix("/orgs/")
            .and_then(|rest| rest.split('/').next())
            .and_then(|id| id.parse().ok())
            .unwrap_or_else(|| panic!("unexpected landing {location}"));
        (client, org_id)
    }

    /// Makes `email` a member of `org` with `role` (directly in the database: the invitation
    /// flow has its own tests). Returns the account id and a signed-in client.
    pub async fn add_member(&self, org: OrgId, email: &str, role: steward::domain::Role) -> (AccountId, Client) {
        let email_owned = email.to_string();
        let account = self
            .with_db(move |db| {
                let hash = steward::crypto::hash_password(PASSWORD).expect("hash");
                let id = AccountId::new();
                let mut conn = db.conn().expect("conn");
                let row = steward::store::accounts::AccountRow {
                    id: id.to_db(),
                    email: email_owned.clone(),
                    name: email_owned.split('@').next().unwrap_or("x").to_string(),
                    password_hash: hash,
                    session_epoch: 0,
                    created_at: steward::store::now(),
                    last_login_at: None,
                };
                steward::store::accounts::insert(&mut conn, &row).expect("insert account");
                let email = steward::domain::Email::parse(&email_owned).expect("email");
                let who = steward::store::members::NewMember { account: id, email: &email, name: &row.name };
                steward::store::members::insert(&mut conn, org, who, role, steward::store::now()).expect("insert member");
                id
            })
            .await;
        let client = self.client();
        client.sign_in(email, PASSWORD).await.assert_status(303);
        (account, client)
    }
}

/// What a response gave back.
#[derive(Debug, Clone)]
pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Page {
    pub fn assert_status(&self, status: u16) -> &Page {
        assert_eq!(self.status, status, "unexpected status; body:\n{}", self.body);
        self
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
    }

    pub fn html(&self) -> scraper::Html {
        scraper::Html::parse_document(&self.body)
    }

    /// The texts of every element matching `css`, whitespace collapsed.
    pub fn texts(&self, css: &str) -> Vec<String> {
        let selector = scraper::Selector::parse(css).expect("selector");
        self.html()
            .select(&selector)
            .map(|e| e.text().collect::<Vec<_>>().join(" ").split_whitespace().collect::<Vec<_>>().join(" "))
            .collect()
    }

    pub fn contains(&self, text: &str) -> bool {
        self.body.contains(text)
    }

    /// The CSRF token the page carries, if any.
    pub fn csrf_token(&self) -> Option<String> {
        let selector = scraper::Selector::parse(r#"meta[name="csrf-token"]"#).expect("selector");
        self.html().select(&selector).next().and_then(|e| e.value().attr("content")).map(str::to_owned).filter(|s| !s.is_empty())
    }
}

/// A browser-like client: keeps its cookies, does not follow redirects, sends the CSRF token.
pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
    csrf: Mutex<Option<String>>,
}

impl Client {
    pub fn new(base: &str) -> Client {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent("steward-tests")
            .build()
            .expect("client");
        Client { http, base: base.to_string(), csrf: Mutex::new(None) }
    }

    async fn page(resp: reqwest::Response) -> Page {
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let location = headers.get("location").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let body = resp.text().await.unwrap_or_default();
        Page { status, location, headers, body }
    }

    pub async fn get(&self, path: &str) -> Page {
        let resp = self.http.get(format!("{}{path}", self.base)).send().await.expect("GET");
        let page = Client::page(resp).await;
        if let Some(token) = page.csrf_token() {
            *self.csrf.lock().expect("lock") = Some(token);
        }
        page
    }

    /// This session's CSRF token (read from a page when not known yet).
    pub async fn csrf(&self) -> String {
        if let Some(t) = self.csrf.lock().expect("lock").clone() {
            return t;
        }
        let page = self.get("/login").await;
        page.csrf_token().expect("the sign-in page carries a CSRF token")
    }

    /// Posts a form with this session's CSRF token.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let token = self.csrf().await;
        let mut all: Vec<(&str, &str)> = vec![("csrf_token", token.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(path, &all).await
    }

    /// Posts exactly these fields (no token added).
    pub async fn post_raw(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let resp = self.http.post(format!("{}{path}", self.base)).form(fields).send().await.expect("POST");
        let page = Client::page(resp).await;
        // signing in or out starts a new session, with a new token
        if ["/login", "/signup", "/logout"].contains(&path) || path.starts_with("/invitations/") {
            *self.csrf.lock().expect("lock") = None;
        }
        if let Some(token) = page.csrf_token() {
            *self.csrf.lock().expect("lock") = Some(token);
        }
        page
    }

    pub async fn sign_in(&self, email: &str, password: &str) -> Page {
        self.post("/login", &[("email", email), ("password", password)]).await
    }

    pub async fn sign_out(&self) -> Page {
        self.post("/logout", &[]).await
    }
}

/// Runs each named test on SQLite and on PostgreSQL. A test is `async fn name(app: &TestApp)`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let app = $crate::helpers::TestApp::try_spawn($crate::helpers::Backend::Sqlite, Default::default())
                        .await
                        .expect("SQLite is always available");
                    super::$name(&app).await;
                    app.stop().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(app) = $crate::helpers::TestApp::try_spawn($crate::helpers::Backend::Postgres, Default::default()).await {
                        super::$name(&app).await;
                        app.stop().await;
                    }
                }
            )*
        }
    };
}

/// Like `on_both_backends!` for tests that need their own options: `async fn name(backend)`.
#[macro_export]
macro_rules! on_both_backends_with {
    ($($name:ident),* $(,)?) => {
        mod sqlite_with {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() { super::$name($crate::helpers::Backend::Sqlite).await; }
            )*
        }
        mod postgres_with {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() { super::$name($crate::helpers::Backend::Postgres).await; }
            )*
        }
    };
}

/// The invitation token in a raw message (quoted-printable soft breaks undone).
pub fn token_in(raw: &str) -> Option<String> {
    let text = raw.replace("=\r\n", "").replace("=\n", "").replace("=3D", "=");
    let at = text.find("/invitations/")? + "/invitations/".len();
    let token: String = text[at..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect();
    (token.len() == 43).then_some(token)
}

impl TestApp {
    /// The messages written to the outbox, oldest first.
    pub fn outbox(&self) -> Vec<String> {
        let Ok(dir) = std::fs::read_dir(&self.outbox) else { return Vec::new() };
        let mut files: Vec<(std::time::SystemTime, String)> = dir
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
            .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, std::fs::read_to_string(e.path()).ok()?)))
            .collect();
        files.sort_by_key(|(t, _)| *t);
        files.into_iter().map(|(_, s)| s).collect()
    }

    /// The token of the newest invitation mailed to `email` through the outbox.
    pub fn outbox_token_for(&self, email: &str) -> String {
        self.outbox()
            .iter()
            .rev()
            .find(|m| m.contains(&format!("To: {email}")))
            .and_then(|m| token_in(m))
            .unwrap_or_else(|| panic!("no invitation for {email} in the outbox"))
    }

    /// Rows in a table, for "nothing changed" assertions.
    pub async fn count(&self, table: &'static str) -> i64 {
        self.with_db(move |db| {
            use diesel::RunQueryDsl;
            #[derive(diesel::QueryableByName)]
            struct N {
                #[diesel(sql_type = diesel::sql_types::BigInt)]
                n: i64,
            }
            let rows: Vec<N> = diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table}"))
                .load(&mut *db.conn().expect("conn"))
                .expect("count");
            rows[0].n
        })
        .await
    }

    /// The organization's audit actions, oldest first.
    pub async fn actions(&self, org: OrgId) -> Vec<String> {
        self.with_db(move |db| {
            let events = steward::store::audit::all_of_org(&mut db.conn().expect("conn"), org).expect("events");
            for e in &events {
                assert_eq!(e.hash, e.compute_hash(), "event {} breaks the chain", e.seq);
            }
            events.into_iter().map(|e| e.action).collect()
        })
        .await
    }

    /// The account id of `email`.
    pub async fn account_id(&self, email: &str) -> AccountId {
        let email = steward::domain::Email::parse(email).expect("email");
        self.with_db(move |db| {
            steward::store::accounts::find_by_email(&mut *db.conn().expect("conn"), &email).expect("query").expect("account").id
        })
        .await
    }
}

impl Client {
    /// Invites `email` as `role` to `org`, expecting success.
    pub async fn invite(&self, org: OrgId, email: &str, role: &str) -> Page {
        let page = self.post(&format!("/orgs/{org}/invitations"), &[("email", email), ("role", role)]).await;
        assert_eq!(page.status, 303, "invitation of {email} failed: {}", page.body);
        page
    }
}

impl TestApp {
    /// Adds `n` members named `member-000@bulk.test`… with `role`, without hashing a password
    /// for each (they never sign in). Created a second apart, in order.
    pub async fn add_bulk_members(&self, org: OrgId, n: usize, role: steward::domain::Role) {
        self.with_db(move |db| {
            let mut conn = db.conn().expect("conn");
            let start = steward::store::now() - chrono::Duration::days(1);
            for i in 0..n {
                let id = AccountId::new();
                let email = steward::domain::Email::parse(&format!("member-{i:03}@bulk.test")).expect("email");
                let row = steward::store::accounts::AccountRow {
                    id: id.to_db(),
                    email: email.to_string(),
                    name: format!("Bulk Person {i:03}"),
                    password_hash: "not-a-hash".into(),
                    session_epoch: 0,
                    created_at: start,
                    last_login_at: None,
                };
                steward::store::accounts::insert(&mut conn, &row).expect("account");
                let who = steward::store::members::NewMember { account: id, email: &email, name: &row.name };
                let at = start + chrono::Duration::seconds(i as i64);
                steward::store::members::insert(&mut conn, org, who, role, at).expect("member");
            }
        })
        .await
    }
}
