//! Console authentication: password hashing, the signed-in user of a request, CSRF tokens, role
//! checks and sign-in throttling.

pub mod password;
pub mod session;
pub mod throttle;

pub use session::{CurrentUser, SessionKeys};

/// `N` random bytes from the operating system's generator, as URL-safe base64 without padding:
/// CSRF tokens, API keys and account ids.
pub fn random_token<const N: usize>() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut bytes = [0u8; N];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
