//! Prometheus metrics: one registry per server, the counters each layer records into, and the
//! text a scrape of `STEWARD_METRICS_BIND` reads.
//!
//! The registry is not global: `build` makes one for its server and hands it down (in
//! `AppState` and in the database handle `storage::Db`), so two servers in one process (the
//! tests run many) never mix their counts. With `STEWARD_METRICS_BIND` unset it is off, and
//! recording is one branch.
//!
//! Every label value is a `&'static str` from a fixed set in the code (a route pattern is the
//! one exception, and it comes from the route table, never from the path): an id, an email or a
//! token can never become a label, so the number of series stays bounded.

use std::cell::RefCell;
use std::sync::Arc;
use std::time::Duration;

use prometheus::{Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, Opts, PullingGauge, Registry};

/// The media type of the text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The route label of a request no route matched.
pub const UNMATCHED: &str = "unmatched";

/// Latency buckets of HTTP requests, in seconds: from a static file (well under a
/// millisecond) to a slow export.
const HTTP_BUCKETS: [f64; 14] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// Buckets of the wait for a pooled connection, in seconds: usually none, at worst the pool's
/// 5 s timeout.
const POOL_WAIT_BUCKETS: [f64; 11] = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 2.5, 5.0];

/// Why a sign-in failed: the values of the `reason` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInFailure {
    /// An unknown email, a wrong password.
    BadCredentials,
    /// A wrong or spent code at the second step.
    TwoFactor,
    /// Refused by a rate limit before the password or the code was looked at.
    RateLimited,
}

impl SignInFailure {
    pub const ALL: [SignInFailure; 3] = [SignInFailure::BadCredentials, SignInFailure::TwoFactor, SignInFailure::RateLimited];

    pub fn label(self) -> &'static str {
        match self {
            SignInFailure::BadCredentials => "bad_credentials",
            SignInFailure::TwoFactor => "two_factor",
            SignInFailure::RateLimited => "rate_limited",
        }
    }
}

/// The `method` label: the methods Steward serves, and `other` for whatever else a client
/// sends (a method is any token a client likes, so it is not a bounded label by itself).
pub fn method_label(method: &str) -> &'static str {
    match method {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    }
}

/// The pool as a scrape sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSample {
    pub in_use: u32,
    pub idle: u32,
    pub max: u32,
}

/// What the label sets of the counters start at zero with, so that a series exists (and a
/// rate can be taken) before its first event.
#[derive(Debug, Clone, Copy, Default)]
pub struct KnownLabels<'a> {
    pub rate_limits: &'a [&'static str],
    pub audit_actions: &'a [&'static str],
    pub email_kinds: &'a [&'static str],
}

/// The metrics of one server; `Metrics::off()` records nothing.
pub struct Metrics {
    families: Option<Families>,
}

struct Families {
    registry: Registry,
    http_requests: IntCounterVec,
    http_seconds: HistogramVec,
    pool_wait_seconds: Histogram,
    pool_timeouts: IntCounter,
    emails_queued: IntCounterVec,
    emails_sent: IntCounterVec,
    emails_failed: IntCounterVec,
    emails_expired: IntCounter,
    sign_ins: IntCounter,
    sign_in_failures: IntCounterVec,
    rate_limit_refusals: IntCounterVec,
    audit_events: IntCounterVec,
}

impl Metrics {
    /// Metrics that record nothing: a server without `STEWARD_METRICS_BIND`, the commands.
    pub fn off() -> Metrics {
        Metrics { families: None }
    }

    /// A registry of its own holding every Steward metric; `pool` is read at each scrape.
    pub fn new(
        pool: impl Fn() -> PoolSample + Send + Sync + 'static,
        known: KnownLabels<'_>,
    ) -> Result<Metrics, prometheus::Error> {
        let registry = Registry::new();
        let counter = |name: &str, help: &str| -> Result<IntCounter, prometheus::Error> {
            let c = IntCounter::new(name, help)?;
            registry.register(Box::new(c.clone()))?;
            Ok(c)
        };
        let counter_vec = |name: &str, help: &str, labels: &[&str]| -> Result<IntCounterVec, prometheus::Error> {
            let c = IntCounterVec::new(Opts::new(name, help), labels)?;
            registry.register(Box::new(c.clone()))?;
            Ok(c)
        };
        let pool: Arc<dyn Fn() -> PoolSample + Send + Sync> = Arc::new(pool);
        let gauges: [(&str, &str, fn(PoolSample) -> u32); 3] = [
            ("steward_db_pool_connections_in_use", "Database connections lent out at the time of the scrape.", |s| s.in_use),
            ("steward_db_pool_connections_idle", "Database connections open and idle at the time of the scrape.", |s| s.idle),
            ("steward_db_pool_connections_max", "The most connections the pool opens (STEWARD_DB_POOL).", |s| s.max),
        ];
        for (name, help, read) in gauges {
            let pool = pool.clone();
            let gauge = PullingGauge::new(name, help, Box::new(move || f64::from(read(pool()))))?;
            registry.register(Box::new(gauge))?;
        }
        let http_seconds = HistogramVec::new(
            HistogramOpts::new(
                "steward_http_request_duration_seconds",
                "Time from a request's arrival to its answer, by route pattern, method and status.",
            )
            .buckets(HTTP_BUCKETS.to_vec()),
            &["route", "method", "status"],
        )?;
        registry.register(Box::new(http_seconds.clone()))?;
        let pool_wait_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "steward_db_pool_wait_seconds",
                "Time spent waiting for a pooled database connection, timeouts included.",
            )
            .buckets(POOL_WAIT_BUCKETS.to_vec()),
        )?;
        registry.register(Box::new(pool_wait_seconds.clone()))?;
        let families = Families {
            http_requests: counter_vec(
                "steward_http_requests_total",
                "HTTP requests answered, by route pattern, method and status.",
                &["route", "method", "status"],
            )?,
            http_seconds,
            pool_wait_seconds,
            pool_timeouts: counter(
                "steward_db_pool_timeouts_total",
                "Waits for a pooled database connection that ran out (the request answered 503).",
            )?,
            emails_queued: counter_vec("steward_emails_queued_total", "Emails written to the outbox by committed changes, by kind.", &["kind"])?,
            emails_sent: counter_vec("steward_emails_sent_total", "Emails the mail server accepted, by kind.", &["kind"])?,
            emails_failed: counter_vec("steward_emails_failed_total", "Delivery attempts that failed (each is retried later), by kind.", &["kind"])?,
            emails_expired: counter(
                "steward_emails_expired_total",
                "Emails given up because their link expired before they could be sent.",
            )?,
            sign_ins: counter(
                "steward_sign_ins_total",
                "Sign-ins that started a session (after the second step for two-factor accounts).",
            )?,
            sign_in_failures: counter_vec("steward_sign_in_failures_total", "Sign-in attempts refused, by reason.", &["reason"])?,
            rate_limit_refusals: counter_vec("steward_rate_limit_refusals_total", "Requests refused by a rate limit (429), by limit.", &["limit"])?,
            audit_events: counter_vec("steward_audit_events_total", "Audit events written by committed changes, by action.", &["action"])?,
            registry,
        };
        for reason in SignInFailure::ALL {
            families.sign_in_failures.get_metric_with_label_values(&[reason.label()])?;
        }
        for (family, values) in [
            (&families.rate_limit_refusals, known.rate_limits),
            (&families.audit_events, known.audit_actions),
            (&families.emails_queued, known.email_kinds),
            (&families.emails_sent, known.email_kinds),
            (&families.emails_failed, known.email_kinds),
        ] {
            for value in values {
                family.get_metric_with_label_values(&[*value])?;
            }
        }
        Ok(Metrics { families: Some(families) })
    }

    pub fn is_on(&self) -> bool {
        self.families.is_some()
    }

    /// The exposition text of every metric, as a scrape reads it; empty when off.
    pub fn render(&self) -> Result<String, prometheus::Error> {
        match &self.families {
            Some(f) => prometheus::TextEncoder::new().encode_to_string(&f.registry.gather()),
            None => Ok(String::new()),
        }
    }

    /// A request answered: `route` is its route's pattern (None when no route matched),
    /// `method` as the client sent it, `status` the three digits.
    pub fn http_request(&self, route: Option<&str>, method: &str, status: &str, took: Duration) {
        let Some(f) = &self.families else { return };
        let labels = [route.unwrap_or(UNMATCHED), method_label(method), status];
        if let Ok(c) = f.http_requests.get_metric_with_label_values(&labels) {
            c.inc();
        }
        if let Ok(h) = f.http_seconds.get_metric_with_label_values(&labels) {
            h.observe(took.as_secs_f64());
        }
    }

    /// A wait for a pooled connection, and whether it got one.
    pub fn pool_wait(&self, took: Duration, timed_out: bool) {
        let Some(f) = &self.families else { return };
        f.pool_wait_seconds.observe(took.as_secs_f64());
        if timed_out {
            f.pool_timeouts.inc();
        }
    }

    pub fn email_sent(&self, kind: &'static str) {
        if let Some(f) = &self.families {
            inc(&f.emails_sent, kind);
        }
    }

    pub fn email_failed(&self, kind: &'static str) {
        if let Some(f) = &self.families {
            inc(&f.emails_failed, kind);
        }
    }

    pub fn emails_expired(&self, count: usize) {
        if let Some(f) = &self.families {
            f.emails_expired.inc_by(count as u64);
        }
    }

    pub fn signed_in(&self) {
        if let Some(f) = &self.families {
            f.sign_ins.inc();
        }
    }

    pub fn sign_in_failed(&self, why: SignInFailure) {
        if let Some(f) = &self.families {
            inc(&f.sign_in_failures, why.label());
        }
    }

    /// A request refused by the rate limit named `limit`.
    pub fn rate_limited(&self, limit: &'static str) {
        if let Some(f) = &self.families {
            inc(&f.rate_limit_refusals, limit);
        }
    }

    /// What a write transaction noted (`note`), once it has committed.
    pub fn committed(&self, written: &[Written]) {
        let Some(f) = &self.families else { return };
        for w in written {
            match *w {
                Written::AuditEvent(action) => inc(&f.audit_events, action),
                Written::EmailQueued(kind) => inc(&f.emails_queued, kind),
            }
        }
    }
}

fn inc(family: &IntCounterVec, label: &str) {
    if let Ok(c) = family.get_metric_with_label_values(&[label]) {
        c.inc();
    }
}

/// Something a write transaction wrote that is counted only once it commits: a rolled-back
/// audit event or email was never written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    AuditEvent(&'static str),
    EmailQueued(&'static str),
}

thread_local! {
    /// What the write transaction running on this thread has noted so far, when one collects.
    /// Storage runs a transaction on one thread from its start to its commit, so the thread
    /// says which transaction (and so which server's metrics) a note belongs to, without the
    /// registry going through every function that appends an event or queues an email.
    static WRITTEN: RefCell<Option<Vec<Written>>> = const { RefCell::new(None) };
}

/// Notes `w` for the write transaction running on this thread; nothing when none collects
/// (metrics off, or a write outside `Db::write`, such as `steward seed`).
pub fn note(w: Written) {
    WRITTEN.with(|cell| {
        if let Some(list) = cell.borrow_mut().as_mut() {
            list.push(w);
        }
    });
}

/// Runs `f`, returning with its result what it noted. Nested calls each get their own notes.
pub fn collect_written<T>(f: impl FnOnce() -> T) -> (T, Vec<Written>) {
    /// Puts back the collection this one interrupted, even when `f` panics: a pool thread is
    /// reused, and must not keep collecting for a transaction that is gone.
    struct Restore(Option<Option<Vec<Written>>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            if let Some(outer) = self.0.take() {
                WRITTEN.with(|cell| *cell.borrow_mut() = outer);
            }
        }
    }
    let restore = Restore(Some(WRITTEN.with(|cell| cell.replace(Some(Vec::new())))));
    let value = f();
    let written = WRITTEN.with(|cell| cell.borrow_mut().take()).unwrap_or_default();
    drop(restore);
    (value, written)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> PoolSample {
        PoolSample { in_use: 3, idle: 5, max: 16 }
    }

    fn known() -> KnownLabels<'static> {
        KnownLabels { rate_limits: &["login_ip"], audit_actions: &["member.removed"], email_kinds: &["invitation"] }
    }

    #[test]
    fn methods_a_client_makes_up_share_one_label() {
        for method in ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] {
            assert_eq!(method_label(method), method);
        }
        for made_up in ["BREW", "get", "PROPFIND", "", "GET "] {
            assert_eq!(method_label(made_up), "other");
        }
    }

    #[test]
    fn every_series_of_a_fixed_label_set_starts_at_zero() {
        let text = Metrics::new(sample, known()).unwrap().render().unwrap();
        for line in [
            "steward_sign_in_failures_total{reason=\"bad_credentials\"} 0",
            "steward_sign_in_failures_total{reason=\"two_factor\"} 0",
            "steward_sign_in_failures_total{reason=\"rate_limited\"} 0",
            "steward_rate_limit_refusals_total{limit=\"login_ip\"} 0",
            "steward_audit_events_total{action=\"member.removed\"} 0",
            "steward_emails_queued_total{kind=\"invitation\"} 0",
            "steward_emails_sent_total{kind=\"invitation\"} 0",
            "steward_emails_failed_total{kind=\"invitation\"} 0",
            "steward_sign_ins_total 0",
            "steward_db_pool_timeouts_total 0",
            "steward_db_pool_connections_in_use 3",
            "steward_db_pool_connections_idle 5",
            "steward_db_pool_connections_max 16",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing from\n{text}");
        }
    }

    #[test]
    fn a_request_is_counted_under_its_pattern_and_timed() {
        let metrics = Metrics::new(sample, known()).unwrap();
        metrics.http_request(Some("/orgs/{org}/members"), "GET", "200", Duration::from_millis(3));
        metrics.http_request(Some("/orgs/{org}/members"), "GET", "200", Duration::from_millis(30));
        metrics.http_request(None, "BREW", "404", Duration::from_micros(100));
        let text = metrics.render().unwrap();
        assert!(text.contains("steward_http_requests_total{method=\"GET\",route=\"/orgs/{org}/members\",status=\"200\"} 2"), "{text}");
        assert!(text.contains("steward_http_requests_total{method=\"other\",route=\"unmatched\",status=\"404\"} 1"), "{text}");
        let members = "method=\"GET\",route=\"/orgs/{org}/members\",status=\"200\"";
        assert!(text.contains(&format!("steward_http_request_duration_seconds_bucket{{{members},le=\"0.005\"}} 1")), "{text}");
        assert!(text.contains(&format!("steward_http_request_duration_seconds_count{{{members}}} 2")), "{text}");
    }

    #[test]
    fn two_registries_keep_their_own_counts() {
        let (a, b) = (Metrics::new(sample, known()).unwrap(), Metrics::new(sample, known()).unwrap());
        a.signed_in();
        a.signed_in();
        b.signed_in();
        assert!(a.render().unwrap().contains("steward_sign_ins_total 2"));
        assert!(b.render().unwrap().contains("steward_sign_ins_total 1"));
    }

    #[test]
    fn metrics_that_are_off_record_nothing_and_render_nothing() {
        let off = Metrics::off();
        off.signed_in();
        off.http_request(Some("/"), "GET", "200", Duration::from_millis(1));
        off.committed(&[Written::AuditEvent("org.created")]);
        assert!(!off.is_on());
        assert_eq!(off.render().unwrap(), "");
    }

    #[test]
    fn notes_are_collected_by_the_innermost_transaction_only() {
        note(Written::AuditEvent("not collected"));
        let (((), inner), outer) = collect_written(|| {
            note(Written::AuditEvent("org.created"));
            let inner = collect_written(|| note(Written::EmailQueued("invitation")));
            note(Written::AuditEvent("org.renamed"));
            inner
        });
        assert_eq!(outer, vec![Written::AuditEvent("org.created"), Written::AuditEvent("org.renamed")]);
        assert_eq!(inner, vec![Written::EmailQueued("invitation")]);
        // nothing collects once they are done
        let ((), after) = collect_written(|| ());
        assert!(after.is_empty());
        WRITTEN.with(|cell| assert!(cell.borrow().is_none()));
    }

    #[test]
    fn committed_notes_move_their_counters() {
        let metrics = Metrics::new(sample, known()).unwrap();
        metrics.committed(&[Written::AuditEvent("member.removed"), Written::EmailQueued("invitation"), Written::EmailQueued("invitation")]);
        let text = metrics.render().unwrap();
        assert!(text.contains("steward_audit_events_total{action=\"member.removed\"} 1"), "{text}");
        assert!(text.contains("steward_emails_queued_total{kind=\"invitation\"} 2"), "{text}");
    }
}
