use super::ApiError;
use crate::model::{AuditFilter, AuditPage};
use leptos::prelude::*;

pub const PAGE_SIZE: i64 = 50;

fn blank_to_none(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// Drops empty filter values, so an empty form field means "any".
pub fn normalize(filter: AuditFilter) -> AuditFilter {
    AuditFilter {
        actor: blank_to_none(filter.actor),
        action: blank_to_none(filter.action),
        outcome: blank_to_none(filter.outcome),
        from: blank_to_none(filter.from),
        to: blank_to_none(filter.to),
    }
}

/// One page of the audit log. The filters are separate optional arguments (not one struct) so that
/// an empty filter is simply absent from the request.
#[server(endpoint = "audit/page")]
pub async fn get_audit_page(
    actor: Option<String>,
    action: Option<String>,
    outcome: Option<String>,
    from: Option<String>,
    to: Option<String>,
    before: Option<i64>,
) -> Result<AuditPage, ApiError> {
    use super::guard;
    use crate::model::Role;
    use crate::timefmt;
    let state = guard::state()?;
    guard::require(Role::Viewer)?;
    let filter = normalize(AuditFilter {
        actor,
        action,
        outcome,
        from,
        to,
    });
    let day = |field: &str, v: &Option<String>| -> Result<Option<time::Date>, ApiError> {
        v.as_deref()
            .map(|s| {
                timefmt::parse_day(s)
                    .ok_or_else(|| ApiError::invalid(field, "Use a date such as 2026-11-28."))
            })
            .transpose()
    };
    let from = day("from", &filter.from)?.map(|d| timefmt::format(d.midnight().assume_utc()));
    // Up to the end of the day; the last day the calendar has (9999-12-31) has no next one and
    // bounds nothing.
    let to = day("to", &filter.to)?
        .and_then(|d| d.next_day())
        .map(|d| timefmt::format(d.midnight().assume_utc()));
    if let Some(o) = &filter.outcome {
        if o != "success" && o != "failure" {
            return Err(ApiError::invalid("outcome", "Choose success or failure."));
        }
    }
    let mut entries = crate::db::audit::page(
        &state.pool,
        &filter,
        from.as_deref(),
        to.as_deref(),
        before,
        PAGE_SIZE + 1,
    )
    .await?;
    let older = if entries.len() as i64 > PAGE_SIZE {
        entries.truncate(PAGE_SIZE as usize);
        entries.last().map(|e| e.id)
    } else {
        None
    };
    Ok(AuditPage {
        entries,
        older,
        actions: crate::db::audit::actions(&state.pool).await?,
    })
}
