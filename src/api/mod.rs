//! Server functions, grouped by screen area. They are thin: check the session and role, call a
//! service, map errors. Every state-changing function takes the session's CSRF token.

pub mod access;
pub mod apps;
pub mod audit;
pub mod console_users;
pub mod directory;
pub mod notifications;
pub mod overview;
pub mod provisioning;
pub mod provisioning_logs;
pub mod session;

mod error;
pub use error::ApiError;

#[cfg(feature = "ssr")]
pub(crate) mod guard;
#[cfg(feature = "ssr")]
pub mod import_upload;
#[cfg(feature = "ssr")]
pub mod log_download;
