//! The last drift check of each application (its figures, for Synchronization details) and which
//! applications are due for a scheduled one.

use super::Pool;
use crate::model::{DriftCheck, DriftReport, DRIFT_CHECK_RUNNING};
use sqlx::Row;

/// Records a check's figures (the latest replaces the one before).
pub async fn record(pool: &Pool, app: &str, r: &DriftReport, at: &str) -> sqlx::Result<()> {
    let statement = sqlx::query(
        "INSERT INTO prov_drift_checks (app_id, checked_at, users_read, groups_read, orphans, drifted, missing, error, elapsed_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (app_id) DO UPDATE SET checked_at = excluded.checked_at, users_read = excluded.users_read,
             groups_read = excluded.groups_read, orphans = excluded.orphans, drifted = excluded.drifted,
             missing = excluded.missing, error = excluded.error, elapsed_ms = excluded.elapsed_ms",
    )
    .bind(app)
    .bind(at)
    .bind(r.users_read as i64)
    .bind(r.groups_read as i64)
    .bind(r.orphans_total as i64)
    .bind(r.drifted_total as i64)
    .bind(r.missing_total as i64)
    .bind(&r.error)
    .bind(r.elapsed_ms as i64);
    super::write(pool, statement).await?;
    Ok(())
}

pub async fn last(pool: &Pool, app: &str) -> sqlx::Result<Option<DriftCheck>> {
    let r = sqlx::query(
        "SELECT checked_at, users_read, groups_read, orphans, drifted, missing, error FROM prov_drift_checks WHERE app_id = $1",
    )
    .bind(app)
    .fetch_optional(pool)
    .await?;
    Ok(r.map(|r| DriftCheck {
        checked_at: r.get("checked_at"),
        users_read: r.get("users_read"),
        groups_read: r.get("groups_read"),
        orphans: r.get("orphans"),
        drifted: r.get("drifted"),
        missing: r.get("missing"),
        error: r.get("error"),
    }))
}

/// Applications with scheduled checks whose last check is older than their interval (or that
/// never had one), with that check's time; `ago` gives the time that many hours before now.
pub async fn due(pool: &Pool, ago: impl Fn(i64) -> String) -> sqlx::Result<Vec<(String, Option<String>)>> {
    let rows = sqlx::query(
        "SELECT p.app_id, p.drift_check_hours, c.checked_at FROM app_provisioning p
         LEFT JOIN prov_drift_checks c ON c.app_id = p.app_id
         WHERE p.drift_check_hours > 0 AND p.tenant_url <> ''",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .iter()
        .filter(|r| {
            let checked: Option<String> = r.get("checked_at");
            checked.is_none_or(|c| c < ago(r.get("drift_check_hours")))
        })
        .map(|r| (r.get("app_id"), r.get("checked_at")))
        .collect())
}

/// Claims a due check so that one instance runs it: moves its time to `now` only when it is
/// still the one read (`before`: None when there was none). False when another instance won.
/// The condition is the statement's own (`ON CONFLICT`, `WHERE checked_at = ..`), so the claim
/// needs no lock beyond the row's.
pub async fn claim(pool: &Pool, app: &str, before: Option<&str>, now: &str) -> sqlx::Result<bool> {
    let statement = match before {
        None => sqlx::query(
            "INSERT INTO prov_drift_checks (app_id, checked_at, users_read, groups_read, orphans, drifted, missing, error, elapsed_ms)
             VALUES ($1, $2, 0, 0, 0, 0, 0, $3, 0) ON CONFLICT (app_id) DO NOTHING",
        )
        .bind(app)
        .bind(now)
        .bind(DRIFT_CHECK_RUNNING),
        Some(b) => sqlx::query(
            "UPDATE prov_drift_checks SET checked_at = $3, error = $4 WHERE app_id = $1 AND checked_at = $2",
        )
            .bind(app)
            .bind(b)
            .bind(now)
            .bind(DRIFT_CHECK_RUNNING),
    };
    Ok(super::write(pool, statement).await? == 1)
}
