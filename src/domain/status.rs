//! Statuses of memberships and invitations.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[derive(diesel::AsExpression, diesel::FromSqlRow)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub enum MembershipStatus {
    Active,
    Inactive,
}

impl MembershipStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MembershipStatus::Active => "active",
            MembershipStatus::Inactive => "inactive",
        }
    }

    pub fn parse(s: &str) -> Option<MembershipStatus> {
        match s {
            "active" => Some(MembershipStatus::Active),
            "inactive" => Some(MembershipStatus::Inactive),
            _ => None,
        }
    }
}

impl fmt::Display for MembershipStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An invitation's stored status; `expired` is not stored, it is a pending one past its expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[derive(diesel::AsExpression, diesel::FromSqlRow)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub enum InvitationStatus {
    Pending,
    Accepted,
    Declined,
    Cancelled,
}

impl InvitationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            InvitationStatus::Pending => "pending",
            InvitationStatus::Accepted => "accepted",
            InvitationStatus::Declined => "declined",
            InvitationStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<InvitationStatus> {
        [InvitationStatus::Pending, InvitationStatus::Accepted, InvitationStatus::Declined, InvitationStatus::Cancelled]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// What an invitation is at a given moment, stored status and expiry together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvitationState {
    Pending,
    Expired,
    Accepted,
    Declined,
    Cancelled,
}

impl InvitationState {
    pub const ALL: [InvitationState; 5] = [
        InvitationState::Pending,
        InvitationState::Expired,
        InvitationState::Accepted,
        InvitationState::Declined,
        InvitationState::Cancelled,
    ];

    /// The name used in URLs and filters.
    pub fn as_str(self) -> &'static str {
        match self {
            InvitationState::Pending => "pending",
            InvitationState::Expired => "expired",
            InvitationState::Accepted => "accepted",
            InvitationState::Declined => "declined",
            InvitationState::Cancelled => "cancelled",
        }
    }

    /// Accepts the name in any case, surrounding spaces ignored.
    pub fn parse(raw: &str) -> Option<InvitationState> {
        let norm = raw.trim().to_lowercase();
        InvitationState::ALL.into_iter().find(|s| s.as_str() == norm)
    }

    /// Whether it can still be resent (and, while pending, cancelled): a pending invitation,
    /// expired or not.
    pub fn is_open(self) -> bool {
        matches!(self, InvitationState::Pending | InvitationState::Expired)
    }

    pub fn of(status: InvitationStatus, expires_at: chrono::NaiveDateTime, now: chrono::NaiveDateTime) -> Self {
        match status {
            InvitationStatus::Pending if expires_at <= now => InvitationState::Expired,
            InvitationStatus::Pending => InvitationState::Pending,
            InvitationStatus::Accepted => InvitationState::Accepted,
            InvitationStatus::Declined => InvitationState::Declined,
            InvitationStatus::Cancelled => InvitationState::Cancelled,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invitation_states_round_trip_in_any_case() {
        for state in InvitationState::ALL {
            assert_eq!(InvitationState::parse(state.as_str()), Some(state));
        }
        assert_eq!(InvitationState::parse(" Declined "), Some(InvitationState::Declined));
        assert_eq!(InvitationState::parse("gone"), None);
        assert_eq!(InvitationState::parse(""), None);
    }
}
