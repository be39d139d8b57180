//! Time-based one-time passwords (RFC 6238) as authenticator apps make them: HMAC-SHA-1, six
//! digits, 30-second steps; the secret travels as base32 and in an `otpauth://` URI.

use hmac::{Hmac, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;

/// Seconds per step.
pub const STEP_SECS: i64 = 30;
/// Digits of a code.
pub const DIGITS: u32 = 6;
/// Bytes of a new secret: 160 bits, the size of an HMAC-SHA-1 key RFC 4226 recommends.
pub const SECRET_BYTES: usize = 20;
/// How many steps either side of the current one are accepted: clocks drift, and a code typed
/// at the end of its 30 seconds arrives in the next step.
pub const WINDOW: i64 = 1;
/// The issuer named in the URI and shown by authenticator apps.
pub const ISSUER: &str = "Steward";

/// The step (RFC 6238's T) at `unix` seconds.
pub fn step_at(unix: i64) -> i64 {
    unix.div_euclid(STEP_SECS)
}

/// HOTP (RFC 4226): the `digits`-digit code of `counter`, by dynamic truncation.
pub fn hotp(secret: &[u8], counter: u64, digits: u32) -> u32 {
    // HMAC takes a key of any length; new_from_slice cannot fail for it
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(secret) else { return 0 };
    mac.update(&counter.to_be_bytes());
    let hash = mac.finalize().into_bytes();
    let offset = usize::from(hash[hash.len() - 1] & 0x0f);
    let binary = u32::from_be_bytes([hash[offset] & 0x7f, hash[offset + 1], hash[offset + 2], hash[offset + 3]]);
    binary % 10u32.pow(digits)
}

/// The six-digit code of `step`, zero-padded, as an app shows it.
pub fn code(secret: &[u8], step: i64) -> String {
    // steps before 1970 do not occur; clamp rather than wrap
    let counter = u64::try_from(step).unwrap_or(0);
    format!("{:0width$}", hotp(secret, counter, DIGITS), width = DIGITS as usize)
}

/// The code an app shows at `unix` seconds.
pub fn code_at(secret: &[u8], unix: i64) -> String {
    code(secret, step_at(unix))
}

/// The step whose code `typed` is, if it is the code of the current step or of one either side
/// (at `now`, Unix seconds) and that step comes after `last_used`: a code is accepted once, and
/// never one older than the last accepted. `typed` is six digits (see `two_factor::Typed`).
pub fn accepted_step(secret: &[u8], typed: &str, now: i64, last_used: Option<i64>) -> Option<i64> {
    let current = step_at(now);
    (current - WINDOW..=current + WINDOW)
        .filter(|step| last_used.is_none_or(|last| *step > last))
        .find(|step| bool::from(code(secret, *step).as_bytes().ct_eq(typed.as_bytes())))
}

/// A secret as base32 without padding (RFC 4648), the form apps accept.
pub fn encode_secret(secret: &[u8]) -> String {
    data_encoding::BASE32_NOPAD.encode(secret)
}

/// A base32 secret back to its bytes (upper case, no padding, as `encode_secret` writes it).
pub fn decode_secret(text: &str) -> Option<Vec<u8>> {
    data_encoding::BASE32_NOPAD.decode(text.as_bytes()).ok().filter(|b| !b.is_empty())
}

/// `otpauth://totp/Steward:{email}?secret={secret}&issuer=Steward`, the URI a QR code carries.
/// Characters of the email that a URI path cannot hold as they are are percent-encoded, so the
/// URI holds none of `<>"'` and only the one `&` before `issuer`.
pub fn otpauth_uri(email: &str, secret_base32: &str) -> String {
    let mut label = String::with_capacity(email.len());
    for b in email.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'@' | b'.' | b'-' | b'_' | b'+' | b'~') {
            label.push(char::from(b));
        } else {
            label.push_str(&format!("%{b:02X}"));
        }
    }
    format!("otpauth://totp/{ISSUER}:{label}?secret={secret_base32}&issuer={ISSUER}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238, appendix B: the SHA-1 seed.
    const RFC_SECRET: &[u8] = b"12345678901234567890";

    #[test]
    fn the_rfc_6238_sha1_vectors_hold() {
        for (time, eight) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            let counter = u64::try_from(step_at(time)).unwrap();
            assert_eq!(format!("{:08}", hotp(RFC_SECRET, counter, 8)), eight, "eight digits at {time}");
            // six digits are the last six of the eight
            assert_eq!(code_at(RFC_SECRET, time), eight[2..], "six digits at {time}");
        }
    }

    #[test]
    fn steps_are_thirty_seconds_from_the_epoch() {
        assert_eq!(step_at(0), 0);
        assert_eq!(step_at(29), 0);
        assert_eq!(step_at(30), 1);
        assert_eq!(step_at(59), 1);
        assert_eq!(step_at(1_111_111_109), 0x23523EC);
    }

    #[test]
    fn a_code_of_one_step_either_side_is_accepted_and_no_further() {
        let now = 1_234_567_890;
        let current = step_at(now);
        for offset in -1..=1 {
            let typed = code(RFC_SECRET, current + offset);
            assert_eq!(accepted_step(RFC_SECRET, &typed, now, None), Some(current + offset), "offset {offset}");
        }
        for offset in [-3, -2, 2, 3] {
            let typed = code(RFC_SECRET, current + offset);
            assert_eq!(accepted_step(RFC_SECRET, &typed, now, None), None, "offset {offset}");
        }
        let wrong = format!("{:06}", (code(RFC_SECRET, current).parse::<u32>().unwrap() + 1) % 1_000_000);
        assert_eq!(accepted_step(RFC_SECRET, &wrong, now, None), None);
        assert_eq!(accepted_step(b"another secret", &code(RFC_SECRET, current), now, None), None);
    }

    #[test]
    fn a_code_is_accepted_once_and_never_one_older_than_the_last() {
        let now = 2_000_000_000;
        let current = step_at(now);
        let typed = code(RFC_SECRET, current);
        let step = accepted_step(RFC_SECRET, &typed, now, None).expect("first use");
        assert_eq!(accepted_step(RFC_SECRET, &typed, now, Some(step)), None, "replayed");
        assert_eq!(accepted_step(RFC_SECRET, &typed, now + 20, Some(step)), None, "replayed later in the window");
        // the previous step's code, after the current one was used
        assert_eq!(accepted_step(RFC_SECRET, &code(RFC_SECRET, current - 1), now, Some(step)), None);
        // the next step's code is still good
        assert_eq!(accepted_step(RFC_SECRET, &code(RFC_SECRET, current + 1), now, Some(step)), Some(current + 1));
    }

    #[test]
    fn secrets_round_trip_through_base32() {
        assert_eq!(encode_secret(RFC_SECRET), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(decode_secret("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ").as_deref(), Some(RFC_SECRET));
        assert_eq!(decode_secret("not base32!"), None);
        assert_eq!(decode_secret(""), None);
    }

    #[test]
    fn the_uri_names_the_issuer_and_the_account() {
        assert_eq!(
            otpauth_uri("ada@example.com", "ABCDEF"),
            "otpauth://totp/Steward:ada@example.com?secret=ABCDEF&issuer=Steward"
        );
        assert_eq!(
            otpauth_uri("o'neil&co?#@example.com", "X"),
            "otpauth://totp/Steward:o%27neil%26co%3F%23@example.com?secret=X&issuer=Steward"
        );
    }
}
