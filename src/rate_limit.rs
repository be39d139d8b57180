//! Rate limits on sign-in and its second step, sign-up, password resets, verification emails,
//! invitations, invitation answers, organizations created and the JSON API: buckets in the
//! database, so that every instance on it counts against the same quota, answering how long to
//! wait when a key has used up its quota.
//!
//! Each check is one statement on a connection of the pool: blocking work, run inside the
//! handler's `AppState::run` with the rest of the request's database work.

use std::net::{IpAddr, Ipv6Addr};

use actix_web::HttpRequest;

use crate::app::client_ip;
use crate::config::{self, Rate};
use crate::crypto::sha256_hex;
use crate::domain::email::MAX_EMAIL_LEN;
use crate::domain::{AccountId, OrgId};
use crate::metrics::SignInFailure;
use crate::operations::OpError;
use crate::storage::{Db, DbConn, rate_limits};

/// The name of every limit, which keys its buckets and labels its refusals in the metrics
/// (`steward_rate_limit_refusals_total{limit}`). A new limit adds its name here.
pub const LIMITS: [&str; 12] = [
    "login_ip",
    "login_account",
    "invite_org",
    "invite_account",
    "accept_ip",
    "api_key",
    "signup_ip",
    "org_create",
    "reset_ip",
    "reset_email",
    "verify_resend",
    "two_factor",
];

/// Over a limit: the seconds to wait before the next request can pass (at least 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many requests; try again in {seconds} seconds")]
pub struct RetryAfter {
    pub seconds: u64,
}

/// The current time as buckets count it: microseconds since the epoch.
pub fn now_micros() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

/// A rate as the bucket counts it: one request comes back every `period`, and `tolerance`
/// (`period` times the burst) may be taken at once; in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Gcra {
    period: i64,
    tolerance: i64,
}

impl Gcra {
    /// `rate.count` requests every `rate.per`, `rate.burst` at once; none for a zero rate.
    fn of(rate: Rate) -> Option<Gcra> {
        if rate.count == 0 || rate.burst == 0 {
            return None;
        }
        let per = i64::try_from(rate.per.as_micros()).unwrap_or(i64::MAX);
        let period = (per / i64::from(rate.count)).max(1);
        Some(Gcra { period, tolerance: period.saturating_mul(i64::from(rate.burst)) })
    }
}

impl Gcra {
    /// How many requests would pass at once at `now` from a bucket whose TAT is `tat` (none for
    /// a new bucket): what is left of the burst.
    fn available(self, tat: Option<i64>, now: i64) -> u64 {
        let used_until = tat.unwrap_or(now).max(now);
        let room = now.saturating_add(self.tolerance).saturating_sub(used_until);
        u64::try_from(room / self.period).unwrap_or(0)
    }
}

/// One check: the limit's name (which keeps the buckets of two limits apart), its rate (none
/// when off), and the value it counts (none when there is nothing to count, like the address
/// of a client that has none).
type Check<'a> = (&'static str, Option<Rate>, Option<&'a str>);

/// Takes one request from the bucket of `value` under the limit `name` at `now`. The bucket is
/// named by the SHA-256 of the value: the table never holds a typed email or an address.
fn check(conn: &mut DbConn, name: &str, gcra: Gcra, value: &str, now: i64) -> Result<(), OpError> {
    let key = bucket_key(name, value);
    match rate_limits::take(conn, &key, now, gcra.period, gcra.tolerance)? {
        None => Ok(()),
        Some(wait) => Err(RetryAfter { seconds: whole_seconds(wait) }.into()),
    }
}

/// The bucket key of `value` under the limit `name`.
fn bucket_key(name: &str, value: &str) -> String {
    format!("{name}:{}", sha256_hex(value.as_bytes()))
}

/// Runs `checks` in order at `now`, stopping at the first refused: a client over its own
/// limit does not use up the quota of the next ones. A refusal says which limit refused.
fn check_all_at(conn: &mut DbConn, checks: &[Check<'_>], now: i64) -> Result<(), (Option<&'static str>, OpError)> {
    for &(name, rate, value) in checks {
        if let (Some(gcra), Some(value)) = (rate.and_then(Gcra::of), value) {
            check(conn, name, gcra, value, now).map_err(|e| match e {
                OpError::TooManyRequests(_) => (Some(name), e),
                e => (None, e),
            })?;
        }
    }
    Ok(())
}

/// Runs `checks` now, on a connection taken only when one of them is on, counting a refusal
/// in the metrics under its limit's name.
fn check_all(db: &Db, checks: &[Check<'_>]) -> Result<(), OpError> {
    if !checks.iter().any(|&(_, rate, value)| rate.and_then(Gcra::of).is_some() && value.is_some()) {
        return Ok(());
    }
    check_all_at(&mut *db.conn()?, checks, now_micros()).map_err(|(refused_by, e)| {
        if let Some(limit) = refused_by {
            db.metrics().rate_limited(limit);
        }
        e
    })
}

/// Counts a sign-in attempt a limit refused (`steward_sign_in_failures_total`).
fn sign_in_refused(db: &Db, result: Result<(), OpError>) -> Result<(), OpError> {
    if let Err(OpError::TooManyRequests(_)) = &result {
        db.metrics().sign_in_failed(SignInFailure::RateLimited);
    }
    result
}

/// A wait in microseconds rounded up to whole seconds, at least one: `Retry-After` has no finer
/// unit, and "0" would invite an immediate retry that is refused again.
fn whole_seconds(wait_micros: i64) -> u64 {
    u64::try_from(wait_micros).unwrap_or(0).div_ceil(1_000_000).max(1)
}

/// The key of a client address: IPv6 clients are limited per /64 (one customer's network, in
/// which an address costs nothing), IPv4-mapped IPv6 addresses as the IPv4 address.
fn ip_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !0u128 << 64)),
        },
    }
}

/// The counted value of a client address (see `ip_key`), when there is one.
fn ip_value(ip: Option<IpAddr>) -> Option<String> {
    ip.map(|ip| ip_key(ip).to_string())
}

/// The key of a sign-in attempt: the email as typed, normalised like `Email` (trimmed, lower
/// case), valid or not, so that the answer is the same whether or not the account exists.
fn account_key(typed: &str) -> String {
    typed.trim().chars().take(MAX_EMAIL_LEN + 1).collect::<String>().to_lowercase()
}

/// How many invitations a person may send now for one organization, and the limit that allows
/// the fewest: what a list of people to invite is weighed against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allowance {
    /// None: both limits are off.
    pub now: Option<u64>,
    /// The variable of the limit that allows the fewest now (the one to raise).
    pub variable: Option<&'static str>,
}

/// The console's rate limits, shared by every worker through `AppState`; the counts live in
/// the database, shared by every instance on it.
pub struct RateLimits {
    trusted_proxies: Vec<IpAddr>,
    limits: config::RateLimits,
}

impl RateLimits {
    /// The limits of `limits`; client addresses are read as `app::client_ip` reads them,
    /// believing `X-Forwarded-For` only from `trusted_proxies`.
    pub fn new(limits: &config::RateLimits, trusted_proxies: Vec<IpAddr>) -> RateLimits {
        RateLimits { trusted_proxies, limits: *limits }
    }

    /// The client's address, read on the async side (the request does not go to the blocking
    /// thread) and handed to the checks that count per address.
    pub fn client(&self, req: &HttpRequest) -> Option<IpAddr> {
        let forwarded = req.headers().get("X-Forwarded-For").and_then(|v| v.to_str().ok());
        client_ip(req.peer_addr().map(|a| a.ip()), forwarded, &self.trusted_proxies)
    }

    /// A sign-in attempt (`POST /login`) from `client` for the email typed: the address first,
    /// so that a client already over its own limit cannot use up the quota of the accounts it
    /// tries.
    pub fn login(&self, db: &Db, client: Option<IpAddr>, email: &str) -> Result<(), OpError> {
        let (ip, email) = (ip_value(client), account_key(email));
        let result = check_all(db, &[("login_ip", self.limits.login_ip, ip.as_deref()), ("login_account", self.limits.login_account, Some(email.as_str()))]);
        sign_in_refused(db, result)
    }

    /// A code tried at the second step of signing in (`POST /login/two-factor`): the
    /// two-factor limit (`two_factor`), its refusal counted as a failed sign-in too.
    pub fn second_step(&self, db: &Db, account: AccountId) -> Result<(), OpError> {
        sign_in_refused(db, self.two_factor(db, account))
    }

    /// An invitation sent by `org` (`POST /orgs/{org}/invitations`, the API's).
    pub fn invitation(&self, db: &Db, org: OrgId) -> Result<(), OpError> {
        check_all(db, &[("invite_org", self.limits.invite_org, Some(org.to_string().as_str()))])
    }

    /// A look at, or an answer to, an invitation link (`/invitations/{token}`, `…/accept`,
    /// `…/decline`): per client address, which stops guessing tokens.
    pub fn acceptance(&self, db: &Db, client: Option<IpAddr>) -> Result<(), OpError> {
        check_all(db, &[("accept_ip", self.limits.accept_ip, ip_value(client).as_deref())])
    }

    /// A JSON API request made with the API key `key_id`.
    pub fn api_key(&self, db: &Db, key_id: &str) -> Result<(), OpError> {
        check_all(db, &[("api_key", self.limits.api_key, Some(key_id))])
    }

    /// A sign-up (`POST /signup`), per client address.
    pub fn signup(&self, db: &Db, client: Option<IpAddr>) -> Result<(), OpError> {
        check_all(db, &[("signup_ip", self.limits.signup_ip, ip_value(client).as_deref())])
    }

    /// An invitation sent (or sent again) by a person for `org`: the person's quota, whichever
    /// organization it is for, first, so that someone over it cannot use up the quota the
    /// organization's other admins share; then the organization's.
    pub fn invitation_by(&self, db: &Db, account: AccountId, org: OrgId) -> Result<(), OpError> {
        let (account, org) = (account.to_string(), org.to_string());
        check_all(
            db,
            &[
                ("invite_account", self.limits.invite_account, Some(account.as_str())),
                ("invite_org", self.limits.invite_org, Some(org.as_str())),
            ],
        )
    }

    /// The limits a person's invitations for `org` count against: the person's, then the
    /// organization's (see `invitation_by`), each with its variable and the value it counts.
    fn invitation_checks(&self, account: AccountId, org: OrgId) -> [(&'static str, &'static str, Option<Gcra>, String); 2] {
        [
            ("invite_account", "STEWARD_RATE_LIMIT_INVITE_ACCOUNT", self.limits.invite_account.and_then(Gcra::of), account.to_string()),
            ("invite_org", "STEWARD_RATE_LIMIT_INVITE_ORG", self.limits.invite_org.and_then(Gcra::of), org.to_string()),
        ]
    }

    /// How many invitations `account` may send for `org` at `now`, counted on `conn` (a read:
    /// nothing is taken).
    pub fn invitations_allowed(&self, conn: &mut DbConn, account: AccountId, org: OrgId, now: i64) -> Result<Allowance, OpError> {
        let mut allowance = Allowance { now: None, variable: None };
        for (name, variable, gcra, value) in self.invitation_checks(account, org) {
            let Some(gcra) = gcra else { continue };
            let available = gcra.available(rate_limits::tat_of(conn, &bucket_key(name, &value))?, now);
            if allowance.now.is_none_or(|n| available < n) {
                allowance = Allowance { now: Some(available), variable: Some(variable) };
            }
        }
        Ok(allowance)
    }

    /// How many invitations `account` may send for `org` now (see `invitations_allowed`).
    pub fn invitations_allowed_now(&self, db: &Db, account: AccountId, org: OrgId) -> Result<Allowance, OpError> {
        self.invitations_allowed(&mut *db.conn()?, account, org, now_micros())
    }

    /// Takes `count` invitations at once from the person's and the organization's quotas, on
    /// `conn`: inside the transaction that sends them, so that the quota taken and the
    /// invitations sent are one change (a refusal or a failure after it takes nothing, once the
    /// transaction is rolled back).
    pub fn take_invitations(&self, conn: &mut DbConn, account: AccountId, org: OrgId, count: u32, now: i64) -> Result<(), OpError> {
        for (name, _, gcra, value) in self.invitation_checks(account, org) {
            let Some(gcra) = gcra else { continue };
            if let Some(wait) = rate_limits::take_many(conn, &bucket_key(name, &value), now, gcra.period, gcra.tolerance, count)? {
                return Err(RetryAfter { seconds: whole_seconds(wait) }.into());
            }
        }
        Ok(())
    }

    /// An organization created by `account` (sign-up's first one aside).
    pub fn org_creation(&self, db: &Db, account: AccountId) -> Result<(), OpError> {
        check_all(db, &[("org_create", self.limits.org_create, Some(account.to_string().as_str()))])
    }

    /// A password reset asked for `email` (`POST /password/forgot`): the address first, then
    /// the email typed, whether or not it has an account.
    pub fn password_reset(&self, db: &Db, client: Option<IpAddr>, email: &str) -> Result<(), OpError> {
        let (ip, email) = (ip_value(client), account_key(email));
        check_all(db, &[("reset_ip", self.limits.reset_ip, ip.as_deref()), ("reset_email", self.limits.reset_email, Some(email.as_str()))])
    }

    /// The verification email sent again, for `account`.
    pub fn verification_resend(&self, db: &Db, account: AccountId) -> Result<(), OpError> {
        check_all(db, &[("verify_resend", self.limits.verify_resend, Some(account.to_string().as_str()))])
    }

    /// A two-factor code tried for `account` (the second step of sign-in, turning two-factor
    /// off): six digits are guessed in a million tries, so tries are few.
    pub fn two_factor(&self, db: &Db, account: AccountId) -> Result<(), OpError> {
        check_all(db, &[("two_factor", self.limits.two_factor, Some(account.to_string().as_str()))])
    }
}

/// A person's invitations for one organization, as a list of them weighs and takes them
/// inside the transaction that sends it (`operations::invitations::invite_many`).
pub struct InvitationQuota<'a> {
    limits: &'a RateLimits,
    account: AccountId,
    org: OrgId,
}

impl RateLimits {
    /// The quota of the invitations `account` sends for `org`.
    pub fn invitation_quota(&self, account: AccountId, org: OrgId) -> InvitationQuota<'_> {
        InvitationQuota { limits: self, account, org }
    }
}

impl crate::operations::invitations::Quota for InvitationQuota<'_> {
    fn allowed(&self, conn: &mut DbConn) -> Result<Option<u64>, OpError> {
        Ok(self.limits.invitations_allowed(conn, self.account, self.org, now_micros())?.now)
    }

    fn take(&self, conn: &mut DbConn, count: u32) -> Result<(), OpError> {
        self.limits.take_invitations(conn, self.account, self.org, count, now_micros())
    }
}

#[cfg(test)]
mod tests {
    use diesel::prelude::*;

    use super::*;
    use crate::config::RateLimits as Config;
    use crate::storage::schema::rate_limits as buckets;

    const SECOND: i64 = 1_000_000;

    /// A fresh SQLite database in a directory of its own, dropped with it.
    struct TestDb {
        db: Db,
        dir: tempfile::TempDir,
    }

    impl TestDb {
        fn db_url(&self) -> String {
            format!("sqlite://{}", self.dir.path().join("steward.db").display())
        }
    }

    fn database() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("steward.db").display());
        TestDb { db: Db::new(crate::storage::connect(&url, 2).expect("database")), dir }
    }

    fn refusal(result: Result<(), OpError>) -> Result<(), RetryAfter> {
        match result {
            Ok(()) => Ok(()),
            Err(OpError::TooManyRequests(wait)) => Err(wait),
            Err(e) => panic!("the check failed: {e}"),
        }
    }

    /// One check of `key` under a test limit at `now`.
    fn at(conn: &mut DbConn, rate: Rate, key: &str, now: i64) -> Result<(), RetryAfter> {
        refusal(check(conn, "test", Gcra::of(rate).expect("a limit that is on"), key, now))
    }

    #[test]
    fn a_limit_lets_its_burst_through_then_says_how_long_to_wait() {
        let test = database();
        let conn = &mut *test.db.conn().unwrap();
        let rate = Rate::per_minute(10);
        let start = now_micros();
        for _ in 0..10 {
            assert_eq!(at(conn, rate, "ada", start), Ok(()));
        }
        // one request comes back every 6 seconds
        assert_eq!(at(conn, rate, "ada", start), Err(RetryAfter { seconds: 6 }));
        assert_eq!(at(conn, rate, "ada", start + 5_500_000), Err(RetryAfter { seconds: 1 }));
        assert_eq!(at(conn, rate, "ada", start + 6 * SECOND), Ok(()));
        assert_eq!(at(conn, rate, "ada", start + 6 * SECOND), Err(RetryAfter { seconds: 6 }));
        // other keys have their own quota
        assert_eq!(at(conn, rate, "bob", start + 6 * SECOND), Ok(()));
    }

    #[test]
    fn every_limit_checked_is_listed() {
        let source = include_str!("rate_limit.rs");
        let checked: std::collections::BTreeSet<&str> = source
            .split("(\"")
            .skip(1)
            .filter_map(|rest| rest.split_once("\", self.limits.").map(|(name, _)| name))
            // (this test's own pattern is no name)
            .filter(|name| !name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
            .collect();
        assert_eq!(checked, LIMITS.into_iter().collect());
    }

    #[test]
    fn a_burst_smaller_than_the_rate_is_honoured() {
        let test = database();
        let conn = &mut *test.db.conn().unwrap();
        let rate = Rate::per_minute(600).burst(3);
        for _ in 0..3 {
            assert_eq!(at(conn, rate, "1", 0), Ok(()));
        }
        // 100 ms to wait, rounded up to the one second `Retry-After` can say
        assert_eq!(at(conn, rate, "1", 0), Err(RetryAfter { seconds: 1 }));
        assert_eq!(at(conn, rate, "1", SECOND / 10), Ok(()));
    }

    #[test]
    fn waits_are_rounded_up_to_whole_seconds() {
        let test = database();
        let conn = &mut *test.db.conn().unwrap();
        let rate = Rate::per_minute(7).burst(1);
        assert_eq!(at(conn, rate, "1", 0), Ok(()));
        // 60/7 = 8.57 seconds
        assert_eq!(at(conn, rate, "1", 0), Err(RetryAfter { seconds: 9 }));
        assert_eq!(whole_seconds(0), 1);
        assert_eq!(whole_seconds(2 * SECOND), 2);
        assert_eq!(whole_seconds(2 * SECOND + 1), 3);
    }

    #[test]
    fn a_refused_request_does_not_push_the_wait_further() {
        let test = database();
        let conn = &mut *test.db.conn().unwrap();
        let rate = Rate::per_minute(1);
        assert_eq!(at(conn, rate, "1", 0), Ok(()));
        for _ in 0..20 {
            assert_eq!(at(conn, rate, "1", 0), Err(RetryAfter { seconds: 60 }));
        }
        assert_eq!(at(conn, rate, "1", 60 * SECOND), Ok(()));
    }

    #[test]
    fn a_limit_that_is_off_never_refuses_nor_writes() {
        let test = database();
        let limits = RateLimits::new(&Config { login_ip: Some(Rate::per_minute(0)), ..Config::off() }, Vec::new());
        let ip = Some("203.0.113.7".parse().unwrap());
        for _ in 0..100 {
            limits.login(&test.db, ip, "ada@example.com").unwrap();
        }
        assert_eq!(rate_limits::count(&mut test.db.conn().unwrap()).unwrap(), 0);
    }

    #[test]
    fn buckets_whose_quota_has_recovered_are_swept() {
        let test = database();
        let conn = &mut *test.db.conn().unwrap();
        for key in 0..20 {
            at(conn, Rate::per_minute(60), &key.to_string(), 0).expect("a first request passes");
        }
        at(conn, Rate::per_minute(60), "busy", SECOND).expect("a first request passes");
        for _ in 0..5 {
            let _ = at(conn, Rate::per_minute(60), "busy", 2 * SECOND);
        }
        assert_eq!(rate_limits::delete_recovered(conn, SECOND / 2).unwrap(), 0, "every bucket is still recovering");
        assert_eq!(rate_limits::delete_recovered(conn, 2 * SECOND).unwrap(), 20, "the idle ones are forgotten");
        assert_eq!(rate_limits::count(conn).unwrap(), 1, "only the bucket in use is kept");
    }

    #[test]
    fn buckets_are_named_by_a_hash_never_by_the_email_or_address() {
        let test = database();
        let limits = RateLimits::new(
            &Config { login_ip: Some(Rate::per_minute(5)), login_account: Some(Rate::per_minute(5)), ..Config::off() },
            Vec::new(),
        );
        limits.login(&test.db, Some("203.0.113.7".parse().unwrap()), "Ada@Example.com").unwrap();
        let keys: Vec<String> = buckets::table.select(buckets::key).load(&mut test.db.conn().unwrap()).unwrap();
        assert_eq!(keys.len(), 2);
        for key in keys {
            assert!(!key.contains("ada") && !key.contains("203.0"), "{key}");
            assert!(key.starts_with("login_ip:") || key.starts_with("login_account:"), "{key}");
        }
    }

    #[test]
    fn sign_in_is_limited_per_address_and_per_email_typed() {
        let test = database();
        let limits = RateLimits::new(
            &Config { login_ip: Some(Rate::per_minute(5)), login_account: Some(Rate::per_minute(2)), ..Config::off() },
            Vec::new(),
        );
        let login = |ip: Option<IpAddr>, email: &str| refusal(limits.login(&test.db, ip, email));
        let ip = Some("203.0.113.7".parse().unwrap());
        login(ip, "ada@example.com").unwrap();
        // the same email however it is typed, whether or not it is valid
        login(ip, "  ADA@Example.com ").unwrap();
        assert!(login(ip, "ada@example.com").is_err());
        login(ip, "bob@example.com").unwrap();
        login(ip, "not an email").unwrap();
        // the address's five attempts are used up, whatever the email
        assert!(login(ip, "carol@example.com").is_err());
        // another address still gets through, and is not held back by the refused attempts
        login(Some("203.0.113.8".parse().unwrap()), "carol@example.com").unwrap();
        login(None, "dave@example.com").unwrap();
    }

    #[test]
    fn a_refused_address_does_not_use_up_an_accounts_quota() {
        let test = database();
        let limits = RateLimits::new(
            &Config { login_ip: Some(Rate::per_minute(1)), login_account: Some(Rate::per_minute(2)), ..Config::off() },
            Vec::new(),
        );
        let login = |ip: Option<IpAddr>, email: &str| refusal(limits.login(&test.db, ip, email));
        let (attacker, owner) = (Some("198.51.100.1".parse().unwrap()), Some("203.0.113.1".parse().unwrap()));
        login(attacker, "ada@example.com").unwrap();
        for _ in 0..5 {
            assert!(login(attacker, "ada@example.com").is_err());
        }
        login(owner, "ada@example.com").unwrap();
    }

    #[test]
    fn invitations_acceptance_and_api_keys_have_their_own_limits() {
        let test = database();
        let db = &test.db;
        let limits = RateLimits::new(
            &Config {
                invite_org: Some(Rate::per_hour(2)),
                accept_ip: Some(Rate::per_minute(1)),
                api_key: Some(Rate::per_minute(600).burst(2)),
                ..Config::off()
            },
            Vec::new(),
        );
        let (acme, globex) = (OrgId::new(), OrgId::new());
        limits.invitation(db, acme).unwrap();
        limits.invitation(db, acme).unwrap();
        let wait = refusal(limits.invitation(db, acme)).unwrap_err();
        assert!((1..=1800).contains(&wait.seconds), "{wait:?}");
        limits.invitation(db, globex).unwrap();

        let ip = Some("192.0.2.1".parse().unwrap());
        limits.acceptance(db, ip).unwrap();
        assert!(refusal(limits.acceptance(db, ip)).is_err());
        limits.acceptance(db, None).unwrap();

        limits.api_key(db, "key-1").unwrap();
        limits.api_key(db, "key-1").unwrap();
        assert_eq!(refusal(limits.api_key(db, "key-1")), Err(RetryAfter { seconds: 1 }));
        limits.api_key(db, "key-2").unwrap();
        // sign-in is off in this configuration
        for _ in 0..100 {
            limits.login(db, ip, "ada@example.com").unwrap();
        }
    }

    #[test]
    fn many_are_taken_at_once_or_none() {
        let test = database();
        let conn = &mut *test.db.conn().unwrap();
        let gcra = Gcra::of(Rate::per_hour(100).burst(50)).unwrap();
        let take = |conn: &mut DbConn, count: u32, now: i64| rate_limits::take_many(conn, "k", now, gcra.period, gcra.tolerance, count).unwrap();
        // more than the burst never passes, and leaves a new bucket full
        assert!(take(conn, 51, 0).is_some());
        assert_eq!(gcra.available(rate_limits::tat_of(conn, "k").unwrap(), 0), 50);
        assert_eq!(take(conn, 30, 0), None);
        assert_eq!(gcra.available(rate_limits::tat_of(conn, "k").unwrap(), 0), 20);
        // 21 do not fit: refused whole, nothing taken
        assert!(take(conn, 21, 0).is_some());
        assert_eq!(gcra.available(rate_limits::tat_of(conn, "k").unwrap(), 0), 20);
        assert_eq!(take(conn, 20, 0), None);
        assert_eq!(gcra.available(rate_limits::tat_of(conn, "k").unwrap(), 0), 0);
        // one comes back every 36 seconds
        assert_eq!(gcra.available(rate_limits::tat_of(conn, "k").unwrap(), 36 * SECOND), 1);
        assert_eq!(take(conn, 1, 36 * SECOND), None);
        assert_eq!(gcra.available(None, 0), 50, "a new bucket has its whole burst");
    }

    #[test]
    fn the_invitations_allowed_are_the_smaller_quota_and_taken_from_both() {
        let test = database();
        let limits = RateLimits::new(
            &Config { invite_org: Some(Rate::per_hour(100).burst(50)), invite_account: Some(Rate::per_hour(200).burst(20)), ..Config::off() },
            Vec::new(),
        );
        let (ada, bob, org) = (AccountId::new(), AccountId::new(), OrgId::new());
        let conn = &mut *test.db.conn().unwrap();
        let allowed = |conn: &mut DbConn, who: AccountId| limits.invitations_allowed(conn, who, org, 0).unwrap();
        assert_eq!(allowed(conn, ada), Allowance { now: Some(20), variable: Some("STEWARD_RATE_LIMIT_INVITE_ACCOUNT") });
        limits.take_invitations(conn, ada, org, 20, 0).unwrap();
        assert_eq!(allowed(conn, ada).now, Some(0));
        // the organization's quota was taken too: 30 left for another admin
        assert_eq!(allowed(conn, bob).now, Some(20));
        limits.take_invitations(conn, bob, org, 20, 0).unwrap();
        assert_eq!(allowed(conn, AccountId::new()), Allowance { now: Some(10), variable: Some("STEWARD_RATE_LIMIT_INVITE_ORG") });
        assert!(refusal(limits.take_invitations(conn, AccountId::new(), org, 11, 0)).is_err());
        let off = RateLimits::new(&Config::off(), Vec::new());
        assert_eq!(off.invitations_allowed(conn, ada, org, 0).unwrap(), Allowance { now: None, variable: None });
        off.take_invitations(conn, ada, org, 1_000, 0).unwrap();
    }

    #[test]
    fn two_pools_on_one_database_share_one_quota() {
        let test = database();
        let limits = RateLimits::new(&Config { two_factor: Some(Rate::per_minute(3)), ..Config::off() }, Vec::new());
        let other = Db::new(crate::storage::connect(&test.db_url(), 2).expect("a second pool"));
        let account = AccountId::new();
        limits.two_factor(&test.db, account).unwrap();
        limits.two_factor(&other, account).unwrap();
        limits.two_factor(&test.db, account).unwrap();
        assert!(refusal(limits.two_factor(&other, account)).is_err());
    }

    #[test]
    fn ipv6_clients_are_limited_per_64_network() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(ip_key(a), ip_key(b));
        assert_eq!(ip_key(a), "2001:db8:1:2::".parse::<IpAddr>().unwrap());
        assert_ne!(ip_key(a), ip_key(other));
        assert_eq!(ip_key("::ffff:192.0.2.9".parse().unwrap()), "192.0.2.9".parse::<IpAddr>().unwrap());
        assert_eq!(ip_key("192.0.2.9".parse().unwrap()), "192.0.2.9".parse::<IpAddr>().unwrap());
    }
}
