//! The password policy: 12 to 128 characters.

use super::Invalid;

pub const MIN_PASSWORD_CHARS: usize = 12;
pub const MAX_PASSWORD_CHARS: usize = 128;

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
}
