//! Prometheus metrics on `STEWARD_METRICS_BIND`: the text format on an address of its own (never
//! the console's, and none by default), each metric moved by what it counts (requests by route
//! pattern, sign-ins, rate-limit refusals, emails, audit events), the pool read at the scrape,
//! and two servers in one process each with its own counts.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use steward::config::Rate;
use steward::domain::totp;

use crate::helpers::{Backend, Client, PASSWORD, TestApp};
use crate::support::smtp::SmtpServer;

/// Every metric Steward exposes, with its type and its labels (docs/operations.md lists them).
const METRICS: [(&str, &str, &[&str]); 16] = [
    ("steward_http_requests_total", "counter", &["route", "method", "status"]),
    ("steward_http_request_duration_seconds", "histogram", &["route", "method", "status"]),
    ("steward_db_pool_connections_in_use", "gauge", &[]),
    ("steward_db_pool_connections_idle", "gauge", &[]),
    ("steward_db_pool_connections_max", "gauge", &[]),
    ("steward_db_pool_wait_seconds", "histogram", &[]),
    ("steward_db_pool_timeouts_total", "counter", &[]),
    ("steward_emails_queued_total", "counter", &["kind"]),
    ("steward_emails_sent_total", "counter", &["kind"]),
    ("steward_emails_failed_total", "counter", &["kind"]),
    ("steward_emails_expired_total", "counter", &[]),
    ("steward_sign_ins_total", "counter", &[]),
    ("steward_sign_in_failures_total", "counter", &["reason"]),
    ("steward_rate_limit_refusals_total", "counter", &["limit"]),
    ("steward_audit_events_total", "counter", &["action"]),
    // the histograms' series carry `le` too
    ("steward_http_request_duration_seconds_bucket", "", &["route", "method", "status", "le"]),
];

/// One sample of a scrape: its name, its labels, its value.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// The metrics as a scrape read them.
struct Scrape {
    text: String,
    samples: Vec<Sample>,
}

impl Scrape {
    /// The value of the series `name{labels}` (labels in any order), when it exists.
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let wanted: BTreeMap<String, String> = labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        self.samples.iter().find(|s| s.name == name && s.labels == wanted).map(|s| s.value)
    }

    /// The value of a series that must exist.
    fn get(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.value(name, labels).unwrap_or_else(|| panic!("no series {name}{labels:?} in\n{}", self.text))
    }
}

/// Parses one sample line: `name{a="x",b="y"} value` or `name value`.
fn parse_sample(line: &str) -> Sample {
    let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("a sample line: {line}"));
    let value: f64 = value.parse().unwrap_or_else(|_| panic!("a number in {line}"));
    let Some((name, rest)) = series.split_once('{') else {
        return Sample { name: series.to_string(), labels: BTreeMap::new(), value };
    };
    let mut labels = BTreeMap::new();
    let mut rest = rest.strip_suffix('}').unwrap_or_else(|| panic!("labels end with }}: {line}"));
    while !rest.is_empty() {
        let (key, after) = rest.split_once("=\"").unwrap_or_else(|| panic!("key=\"value\" in {line}"));
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next() {
                Some((_, '\\')) => value.extend(chars.next().map(|(_, c)| c)),
                Some((i, '"')) => break i,
                Some((_, c)) => value.push(c),
                None => panic!("an unterminated label value in {line}"),
            }
        };
        labels.insert(key.to_string(), value);
        rest = after[end + 1..].trim_start_matches(',');
    }
    Sample { name: name.to_string(), labels, value }
}

/// GETs `/metrics` from the app's metrics listener: 200 in the text format.
async fn scrape(app: &TestApp) -> Scrape {
    let base = app.metrics_base.as_deref().expect("an app started with metrics()");
    let response = reqwest::get(format!("{base}/metrics")).await.expect("the metrics listener answers");
    assert_eq!(response.status().as_u16(), 200);
    let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    assert!(content_type.starts_with("text/plain; version=0.0.4"), "Content-Type: {content_type}");
    let text = response.text().await.expect("a body");
    let samples = text.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()).map(parse_sample).collect();
    Scrape { text, samples }
}

/// Scrapes until `done` holds of the scrape (the mail worker counts on its own thread).
async fn scrape_until(app: &TestApp, what: &str, done: impl Fn(&Scrape) -> bool) -> Scrape {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let scraped = scrape(app).await;
        if done(&scraped) {
            return scraped;
        }
        assert!(Instant::now() < deadline, "{what} never happened:\n{}", scraped.text);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

const MEMBERS: &str = "/orgs/{org}/members";

fn members_200(s: &Scrape) -> f64 {
    s.value("steward_http_requests_total", &[("route", MEMBERS), ("method", "GET"), ("status", "200")]).unwrap_or(0.0)
}

async fn metrics_are_served_in_the_text_format_with_every_metric_and_its_labels(backend: Backend) {
    let app = TestApp::builder().metrics().spawn(backend).await;
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    owner.get(&format!("/orgs/{org}/members")).await.assert_status(200);
    owner.sign_out().await;
    owner.sign_in("ada@example.com", "not-the-password").await.assert_status(422);

    let scraped = scrape(&app).await;
    for (name, kind, labels) in METRICS {
        if !kind.is_empty() {
            assert!(scraped.text.contains(&format!("# TYPE {name} {kind}\n")), "no # TYPE {name} {kind} in\n{}", scraped.text);
            assert!(scraped.text.contains(&format!("# HELP {name} ")), "no # HELP {name}");
        }
        let series = if kind == "histogram" && labels.is_empty() { format!("{name}_count") } else if kind == "histogram" { continue } else { name.to_string() };
        let sample = scraped.samples.iter().find(|s| s.name == series).unwrap_or_else(|| panic!("no sample of {series} in\n{}", scraped.text));
        let keys: Vec<&str> = sample.labels.keys().map(String::as_str).collect();
        let mut expected = labels.to_vec();
        expected.sort_unstable();
        assert_eq!(keys, expected, "the labels of {series}");
    }
    assert_eq!(members_200(&scraped), 1.0);
    assert!(scraped.get("steward_http_request_duration_seconds_count", &[("route", MEMBERS), ("method", "GET"), ("status", "200")]) >= 1.0);
    app.stop().await;
}

async fn a_request_to_the_member_list_moves_its_route_pattern_never_its_path(backend: Backend) {
    let app = TestApp::builder().metrics().spawn(backend).await;
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    let before = scrape(&app).await;
    owner.get(&format!("/orgs/{org}/members")).await.assert_status(200);
    owner.get(&format!("/orgs/{org}/members")).await.assert_status(200);
    owner.get("/no/such/page").await.assert_status(404);
    let after = scrape(&app).await;
    assert_eq!(members_200(&after) - members_200(&before), 2.0);
    let unmatched = |s: &Scrape| s.value("steward_http_requests_total", &[("route", "unmatched"), ("method", "GET"), ("status", "404")]).unwrap_or(0.0);
    assert_eq!(unmatched(&after) - unmatched(&before), 1.0);
    // the route's pattern is the label: no id, no path of a request is
    assert!(!after.text.contains(&org.to_string()), "an organization id in\n{}", after.text);
    assert!(!after.text.contains("/no/such/page"));
    assert!(!after.text.contains("ada@example.com"));
    app.stop().await;
}

async fn metrics_are_not_on_the_console_address_and_off_by_default(backend: Backend) {
    let app = TestApp::builder().metrics().spawn(backend).await;
    app.client().get("/metrics").await.assert_status(404);
    // the listener serves /metrics and nothing else
    let base = app.metrics_base.clone().expect("a metrics listener");
    assert_eq!(reqwest::get(format!("{base}/")).await.expect("answer").status().as_u16(), 404);
    assert_eq!(reqwest::get(format!("{base}/healthz")).await.expect("answer").status().as_u16(), 404);
    app.stop().await;

    let default = TestApp::builder().spawn(backend).await;
    assert!(default.metrics_base.is_none(), "no metrics listener unless STEWARD_METRICS_BIND is set");
    default.client().get("/metrics").await.assert_status(404);
    default.stop().await;
}

async fn sign_ins_and_failed_sign_ins_are_counted_by_reason(backend: Backend) {
    let app = TestApp::builder().metrics().limit_sign_in_per_email(Rate::per_hour(3)).spawn(backend).await;
    app.sign_up("ada@example.com", "Acme").await.0.sign_out().await;
    let client = app.client();
    client.sign_in("ada@example.com", "not-the-password").await.assert_status(422);
    client.sign_in("nobody@example.com", "not-the-password").await.assert_status(422);
    client.sign_in("ada@example.com", PASSWORD).await.assert_status(303);
    client.sign_out().await;
    client.sign_in("ada@example.com", PASSWORD).await.assert_status(303);
    client.sign_out().await;
    // the fourth attempt for this email is over its limit, right password or not
    client.sign_in("ada@example.com", PASSWORD).await.assert_status(429);

    let scraped = scrape(&app).await;
    assert_eq!(scraped.get("steward_sign_ins_total", &[]), 2.0);
    assert_eq!(scraped.get("steward_sign_in_failures_total", &[("reason", "bad_credentials")]), 2.0);
    assert_eq!(scraped.get("steward_sign_in_failures_total", &[("reason", "rate_limited")]), 1.0);
    assert_eq!(scraped.get("steward_sign_in_failures_total", &[("reason", "two_factor")]), 0.0);
    assert_eq!(scraped.get("steward_rate_limit_refusals_total", &[("limit", "login_account")]), 1.0);
    assert_eq!(scraped.get("steward_rate_limit_refusals_total", &[("limit", "login_ip")]), 0.0);
    app.stop().await;
}

/// `client` turns two-factor on with the secret its profile shows: returns the secret.
async fn turn_two_factor_on(client: &Client) -> Vec<u8> {
    let page = client.get("/profile/two-factor").await;
    page.assert_status(200);
    let secret = page.texts("#totp-secret").into_iter().next().and_then(|s| totp::decode_secret(&s)).expect("the secret on the page");
    let code = totp::code_at(&secret, chrono::Utc::now().timestamp());
    client.post("/profile/two-factor", &[("code", &code)]).await.assert_status(200);
    secret
}

async fn a_wrong_second_step_and_its_rate_limit_are_failed_sign_ins(backend: Backend) {
    let app = TestApp::builder().metrics().limit_two_factor_attempts(Rate::per_hour(1)).spawn(backend).await;
    let (ada, _) = app.sign_up("ada@example.com", "Acme").await;
    let secret = turn_two_factor_on(&ada).await;
    ada.sign_out().await;

    let password_step = ada.sign_in("ada@example.com", PASSWORD).await;
    password_step.assert_status(303);
    assert_eq!(password_step.location.as_deref(), Some("/login/two-factor"));
    ada.post("/login/two-factor", &[("code", "not-a-code")]).await.assert_status(422);
    let code = totp::code_at(&secret, chrono::Utc::now().timestamp());
    ada.post("/login/two-factor", &[("code", &code)]).await.assert_status(429);

    let scraped = scrape(&app).await;
    // the right password alone is no sign-in
    assert_eq!(scraped.get("steward_sign_ins_total", &[]), 0.0);
    assert_eq!(scraped.get("steward_sign_in_failures_total", &[("reason", "two_factor")]), 1.0);
    assert_eq!(scraped.get("steward_sign_in_failures_total", &[("reason", "rate_limited")]), 1.0);
    assert_eq!(scraped.get("steward_sign_in_failures_total", &[("reason", "bad_credentials")]), 0.0);
    assert_eq!(scraped.get("steward_rate_limit_refusals_total", &[("limit", "two_factor")]), 1.0);
    app.stop().await;
}

async fn a_rate_limit_refusal_is_counted_under_its_limit(backend: Backend) {
    let app = TestApp::builder().metrics().limit_organizations_per_account(Rate::per_hour(1)).spawn(backend).await;
    let (owner, _) = app.sign_up("ada@example.com", "Acme").await;
    let mut refused = 0;
    for name in ["Globex", "Initech", "Umbrella"] {
        if owner.post("/orgs", &[("name", name)]).await.status == 429 {
            refused += 1;
        }
    }
    assert!(refused >= 1, "the limit refused none");
    let scraped = scrape(&app).await;
    assert_eq!(scraped.get("steward_rate_limit_refusals_total", &[("limit", "org_create")]), f64::from(refused));
    assert_eq!(scraped.get("steward_rate_limit_refusals_total", &[("limit", "invite_org")]), 0.0);
    app.stop().await;
}

async fn an_invitation_moves_the_emails_queued_and_sent_and_the_audit_events(backend: Backend) {
    let app = TestApp::builder().metrics().spawn(backend).await;
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    let queued = |s: &Scrape| s.get("steward_emails_queued_total", &[("kind", "invitation")]);
    let sent = |s: &Scrape| s.get("steward_emails_sent_total", &[("kind", "invitation")]);
    let before = scrape(&app).await;
    assert_eq!((queued(&before), sent(&before)), (0.0, 0.0));
    assert_eq!(before.get("steward_audit_events_total", &[("action", "org.created")]), 1.0);
    assert_eq!(before.get("steward_audit_events_total", &[("action", "member.invited")]), 0.0);

    owner.invite(org, "bob@example.com", "viewer").await;
    owner.invite(org, "carol@example.com", "viewer").await;
    let after = scrape(&app).await;
    assert_eq!(queued(&after), 2.0);
    assert_eq!(after.get("steward_audit_events_total", &[("action", "member.invited")]), 2.0);
    // delivered to the outbox directory by the mail worker, on its own thread
    app.mail_settled().await;
    let delivered = scrape_until(&app, "two invitations sent", |s| sent(s) == 2.0).await;
    assert_eq!(delivered.get("steward_emails_failed_total", &[("kind", "invitation")]), 0.0);
    app.stop().await;
}

async fn a_refused_email_is_counted_as_failed(backend: Backend) {
    let smtp = SmtpServer::start();
    smtp.refuse_all(true);
    let app = TestApp::builder().metrics().smtp(&smtp.url()).spawn(backend).await;
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    owner.invite(org, "bob@example.com", "viewer").await;
    let failed = scrape_until(&app, "a failed attempt", |s| s.get("steward_emails_failed_total", &[("kind", "invitation")]) >= 1.0).await;
    assert_eq!(failed.get("steward_emails_sent_total", &[("kind", "invitation")]), 0.0);
    app.stop().await;
}

/// From now on the database refuses every email written to the outbox (a trigger raises an
/// error): a change that sends one fails whole, after its audit event was written.
async fn refuse_emails(app: &TestApp) {
    let statements = match app.backend {
        Backend::Sqlite => vec![
            "CREATE TRIGGER refuse_emails BEFORE INSERT ON outbox BEGIN SELECT RAISE(ABORT, 'outbox refused'); END".to_string(),
        ],
        Backend::Postgres => vec![
            "CREATE FUNCTION refuse_emails() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'outbox refused'; END $$ LANGUAGE plpgsql"
                .to_string(),
            "CREATE TRIGGER refuse_emails BEFORE INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION refuse_emails()".to_string(),
        ],
    };
    app.with_db(move |db| {
        use diesel::RunQueryDsl;
        let mut conn = db.conn().expect("conn");
        for statement in statements {
            diesel::sql_query(statement).execute(&mut *conn).expect("trigger");
        }
    })
    .await
}

async fn a_change_rolled_back_counts_none_of_what_it_wrote(backend: Backend) {
    let app = TestApp::builder().metrics().spawn(backend).await;
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    // the invitation's audit event is written, then its email is refused: all rolled back
    refuse_emails(&app).await;
    let page = owner.post(&format!("/orgs/{org}/invitations"), &[("email", "bob@example.com"), ("role", "viewer")]).await;
    assert!(page.status >= 500, "the invitation failed: {}", page.status);
    assert_eq!(app.actions(org).await, vec!["org.created"]);
    let scraped = scrape(&app).await;
    assert_eq!(scraped.get("steward_audit_events_total", &[("action", "member.invited")]), 0.0);
    assert_eq!(scraped.get("steward_emails_queued_total", &[("kind", "invitation")]), 0.0);
    assert_eq!(scraped.get("steward_audit_events_total", &[("action", "org.created")]), 1.0);
    app.stop().await;
}

async fn the_pool_is_read_at_the_scrape(backend: Backend) {
    let app = TestApp::builder().metrics().spawn(backend).await;
    app.sign_up("ada@example.com", "Acme").await;
    let scraped = scrape(&app).await;
    // the test apps have a pool of 4
    assert_eq!(scraped.get("steward_db_pool_connections_max", &[]), 4.0);
    let (in_use, idle) = (scraped.get("steward_db_pool_connections_in_use", &[]), scraped.get("steward_db_pool_connections_idle", &[]));
    assert!(in_use + idle <= 4.0 && idle >= 1.0, "in use {in_use}, idle {idle}");
    assert!(scraped.get("steward_db_pool_wait_seconds_count", &[]) >= 1.0, "every checkout is timed");
    assert_eq!(scraped.get("steward_db_pool_timeouts_total", &[]), 0.0);
    app.stop().await;
}

async fn two_servers_in_one_process_keep_their_own_counts(backend: Backend) {
    let first = TestApp::builder().metrics().spawn(backend).await;
    let second = TestApp::builder().metrics().spawn(backend).await;
    first.sign_up("ada@example.com", "Acme").await.0.sign_out().await;
    let client = first.client();
    client.sign_in("ada@example.com", PASSWORD).await.assert_status(303);
    client.sign_in("ada@example.com", "not-the-password").await;
    assert_eq!(scrape(&first).await.get("steward_sign_ins_total", &[]), 1.0);
    let other = scrape(&second).await;
    assert_eq!(other.get("steward_sign_ins_total", &[]), 0.0);
    assert_eq!(other.get("steward_audit_events_total", &[("action", "org.created")]), 0.0);
    assert_eq!(other.value("steward_http_requests_total", &[("route", "/login"), ("method", "POST"), ("status", "303")]), None);
    second.stop().await;
    first.stop().await;
}

#[test]
fn a_sample_line_is_read_with_its_labels_in_any_order() {
    let sample = parse_sample(r#"steward_http_requests_total{method="GET",route="/orgs/{org}/members",status="200"} 3"#);
    assert_eq!(sample.name, "steward_http_requests_total");
    assert_eq!(sample.labels["route"], "/orgs/{org}/members");
    assert_eq!(sample.value, 3.0);
    let escaped = parse_sample(r#"x{a="say \"hi\", then go"} 1"#);
    assert_eq!(escaped.labels["a"], "say \"hi\", then go");
    assert!(parse_sample("steward_sign_ins_total 0").labels.is_empty());
}

crate::on_both_backends!(
    metrics_are_served_in_the_text_format_with_every_metric_and_its_labels(backend),
    a_request_to_the_member_list_moves_its_route_pattern_never_its_path(backend),
    metrics_are_not_on_the_console_address_and_off_by_default(backend),
    sign_ins_and_failed_sign_ins_are_counted_by_reason(backend),
    a_wrong_second_step_and_its_rate_limit_are_failed_sign_ins(backend),
    a_rate_limit_refusal_is_counted_under_its_limit(backend),
    an_invitation_moves_the_emails_queued_and_sent_and_the_audit_events(backend),
    a_refused_email_is_counted_as_failed(backend),
    a_change_rolled_back_counts_none_of_what_it_wrote(backend),
    the_pool_is_read_at_the_scrape(backend),
    two_servers_in_one_process_keep_their_own_counts(backend),
);
