use super::Pool;
use crate::model::{AuditEntry, AuditFilter};
use sqlx::Row;

/// What one audit record says. Built by `crate::audit`, which is the only writer.
pub struct NewEntry<'a> {
    pub at: &'a str,
    pub actor: &'a str,
    pub action: &'a str,
    pub target: &'a str,
    pub outcome: &'a str,
    pub detail: &'a str,
    pub source_ip: &'a str,
}

pub async fn insert(pool: &Pool, e: &NewEntry<'_>) -> sqlx::Result<()> {
    super::write(
        pool,
        sqlx::query(
            "INSERT INTO audit_log (at, actor, action, target, outcome, detail, source_ip)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(e.at)
        .bind(e.actor)
        .bind(e.action)
        .bind(e.target)
        .bind(e.outcome)
        .bind(e.detail)
        .bind(e.source_ip),
    )
    .await
    .map(|_| ())
}

fn entry_from(r: &crate::db::Row) -> AuditEntry {
    AuditEntry {
        id: r.get("id"),
        at: r.get("at"),
        actor: r.get("actor"),
        action: r.get("action"),
        target: r.get("target"),
        outcome: r.get("outcome"),
        detail: r.get("detail"),
        source_ip: r.get("source_ip"),
    }
}

/// A page of entries older than `before` (newest first), matching the filter. Every filter value is
/// bound as a parameter; absent ones are disabled by `$n IS NULL`. `from`/`to` are stored-form
/// timestamps (inclusive, exclusive).
pub async fn page(
    pool: &Pool,
    filter: &AuditFilter,
    from: Option<&str>,
    to: Option<&str>,
    before: Option<i64>,
    limit: i64,
) -> sqlx::Result<Vec<AuditEntry>> {
    let rows = sqlx::query(
        "SELECT id, at, actor, action, target, outcome, detail, source_ip FROM audit_log
         WHERE ($1 IS NULL OR id < $1)
           AND ($2 IS NULL OR lower(actor) = lower($2))
           AND ($3 IS NULL OR action = $3)
           AND ($4 IS NULL OR outcome = $4)
           AND ($5 IS NULL OR at >= $5)
           AND ($6 IS NULL OR at < $6)
         ORDER BY id DESC
         LIMIT $7",
    )
    .bind(before)
    .bind(filter.actor.as_deref())
    .bind(filter.action.as_deref())
    .bind(filter.outcome.as_deref())
    .bind(from)
    .bind(to)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows.iter().map(entry_from).collect())
}

/// The distinct actions recorded, for the filter's drop-down.
pub async fn actions(pool: &Pool) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar("SELECT DISTINCT action FROM audit_log ORDER BY action")
        .fetch_all(pool)
        .await
}

pub async fn count_since(pool: &Pool, action: &str, outcome: &str, since: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = $1 AND outcome = $2 AND at >= $3")
        .bind(action)
        .bind(outcome)
        .bind(since)
        .fetch_one(pool)
        .await
}

/// Rows deleted per statement by retention, so pruning a long history never holds the write turn
/// for long.
const PRUNE_BATCH: i64 = 5_000;

/// Deletes audit entries older than `before` (retention), a batch at a time; returns how many went.
pub async fn prune(pool: &Pool, before: &str) -> sqlx::Result<u64> {
    super::delete_in_batches(pool, PRUNE_BATCH as u64, || {
        sqlx::query(
            "DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE at < $1 ORDER BY id LIMIT $2)",
        )
        .bind(before)
        .bind(PRUNE_BATCH)
    })
    .await
}
