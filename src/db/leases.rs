//! Provisioning job leases: which instance runs an application's job (see migration
//! 0009_leases). Times are the instances' own clocks in the stored UTC format, so instances
//! sharing a database need synchronised clocks (NTP), as any lease scheme on wall time does.
//!
//! Lease writes queue with the process's other writers ([`super::begin`]): on SQLite a
//! write that bypassed the queue would sleep in the busy handler and lose the lock to queued
//! writers again and again while a cycle keeps the queue busy, until its renewal timed out.

use super::{write, Pool};

/// Takes the lease of `app` for `holder` until `until`, if it is free, expired at `now`, already
/// `holder`'s, or `dead`'s (a holder known to have stopped). True when `holder` has it now.
pub async fn acquire(
    pool: &Pool,
    app: &str,
    holder: &str,
    now: &str,
    until: &str,
    dead: Option<&str>,
) -> sqlx::Result<bool> {
    // When the WHERE refuses the update, the statement changes no row.
    let statement = sqlx::query(
        "INSERT INTO prov_leases (app_id, holder, acquired_at, expires_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (app_id) DO UPDATE SET holder = excluded.holder,
             acquired_at = excluded.acquired_at, expires_at = excluded.expires_at
         WHERE prov_leases.holder = excluded.holder OR prov_leases.expires_at < excluded.acquired_at
             OR prov_leases.holder = $5",
    )
    .bind(app)
    .bind(holder)
    .bind(now)
    .bind(until)
    .bind(dead);
    Ok(write(pool, statement).await? == 1)
}

/// Extends `holder`'s lease; false when it is no longer `holder`'s (it expired and another
/// instance took it), and the work it covered must stop.
pub async fn renew(pool: &Pool, app: &str, holder: &str, until: &str) -> sqlx::Result<bool> {
    let statement = sqlx::query("UPDATE prov_leases SET expires_at = $3 WHERE app_id = $1 AND holder = $2")
        .bind(app)
        .bind(holder)
        .bind(until);
    Ok(write(pool, statement).await? == 1)
}

pub async fn release(pool: &Pool, app: &str, holder: &str) -> sqlx::Result<()> {
    let statement = sqlx::query("DELETE FROM prov_leases WHERE app_id = $1 AND holder = $2")
        .bind(app)
        .bind(holder);
    write(pool, statement).await.map(|_| ())
}

/// The holder of any lease that has not expired at `now`: an instance is running jobs on this
/// database.
pub async fn live_holder(pool: &Pool, now: &str) -> sqlx::Result<Option<String>> {
    use sqlx::Row;
    let row = sqlx::query("SELECT holder FROM prov_leases WHERE expires_at >= $1 LIMIT 1")
        .bind(now)
        .fetch_optional(pool)
        .await?;
    row.map(|r| r.try_get("holder")).transpose()
}
