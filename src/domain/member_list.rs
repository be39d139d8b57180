//! What the member list can be asked for: a status filter and a sort order, with the values
//! used in its URLs.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    Active,
    Inactive,
    Pending,
    Expired,
}

impl StatusFilter {
    pub const ALL: [StatusFilter; 4] =
        [StatusFilter::Active, StatusFilter::Inactive, StatusFilter::Pending, StatusFilter::Expired];

    pub fn as_str(self) -> &'static str {
        match self {
            StatusFilter::Active => "active",
            StatusFilter::Inactive => "inactive",
            StatusFilter::Pending => "pending",
            StatusFilter::Expired => "expired",
        }
    }


    /// Accepts the value or the label, in any case (`pending`, `Pending Invitation`, `pending_invitation`).
    pub fn parse(raw: &str) -> Option<StatusFilter> {
        let norm = raw.trim().to_lowercase().replace([' ', '-'], "_");
        let norm = norm.strip_suffix("_invitation").unwrap_or(&norm);
        StatusFilter::ALL.into_iter().find(|s| s.as_str() == norm)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    Email,
    EmailDesc,
    Created,
    CreatedAsc,
    LastActive,
    LastActiveAsc,
}

impl Sort {
    pub const ALL: [Sort; 6] =
        [Sort::Email, Sort::EmailDesc, Sort::Created, Sort::CreatedAsc, Sort::LastActive, Sort::LastActiveAsc];

    pub fn as_str(self) -> &'static str {
        match self {
            Sort::Email => "email",
            Sort::EmailDesc => "-email",
            Sort::Created => "created",
            Sort::CreatedAsc => "-created",
            Sort::LastActive => "last_active",
            Sort::LastActiveAsc => "-last_active",
        }
    }

    pub fn parse(raw: &str) -> Option<Sort> {
        Sort::ALL.into_iter().find(|s| s.as_str() == raw.trim())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_filters_accept_values_and_labels() {
        assert_eq!(StatusFilter::parse("pending"), Some(StatusFilter::Pending));
        assert_eq!(StatusFilter::parse("Pending Invitation"), Some(StatusFilter::Pending));
        assert_eq!(StatusFilter::parse("expired_invitation"), Some(StatusFilter::Expired));
        assert_eq!(StatusFilter::parse("Active"), Some(StatusFilter::Active));
        assert_eq!(StatusFilter::parse("gone"), None);
    }

    #[test]
    fn sorts_round_trip() {
        for sort in Sort::ALL {
            assert_eq!(Sort::parse(sort.as_str()), Some(sort));
        }
    }
}

/// The member list's role filter: a built-in role by name, or a custom role by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleFilter {
    Base(super::Role),
    Custom(super::RoleId),
}

impl RoleFilter {
    /// `owner`, `admin`, `editor`, `viewer`, or a custom role's id (whether the organization has
    /// it is for the database to say).
    pub fn parse(raw: &str) -> Option<RoleFilter> {
        let raw = raw.trim();
        super::Role::parse(raw).map(RoleFilter::Base).or_else(|| raw.parse().ok().map(RoleFilter::Custom))
    }

    /// The value in the list's URL.
    pub fn value(self) -> String {
        match self {
            RoleFilter::Base(r) => r.as_str().to_string(),
            RoleFilter::Custom(id) => id.to_string(),
        }
    }
}
