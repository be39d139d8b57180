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
