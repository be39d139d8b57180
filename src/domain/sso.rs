//! Single sign-on rules as plain functions: the domains a connection covers, which issuer URLs
//! the server may fetch, and which addresses it may connect to.

use std::net::IpAddr;

use super::{Email, Invalid};

/// At most this many email domains per connection.
pub const MAX_DOMAINS: usize = 50;

/// The domain part of an address (after the `@`), already lower-cased by `Email`.
pub fn domain_of(email: &Email) -> &str {
    email.as_str().rsplit_once('@').map_or("", |(_, d)| d)
}

/// The domains typed in the settings form: separated by commas, spaces or lines, lower-cased,
/// each a dotted name without `@`, at least one, no repeats.
pub fn parse_domains(raw: &str) -> Result<Vec<String>, Invalid> {
    let mut domains: Vec<String> = Vec::new();
    for d in raw.split(|c: char| c == ',' || c.is_whitespace()).map(str::trim).filter(|d| !d.is_empty()) {
        let d = d.trim_start_matches('@').to_lowercase();
        let valid = d.len() <= 253
            && d.contains('.')
            && !d.starts_with(['.', '-'])
            && !d.ends_with(['.', '-'])
            && !d.contains("..")
            && d.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
        if !valid {
            return Err(Invalid::new("domains", format!("{d:?} is not an email domain like example.com.")));
        }
        if !domains.contains(&d) {
            domains.push(d);
        }
    }
    if domains.is_empty() {
        return Err(Invalid::new("domains", "Name at least one email domain, like example.com."));
    }
    if domains.len() > MAX_DOMAINS {
        return Err(Invalid::new("domains", format!("A connection covers at most {MAX_DOMAINS} domains.")));
    }
    Ok(domains)
}

/// Whether the operator allows this host (by name or address) to be fetched over plain HTTP
/// and on a loopback or private address (`STEWARD_SSO_ALLOW_PRIVATE_ISSUERS`).
pub fn host_allowed(host: &str, allowed: &[String]) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    allowed.iter().any(|a| a.eq_ignore_ascii_case(host))
}

/// Checks a URL the server is about to fetch from a provider (the issuer, then the endpoints
/// its discovery names): https, with a host, and, when the host is an address, a public one;
/// the operator's allowed hosts may be plain http and private. A name is checked again at
/// connection time, address by address, as it resolves.
pub fn check_fetch_url(url: &str, allowed: &[String]) -> Result<(), String> {
    let (scheme, rest) = url.split_once("://").ok_or_else(|| format!("{url} is not an absolute URL."))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') {
        return Err(format!("{url} carries credentials; give the issuer URL alone."));
    }
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    if host.is_empty() {
        return Err(format!("{url} has no host."));
    }
    if host_allowed(host, allowed) {
        return match scheme.to_ascii_lowercase().as_str() {
            "https" | "http" => Ok(()),
            _ => Err(format!("{url} is not an https:// URL.")),
        };
    }
    if !scheme.eq_ignore_ascii_case("https") {
        return Err(format!("{url} is not an https:// URL: the provider must be reached over TLS."));
    }
    if host.eq_ignore_ascii_case("localhost") || host.to_ascii_lowercase().ends_with(".localhost") {
        return Err(format!("{host} is a loopback host, which Steward does not fetch."));
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        if !is_public(ip) {
            return Err(format!("{ip} is a loopback, private or reserved address, which Steward does not fetch."));
        }
    }
    Ok(())
}

/// Whether an address is on the public internet: not loopback, private, link-local, shared
/// (carrier-grade NAT), unspecified, broadcast, documentation or multicast, in IPv4 or IPv6
/// (an IPv4 address mapped into IPv6 is judged as the IPv4 one).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_multicast()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0)
                || (a == 198 && (18..20).contains(&b))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || first == 0x2001 && v6.segments()[1] == 0x0db8)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_split_lowercased_and_deduplicated() {
        assert_eq!(parse_domains("Acme.test, @acme.example\nacme.test").unwrap(), vec!["acme.test", "acme.example"]);
        assert!(parse_domains("  ").is_err());
        assert!(parse_domains("acme").is_err());
        assert!(parse_domains("bob@acme.test").is_err());
        assert!(parse_domains("acme..test").is_err());
    }

    #[test]
    fn the_domain_of_an_address_is_after_the_at() {
        assert_eq!(domain_of(&Email::parse("Bob@Acme.Test").unwrap()), "acme.test");
    }

    #[test]
    fn issuer_urls_must_be_https_and_public() {
        let none: Vec<String> = Vec::new();
        assert!(check_fetch_url("https://idp.example.com/realms/acme", &none).is_ok());
        assert!(check_fetch_url("http://idp.example.com", &none).is_err());
        assert!(check_fetch_url("https://127.0.0.1:8443", &none).is_err());
        assert!(check_fetch_url("https://localhost", &none).is_err());
        assert!(check_fetch_url("https://10.1.2.3", &none).is_err());
        assert!(check_fetch_url("https://192.168.0.10", &none).is_err());
        assert!(check_fetch_url("https://169.254.169.254/latest", &none).is_err());
        assert!(check_fetch_url("https://[::1]:8443", &none).is_err());
        assert!(check_fetch_url("https://[::ffff:127.0.0.1]", &none).is_err());
        assert!(check_fetch_url("https://user:pw@idp.example.com", &none).is_err());
        assert!(check_fetch_url("ftp://idp.example.com", &none).is_err());
    }

    #[test]
    fn the_operator_may_allow_a_private_host_over_http() {
        let allowed = vec!["127.0.0.1".to_string()];
        assert!(check_fetch_url("http://127.0.0.1:4000", &allowed).is_ok());
        assert!(check_fetch_url("http://127.0.0.2:4000", &allowed).is_err());
        assert!(check_fetch_url("file:///etc/passwd", &allowed).is_err());
    }

    #[test]
    fn public_addresses_are_told_from_the_others() {
        for public in ["8.8.8.8", "1.1.1.1", "2606:4700::1111"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
        for private in ["127.0.0.1", "10.0.0.1", "172.16.5.4", "192.168.1.1", "100.64.0.1", "0.0.0.0", "169.254.1.1", "::1", "fd00::1", "fe80::1", "::ffff:10.0.0.1"] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
    }
}
