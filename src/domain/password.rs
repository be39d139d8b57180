//! The password policy: 12 to 128 characters.

use super::Invalid;

pub const MIN_PASSWORD_CHARS: usize = 12;
pub const MAX_PASSWORD_CHARS: usize = 128;

/// The most bytes a password can take: `MAX_PASSWORD_CHARS` characters of up to four bytes.
pub const MAX_PASSWORD_BYTES: usize = 4 * MAX_PASSWORD_CHARS;

/// Whether a password typed at sign-in can be anyone's: a longer one never matches (but is
/// still verified like any other, so that its answer takes the same time for every email).
pub fn may_match(password: &str) -> bool {
    password.len() <= MAX_PASSWORD_BYTES
}

/// Checks a new password against the policy. Existing passwords are never re-checked.
pub fn check_new_password(field: &'static str, password: &str) -> Result<(), Invalid> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_CHARS {
        return Err(Invalid::new(field, format!("Use at least {MIN_PASSWORD_CHARS} characters.")));
    }
    if n > MAX_PASSWORD_CHARS {
        return Err(Invalid::new(field, format!("Use at most {MAX_PASSWORD_CHARS} characters.")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_have_12_to_128_characters() {
        assert!(check_new_password("password", "short").is_err());
        assert!(check_new_password("password", "exactly12chr").is_ok());
        assert!(check_new_password("password", &"é".repeat(128)).is_ok());
        assert!(check_new_password("password", &"x".repeat(129)).is_err());
    }

    #[test]
    fn a_password_over_512_bytes_never_matches() {
        assert!(may_match(&"x".repeat(512)));
        assert!(may_match(&"😀".repeat(128)), "128 four-byte characters");
        assert!(!may_match(&"x".repeat(513)));
        assert!(!may_match(&"x".repeat(100_000)));
    }
}
