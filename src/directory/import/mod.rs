//! Importing users and memberships from CSV or JSON lines.
//!
//! All or nothing: every row is validated first (the console shows the result as a preview), and
//! the import runs only when no row has an error. It writes a chunk of rows per transaction, so
//! other writers never wait long behind a large file, and journals what it changed: a failure, or
//! a process that stops mid-import, rolls everything back, so a file is never left half imported
//! (`apply`, `undo`, `run`). At most one import runs at a time. Users are upserted by userPrincipalName: columns that a file leaves out keep their
//! values; an empty cell clears an optional attribute. A `groups` column (names separated by `;`)
//! adds memberships, creating groups that do not exist; it never removes any.

mod apply;
mod plan;
mod read;
mod run;
mod undo;

pub use apply::{apply, ensure_groups};
pub use plan::plan;
pub use read::read;
pub use run::{recover_abandoned, watch, Run};

use super::validate::UserChanges;
use super::DirError;
use crate::db::imports as store;
use crate::db::Pool;
use crate::model::{ImportColumn, ImportError, ImportPreview};
use std::collections::HashMap;

/// The largest file the console accepts (the command line reads any size).
pub const MAX_UPLOAD: usize = 64 * 1024 * 1024;
/// How many errors are listed; the total is always reported.
pub const MAX_LISTED_ERRORS: usize = 100;
const SAMPLE_ROWS: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Users,
    Memberships,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Users => "users",
            Kind::Memberships => "memberships",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "users" => Some(Kind::Users),
            "memberships" => Some(Kind::Memberships),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Jsonl,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Jsonl => "jsonl",
        }
    }

    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "csv" => Some(Format::Csv),
            "jsonl" => Some(Format::Jsonl),
            _ => None,
        }
    }

    /// JSON lines when the name says so or the first non-blank character opens an object.
    pub fn detect(file_name: &str, content: &str) -> Format {
        let lower = file_name.to_ascii_lowercase();
        if lower.ends_with(".jsonl") || lower.ends_with(".ndjson") || lower.ends_with(".json") {
            return Format::Jsonl;
        }
        if lower.ends_with(".csv") {
            return Format::Csv;
        }
        match content.trim_start_matches('\u{feff}').trim_start().chars().next() {
            Some('{') => Format::Jsonl,
            _ => Format::Csv,
        }
    }
}

/// A file read into columns and rows. A cell is `None` when a JSON line leaves its key out.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    pub columns: Vec<String>,
    pub rows: Vec<Row>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// 1-based line of the file where the row starts.
    pub line: usize,
    pub cells: Vec<Option<String>>,
}

/// One user row ready to write.
#[derive(Debug, Clone, PartialEq)]
pub struct UserRow {
    pub line: usize,
    pub changes: UserChanges,
    pub groups: Vec<String>,
}

/// One membership row: group name, member reference, member type.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberRow {
    pub line: usize,
    pub group: String,
    pub member: String,
    pub member_type: &'static str,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Rows {
    Users(Vec<UserRow>),
    Memberships(Vec<MemberRow>),
}

/// What an import will do, found without writing anything.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub columns: Vec<ImportColumn>,
    pub rows: Rows,
    pub creates: usize,
    pub updates: usize,
    pub new_groups: usize,
    pub memberships: usize,
    pub errors: Vec<ImportError>,
}

impl Plan {
    pub fn row_count(&self) -> usize {
        match &self.rows {
            Rows::Users(r) => r.len(),
            Rows::Memberships(r) => r.len(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub groups_created: usize,
    pub memberships_added: usize,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} users created, {} updated, {} unchanged; {} groups created; {} memberships added",
            self.created, self.updated, self.unchanged, self.groups_created, self.memberships_added
        )
    }
}

/// Why an import stopped: the row and what was wrong. What it had written was rolled back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct Failed {
    pub line: usize,
    pub message: String,
}

impl Failed {
    fn at(line: usize, e: DirError) -> Failed {
        let message = match e {
            DirError::Invalid { field, message } => format!("{field}: {message}"),
            DirError::Db(e) => {
                tracing::error!(error = %e, "database error during an import");
                "a database error stopped the import".into()
            }
            other => other.to_string(),
        };
        Failed { line, message }
    }
}

/// The preview the console shows for a staged file.
pub fn preview(
    id: &str,
    kind: Kind,
    file_name: &str,
    format: Format,
    table: &Table,
    plan: &Plan,
) -> ImportPreview {
    ImportPreview {
        id: id.to_string(),
        kind: kind.as_str().to_string(),
        file_name: file_name.to_string(),
        format: format.as_str().to_string(),
        columns: plan.columns.clone(),
        sample: table
            .rows
            .iter()
            .take(SAMPLE_ROWS)
            .map(|r| r.cells.iter().map(|c| c.clone().unwrap_or_default()).collect())
            .collect(),
        rows: table.rows.len(),
        creates: plan.creates,
        updates: plan.updates,
        new_groups: plan.new_groups,
        memberships: plan.memberships,
        errors: plan.errors.iter().take(MAX_LISTED_ERRORS).cloned().collect(),
        error_total: plan.errors.len(),
        status: "staged".into(),
        result: String::new(),
        progress: None,
    }
}

/// Reads and validates an uploaded file and keeps it with its preview until the admin confirms
/// or discards it; returns the import's id.
pub async fn stage(
    pool: &Pool,
    kind: Kind,
    file_name: &str,
    content: &str,
    actor: &str,
) -> Result<String, DirError> {
    let format = Format::detect(file_name, content);
    let (table, errors) = read(format, content);
    let plan = plan(pool, kind, &table, errors).await?;
    let id = crate::ids::new();
    let p = preview(&id, kind, file_name, format, &table, &plan);
    let json = serde_json::to_string(&p).unwrap_or_default();
    let now = crate::timefmt::now();
    store::tidy_imports(pool, &crate::timefmt::ago(time::Duration::days(1))).await?;
    store::stage_import(
        pool,
        &id,
        kind.as_str(),
        file_name,
        format.as_str(),
        content,
        actor,
        &now,
        &json,
    )
    .await?;
    Ok(id)
}

/// Starts a staged import in the background. The file is validated again first, because the
/// directory may have changed since the preview.
pub async fn start_staged(
    pool: &Pool,
    progress: std::sync::Arc<Progress>,
    id: &str,
    actor: crate::audit::Actor,
) -> Result<(), DirError> {
    let staged = store::staged_import(pool, id)
        .await?
        .ok_or_else(|| DirError::NotFound("there is no such import".into()))?;
    let run = Run::claim_staged(pool, &staged).await?;
    let (pool, id) = (pool.clone(), id.to_string());
    progress.set(&id, 0, 1);
    tokio::spawn(async move {
        let kind = Kind::parse(&staged.kind).unwrap_or(Kind::Users);
        let format = Format::parse(&staged.format).unwrap_or(Format::Csv);
        let (table, errors) = read(format, &staged.content);
        let outcome = match plan(&pool, kind, &table, errors).await {
            Ok(plan) => {
                let (p, pid) = (progress.clone(), id.clone());
                let report = move |done, total| p.set(&pid, done, total);
                apply(&run, &pool, &plan, &report)
                    .await
                    .map_err(|e| e.to_string())
            }
            Err(e) => Err(e.to_string()),
        };
        let (done, outcome_text, audit_outcome) = match &outcome {
            Ok(s) => (true, format!("Imported: {s}."), crate::audit::Outcome::Success),
            Err(e) => (
                false,
                format!("Nothing was imported. {e}"),
                crate::audit::Outcome::Failure,
            ),
        };
        run.finish(&pool, done, &outcome_text).await;
        progress.finish(&id);
        crate::audit::record(
            &pool,
            &actor,
            "directory.import",
            &staged.file_name,
            audit_outcome,
            &outcome_text,
        )
        .await;
    });
    Ok(())
}

/// Progress of running imports, by import id, for the console's progress bar.
#[derive(Default)]
pub struct Progress(std::sync::Mutex<HashMap<String, (u64, u64)>>);

impl Progress {
    pub fn set(&self, id: &str, done: u64, total: u64) {
        if let Ok(mut m) = self.0.lock() {
            m.insert(id.to_string(), (done, total));
        }
    }

    pub fn get(&self, id: &str) -> Option<(u64, u64)> {
        self.0.lock().ok()?.get(id).copied()
    }

    pub fn finish(&self, id: &str) {
        if let Ok(mut m) = self.0.lock() {
            m.remove(id);
        }
    }
}
