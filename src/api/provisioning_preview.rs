//! Preview: what the next cycle of an application would do, computed by the engine's own phases
//! with a target that only pretends to write (see `provisioning::engine::preview`). Read-only for
//! the application and the database, so Viewers may run it; previews of one application run one
//! after the other (the second waits for the first), so they never add up against its rate limit.

use super::ApiError;
use crate::model::CyclePreview;
use leptos::prelude::*;

/// Entries a preview returns at most.
pub const PREVIEW_ENTRIES: u32 = 500;

/// The actions a preview can be narrowed to, as the provisioning logs name them.
pub const PREVIEW_ACTIONS: [&str; 6] = ["Create", "Update", "Disable", "Delete", "StagedDelete", "Other"];

#[server(endpoint = "provisioning/preview")]
pub async fn preview_cycle(
    app: String,
    #[server(default)] action: String,
    #[server(default)] limit: Option<u32>,
    #[server(default)] page: u32,
) -> Result<CyclePreview, ApiError> {
    use super::guard;
    let state = guard::state()?;
    guard::require(crate::model::Role::Viewer)?;
    let action = action.trim();
    if !action.is_empty() && !PREVIEW_ACTIONS.contains(&action) {
        return Err(ApiError::invalid("action", "Unknown action."));
    }
    if crate::db::apps::get(&state.pool, &app).await?.is_none() {
        return Err(ApiError::NotFound("There is no such application.".into()));
    }
    tracing::debug!(app = %app, action = %action, "preview asked for");
    let _turn = turns::wait(&app).await;
    let limit = limit.unwrap_or(PREVIEW_ENTRIES).min(PREVIEW_ENTRIES) as usize;
    let options = crate::provisioning::engine::PreviewOptions {
        limit,
        skip: page.min(100_000) as usize * limit,
        action: (!action.is_empty()).then(|| action.to_string()),
        config: None,
    };
    // A page view may ask more than once while it renders, and an admin may press Preview twice:
    // the same question with nothing changed since gets the answer of a moment ago.
    let key = turns::Key {
        app: app.clone(),
        action: action.to_string(),
        limit: options.limit,
        skip: options.skip,
        directory: crate::db::directory::last_change(&state.pool).await?,
        watermark: crate::db::jobs::job(&state.pool, &app)
            .await?
            .and_then(|j| j.watermark),
    };
    if let Some(p) = turns::recent(&key) {
        return Ok(p);
    }
    let p = crate::provisioning::engine::preview(
        &state.pool,
        &state.sealer,
        &state.outbound,
        &app,
        &state.scheduler.tuning(),
        options,
    )
    .await
    .map_err(|e| ApiError::invalid("app", format!("The preview failed: {e}")))?;
    turns::keep(key, &p);
    Ok(p)
}

/// What saving `config` (checked by `config::changed`, not saved) would make the next cycle do:
/// the first [`CHANGE_ENTRIES`] objects and the per-attribute counts over all of them. Waits its
/// turn like any preview of the application.
#[cfg(feature = "ssr")]
pub(crate) async fn preview_change(
    state: &crate::state::AppState,
    app: &str,
    config: crate::model::ProvisioningConfig,
    changes: Vec<String>,
) -> Result<crate::model::ChangePreview, ApiError> {
    tracing::debug!(app = %app, "preview of a change asked for");
    let _turn = turns::wait(app).await;
    let options = crate::provisioning::engine::PreviewOptions {
        limit: CHANGE_ENTRIES,
        skip: 0,
        action: None,
        config: Some(config),
    };
    let preview = crate::provisioning::engine::preview(
        &state.pool,
        &state.sealer,
        &state.outbound,
        app,
        &state.scheduler.tuning(),
        options,
    )
    .await
    .map_err(|e| ApiError::invalid("app", format!("The preview failed: {e}")))?;
    Ok(crate::model::ChangePreview { changes, preview })
}

/// What-if over the whole users mapping: each attribute that reads the directory evaluated over
/// the users in scope (`size`: "all" or how many), with its distribution. Nothing is sent.
#[server(endpoint = "provisioning/mapping_survey")]
pub async fn survey_mapping(
    app: String,
    #[server(default)] size: String,
) -> Result<Vec<crate::model::AttributeSurvey>, ApiError> {
    use super::guard;
    let state = guard::state()?;
    guard::require(crate::model::Role::Viewer)?;
    use crate::provisioning::survey;
    let population = survey::Population::parse(&size)?;
    Ok(survey::survey_mapping(&state.pool, &app, population)
        .await?
        .into_iter()
        .map(|(target, survey)| crate::model::AttributeSurvey { target, survey })
        .collect())
}

/// Objects listed by the preview of an unsaved change (the counts cover them all).
pub const CHANGE_ENTRIES: usize = 100;

#[cfg(feature = "ssr")]
mod turns {
    pub use crate::provisioning::turns::wait;
    use std::sync::Mutex;

    /// A preview's question: the application, what was asked, and the state it was worked out
    /// from (the directory's last change, the job's watermark).
    #[derive(Clone, PartialEq)]
    pub struct Key {
        pub app: String,
        pub action: String,
        pub limit: usize,
        pub skip: usize,
        pub directory: i64,
        pub watermark: Option<i64>,
    }

    /// How long an answer is given again for the same question.
    const FRESH: std::time::Duration = std::time::Duration::from_secs(5);

    /// The last answer (one: previews are large and this only spares repeats).
    static LAST: Mutex<Option<(Key, std::time::Instant, crate::model::CyclePreview)>> = Mutex::new(None);

    pub fn recent(key: &Key) -> Option<crate::model::CyclePreview> {
        let last = LAST.lock().unwrap_or_else(|p| p.into_inner());
        last.as_ref()
            .filter(|(k, at, _)| k == key && at.elapsed() < FRESH)
            .map(|(_, _, p)| p.clone())
    }

    pub fn keep(key: Key, p: &crate::model::CyclePreview) {
        *LAST.lock().unwrap_or_else(|p| p.into_inner()) = Some((key, std::time::Instant::now(), p.clone()));
    }
}
