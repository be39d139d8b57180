//! The rules of two-factor sign-in around its codes: what a typed code is, how recovery codes
//! look, how long a started sign-in waits for its second step.

/// Recovery codes made when two-factor is turned on.
pub const RECOVERY_CODES: usize = 10;
/// Random bytes per recovery code: 80 bits, written as 16 base32 characters. Codes are stored
/// as their SHA-256, which is safe only for values too many to try.
pub const RECOVERY_CODE_BYTES: usize = 10;
/// How long a sign-in whose password was right waits for its second step.
pub const PENDING_TTL_SECS: i64 = 10 * 60;

/// A code typed in a second-step field: an authenticator's six digits, or a recovery code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Typed {
    Totp(String),
    /// Compact and lower case (the form that is hashed).
    Recovery(String),
}

impl Typed {
    /// Reads a typed code, ignoring spaces, hyphens and letter case (apps show `123 456`,
    /// recovery codes are shown in groups); None for anything that cannot be either.
    pub fn parse(raw: &str) -> Option<Typed> {
        let compact: String =
            raw.chars().filter(|c| !c.is_whitespace() && *c != '-').take(64).collect::<String>().to_ascii_lowercase();
        if compact.len() == super::totp::DIGITS as usize && compact.bytes().all(|b| b.is_ascii_digit()) {
            return Some(Typed::Totp(compact));
        }
        let base32 = |b: u8| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b);
        if compact.len() == 16 && compact.bytes().all(base32) {
            return Some(Typed::Recovery(compact));
        }
        None
    }
}

/// A recovery code made of `random`, as shown once: four groups of four base32 characters,
/// lower case (`abcd-efgh-ijkl-mnop`).
pub fn recovery_code(random: [u8; RECOVERY_CODE_BYTES]) -> String {
    let compact = data_encoding::BASE32_NOPAD.encode(&random).to_ascii_lowercase();
    compact.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join("-")
}

/// Whether a second step started at `started` (Unix seconds) is over at `now`.
pub fn pending_expired(now: i64, started: i64) -> bool {
    now - started > PENDING_TTL_SECS || started > now + 60
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_codes_are_six_digits_or_a_recovery_code() {
        assert_eq!(Typed::parse(" 123 456 "), Some(Typed::Totp("123456".into())));
        assert_eq!(Typed::parse("ABCD-efgh-2345-6777"), Some(Typed::Recovery("abcdefgh23456777".into())));
        for bad in ["", "12345", "1234567", "12345a", "abcd-efgh-2345-6781", "abcd-efgh-2345", "ünïcödé"] {
            assert_eq!(Typed::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn recovery_codes_are_shown_in_groups_and_read_back_compact() {
        let code = recovery_code([0xff; RECOVERY_CODE_BYTES]);
        assert_eq!(code, "7777-7777-7777-7777");
        let code = recovery_code([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        assert_eq!(code.len(), 19);
        assert_eq!(Typed::parse(&code), Some(Typed::Recovery(code.replace('-', ""))));
    }

    #[test]
    fn the_second_step_waits_ten_minutes() {
        let t0 = 1_800_000_000;
        assert!(!pending_expired(t0 + 600, t0));
        assert!(pending_expired(t0 + 601, t0));
        assert!(pending_expired(t0, t0 + 3600), "started in the future");
    }
}
