//! Display names of people, organizations and deployments.

use super::Invalid;

/// A trimmed, non-empty name of at most `max` characters without control characters.
pub fn parse_name(field: &'static str, raw: &str, max: usize) -> Result<String, Invalid> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(Invalid::new(field, "This field is required."));
    }
    if name.chars().count() > max {
        return Err(Invalid::new(field, format!("Use at most {max} characters.")));
    }
    if name.chars().any(char::is_control) {
        return Err(Invalid::new(field, "Remove the control characters."));
    }
    Ok(name.to_string())
}

pub const MAX_PERSON_NAME: usize = 100;
pub const MAX_ORG_NAME: usize = 100;

pub fn person_name(raw: &str) -> Result<String, Invalid> {
    parse_name("name", raw, MAX_PERSON_NAME)
}

pub fn org_name(field: &'static str, raw: &str) -> Result<String, Invalid> {
    parse_name(field, raw, MAX_ORG_NAME)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_required_and_bounded() {
        assert_eq!(person_name("  Ada Lovelace ").unwrap(), "Ada Lovelace");
        assert!(person_name("   ").is_err());
        assert!(person_name(&"x".repeat(101)).is_err());
        assert!(person_name("a\u{0}b").is_err());
    }
}
