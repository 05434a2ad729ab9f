//! Server functions, grouped by screen area. They are thin: check the session and role, call a
//! service, map errors. Every state-changing function takes the session's CSRF token.

pub mod access;
pub mod apps;
pub mod audit;
pub mod bulk;
pub mod compatibility;
pub mod console_users;
pub mod directory;
pub mod notifications;
pub mod overview;
pub mod provisioning;
pub mod provisioning_drift;
pub mod provisioning_logs;
pub mod provisioning_on_demand;
pub mod provisioning_preview;
pub mod session;

mod error;
pub use error::ApiError;

#[cfg(feature = "ssr")]
pub(crate) mod guard;
#[cfg(feature = "ssr")]
pub mod import_upload;
#[cfg(feature = "ssr")]
pub mod log_download;

/// Moves what a form post without JavaScript flashed for the page at `path` (a new API key, a
/// provision-on-demand report, a save's outcome) from the session into this one page request,
/// so every render of it sees the value and no later request does. Each screen's server
/// functions say which of their flashes which pages show.
#[cfg(feature = "ssr")]
pub async fn take_flashes(
    path: &str,
    s: &tower_sessions::Session,
    sealer: &crate::secrets::Sealer,
    req: &mut axum::extract::Request,
) {
    let f = &mut guard::Flashes {
        path,
        session: s,
        sealer,
        req,
    };
    access::take_flashes(f).await;
    apps::take_flashes(f).await;
    bulk::take_flashes(f).await;
    provisioning::take_flashes(f).await;
    provisioning_drift::take_flashes(f).await;
    notifications::take_flashes(f).await;
}
