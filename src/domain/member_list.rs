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

/// The text a search is matched against, and the needle itself: lower case by Unicode's rules
/// ("Élodie" and "ÉLODIE" both become "élodie"), accents kept ("elodie" stays apart). Both
/// backends compare these strings as they are, so they find the same rows.
pub fn search_key(text: &str) -> String {
    text.to_lowercase()
}

/// What a search looks for: the query trimmed, in `search_key`'s case; None for a blank query.
pub fn needle(q: &str) -> Option<String> {
    Some(search_key(q.trim())).filter(|n| !n.is_empty())
}

/// The shortest needle the trigram indexes can answer: a trigram is three characters, so a
/// needle of one or two matches no whole trigram and is looked for by reading the
/// organization's rows instead.
pub const INDEXED_NEEDLE_CHARS: usize = 3;

/// Whether the trigram indexes can answer `needle`.
pub fn indexed(needle: &str) -> bool {
    needle.chars().count() >= INDEXED_NEEDLE_CHARS
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_keys_fold_case_of_all_of_unicode_and_keep_accents() {
        assert_eq!(search_key("Élodie ÅSTRÖM"), "élodie åström");
        assert_eq!(needle("  ÉLODIE "), Some("élodie".to_string()));
        assert_ne!(search_key("Élodie"), search_key("Elodie"));
        assert_eq!(needle("   "), None);
    }

    #[test]
    fn needles_of_fewer_than_three_characters_are_not_indexed() {
        assert!(!indexed("é"));
        assert!(!indexed("ab"));
        assert!(indexed("ébé"));
        assert!(indexed("ada"));
    }

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
