//! Rate limits on sign-in and its second step, invitations, invitation answers and the JSON
//! API: one governor keyed limiter per limit, answering how long to wait when a key has used up
//! its quota.

use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use actix_web::HttpRequest;
use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

use crate::config::{self, Rate};
use crate::domain::{AccountId, OrgId};
use crate::domain::email::MAX_EMAIL_LEN;
use crate::app::client_ip;

/// Over a limit: the seconds to wait before the next request can pass (at least 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many requests; try again in {seconds} seconds")]
pub struct RetryAfter {
    pub seconds: u64,
}

/// Every this many checks a limiter forgets the keys whose quota has fully recovered: a keyed
/// limiter otherwise keeps one entry for every address or email it has ever seen.
const SWEEP_EVERY: u64 = 1024;

type Keyed<K, C> = RateLimiter<K, DefaultKeyedStateStore<K>, C, NoOpMiddleware<<C as Clock>::Instant>>;

/// One limit: a keyed limiter, or none when the limit is off.
struct Limit<K: Hash + Eq + Clone, C: Clock = DefaultClock> {
    limiter: Option<Keyed<K, C>>,
    checks: AtomicU64,
}

impl<K: Hash + Eq + Clone, C: Clock> Limit<K, C> {
    fn new(rate: Option<Rate>, clock: C) -> Self {
        let limiter = rate.and_then(quota).map(|q| RateLimiter::dashmap_with_clock(q, clock));
        Limit { limiter, checks: AtomicU64::new(0) }
    }

    fn check(&self, key: &K) -> Result<(), RetryAfter> {
        let Some(limiter) = &self.limiter else { return Ok(()) };
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        limiter
            .check_key(key)
            .map_err(|not_until| RetryAfter { seconds: whole_seconds(not_until.wait_time_from(limiter.clock().now())) })
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.limiter.as_ref().map_or(0, |l| l.len())
    }
}

/// `rate.count` requests every `rate.per`, `rate.burst` at once; none for a zero rate.
fn quota(rate: Rate) -> Option<Quota> {
    let count = NonZeroU32::new(rate.count)?;
    let burst = NonZeroU32::new(rate.burst)?;
    Quota::with_period(rate.per / count.get()).map(|q| q.allow_burst(burst))
}

/// A wait rounded up to whole seconds, at least one: `Retry-After` has no finer unit, and
/// "0" would invite an immediate retry that is refused again.
fn whole_seconds(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
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

/// The key of a sign-in attempt: the email as typed, normalised like `Email` (trimmed, lower
/// case), valid or not, so that the answer is the same whether or not the account exists.
fn account_key(typed: &str) -> String {
    typed.trim().chars().take(MAX_EMAIL_LEN + 1).collect::<String>().to_lowercase()
}

/// The console's rate limiters, shared by every worker through `AppState`.
pub struct RateLimits {
    trusted_proxies: Vec<IpAddr>,
    login_ip: Limit<IpAddr>,
    login_account: Limit<String>,
    invite_org: Limit<OrgId>,
    accept_ip: Limit<IpAddr>,
    api_key: Limit<String>,
    signup_ip: Limit<IpAddr>,
    invite_account: Limit<AccountId>,
    org_create: Limit<AccountId>,
    reset_ip: Limit<IpAddr>,
    reset_email: Limit<String>,
    verify_resend: Limit<AccountId>,
    two_factor: Limit<AccountId>,
}

impl RateLimits {
    /// The limiters for `limits`; client addresses are read as `extract::client_ip` reads them,
    /// believing `X-Forwarded-For` only from `trusted_proxies`.
    pub fn new(limits: &config::RateLimits, trusted_proxies: Vec<IpAddr>) -> RateLimits {
        let clock = DefaultClock::default();
        RateLimits {
            trusted_proxies,
            login_ip: Limit::new(limits.login_ip, clock.clone()),
            login_account: Limit::new(limits.login_account, clock.clone()),
            invite_org: Limit::new(limits.invite_org, clock.clone()),
            accept_ip: Limit::new(limits.accept_ip, clock.clone()),
            api_key: Limit::new(limits.api_key, clock.clone()),
            signup_ip: Limit::new(limits.signup_ip, clock.clone()),
            invite_account: Limit::new(limits.invite_account, clock.clone()),
            org_create: Limit::new(limits.org_create, clock.clone()),
            reset_ip: Limit::new(limits.reset_ip, clock.clone()),
            reset_email: Limit::new(limits.reset_email, clock.clone()),
            verify_resend: Limit::new(limits.verify_resend, clock.clone()),
            two_factor: Limit::new(limits.two_factor, clock),
        }
    }

    /// A sign-in attempt (`POST /login`) for the email typed.
    pub fn login(&self, req: &HttpRequest, email: &str) -> Result<(), RetryAfter> {
        self.login_from(self.client(req), email)
    }

    /// A sign-in attempt from `ip`: the address first, so that a client already over its own
    /// limit cannot use up the quota of the accounts it tries.
    pub fn login_from(&self, ip: Option<IpAddr>, email: &str) -> Result<(), RetryAfter> {
        if let Some(ip) = ip {
            self.login_ip.check(&ip_key(ip))?;
        }
        self.login_account.check(&account_key(email))
    }

    /// An invitation sent by `org` (`POST /orgs/{org}/invitations`).
    pub fn invitation(&self, org: OrgId) -> Result<(), RetryAfter> {
        self.invite_org.check(&org)
    }

    /// A look at, or an answer to, an invitation link (`/invitations/{token}`, `…/accept`,
    /// `…/decline`): per client address, which stops guessing tokens.
    pub fn acceptance(&self, req: &HttpRequest) -> Result<(), RetryAfter> {
        self.acceptance_from(self.client(req))
    }

    pub fn acceptance_from(&self, ip: Option<IpAddr>) -> Result<(), RetryAfter> {
        match ip {
            Some(ip) => self.accept_ip.check(&ip_key(ip)),
            None => Ok(()),
        }
    }

    /// A JSON API request made with the API key `key_id`.
    pub fn api_key(&self, key_id: &str) -> Result<(), RetryAfter> {
        self.api_key.check(&key_id.to_owned())
    }

    /// A sign-up (`POST /signup`), per client address.
    pub fn signup(&self, req: &HttpRequest) -> Result<(), RetryAfter> {
        match self.client(req) {
            Some(ip) => self.signup_ip.check(&ip_key(ip)),
            None => Ok(()),
        }
    }

    /// An invitation sent (or sent again) by a person, whichever organization it is for.
    pub fn invitation_by(&self, account: AccountId) -> Result<(), RetryAfter> {
        self.invite_account.check(&account)
    }

    /// An organization created by `account` (sign-up's first one aside).
    pub fn org_creation(&self, account: AccountId) -> Result<(), RetryAfter> {
        self.org_create.check(&account)
    }

    /// A password reset asked for `email` (`POST /password/forgot`): the address first, then
    /// the email typed, whether or not it has an account.
    pub fn password_reset(&self, req: &HttpRequest, email: &str) -> Result<(), RetryAfter> {
        if let Some(ip) = self.client(req) {
            self.reset_ip.check(&ip_key(ip))?;
        }
        self.reset_email.check(&account_key(email))
    }

    /// The verification email sent again, for `account`.
    pub fn verification_resend(&self, account: AccountId) -> Result<(), RetryAfter> {
        self.verify_resend.check(&account)
    }

    /// A two-factor code tried for `account` (the second step of sign-in, turning two-factor
    /// off): six digits are guessed in a million tries, so tries are few.
    pub fn two_factor(&self, account: AccountId) -> Result<(), RetryAfter> {
        self.two_factor.check(&account)
    }

    fn client(&self, req: &HttpRequest) -> Option<IpAddr> {
        let forwarded = req.headers().get("X-Forwarded-For").and_then(|v| v.to_str().ok());
        client_ip(req.peer_addr().map(|a| a.ip()), forwarded, &self.trusted_proxies)
    }
}

#[cfg(test)]
mod tests {
    use governor::clock::FakeRelativeClock;

    use super::*;
    use crate::config::RateLimits as Config;

    fn limit<K: Hash + Eq + Clone>(rate: Rate) -> (Limit<K, FakeRelativeClock>, FakeRelativeClock) {
        let clock = FakeRelativeClock::default();
        (Limit::new(Some(rate), clock.clone()), clock)
    }

    #[test]
    fn a_limit_lets_its_burst_through_then_says_how_long_to_wait() {
        let (limit, clock) = limit::<&str>(Rate::per_minute(10));
        for _ in 0..10 {
            assert_eq!(limit.check(&"ada"), Ok(()));
        }
        // one request comes back every 6 seconds
        assert_eq!(limit.check(&"ada"), Err(RetryAfter { seconds: 6 }));
        clock.advance(Duration::from_millis(5_500));
        assert_eq!(limit.check(&"ada"), Err(RetryAfter { seconds: 1 }));
        clock.advance(Duration::from_millis(500));
        assert_eq!(limit.check(&"ada"), Ok(()));
        assert_eq!(limit.check(&"ada"), Err(RetryAfter { seconds: 6 }));
        // other keys have their own quota
        assert_eq!(limit.check(&"bob"), Ok(()));
    }

    #[test]
    fn a_burst_smaller_than_the_rate_is_honoured() {
        let (limit, _) = limit::<u8>(Rate::per_minute(600).burst(3));
        for _ in 0..3 {
            assert_eq!(limit.check(&1), Ok(()));
        }
        // 100 ms to wait, rounded up to the one second `Retry-After` can say
        assert_eq!(limit.check(&1), Err(RetryAfter { seconds: 1 }));
    }

    #[test]
    fn waits_are_rounded_up_to_whole_seconds() {
        let (limit, _) = limit::<u8>(Rate::per_minute(7).burst(1));
        assert_eq!(limit.check(&1), Ok(()));
        // 60/7 = 8.57 seconds
        assert_eq!(limit.check(&1), Err(RetryAfter { seconds: 9 }));
        assert_eq!(whole_seconds(Duration::ZERO), 1);
        assert_eq!(whole_seconds(Duration::from_secs(2)), 2);
    }

    #[test]
    fn a_limit_that_is_off_never_refuses() {
        let limit: Limit<u8, _> = Limit::new(None, FakeRelativeClock::default());
        for _ in 0..10_000 {
            assert_eq!(limit.check(&1), Ok(()));
        }
        let zero: Limit<u8, _> = Limit::new(Some(Rate::per_minute(0)), FakeRelativeClock::default());
        assert_eq!(zero.check(&1), Ok(()));
    }

    #[test]
    fn keys_whose_quota_has_recovered_are_forgotten() {
        let (limit, clock) = limit::<u32>(Rate::per_minute(60));
        for key in 0..2_000 {
            limit.check(&key).expect("a first request passes");
        }
        assert_eq!(limit.len(), 2_000, "every key is still recovering");
        clock.advance(Duration::from_secs(2));
        for _ in 0..SWEEP_EVERY {
            let _ = limit.check(&u32::MAX);
        }
        assert_eq!(limit.len(), 1, "only the key in use is kept");
    }

    #[test]
    fn sign_in_is_limited_per_address_and_per_email_typed() {
        let limits = RateLimits::new(
            &Config { login_ip: Some(Rate::per_minute(5)), login_account: Some(Rate::per_minute(2)), ..Config::off() },
            Vec::new(),
        );
        let ip = Some("203.0.113.7".parse().unwrap());
        limits.login_from(ip, "ada@example.com").unwrap();
        // the same email however it is typed, whether or not it is valid
        limits.login_from(ip, "  ADA@Example.com ").unwrap();
        assert!(limits.login_from(ip, "ada@example.com").is_err());
        limits.login_from(ip, "bob@example.com").unwrap();
        limits.login_from(ip, "not an email").unwrap();
        // the address's five attempts are used up, whatever the email
        assert!(limits.login_from(ip, "carol@example.com").is_err());
        // another address still gets through, and is not held back by the refused attempts
        limits.login_from(Some("203.0.113.8".parse().unwrap()), "carol@example.com").unwrap();
        limits.login_from(None, "dave@example.com").unwrap();
    }

    #[test]
    fn a_refused_address_does_not_use_up_an_accounts_quota() {
        let limits = RateLimits::new(
            &Config { login_ip: Some(Rate::per_minute(1)), login_account: Some(Rate::per_minute(2)), ..Config::off() },
            Vec::new(),
        );
        let (attacker, owner) = (Some("198.51.100.1".parse().unwrap()), Some("203.0.113.1".parse().unwrap()));
        limits.login_from(attacker, "ada@example.com").unwrap();
        for _ in 0..5 {
            assert!(limits.login_from(attacker, "ada@example.com").is_err());
        }
        limits.login_from(owner, "ada@example.com").unwrap();
    }

    #[test]
    fn invitations_acceptance_and_api_keys_have_their_own_limits() {
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
        limits.invitation(acme).unwrap();
        limits.invitation(acme).unwrap();
        let wait = limits.invitation(acme).unwrap_err();
        assert!((1..=1800).contains(&wait.seconds), "{wait:?}");
        limits.invitation(globex).unwrap();

        let ip = Some("192.0.2.1".parse().unwrap());
        limits.acceptance_from(ip).unwrap();
        assert!(limits.acceptance_from(ip).is_err());
        limits.acceptance_from(None).unwrap();

        limits.api_key("key-1").unwrap();
        limits.api_key("key-1").unwrap();
        assert_eq!(limits.api_key("key-1"), Err(RetryAfter { seconds: 1 }));
        limits.api_key("key-2").unwrap();
        // sign-in is off in this configuration
        for _ in 0..100 {
            limits.login_from(ip, "ada@example.com").unwrap();
        }
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
