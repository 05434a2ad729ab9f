//! `GET /provisioning-logs/download?format=csv|json&...filters`: the filtered provisioning log as
//! a file (up to 100,000 entries), for Viewers and Administrators.

use super::provisioning_logs::check_filter;
use crate::auth::session::CurrentUser;
use crate::model::ProvisionLogFilter;
use crate::server::AppState;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;

const MAX_ROWS: i64 = 100_000;

#[derive(serde::Deserialize)]
pub struct DownloadQuery {
    #[serde(default)]
    format: String,
    #[serde(flatten)]
    filter: ProvisionLogFilter,
}

pub async fn download(
    State(state): State<AppState>,
    Extension(_user): Extension<CurrentUser>,
    Query(q): Query<DownloadQuery>,
) -> Response {
    if let Err(e) = check_filter(&q.filter) {
        return (StatusCode::BAD_REQUEST, e.to_string()).into_response();
    }
    let rows = match crate::db::engine::log_page(&state.pool, &q.filter, None, MAX_ROWS).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "reading the provisioning log failed");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let (body, content_type, ext) = if q.format == "json" {
        (
            serde_json::to_string_pretty(&rows).unwrap_or_default(),
            "application/json",
            "json",
        )
    } else {
        let mut w = csv::Writer::from_writer(Vec::new());
        let _ = w.write_record([
            "time",
            "application",
            "cycle",
            "identity",
            "object type",
            "source id",
            "target id",
            "action",
            "status",
            "error code",
            "duration ms",
            "change id",
        ]);
        for r in &rows {
            let _ = w.write_record([
                r.at.as_str(),
                &r.app_name,
                r.cycle_id.as_deref().unwrap_or("on demand"),
                &r.display_name,
                &r.object_type,
                &r.source_id,
                &r.target_id,
                &r.action,
                &r.status,
                &r.error_code,
                &r.duration_ms.to_string(),
                &r.id,
            ]);
        }
        (
            String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default(),
            "text/csv; charset=utf-8",
            "csv",
        )
    };
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"provisioning-logs.{ext}\""),
            ),
        ],
        body,
    )
        .into_response()
}
