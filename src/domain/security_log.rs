//! What an account's security log records: the events its owner should be able to check.

/// One kind of event of the security log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[derive(diesel::AsExpression, diesel::FromSqlRow)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub enum SecurityEvent {
    SignedIn,
    SignInFailed,
    PasswordChanged,
    PasswordReset,
    EmailVerified,
    EmailChanged,
    SessionRevoked,
    OtherSessionsRevoked,
    SignedOutByAdmin,
    TwoFactorEnabled,
    TwoFactorDisabled,
    RecoveryCodeUsed,
    SignedInWithSso,
}

impl SecurityEvent {
    pub const ALL: [SecurityEvent; 13] = [
        SecurityEvent::SignedIn,
        SecurityEvent::SignInFailed,
        SecurityEvent::PasswordChanged,
        SecurityEvent::PasswordReset,
        SecurityEvent::EmailVerified,
        SecurityEvent::EmailChanged,
        SecurityEvent::SessionRevoked,
        SecurityEvent::OtherSessionsRevoked,
        SecurityEvent::SignedOutByAdmin,
        SecurityEvent::TwoFactorEnabled,
        SecurityEvent::TwoFactorDisabled,
        SecurityEvent::RecoveryCodeUsed,
        SecurityEvent::SignedInWithSso,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SecurityEvent::SignedIn => "sign_in",
            SecurityEvent::SignInFailed => "sign_in_failed",
            SecurityEvent::PasswordChanged => "password_changed",
            SecurityEvent::PasswordReset => "password_reset",
            SecurityEvent::EmailVerified => "email_verified",
            SecurityEvent::EmailChanged => "email_changed",
            SecurityEvent::SessionRevoked => "session_revoked",
            SecurityEvent::OtherSessionsRevoked => "other_sessions_revoked",
            SecurityEvent::SignedOutByAdmin => "signed_out_by_admin",
            SecurityEvent::TwoFactorEnabled => "two_factor_enabled",
            SecurityEvent::TwoFactorDisabled => "two_factor_disabled",
            SecurityEvent::RecoveryCodeUsed => "recovery_code_used",
            SecurityEvent::SignedInWithSso => "sign_in_sso",
        }
    }

    pub fn parse(s: &str) -> Option<SecurityEvent> {
        SecurityEvent::ALL.into_iter().find(|e| e.as_str() == s)
    }

    /// How the log reads it.
    pub fn label(self) -> &'static str {
        match self {
            SecurityEvent::SignedIn => "Signed in",
            SecurityEvent::SignInFailed => "Sign-in failed (wrong password)",
            SecurityEvent::PasswordChanged => "Password changed",
            SecurityEvent::PasswordReset => "Password reset by email",
            SecurityEvent::EmailVerified => "Email address confirmed",
            SecurityEvent::EmailChanged => "Email address changed",
            SecurityEvent::SessionRevoked => "A session was signed out",
            SecurityEvent::OtherSessionsRevoked => "Signed out everywhere else",
            SecurityEvent::SignedOutByAdmin => "Signed out everywhere by an organization admin",
            SecurityEvent::TwoFactorEnabled => "Two-factor authentication turned on",
            SecurityEvent::TwoFactorDisabled => "Two-factor authentication turned off",
            SecurityEvent::RecoveryCodeUsed => "Recovery code used",
            SecurityEvent::SignedInWithSso => "Signed in with single sign-on (SSO)",
        }
    }

    /// Whether the event is a warning sign worth a second look.
    pub fn is_alert(self) -> bool {
        matches!(self, SecurityEvent::SignInFailed | SecurityEvent::EmailChanged | SecurityEvent::TwoFactorDisabled | SecurityEvent::SignedOutByAdmin | SecurityEvent::RecoveryCodeUsed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip() {
        for e in SecurityEvent::ALL {
            assert_eq!(SecurityEvent::parse(e.as_str()), Some(e));
        }
    }
}
