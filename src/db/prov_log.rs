//! The provisioning log (`prov_log`): one entry per object a cycle or provision on demand looked
//! at. The connector data store is in `links`.

use super::Pool;
use crate::db::directory::contains_pattern;
use crate::db::sql::Sql;
use crate::model::{ProvisionLogFilter, ProvisionLogRow};
use sqlx::Row;

pub struct LogEntry<'a> {
    pub id: &'a str,
    pub app: &'a str,
    pub cycle_id: Option<&'a str>,
    pub at: &'a str,
    pub duration_ms: i64,
    pub object_type: &'a str,
    pub source_id: &'a str,
    pub display_name: &'a str,
    pub target_id: &'a str,
    pub action: &'a str,
    pub status: &'a str,
    pub steps: &'a str,
    pub modified: &'a str,
    pub error_code: &'a str,
    pub error_reason: &'a str,
    pub error_action: &'a str,
}

pub async fn log(db: impl sqlx::Executor<'_, Database = sqlx::Any>, e: &LogEntry<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO prov_log (id, app_id, cycle_id, at, duration_ms, object_type, source_id, display_name, target_id,
             action, status, steps, modified, error_code, error_reason, error_action, display_fold)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
    )
    .bind(e.id)
    .bind(e.app)
    .bind(e.cycle_id)
    .bind(e.at)
    .bind(e.duration_ms)
    .bind(e.object_type)
    .bind(e.source_id)
    .bind(e.display_name)
    .bind(e.target_id)
    .bind(e.action)
    .bind(e.status)
    .bind(e.steps)
    .bind(e.modified)
    .bind(e.error_code)
    .bind(e.error_reason)
    .bind(e.error_action)
    .bind(crate::mapping::text::search_fold(e.display_name))
    .execute(db)
    .await?;
    Ok(())
}

const LOG_COLS: &str = "l.id, l.app_id, a.name AS app_name, l.cycle_id, l.at, l.duration_ms, l.object_type,
    l.display_name, l.source_id, l.target_id, l.action, l.status, l.error_code";

fn log_row(r: &crate::db::Row) -> ProvisionLogRow {
    ProvisionLogRow {
        id: r.get("id"),
        app_id: r.get("app_id"),
        app_name: r.get("app_name"),
        cycle_id: r.get("cycle_id"),
        at: r.get("at"),
        duration_ms: r.get("duration_ms"),
        object_type: r.get("object_type"),
        display_name: r.get("display_name"),
        source_id: r.get("source_id"),
        target_id: r.get("target_id"),
        action: r.get("action"),
        status: r.get("status"),
        error_code: r.get("error_code"),
    }
}

/// A page of log entries matching `f`, newest first, older than the cursor `before` ("at|id").
pub async fn log_page(
    pool: &Pool,
    f: &ProvisionLogFilter,
    before: Option<&str>,
    limit: i64,
) -> sqlx::Result<Vec<ProvisionLogRow>> {
    let mut qb = Sql::new(format!(
        "SELECT {LOG_COLS} FROM prov_log l JOIN apps a ON a.id = l.app_id WHERE 1 = 1"
    ));
    let mut eq = |col: &str, v: &str| {
        if !v.is_empty() {
            qb.push(format!(" AND {col} = ")).push_bind(v.to_string());
        }
    };
    eq("l.app_id", &f.app);
    eq("l.action", &f.action);
    eq("l.status", &f.status);
    eq("l.cycle_id", &f.cycle);
    if !f.identity.is_empty() {
        // Any part of the name, ignoring case and accents (entries from before the folded column
        // by their lower-cased name), or the source or target id exactly.
        let folded = contains_pattern(&crate::mapping::text::search_fold(&f.identity));
        let lowered = contains_pattern(&f.identity.to_lowercase());
        qb.push(" AND (l.display_fold LIKE ")
            .push_bind(folded)
            .push(" ESCAPE '\\' OR (l.display_fold IS NULL AND lower(l.display_name) LIKE ")
            .push_bind(lowered)
            .push(" ESCAPE '\\') OR l.source_id = ")
            .push_bind(f.identity.clone())
            .push(" OR l.target_id = ")
            .push_bind(f.identity.clone())
            .push(")");
    }
    if !f.from.is_empty() {
        qb.push(" AND l.at >= ").push_bind(f.from.clone());
    }
    if !f.to.is_empty() {
        qb.push(" AND l.at < ").push_bind(format!("{}T99", f.to));
    }
    if let Some((at, id)) = before.and_then(|b| b.split_once('|')) {
        qb.push(" AND (l.at, l.id) < (")
            .push_bind(at.to_string())
            .push(", ")
            .push_bind(id.to_string())
            .push(")");
    }
    qb.push(" ORDER BY l.at DESC, l.id DESC LIMIT ").push_bind(limit);
    Ok(qb.build().fetch_all(pool).await?.iter().map(log_row).collect())
}

pub async fn log_entry(
    pool: &Pool,
    id: &str,
) -> sqlx::Result<Option<(ProvisionLogRow, String, String, String, String)>> {
    Ok(sqlx::query(&format!(
        "SELECT {LOG_COLS}, l.steps, l.modified, l.error_reason, l.error_action
         FROM prov_log l JOIN apps a ON a.id = l.app_id WHERE l.id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await?
    .map(|r| {
        (
            log_row(&r),
            r.get("steps"),
            r.get("modified"),
            r.get("error_reason"),
            r.get("error_action"),
        )
    }))
}

/// How many objects `app`'s cycles disabled or deleted since `since`: what the accidental-deletion
/// threshold counts besides the running cycle's own, so deletions that arrive a few at a time
/// (one small cycle each) trip it as one large cycle would. Provision on demand is not counted.
pub async fn recent_deprovisions(pool: &Pool, app: &str, since: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT count(*) FROM prov_log WHERE app_id = $1 AND at >= $2 AND cycle_id IS NOT NULL
         AND action IN ('Disable', 'Delete') AND status = 'Success'",
    )
    .bind(app)
    .bind(since)
    .fetch_one(pool)
    .await
}

/// Deletes log entries older than `before` (retention); returns how many went.
/// Accounts not managed by Provisio that an administrator disabled or deleted since `since`
/// (entries without a cycle or a directory object).
pub async fn recent_orphan_removals(pool: &Pool, app: &str, since: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT count(*) FROM prov_log WHERE app_id = $1 AND at >= $2 AND cycle_id IS NULL AND source_id = ''
         AND action IN ('Disable', 'Delete') AND status = 'Success'",
    )
    .bind(app)
    .bind(since)
    .fetch_one(pool)
    .await
}

pub async fn prune_log(pool: &Pool, before: &str) -> sqlx::Result<u64> {
    super::write(
        pool,
        sqlx::query("DELETE FROM prov_log WHERE at < $1").bind(before),
    )
    .await
}

/// Owned fields of a provisioning log entry.
#[derive(Debug, Clone)]
pub struct LogWrite {
    pub id: String,
    pub at: String,
    pub duration_ms: i64,
    pub object_type: crate::db::vocab::ObjectType,
    pub source_id: String,
    pub display_name: String,
    pub target_id: String,
    pub action: &'static str,
    pub status: &'static str,
    pub steps: String,
    pub modified: String,
    pub error_code: String,
    pub error_reason: String,
    pub error_action: String,
}

/// Writes an entry a cycle (`cycle`) or provision on demand (None) made.
pub async fn write(conn: &mut super::Conn, app: &str, cycle: Option<&str>, l: &LogWrite) -> sqlx::Result<()> {
    log(
        conn,
        &LogEntry {
            id: &l.id,
            app,
            cycle_id: cycle,
            at: &l.at,
            duration_ms: l.duration_ms,
            object_type: l.object_type.as_str(),
            source_id: &l.source_id,
            display_name: &l.display_name,
            target_id: &l.target_id,
            action: l.action,
            status: l.status,
            steps: &l.steps,
            modified: &l.modified,
            error_code: &l.error_code,
            error_reason: &l.error_reason,
            error_action: &l.error_action,
        },
    )
    .await
}
