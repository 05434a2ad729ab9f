//! `GET /provisioning-logs/download?format=csv|json&...filters`: the filtered provisioning log as
//! a file (up to 100,000 entries), for Viewers and Administrators.
//!
//! The file is streamed a page of entries at a time, so a download holds one page in memory and a
//! pooled connection only while it reads that page; at most [`CONCURRENT`] downloads run at once
//! (more get 429). CSV cells that a spreadsheet would run as a formula are neutralised.

use super::provisioning_logs::check_filter;
use crate::auth::session::CurrentUser;
use crate::db::Pool;
use crate::model::{ProvisionLogFilter, ProvisionLogRow};
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use std::sync::{Arc, LazyLock};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

const MAX_ROWS: i64 = 100_000;
/// Entries read (and held) per step of the stream.
const PAGE: i64 = 1_000;
/// Downloads that may run at the same time, server-wide.
pub const CONCURRENT: usize = 2;
static DOWNLOADS: LazyLock<Arc<Semaphore>> = LazyLock::new(|| Arc::new(Semaphore::new(CONCURRENT)));

const CSV_HEADER: [&str; 12] = [
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
];

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
    let Ok(permit) = DOWNLOADS.clone().try_acquire_owned() else {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, "10")],
            "Other provisioning-log downloads are being prepared. Try again when they have finished.",
        )
            .into_response();
    };
    let json = q.format == "json";
    let pages = Pages {
        pool: state.pool.clone(),
        filter: q.filter,
        json,
        cursor: None,
        left: MAX_ROWS,
        first: true,
        done: false,
        _permit: permit,
    };
    let body = Body::from_stream(futures_util::stream::unfold(pages, |mut p| async move {
        let chunk = p.next().await?;
        Some((chunk, p))
    }));
    let (content_type, ext) = if json {
        ("application/json", "json")
    } else {
        ("text/csv; charset=utf-8", "csv")
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

/// The download's state between two pages; holds its place among the concurrent downloads.
struct Pages {
    pool: Pool,
    filter: ProvisionLogFilter,
    json: bool,
    /// `at|id` of the last entry sent (entries come newest first).
    cursor: Option<String>,
    left: i64,
    first: bool,
    done: bool,
    _permit: OwnedSemaphorePermit,
}

impl Pages {
    /// The next piece of the file; `None` after the last. A database error ends the body with an
    /// error, so the client sees a failed download, never a short file that looks complete.
    async fn next(&mut self) -> Option<std::io::Result<Vec<u8>>> {
        if self.done {
            return None;
        }
        let want = PAGE.min(self.left);
        let rows = match crate::db::prov_log::log_page(&self.pool, &self.filter, self.cursor.as_deref(), want)
            .await
        {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "reading the provisioning log failed");
                self.done = true;
                return Some(Err(std::io::Error::other("reading the provisioning log failed")));
            }
        };
        self.left -= rows.len() as i64;
        self.done = (rows.len() as i64) < want || self.left == 0;
        if let Some(last) = rows.last() {
            self.cursor = Some(format!("{}|{}", last.at, last.id));
        }
        let chunk = if self.json {
            json_chunk(&rows, self.first, self.done)
        } else {
            csv_chunk(&rows, self.first)
        };
        self.first = false;
        Some(Ok(chunk))
    }
}

/// A piece of one pretty-printed JSON array.
fn json_chunk(rows: &[ProvisionLogRow], first: bool, last: bool) -> Vec<u8> {
    let mut out = Vec::new();
    if first {
        out.extend_from_slice(b"[");
    }
    for (i, r) in rows.iter().enumerate() {
        if !(first && i == 0) {
            out.push(b',');
        }
        out.extend_from_slice(b"\n  ");
        let text = serde_json::to_string_pretty(r).unwrap_or_default();
        out.extend_from_slice(text.replace('\n', "\n  ").as_bytes());
    }
    if last {
        out.extend_from_slice(if first && rows.is_empty() {
            b"]\n"
        } else {
            b"\n]\n"
        });
    }
    out
}

fn csv_chunk(rows: &[ProvisionLogRow], first: bool) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    if first {
        let _ = w.write_record(CSV_HEADER);
    }
    for r in rows {
        let duration = r.duration_ms.to_string();
        let cells = [
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
            &duration,
            &r.id,
        ];
        let _ = w.write_record(cells.map(inert_cell).iter().map(|c| c.as_bytes()));
    }
    w.into_inner().unwrap_or_default()
}

/// A cell a spreadsheet will show as text: one that starts with `=`, `+`, `-`, `@`, a tab or a
/// carriage return (which spreadsheets run as a formula) gets a leading `'` (OWASP's advice for
/// CSV injection). Display names come from imports and target ids from the application.
fn inert_cell(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}").into(),
        _ => cell.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_neutralised() {
        assert_eq!(
            inert_cell("=HYPERLINK(\"http://x\")"),
            "'=HYPERLINK(\"http://x\")"
        );
        assert_eq!(inert_cell("+1"), "'+1");
        assert_eq!(inert_cell("-2+3"), "'-2+3");
        assert_eq!(inert_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(inert_cell("\tx"), "'\tx");
        assert_eq!(inert_cell("\rx"), "'\rx");
        assert_eq!(inert_cell("Zoë = Ångström"), "Zoë = Ångström");
        assert_eq!(inert_cell(""), "");
    }

    #[test]
    fn json_pieces_make_one_array() {
        let row = |id: &str| ProvisionLogRow {
            id: id.into(),
            app_id: "a".into(),
            app_name: "A".into(),
            cycle_id: None,
            at: "t".into(),
            duration_ms: 1,
            object_type: "User".into(),
            display_name: "d".into(),
            source_id: "s".into(),
            target_id: "t".into(),
            action: "Create".into(),
            status: "Success".into(),
            error_code: String::new(),
        };
        let mut file = json_chunk(&[row("1"), row("2")], true, false);
        file.extend(json_chunk(&[row("3")], false, true));
        let v: serde_json::Value = serde_json::from_slice(&file).unwrap();
        assert_eq!(v.as_array().unwrap().len(), 3);
        let empty: serde_json::Value = serde_json::from_slice(&json_chunk(&[], true, true)).unwrap();
        assert_eq!(empty, serde_json::json!([]));
        let mut file = json_chunk(&[row("1")], true, false);
        file.extend(json_chunk(&[], false, true));
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&file)
                .unwrap()
                .as_array()
                .unwrap()
                .len(),
            1
        );
    }
}
