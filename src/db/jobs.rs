//! Provisioning jobs: their state, schedules, quarantine and restarts. Cycles are in `cycles`,
//! what a cycle reads of the directory in `sources`, escrows in `escrows`.

use super::vocab::{column, optional_column, JobState};
use super::{Exclusive, Pool};
use sqlx::Row;

#[derive(Debug, Clone)]
pub struct JobRow {
    pub app_id: String,
    pub job_id: String,
    pub state: JobState,
    pub watermark: Option<i64>,
    pub quarantine_reason: String,
    pub quarantine_since: Option<String>,
    pub next_attempt: Option<String>,
    pub force_deletes: bool,
    pub initial_requested: bool,
    pub last_notified_reason: String,
    /// Restart requests so far; a cycle completes only the requests it saw when it started.
    pub requests: i64,
}

fn job_from(r: &crate::db::Row) -> sqlx::Result<JobRow> {
    Ok(JobRow {
        app_id: r.get("app_id"),
        job_id: r.get("job_id"),
        state: column(r, "state")?,
        watermark: r.get("watermark"),
        quarantine_reason: r.get("quarantine_reason"),
        quarantine_since: r.get("quarantine_since"),
        next_attempt: r.get("next_attempt"),
        force_deletes: r.get::<i64, _>("force_deletes") != 0,
        initial_requested: r.get::<i64, _>("initial_requested") != 0,
        last_notified_reason: r.get("last_notified_reason"),
        requests: r.get("requests"),
    })
}

pub async fn job(pool: &Pool, app: &str) -> sqlx::Result<Option<JobRow>> {
    sqlx::query("SELECT * FROM prov_jobs WHERE app_id = $1")
        .bind(app)
        .fetch_optional(pool)
        .await?
        .as_ref()
        .map(job_from)
        .transpose()
}

/// The job of `app`, created (needing an initial cycle) when it has none yet.
pub async fn ensure_job(pool: &Pool, app: &str, job_id: &str, now: &str) -> sqlx::Result<JobRow> {
    let statement = sqlx::query(
        "INSERT INTO prov_jobs (app_id, job_id, updated_at) VALUES ($1, $2, $3) ON CONFLICT (app_id) DO NOTHING",
    )
    .bind(app)
    .bind(job_id)
    .bind(now);
    super::write_in(pool, Exclusive::App(app), statement).await?;
    job(pool, app).await?.ok_or(sqlx::Error::RowNotFound)
}

/// Every application with what decides when its job runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    pub app_id: String,
    /// Provisioning Status On in Automatic mode.
    pub on: bool,
    /// config_version > initial_cycle_version: mappings or scoping changed.
    pub config_ahead: bool,
    pub interval_minutes: i64,
    /// The job's state; None when it never ran.
    pub state: Option<JobState>,
    pub watermark: Option<i64>,
    pub initial_requested: bool,
    pub next_attempt: Option<String>,
    /// The earliest escrow retry due.
    pub next_escrow: Option<String>,
    /// When the job's latest cycle ended, on whichever instance ran it (None while it runs).
    pub last_ended: Option<String>,
    /// The instance holding the job's lease, when it is unexpired at the `now` asked for.
    pub leased_to: Option<String>,
}

/// Every application's schedule, with the job leases live at `now`.
pub async fn schedules(pool: &Pool, now: &str) -> sqlx::Result<Vec<Schedule>> {
    let rows = sqlx::query(
        "SELECT a.id AS app_id, CASE WHEN a.provisioning_status = 'on' AND p.mode = 'automatic' THEN 1 ELSE 0 END AS is_on,
                CASE WHEN p.config_version > p.initial_cycle_version THEN 1 ELSE 0 END AS config_ahead, p.interval_minutes,
                j.state, j.watermark, COALESCE(j.initial_requested, 1) AS initial_requested, j.next_attempt,
                (SELECT min(e.next_at) FROM prov_escrows e WHERE e.app_id = a.id) AS next_escrow,
                (SELECT c.ended_at FROM prov_cycles c WHERE c.app_id = a.id ORDER BY c.began_at DESC LIMIT 1) AS last_ended,
                l.holder AS leased_to
         FROM apps a JOIN app_provisioning p ON p.app_id = a.id
         LEFT JOIN prov_jobs j ON j.app_id = a.id
         LEFT JOIN prov_leases l ON l.app_id = a.id AND l.expires_at >= $1 ORDER BY a.id",
    )
    .bind(now)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Schedule {
                app_id: r.get("app_id"),
                on: r.get::<i64, _>("is_on") != 0,
                config_ahead: r.get::<i64, _>("config_ahead") != 0,
                interval_minutes: r.get("interval_minutes"),
                state: optional_column(r, "state")?,
                watermark: r.get("watermark"),
                initial_requested: r.get::<i64, _>("initial_requested") != 0,
                next_attempt: r.get("next_attempt"),
                next_escrow: r.get("next_escrow"),
                last_ended: r.get("last_ended"),
                leased_to: r.get("leased_to"),
            })
        })
        .collect()
}

/// The configuration version an initial cycle starting now evaluates.
pub async fn config_version(pool: &Pool, app: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT config_version FROM app_provisioning WHERE app_id = $1")
        .bind(app)
        .fetch_one(pool)
        .await
}

pub async fn set_state(pool: &Pool, app: &str, state: JobState, now: &str) -> sqlx::Result<()> {
    super::write_in(
        pool,
        Exclusive::App(app),
        sqlx::query("UPDATE prov_jobs SET state = $2, updated_at = $3 WHERE app_id = $1")
            .bind(app)
            .bind(state.as_str())
            .bind(now),
    )
    .await?;
    Ok(())
}

/// Ends a cycle's effect on the job: the new watermark (and, after an initial cycle, the
/// configuration version it evaluated), in one transaction with the cycle's end. `requests` is the
/// job's count of restart requests when the cycle started: when a restart (or Allow deletes) came
/// while it ran, the cycle's end changes neither the watermark nor the requested flags, so the
/// request is carried out by the next cycle instead of being silently cleared.
pub async fn complete_cycle(
    pool: &Pool,
    app: &str,
    watermark: i64,
    initial_of_version: Option<i64>,
    requests: i64,
    now: &str,
) -> sqlx::Result<()> {
    let mut tx = super::begin(pool, Exclusive::App(app)).await?;
    let current = sqlx::query(
        "UPDATE prov_jobs SET watermark = $2, updated_at = $3 WHERE app_id = $1 AND requests = $4",
    )
    .bind(app)
    .bind(watermark)
    .bind(now)
    .bind(requests)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if !current {
        tracing::info!(
            app,
            "a restart was requested while the cycle ran: the next cycle carries it out"
        );
    }
    if let (Some(v), true) = (initial_of_version, current) {
        sqlx::query("UPDATE prov_jobs SET initial_requested = 0, force_deletes = 0 WHERE app_id = $1")
            .bind(app)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE app_provisioning SET initial_cycle_version = CASE WHEN initial_cycle_version > $2 THEN initial_cycle_version ELSE $2 END WHERE app_id = $1",
        )
        .bind(app)
        .bind(v)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}

/// Quarantines the job until `next_attempt`, unless its configuration changed after the cycle
/// that failed loaded it (`loaded`, the configuration's `updated_at` then): new credentials
/// saved while that cycle ran deserve a try now, not after the back-off.
pub async fn quarantine(
    pool: &Pool,
    app: &str,
    reason: &str,
    next_attempt: &str,
    now: &str,
    loaded: &str,
) -> sqlx::Result<()> {
    // In the write queue: the configuration's save (and its retry) and this are serialised.
    let statement = sqlx::query(
        "UPDATE prov_jobs SET state = 'Quarantine', quarantine_reason = $2,
             quarantine_since = COALESCE(quarantine_since, $4), updated_at = $4,
             next_attempt = CASE
                 WHEN (SELECT p.updated_at FROM app_provisioning p WHERE p.app_id = $1) <> $5 THEN $4
                 ELSE $3 END
         WHERE app_id = $1",
    )
    .bind(app)
    .bind(reason)
    .bind(next_attempt)
    .bind(now)
    .bind(loaded);
    super::write_in(pool, Exclusive::App(app), statement)
        .await
        .map(|_| ())
}

/// The next cycle is an initial cycle.
pub async fn request_initial(pool: &Pool, app: &str) -> sqlx::Result<()> {
    super::write_in(
        pool,
        Exclusive::App(app),
        sqlx::query("UPDATE prov_jobs SET initial_requested = 1, requests = requests + 1 WHERE app_id = $1")
            .bind(app),
    )
    .await?;
    Ok(())
}

/// A job quarantined for its credentials tries again at once (they were just changed). Runs in
/// the transaction that saves them: a cycle that fails with the new credentials after the commit
/// must keep its quarantine.
pub async fn retry_credentials_now(conn: &mut crate::db::Conn, app: &str, now: &str) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE prov_jobs SET next_attempt = $2
         WHERE app_id = $1 AND state = 'Quarantine' AND quarantine_reason = 'EncounteredQuarantineException'",
    )
    .bind(app)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn leave_quarantine(pool: &Pool, app: &str, now: &str) -> sqlx::Result<()> {
    super::write_in(
        pool,
        Exclusive::App(app),
        sqlx::query(
            "UPDATE prov_jobs SET state = 'Active', quarantine_reason = '', quarantine_since = NULL,
             next_attempt = NULL, last_notified_reason = '', updated_at = $2
         WHERE app_id = $1",
        )
        .bind(app)
        .bind(now),
    )
    .await?;
    Ok(())
}

/// Records that the quarantine email for `reason` was queued, so it is sent once per reason.
pub async fn set_notified(pool: &Pool, app: &str, reason: &str) -> sqlx::Result<()> {
    super::write_in(
        pool,
        Exclusive::App(app),
        sqlx::query("UPDATE prov_jobs SET last_notified_reason = $2 WHERE app_id = $1")
            .bind(app)
            .bind(reason),
    )
    .await?;
    Ok(())
}

/// Restart provisioning with Graph's resetScope options.
pub struct Reset {
    pub watermark: bool,
    pub escrows: bool,
    pub quarantine: bool,
    /// Forget the links to target objects (the connector data store).
    pub full: bool,
    pub force_deletes: bool,
}

/// Records a restart. `leased`: the caller holds the job's lease (no cycle runs), so a Full reset
/// sets the links aside now; otherwise that part waits for the next cycle's start
/// ([`apply_pending_full_reset`]).
pub async fn restart(
    pool: &Pool,
    app: &str,
    r: &Reset,
    job_id: &str,
    now: &str,
    leased: bool,
) -> sqlx::Result<()> {
    let mut tx = super::begin(pool, Exclusive::App(app)).await?;
    sqlx::query(
        "INSERT INTO prov_jobs (app_id, job_id, updated_at) VALUES ($1, $2, $3) ON CONFLICT (app_id) DO NOTHING",
    )
    .bind(app)
    .bind(job_id)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    if r.watermark || r.full {
        sqlx::query("UPDATE prov_jobs SET watermark = NULL, initial_requested = 1 WHERE app_id = $1")
            .bind(app)
            .execute(&mut *tx)
            .await?;
    }
    if r.escrows || r.full {
        sqlx::query("DELETE FROM prov_escrows WHERE app_id = $1")
            .bind(app)
            .execute(&mut *tx)
            .await?;
    }
    if r.quarantine || r.full || r.force_deletes {
        sqlx::query(
            "UPDATE prov_jobs SET state = 'Active', quarantine_reason = '', quarantine_since = NULL,
                 next_attempt = NULL, last_notified_reason = '' WHERE app_id = $1",
        )
        .bind(app)
        .execute(&mut *tx)
        .await?;
    }
    if r.full && leased {
        super::links::set_aside(&mut tx, app).await?;
        super::adaptations::forget(&mut tx, app).await?;
    } else if r.full {
        sqlx::query("UPDATE prov_jobs SET full_reset_pending = 1 WHERE app_id = $1")
            .bind(app)
            .execute(&mut *tx)
            .await?;
    }
    if r.force_deletes {
        sqlx::query("UPDATE prov_jobs SET force_deletes = 1, initial_requested = 1 WHERE app_id = $1")
            .bind(app)
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query("UPDATE prov_jobs SET updated_at = $2, requests = requests + 1 WHERE app_id = $1")
        .bind(app)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

/// At a cycle's start (under the job's lease): a Full reset asked for while the previous cycle
/// ran sets the links aside and forgets what was learned now. Returns whether one was pending.
pub async fn apply_pending_full_reset(pool: &Pool, app: &str) -> sqlx::Result<bool> {
    let pending: Option<i64> =
        sqlx::query_scalar("SELECT full_reset_pending FROM prov_jobs WHERE app_id = $1")
            .bind(app)
            .fetch_optional(pool)
            .await?;
    if pending.unwrap_or(0) == 0 {
        return Ok(false);
    }
    let mut tx = super::begin(pool, Exclusive::App(app)).await?;
    super::links::set_aside(&mut tx, app).await?;
    super::adaptations::forget(&mut tx, app).await?;
    sqlx::query("UPDATE prov_jobs SET full_reset_pending = 0 WHERE app_id = $1")
        .bind(app)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(true)
}
