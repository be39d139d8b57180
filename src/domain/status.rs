//! Statuses of memberships and invitations.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
