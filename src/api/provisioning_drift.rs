//! Drift and orphans: the reconcile report of an application (read-only, so Viewers may run it;
//! one at a time per application, beside its previews) and the actions on its findings
//! (administrators: revert, adopt, disable or delete an orphan; audited).

use super::ApiError;
use crate::model::DriftReport;
use leptos::prelude::*;

/// Session key of an action's outcome after a plain form post (see `guard::flash`).
#[cfg(feature = "ssr")]
const OUTCOME: &str = "drift_outcome";

#[cfg(feature = "ssr")]
pub(crate) async fn take_flashes(f: &mut super::guard::Flashes<'_>) {
    if f.path.ends_with("/drift") {
        f.take::<String>(OUTCOME).await;
    }
}

#[server(endpoint = "provisioning/drift")]
pub async fn run_drift_report(app: String) -> Result<DriftReport, ApiError> {
    use super::guard;
    let state = guard::state()?;
    guard::require(crate::model::Role::Viewer)?;
    if crate::db::apps::get(&state.pool, &app).await?.is_none() {
        return Err(ApiError::NotFound("There is no such application.".into()));
    }
    crate::provisioning::drift_checks::check(
        &state.pool,
        &state.sealer,
        &state.outbound,
        &app,
        &state.scheduler.tuning(),
        None,
    )
    .await
    .map_err(|e| ApiError::invalid("app", format!("The comparison failed: {e}")))
}

/// Acts on one finding: `action` revert (a changed account, `target_id`), adopt (an orphan,
/// linked to directory user `user_id`), disable or delete (an orphan).
#[server(endpoint = "provisioning/drift/act")]
pub async fn act_on_drift(
    csrf: String,
    app: String,
    action: String,
    target_id: String,
    #[server(default)] user_id: String,
) -> Result<String, ApiError> {
    use super::guard;
    let state = guard::state()?;
    let me = guard::admin_change(&csrf).await?;
    let action = crate::model::DriftAction::parse(&action)
        .ok_or_else(|| ApiError::invalid("action", "Unknown action."))?;
    let finding = crate::provisioning::reconcile::Finding {
        action,
        target_id,
        user: user_id,
    };
    let message = crate::provisioning::reconcile::act(
        &state.pool,
        &state.sealer,
        &state.outbound,
        &app,
        &finding,
        &guard::actor(&me),
    )
    .await?;
    guard::flash(OUTCOME, &message).await?;
    Ok(message)
}

/// The outcome of the last plain form post of an action, for the page that follows.
#[server(endpoint = "provisioning/drift/outcome")]
pub async fn take_drift_outcome() -> Result<Option<String>, ApiError> {
    Ok(super::guard::flashed::<String>())
}
