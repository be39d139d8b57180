//! Email addresses, normalised once when made: trimmed and lower-cased.

use std::fmt;

use super::Invalid;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[derive(diesel::AsExpression, diesel::FromSqlRow)]
#[diesel(sql_type = diesel::sql_types::Text)]
#[serde(transparent)]
pub struct Email(String);

pub const MAX_EMAIL_LEN: usize = 254;

impl Email {
    /// Validates and normalises `raw`. The check is deliberately simple (one `@`, a local part,
    /// a dotted domain, no spaces or control characters): the invitation mail is the real test.
    pub fn parse(raw: &str) -> Result<Email, Invalid> {
        let email = raw.trim().to_lowercase();
        let bad = || Invalid::new("email", "Enter a valid email address, like name@example.com.");
        if email.is_empty() {
            return Err(Invalid::new("email", "Enter an email address."));
        }
        if email.len() > MAX_EMAIL_LEN {
            return Err(Invalid::new("email", "An email address has at most 254 characters."));
        }
        if email.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';' | '"')) {
            return Err(bad());
        }
        let (local, domain) = email.split_once('@').ok_or_else(bad)?;
        if local.is_empty()
            || domain.contains('@')
            || !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
            || domain.contains("..")
            || domain.starts_with('-')
        {
            return Err(bad());
        }
        Ok(Email(email))
    }

    /// An email read back from the database, where only normalised values are stored.
    pub fn from_db(stored: String) -> Email {
        Email(stored)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }

    /// Whether `typed` names this address, ignoring surrounding space and letter case.
    pub fn matches_typed(&self, typed: &str) -> bool {
        typed.trim().to_lowercase() == self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        assert_eq!(Email::parse("  Alice@Example.COM ").unwrap().as_str(), "alice@example.com");
    }

    #[test]
    fn malformed_emails_are_refused() {
        for bad in ["", "   ", "alice", "alice@", "@example.com", "a@b", "a@@b.com", "a b@c.com", "a@.com", "a@b.com.", "<a@b.com>", "a@b..com"] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(Email::parse(&format!("{}@example.com", "a".repeat(300))).is_err());
    }

    #[test]
    fn typed_confirmation_ignores_case_and_space() {
        let e = Email::parse("bob@example.com").unwrap();
        assert!(e.matches_typed("  BOB@example.com "));
        assert!(!e.matches_typed("bob@example.co"));
    }
}
