//! The single-use links mailed to an account's owner: what each one is for, and why one can no
//! longer be used.

use chrono::NaiveDateTime;

/// What a mailed link does when it is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[derive(diesel::AsExpression, diesel::FromSqlRow)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub enum LinkPurpose {
    /// Proves that the account's owner reads the address.
    VerifyEmail,
    /// Sets a new password for a person who forgot theirs.
    ResetPassword,
    /// Proves that the owner reads the new address they asked for, which then becomes the
    /// account's.
    ChangeEmail,
}

impl LinkPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkPurpose::VerifyEmail => "verify_email",
            LinkPurpose::ResetPassword => "reset_password",
            LinkPurpose::ChangeEmail => "change_email",
        }
    }

    pub fn parse(s: &str) -> Option<LinkPurpose> {
        [LinkPurpose::VerifyEmail, LinkPurpose::ResetPassword, LinkPurpose::ChangeEmail].into_iter().find(|p| p.as_str() == s)
    }
}

/// Why a link cannot be used. `Unknown` answers 404; the others 410, since the link was real.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkRefusal {
    Unknown,
    Used,
    Expired,
}

impl LinkRefusal {
    /// Whether a link stored with these times can still be used at `now`.
    pub fn of(used_at: Option<NaiveDateTime>, expires_at: NaiveDateTime, now: NaiveDateTime) -> Option<LinkRefusal> {
        if used_at.is_some() {
            Some(LinkRefusal::Used)
        } else if expires_at <= now {
            Some(LinkRefusal::Expired)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_is_good_once_and_until_it_expires() {
        let now = crate::domain::now();
        let later = now + chrono::Duration::hours(1);
        assert_eq!(LinkRefusal::of(None, later, now), None);
        assert_eq!(LinkRefusal::of(Some(now), later, now), Some(LinkRefusal::Used));
        assert_eq!(LinkRefusal::of(None, now, now), Some(LinkRefusal::Expired));
    }

    #[test]
    fn purposes_round_trip() {
        for p in [LinkPurpose::VerifyEmail, LinkPurpose::ResetPassword, LinkPurpose::ChangeEmail] {
            assert_eq!(LinkPurpose::parse(p.as_str()), Some(p));
        }
    }
}
