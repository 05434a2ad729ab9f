//! What an application's provisioning health is judged by (see `provisioning::health`), for one
//! application or all of them in one query.

use super::vocab::{optional_column, CycleState, JobState};
use super::Pool;
use sqlx::Row;

#[derive(Debug, Clone, PartialEq)]
pub struct HealthRow {
    pub app_id: String,
    pub app_name: String,
    /// Provisioning Status On.
    pub status_on: bool,
    /// Provisioning Mode Automatic.
    pub automatic: bool,
    /// None until the job first runs.
    pub job_state: Option<JobState>,
    pub quarantine_reason: String,
    /// The last completed cycle.
    pub last_state: Option<CycleState>,
    pub last_ended_at: Option<String>,
    pub last_failed: i64,
    pub last_error: String,
    /// A cycle is running now.
    pub running: bool,
    pub escrowed: i64,
}

const HEALTH_SELECT: &str =
    "SELECT a.id AS app_id, a.name AS app_name, a.provisioning_status, COALESCE(p.mode, 'manual') AS mode,
        j.state AS job_state, COALESCE(j.quarantine_reason, '') AS quarantine_reason,
        c.state AS last_state, c.ended_at AS last_ended_at,
        CAST(COALESCE(c.failed, 0) AS BIGINT) AS last_failed, COALESCE(c.error, '') AS last_error,
        (SELECT count(*) FROM prov_cycles r WHERE r.app_id = a.id AND r.ended_at IS NULL) AS running,
        (SELECT count(*) FROM prov_escrows e WHERE e.app_id = a.id) AS escrowed
     FROM apps a
     LEFT JOIN app_provisioning p ON p.app_id = a.id
     LEFT JOIN prov_jobs j ON j.app_id = a.id
     LEFT JOIN prov_cycles c ON c.id = (
         SELECT l.id FROM prov_cycles l WHERE l.app_id = a.id AND l.ended_at IS NOT NULL
         ORDER BY l.began_at DESC, l.id DESC LIMIT 1)";

fn health_from(r: &crate::db::Row) -> sqlx::Result<HealthRow> {
    Ok(HealthRow {
        app_id: r.get("app_id"),
        app_name: r.get("app_name"),
        status_on: r.get::<String, _>("provisioning_status") == "on",
        automatic: r.get::<String, _>("mode") == "automatic",
        job_state: optional_column(r, "job_state")?,
        quarantine_reason: r.get("quarantine_reason"),
        last_state: optional_column(r, "last_state")?,
        last_ended_at: r.get("last_ended_at"),
        last_failed: r.get("last_failed"),
        last_error: r.get("last_error"),
        running: r.get::<i64, _>("running") > 0,
        escrowed: r.get("escrowed"),
    })
}

/// Every application's.
pub async fn all(pool: &Pool) -> sqlx::Result<Vec<HealthRow>> {
    sqlx::query(HEALTH_SELECT)
        .fetch_all(pool)
        .await?
        .iter()
        .map(health_from)
        .collect()
}

/// One application's (None: no such application).
pub async fn one(pool: &Pool, app: &str) -> sqlx::Result<Option<HealthRow>> {
    sqlx::query(&format!("{HEALTH_SELECT} WHERE a.id = $1"))
        .bind(app)
        .fetch_optional(pool)
        .await?
        .as_ref()
        .map(health_from)
        .transpose()
}
