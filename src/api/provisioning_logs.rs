//! Provisioning logs: one entry per object per action, filtered, opened with its steps, and
//! downloaded as CSV or JSON.

use super::ApiError;
use crate::model::{ProvisionLogDetail, ProvisionLogFilter, ProvisionLogPage};
use leptos::prelude::*;

pub const LOG_PAGE: i64 = 50;

#[cfg(feature = "ssr")]
pub(crate) fn check_filter(f: &ProvisionLogFilter) -> Result<(), ApiError> {
    for (field, v) in [("from", &f.from), ("to", &f.to)] {
        if !v.is_empty()
            && time::Date::parse(v, time::macros::format_description!("[year]-[month]-[day]")).is_err()
        {
            return Err(ApiError::invalid(field, "Enter a date as YYYY-MM-DD."));
        }
    }
    let known = |v: &str, list: &[&str]| v.is_empty() || list.contains(&v);
    if !known(
        &f.action,
        &["Create", "Update", "Delete", "Disable", "StagedDelete", "Other"],
    ) {
        return Err(ApiError::invalid("action", "Unknown action."));
    }
    if !known(&f.status, &["Success", "Failure", "Skipped", "Warning"]) {
        return Err(ApiError::invalid("status", "Unknown status."));
    }
    Ok(())
}

#[server(endpoint = "provisioning/logs")]
pub async fn provisioning_logs(
    #[server(default)] filter: ProvisionLogFilter,
    #[server(default)] before: String,
) -> Result<ProvisionLogPage, ApiError> {
    use super::guard;
    let state = guard::state()?;
    guard::require(crate::model::Role::Viewer)?;
    check_filter(&filter)?;
    let before = (!before.is_empty()).then_some(before.as_str());
    let rows = crate::db::prov_log::log_page(&state.pool, &filter, before, LOG_PAGE + 1).await?;
    let more = rows.len() as i64 > LOG_PAGE;
    let rows: Vec<_> = rows.into_iter().take(LOG_PAGE as usize).collect();
    let older = more
        .then(|| rows.last().map(|r| format!("{}|{}", r.at, r.id)))
        .flatten();
    Ok(ProvisionLogPage {
        rows,
        older,
        retention_days: state.settings.log_retention_days,
    })
}

#[server(endpoint = "provisioning/log_entry")]
pub async fn provisioning_log_entry(id: String) -> Result<ProvisionLogDetail, ApiError> {
    use super::guard;
    let state = guard::state()?;
    guard::require(crate::model::Role::Viewer)?;
    let (row, steps, modified, error_reason, error_action) = crate::db::prov_log::log_entry(&state.pool, &id)
        .await?
        .ok_or_else(|| ApiError::NotFound("There is no such log entry.".into()))?;
    Ok(ProvisionLogDetail {
        row,
        steps: serde_json::from_str(&steps).unwrap_or_default(),
        modified: serde_json::from_str(&modified).unwrap_or_default(),
        error_reason,
        error_action,
    })
}
