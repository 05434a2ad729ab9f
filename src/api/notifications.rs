//! Settings > Notifications: the SMTP server failure emails go through, a test email, and the
//! outbox.

// A server function takes one argument per form field.
#![allow(clippy::too_many_arguments)]

use super::ApiError;
use crate::model::NotificationSettings;
use leptos::prelude::*;

/// Session key of the outcome of the form posted without JavaScript (see `guard::flash`).
#[cfg(feature = "ssr")]
pub const OUTCOME: &str = "notifications_outcome";

/// The notification settings page shows what its last plain form post did.
#[cfg(feature = "ssr")]
pub(crate) async fn take_flashes(f: &mut super::guard::Flashes<'_>) {
    if f.path.ends_with("/settings/notifications") {
        f.take::<String>(OUTCOME).await;
    }
}

#[server(endpoint = "notifications/get")]
pub async fn get_notifications() -> Result<NotificationSettings, ApiError> {
    use super::guard;
    let state = guard::state()?;
    guard::require(crate::model::Role::Viewer)?;
    Ok(crate::notify::settings(&state.pool).await?)
}

/// What the last plain form post of the page said, for the page view after its redirect.
#[server(endpoint = "notifications/flashed")]
pub async fn take_notifications_outcome() -> Result<Option<String>, ApiError> {
    use super::guard;
    guard::require(crate::model::Role::Viewer)?;
    Ok(guard::flashed::<String>())
}

/// Saves the SMTP settings, or with `intent` "test" sends a test email to `test_to` with the
/// settings as typed and saves nothing. An empty password keeps the stored one.
#[server(endpoint = "notifications/save")]
pub async fn save_notifications(
    csrf: String,
    #[server(default)] intent: String,
    #[server(default)] host: String,
    #[server(default)] port: String,
    #[server(default)] tls: String,
    #[server(default)] username: String,
    #[server(default)] password: String,
    #[server(default)] clear_password: String,
    #[server(default)] from_address: String,
    #[server(default)] test_to: String,
) -> Result<String, ApiError> {
    use super::guard;
    let state = guard::state()?;
    let me = guard::admin_change(&csrf).await?;
    let form = crate::notify::SmtpForm {
        host,
        port,
        tls,
        username,
        password,
        clear_password: matches!(clear_password.as_str(), "on" | "true" | "1"),
        from_address,
    };
    let message = if intent == "test" {
        crate::notify::send_test(&state.pool, &state.sealer, &form, &test_to).await?
    } else {
        crate::notify::save(&state.pool, &state.sealer, &form, &guard::actor(&me)).await?;
        "Saved. Waiting emails are sent now.".to_string()
    };
    guard::flash(OUTCOME, &message).await?;
    Ok(message)
}
