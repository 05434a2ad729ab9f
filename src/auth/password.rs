//! argon2id password hashing. Hashing is slow by design, so it runs on the blocking pool.

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use std::sync::{Mutex, OnceLock};

pub const MIN_LEN: usize = 12;
/// Hashing cost grows with input; cap it so a huge "password" cannot tie up the server.
pub const MAX_LEN: usize = 256;

/// Checks a new password against the policy; the message is shown next to the field.
pub fn validate_new(password: &str, username: &str) -> Result<(), String> {
    let chars = password.chars().count();
    if chars < MIN_LEN {
        return Err(format!("Use at least {MIN_LEN} characters."));
    }
    if password.len() > MAX_LEN {
        return Err(format!("Use at most {MAX_LEN} bytes."));
    }
    if password.trim().eq_ignore_ascii_case(username.trim()) {
        return Err("The password must not be the user name.".into());
    }
    Ok(())
}

#[allow(
    clippy::expect_used,
    reason = "argon2 with its default parameters cannot fail on a password bounded by MAX_LEN"
)]
fn hash_blocking(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 with default parameters cannot fail on a bounded password")
        .to_string()
}

#[allow(
    clippy::expect_used,
    reason = "a panic while hashing is a bug to surface, not a result to hide"
)]
pub async fn hash(password: String) -> String {
    tokio::task::spawn_blocking(move || hash_blocking(&password))
        .await
        .expect("password hashing task panicked")
}

/// Password checks (Argon2, about 19 MiB and tens of milliseconds of a core each) that run at
/// once; more wait their turn, and give up after [`CHECK_WAIT`].
pub const CONCURRENT_CHECKS: usize = 4;
pub const CHECK_WAIT: std::time::Duration = std::time::Duration::from_secs(5);
static CHECKS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(CONCURRENT_CHECKS);
/// The working memory of the checks, allocated once and reused: freed Argon2 memory stays in the
/// allocator arena of whichever blocking thread used it, so a burst of checks spread over many
/// threads would keep hundreds of megabytes, even a few at a time.
static MEMORY: Mutex<Vec<Vec<Block>>> = Mutex::new(Vec::new());
/// The most memory a stored hash may ask for (64 MiB); hashes made here use 19 MiB.
const MAX_BLOCKS: usize = 64 * 1024;

/// Too many password checks are waiting: the caller answers "try again in a moment".
#[derive(Debug)]
pub struct Busy;

/// Verifies `password` against `stored`, or against a dummy hash when there is no such user, so the
/// time taken does not reveal whether a user name exists. At most [`CONCURRENT_CHECKS`] run at
/// once, each in memory of the fixed pool, so a burst of sign-ins costs bounded memory.
pub async fn verify(password: String, stored: Option<String>) -> Result<bool, Busy> {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let _turn = tokio::time::timeout(CHECK_WAIT, CHECKS.acquire())
        .await
        .map_err(|_| Busy)?
        .map_err(|_| Busy)?;
    Ok(tokio::task::spawn_blocking(move || {
        let exists = stored.is_some();
        let stored =
            stored.unwrap_or_else(|| DUMMY.get_or_init(|| hash_blocking("not a real password")).clone());
        let lock = || MEMORY.lock().unwrap_or_else(|p| p.into_inner());
        // One buffer per check that holds a turn, so there are never more than CONCURRENT_CHECKS.
        let mut memory = lock().pop().unwrap_or_default();
        let ok = verify_in(password.as_bytes(), &stored, &mut memory);
        lock().push(memory);
        ok && exists
    })
    .await
    .unwrap_or(false))
}

/// Argon2 verification of a PHC string in caller-provided memory (what `verify_password` does,
/// with its own allocation).
fn verify_in(password: &[u8], stored: &str, memory: &mut Vec<Block>) -> bool {
    use subtle::ConstantTimeEq;
    let Ok(hash) = PasswordHash::new(stored) else {
        return false;
    };
    let (Ok(algorithm), Ok(params)) = (Algorithm::try_from(hash.algorithm), Params::try_from(&hash)) else {
        return false;
    };
    let version = match hash.version.map(Version::try_from) {
        None => Version::default(),
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let (Some(salt), Some(expected)) = (hash.salt, hash.hash) else {
        return false;
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let blocks = params.block_count();
    if blocks > MAX_BLOCKS {
        return false;
    }
    if memory.len() < blocks {
        memory.resize(blocks, Block::new());
    }
    let mut out = vec![0u8; expected.len()];
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password, salt, &mut out, &mut memory[..blocks])
        .is_ok()
        && bool::from(out.ct_eq(expected.as_bytes()))
}

/// A random password for the bootstrap administrator and CLI resets: 24 characters from a
/// 62-symbol alphabet, about 143 bits.
pub fn generate() -> String {
    use rand::distributions::{Alphanumeric, DistString};
    Alphanumeric.sample_string(&mut rand::rngs::OsRng, 24)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_then_verify() {
        let h = hash("correct horse battery".into()).await;
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse battery".into(), Some(h.clone()))
            .await
            .unwrap());
        assert!(!verify("wrong horse battery".into(), Some(h)).await.unwrap());
        assert!(!verify("not a real password".into(), None).await.unwrap());
    }

    #[test]
    fn policy() {
        assert!(validate_new("short", "x").is_err());
        assert!(validate_new("alice@example", "alice@example").is_err());
        assert!(validate_new(&"x".repeat(300), "a").is_err());
        assert!(validate_new("a long enough pass", "alice").is_ok());
        assert_eq!(generate().len(), 24);
    }
}
