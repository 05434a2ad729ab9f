//! Secrets at rest: outbound credentials (an application's secret token, the SMTP password) are
//! sealed with AES-256-GCM before they reach the database, bound to what they belong to (the
//! associated data, e.g. `app:{id}:token`), so a sealed value copied to another row does not open.
//!
//! The key comes from `--encryption-key` / `PROVISIO_ENCRYPTION_KEY`, or from `secret.key` in the
//! data directory, created with mode 0600 on first use. Losing the key loses the sealed secrets
//! (they must be typed again), nothing else.

use crate::config::SettingsError;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rand::RngCore;
use std::path::Path;

const KEY_FILE: &str = "secret.key";
/// The next key during a rotation, until the database is re-sealed with it.
const NEXT_KEY_FILE: &str = "secret.key.next";
/// Prefix of a sealed value, naming the scheme so that it can change later.
const VERSION: &str = "v1:";

#[derive(Clone)]
pub struct Sealer {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

#[derive(Debug, thiserror::Error)]
#[error("a stored secret cannot be opened (was the encryption key changed?)")]
pub struct OpenError;

fn key_from_base64(text: &str) -> Result<[u8; 32], String> {
    let bytes = STANDARD
        .decode(text.trim())
        .map_err(|_| "it is not base64".to_string())?;
    bytes
        .try_into()
        .map_err(|b: Vec<u8>| format!("it is {} bytes long; it must be 32", b.len()))
}

impl Sealer {
    pub fn from_key(key: &[u8; 32]) -> Self {
        Sealer {
            cipher: Aes256Gcm::new(key.into()),
        }
    }

    /// The configured key, else the data directory's key file (created when missing).
    pub fn load(configured: Option<&str>, data_dir: &Path) -> Result<Self, SettingsError> {
        if let Some(k) = configured.filter(|k| !k.trim().is_empty()) {
            let key = key_from_base64(k)
                .map_err(|m| SettingsError::EncryptionKey(format!("PROVISIO_ENCRYPTION_KEY: {m}")))?;
            return Ok(Self::from_key(&key));
        }
        let path = data_dir.join(KEY_FILE);
        let bad = |m: String| SettingsError::EncryptionKey(format!("{}: {m}", path.display()));
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(Self::from_key(&key_from_base64(&text).map_err(bad)?)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = [0u8; 32];
                rand::rngs::OsRng.fill_bytes(&mut key);
                write_private(&path, &format!("{}\n", STANDARD.encode(key)))
                    .map_err(|e| bad(e.to_string()))?;
                tracing::info!(path = %path.display(), "created the encryption key file; back it up with the database");
                Ok(Self::from_key(&key))
            }
            Err(e) => Err(bad(e.to_string())),
        }
    }

    #[allow(
        clippy::expect_used,
        reason = "AES-GCM encryption of an in-memory buffer cannot fail"
    )]
    pub fn seal(&self, plaintext: &str, context: &str) -> String {
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: context.as_bytes(),
                },
            )
            .expect("AES-GCM encryption of an in-memory buffer cannot fail");
        let mut out = nonce.to_vec();
        out.extend(sealed);
        format!("{VERSION}{}", STANDARD.encode(out))
    }

    pub fn open(&self, sealed: &str, context: &str) -> Result<String, OpenError> {
        let bytes = sealed
            .strip_prefix(VERSION)
            .and_then(|b| STANDARD.decode(b).ok())
            .filter(|b| b.len() > 12)
            .ok_or(OpenError)?;
        let (nonce, ct) = bytes.split_at(12);
        let plain = self
            .cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ct,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| OpenError)?;
        String::from_utf8(plain).map_err(|_| OpenError)
    }
}

/// A new random key.
pub fn generate_key() -> [u8; 32] {
    let mut key = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut key);
    key
}

/// A key as it is written in a key file or `PROVISIO_ENCRYPTION_KEY`.
pub fn key_text(key: &[u8; 32]) -> String {
    STANDARD.encode(key)
}

/// The key file of a data directory, and where a rotation writes the next key before the
/// database is re-sealed with it.
pub fn key_files(data_dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    (data_dir.join(KEY_FILE), data_dir.join(NEXT_KEY_FILE))
}

/// Writes `key` to a new private file (refusing to replace one).
pub fn write_key_file(path: &Path, key: &[u8; 32]) -> std::io::Result<()> {
    write_private(path, &format!("{}\n", key_text(key)))
}

/// Reads a key file.
pub fn read_key_file(path: &Path) -> Result<[u8; 32], String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    key_from_base64(&text).map_err(|m| format!("{}: {m}", path.display()))
}

/// Creates a file readable only by its owner (0600 on Unix), refusing to replace one.
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(path)?;
    f.write_all(contents.as_bytes())?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_and_open_bound_to_context() {
        let s = Sealer::from_key(&[7u8; 32]);
        let sealed = s.seal("token-123", "app:a:token");
        assert!(!sealed.contains("token-123"));
        assert_ne!(
            sealed,
            s.seal("token-123", "app:a:token"),
            "fresh nonce each time"
        );
        assert_eq!(s.open(&sealed, "app:a:token").unwrap(), "token-123");
        assert!(s.open(&sealed, "app:b:token").is_err());
        assert!(Sealer::from_key(&[8u8; 32]).open(&sealed, "app:a:token").is_err());
        assert!(s.open("v1:AAAA", "app:a:token").is_err());
        assert!(s.open("garbage", "app:a:token").is_err());
    }

    #[test]
    fn key_file_is_created_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let a = Sealer::load(None, dir.path()).unwrap();
        let sealed = a.seal("x", "c");
        let b = Sealer::load(None, dir.path()).unwrap();
        assert_eq!(b.open(&sealed, "c").unwrap(), "x");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let key = STANDARD.encode([1u8; 32]);
        assert!(Sealer::load(Some(&key), dir.path()).is_ok());
        assert!(Sealer::load(Some("short"), dir.path()).is_err());
    }
}
