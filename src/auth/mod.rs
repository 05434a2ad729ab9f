//! Console authentication: password hashing, the signed-in user of a request, CSRF tokens, role
//! checks and sign-in throttling.

pub mod password;
pub mod session;
pub mod throttle;

pub use session::{CurrentUser, SessionKeys};
