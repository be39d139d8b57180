//! Password hashing (argon2id), random tokens, SHA-256, constant-time comparison, and the
//! sealing of secrets kept at rest (a derived key and an AEAD).
//! Everything here is CPU-bound: callers on a request path run it off the async workers.

use std::sync::OnceLock;

use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::thread_lane::{Job, Lane};

/// argon2id with OWASP's first recommended setting: 19 MiB, 2 passes, 1 lane.
fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// How many argon2 computations may run at once: a quarter of the cores, at least one. Each
/// takes about 20 ms of one core and 19 MiB; unbounded, a burst of sign-ins took every core
/// from the pages (and 19 MiB each). Beyond the limit, sign-ins wait for their turn.
fn hashing_threads() -> usize {
    std::thread::available_parallelism().map(|n| n.get() / 4).unwrap_or(1).max(1)
}

/// The scheduling priority (nice value) the hashing threads ask for: above the rest of the
/// server, so that a sign-in does not wait for the cores behind page requests (below them, a
/// sign-in on a loaded server waited hundreds of milliseconds for its 20 ms of hashing). Their
/// number, not their priority, keeps the pages' share of the cores: one thread per four
/// cores. Raising a priority takes `CAP_SYS_NICE`; without it they run at the server's.
const HASHING_NICENESS: i32 = -5;

/// The hashing threads, started on first use (None if none could start).
fn hashing_lane() -> Option<&'static Lane> {
    static LANE: OnceLock<Option<Lane>> = OnceLock::new();
    LANE.get_or_init(|| Lane::start("steward-hash", hashing_threads(), raise_priority)).as_ref()
}

#[cfg(target_os = "linux")]
fn raise_priority() {
    // SAFETY: plain system calls on this thread's own id (on Linux the nice value is per
    // thread); a failure (no `CAP_SYS_NICE`) leaves the priority as it was.
    unsafe {
        let tid = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, HASHING_NICENESS);
    }
}

#[cfg(not(target_os = "linux"))]
fn raise_priority() {}

/// Runs `f` on a hashing thread and waits for it (or runs it here if there is none). None if
/// it panicked.
fn on_hashing_thread<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let (done, result) = std::sync::mpsc::sync_channel(1);
    let job: Job = Box::new(move || {
        let _ = done.send(f());
    });
    match hashing_lane() {
        Some(lane) => {
            if let Err(job) = lane.send(job) {
                job();
            }
        }
        None => job(),
    }
    result.recv().ok()
}

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

pub fn hash_password(password: &str) -> Result<String, HashError> {
    let password = password.to_owned();
    on_hashing_thread(move || {
        let salt = SaltString::generate(&mut OsRng);
        argon2().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(|e| e.to_string())
    })
    .unwrap_or_else(|| Err("the hashing thread failed".into()))
    .map_err(HashError)
}

/// Whether `password` matches `stored`; a malformed stored hash never matches.
pub fn verify_password(password: &str, stored: &str) -> bool {
    if PasswordHash::new(stored).is_err() {
        return false;
    }
    let (password, stored) = (password.to_owned(), stored.to_owned());
    on_hashing_thread(move || match PasswordHash::new(&stored) {
        Ok(parsed) => argon2().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    })
    .unwrap_or(false)
}

/// Whether `password` matches `stored`, after exactly one argon2 verification whatever the
/// case: against `stored`, or against a dummy hash when there is no account (None) or its hash
/// is unreadable. So an unknown email and a wrong password take the same time, and the time
/// tells nobody which emails have accounts. The dummy never matches.
pub fn verify_or_dummy(password: &str, stored: Option<&str>) -> bool {
    match stored.filter(|s| PasswordHash::new(s).is_ok()) {
        Some(stored) => verify_password(password, stored),
        None => {
            let _ = verify_password(password, DUMMY_HASH);
            false
        }
    }
}

/// An argon2id hash of a random password nobody has, with the parameters of `argon2()` (a
/// unit test holds them equal), so that verifying against it costs what verifying against an
/// account's hash costs. Written out rather than made at start: making it would cost every
/// start a hash, and the server its 19 MiB from then on.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$2whj6u4f7E/AARyf285GzA$hEKKVSLrHvNF5qLdA2pQv+3hwgcqBu2w9Tdg1GLJkHA";

/// `n` random bytes from the operating system.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    OsRng.fill_bytes(&mut buf);
    buf
}

/// 32 random bytes as URL-safe base64 without padding (43 characters).
pub fn random_token() -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes::<32>())
}

pub fn sha256_hex(data: &[u8]) -> String {
    let digest = Sha256::digest(data);
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// Compares two secrets in time independent of where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// A 32-byte key for one purpose, derived from the server's master key (the session key) with
/// HKDF-SHA-256 and `label`: a key per purpose, so that none can stand for another.
pub fn derive_key(master: &[u8], label: &str) -> [u8; 32] {
    let mut key = [0u8; 32];
    // 32 bytes is far below HKDF-SHA-256's limit (255 * 32), so expand cannot fail
    let _ = hkdf::Hkdf::<Sha256>::new(None, master).expand(label.as_bytes(), &mut key);
    key
}

/// Encrypts `plain` under `key` (XChaCha20-Poly1305, a random 24-byte nonce): base64 of the
/// nonce then the ciphertext with its tag. None only if the cipher refused (it does not for
/// secrets this size).
pub fn seal(key: &[u8; 32], plain: &str) -> Option<String> {
    use chacha20poly1305::aead::{Aead, KeyInit};
    let cipher = chacha20poly1305::XChaCha20Poly1305::new(key.into());
    let nonce: [u8; 24] = random_bytes();
    let sealed = cipher.encrypt(&nonce.into(), plain.as_bytes()).ok()?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&sealed);
    Some(base64::engine::general_purpose::STANDARD.encode(out))
}

/// Opens what `seal` made under the same key; None if it was made under another key or altered.
pub fn open(key: &[u8; 32], sealed: &str) -> Option<String> {
    use chacha20poly1305::aead::{Aead, KeyInit};
    let bytes = base64::engine::general_purpose::STANDARD.decode(sealed).ok()?;
    if bytes.len() < 24 {
        return None;
    }
    let (nonce, ciphertext) = bytes.split_at(24);
    let cipher = chacha20poly1305::XChaCha20Poly1305::new(key.into());
    let plain = cipher.decrypt(chacha20poly1305::XNonce::from_slice(nonce), ciphertext).ok()?;
    String::from_utf8(plain).ok()
}

#[cfg(test)]
mod sealing_tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_only_with_its_key() {
        let key = derive_key(&[7u8; 64], "steward sso client secret");
        let sealed = seal(&key, "s3cret").unwrap();
        assert!(!sealed.contains("s3cret"));
        assert_eq!(open(&key, &sealed).as_deref(), Some("s3cret"));
        let other = derive_key(&[7u8; 64], "another purpose");
        assert_ne!(key, other);
        assert_eq!(open(&other, &sealed), None);
        // two seals of one secret differ (a fresh nonce each)
        assert_ne!(seal(&key, "s3cret").unwrap(), sealed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[test]
    fn hashing_never_runs_below_the_servers_priority() {
        // SAFETY: reads this thread's own nice value
        let nice = || unsafe { libc::getpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t) };
        let ours = nice();
        let hashing = on_hashing_thread(nice).expect("the hashing thread answers");
        assert!(hashing <= ours, "hashing at nice {hashing}, the server at {ours}: sign-ins would wait behind pages");
    }

    #[test]
    fn the_dummy_hash_has_the_parameters_of_real_ones() {
        let dummy = PasswordHash::new(DUMMY_HASH).expect("a PHC string");
        let params = Params::try_from(&dummy).expect("argon2 parameters");
        let ours = argon2();
        assert_eq!(dummy.algorithm.as_str(), "argon2id");
        assert_eq!((params.m_cost(), params.t_cost(), params.p_cost()), (ours.params().m_cost(), ours.params().t_cost(), ours.params().p_cost()));
        assert!(!verify_or_dummy("anything at all", None));
    }

    #[test]
    fn passwords_are_hashed_with_argon2id_and_verified() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("wrong horse battery", &hash));
        assert!(!verify_password("anything", "not a hash"));
    }

    #[test]
    fn without_a_readable_hash_the_dummy_is_verified_and_never_matches() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(verify_or_dummy("correct horse battery", Some(&hash)));
        assert!(!verify_or_dummy("wrong horse battery", Some(&hash)));
        assert!(!verify_or_dummy("correct horse battery", None));
        assert!(!verify_or_dummy("correct horse battery", Some("not a hash")));
        assert!(!verify_or_dummy("", None));
        assert!(PasswordHash::new(DUMMY_HASH).is_ok(), "the dummy is a real argon2 hash");
    }

    #[test]
    fn tokens_are_32_random_bytes_url_safe() {
        let a = random_token();
        assert_eq!(a.len(), 43);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_ne!(a, random_token());
    }

    #[test]
    fn constant_time_eq_compares_whole_values() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}
