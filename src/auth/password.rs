//! argon2id password hashing. Hashing is slow by design, so it runs on the blocking pool.

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use std::sync::OnceLock;

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

fn hash_blocking(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 with default parameters cannot fail on a bounded password")
        .to_string()
}

pub async fn hash(password: String) -> String {
    tokio::task::spawn_blocking(move || hash_blocking(&password))
        .await
        .expect("password hashing task panicked")
}

/// Verifies `password` against `stored`, or against a dummy hash when there is no such user, so the
/// time taken does not reveal whether a user name exists.
pub async fn verify(password: String, stored: Option<String>) -> bool {
    static DUMMY: OnceLock<String> = OnceLock::new();
    tokio::task::spawn_blocking(move || {
        let exists = stored.is_some();
        let stored =
            stored.unwrap_or_else(|| DUMMY.get_or_init(|| hash_blocking("not a real password")).clone());
        let ok = PasswordHash::new(&stored)
            .map(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
            .unwrap_or(false);
        ok && exists
    })
    .await
    .unwrap_or(false)
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
        assert!(verify("correct horse battery".into(), Some(h.clone())).await);
        assert!(!verify("wrong horse battery".into(), Some(h)).await);
        assert!(!verify("not a real password".into(), None).await);
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
