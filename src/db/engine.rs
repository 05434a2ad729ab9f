//! The provisioning engine's tables: the connector data store (`prov_objects`) and the
//! provisioning log (`prov_log`).

use super::Pool;
use sqlx::Row;

#[derive(Debug, Clone)]
pub struct Managed {
    pub target_id: String,
    /// JSON array of {target, value}: what was exported last.
    pub exported: String,
    pub state: String,
}

pub async fn managed(
    pool: &Pool,
    app: &str,
    object_type: &str,
    source_id: &str,
) -> sqlx::Result<Option<Managed>> {
    Ok(sqlx::query(
        "SELECT target_id, exported, state FROM prov_objects WHERE app_id = $1 AND object_type = $2 AND source_id = $3",
    )
    .bind(app)
    .bind(object_type)
    .bind(source_id)
    .fetch_optional(pool)
    .await?
    .map(|r| Managed {
        target_id: r.get(0),
        exported: r.get(1),
        state: r.get(2),
    }))
}

/// A connector data store row: what the target now holds for a source object.
pub struct Remembered<'a> {
    pub app: &'a str,
    pub object_type: &'a str,
    pub source_id: &'a str,
    pub target_id: &'a str,
    pub exported: &'a str,
    pub state: &'a str,
    pub now: &'a str,
}

/// Records what the target now holds for an object.
pub async fn remember(pool: &Pool, r: &Remembered<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO prov_objects (app_id, object_type, source_id, target_id, exported, state, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (app_id, object_type, source_id) DO UPDATE SET target_id = excluded.target_id,
             exported = excluded.exported, state = excluded.state, updated_at = excluded.updated_at",
    )
    .bind(r.app)
    .bind(r.object_type)
    .bind(r.source_id)
    .bind(r.target_id)
    .bind(r.exported)
    .bind(r.state)
    .bind(r.now)
    .execute(pool)
    .await?;
    Ok(())
}

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

pub async fn log(pool: &Pool, e: &LogEntry<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO prov_log (id, app_id, cycle_id, at, duration_ms, object_type, source_id, display_name, target_id,
             action, status, steps, modified, error_code, error_reason, error_action)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
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
    .execute(pool)
    .await?;
    Ok(())
}

/// The newest log entries of an application: (at, display name, action, status, error code).
pub async fn recent_log(
    pool: &Pool,
    app: &str,
    limit: i64,
) -> sqlx::Result<Vec<(String, String, String, String, String)>> {
    let rows = sqlx::query(
        "SELECT at, display_name, action, status, error_code FROM prov_log WHERE app_id = $1 ORDER BY at DESC LIMIT $2",
    )
    .bind(app)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
        .collect())
}
