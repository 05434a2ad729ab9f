//! Provisioning jobs, cycles and escrows, and the bulk reads a cycle makes: the directory in
//! pages, an application's assignments and the connector data store.

use super::directory::UserRecord;
use super::engine::LogEntry;
use super::links::Remembered;
use super::Pool;
use crate::db::sql::Sql;
use sqlx::Row;

#[derive(Debug, Clone, Default)]
pub struct JobRow {
    pub app_id: String,
    pub job_id: String,
    pub state: String,
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

fn job_from(r: &crate::db::Row) -> JobRow {
    JobRow {
        app_id: r.get("app_id"),
        job_id: r.get("job_id"),
        state: r.get("state"),
        watermark: r.get("watermark"),
        quarantine_reason: r.get("quarantine_reason"),
        quarantine_since: r.get("quarantine_since"),
        next_attempt: r.get("next_attempt"),
        force_deletes: r.get::<i64, _>("force_deletes") != 0,
        initial_requested: r.get::<i64, _>("initial_requested") != 0,
        last_notified_reason: r.get("last_notified_reason"),
        requests: r.get("requests"),
    }
}

pub async fn job(pool: &Pool, app: &str) -> sqlx::Result<Option<JobRow>> {
    Ok(sqlx::query("SELECT * FROM prov_jobs WHERE app_id = $1")
        .bind(app)
        .fetch_optional(pool)
        .await?
        .as_ref()
        .map(job_from))
}

/// The job of `app`, created (needing an initial cycle) when it has none yet.
pub async fn ensure_job(pool: &Pool, app: &str, job_id: &str, now: &str) -> sqlx::Result<JobRow> {
    let statement = sqlx::query(
        "INSERT INTO prov_jobs (app_id, job_id, updated_at) VALUES ($1, $2, $3) ON CONFLICT (app_id) DO NOTHING",
    )
    .bind(app)
    .bind(job_id)
    .bind(now);
    super::write(pool, statement).await?;
    Ok(job(pool, app).await?.unwrap_or_default())
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
    /// The job's state; empty when it never ran.
    pub state: String,
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
        "SELECT a.id, CASE WHEN a.provisioning_status = 'on' AND p.mode = 'automatic' THEN 1 ELSE 0 END,
                CASE WHEN p.config_version > p.initial_cycle_version THEN 1 ELSE 0 END, p.interval_minutes,
                COALESCE(j.state, ''), j.watermark, COALESCE(j.initial_requested, 1), j.next_attempt,
                (SELECT min(e.next_at) FROM prov_escrows e WHERE e.app_id = a.id),
                (SELECT c.ended_at FROM prov_cycles c WHERE c.app_id = a.id ORDER BY c.began_at DESC LIMIT 1),
                l.holder
         FROM apps a JOIN app_provisioning p ON p.app_id = a.id
         LEFT JOIN prov_jobs j ON j.app_id = a.id
         LEFT JOIN prov_leases l ON l.app_id = a.id AND l.expires_at >= $1 ORDER BY a.id",
    )
    .bind(now)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| Schedule {
            app_id: r.get(0),
            on: r.get::<i64, _>(1) != 0,
            config_ahead: r.get::<i64, _>(2) != 0,
            interval_minutes: r.get(3),
            state: r.get(4),
            watermark: r.get(5),
            initial_requested: r.get::<i64, _>(6) != 0,
            next_attempt: r.get(7),
            next_escrow: r.get(8),
            last_ended: r.get(9),
            leased_to: r.get(10),
        })
        .collect())
}

/// The configuration version an initial cycle starting now evaluates.
pub async fn config_version(pool: &Pool, app: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT config_version FROM app_provisioning WHERE app_id = $1")
        .bind(app)
        .fetch_one(pool)
        .await
}

pub async fn set_state(pool: &Pool, app: &str, state: &str, now: &str) -> sqlx::Result<()> {
    super::write(
        pool,
        sqlx::query("UPDATE prov_jobs SET state = $2, updated_at = $3 WHERE app_id = $1")
            .bind(app)
            .bind(state)
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
    let mut tx = super::begin(pool).await?;
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
    super::write(pool, statement).await.map(|_| ())
}

/// The next cycle is an initial cycle.
pub async fn request_initial(pool: &Pool, app: &str) -> sqlx::Result<()> {
    super::write(
        pool,
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
    super::write(
        pool,
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
    super::write(
        pool,
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

pub async fn restart(pool: &Pool, app: &str, r: &Reset, job_id: &str, now: &str) -> sqlx::Result<()> {
    let mut tx = super::begin(pool).await?;
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
    if r.full {
        super::links::set_aside(&mut tx, app).await?;
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

// ---- cycles ----

/// A cycle's counters, as recorded and shown.
pub use crate::model::CycleCounts as Counters;

#[derive(Debug, Clone, Default)]
pub struct CycleRow {
    pub id: String,
    pub app_id: String,
    pub kind: String,
    pub began_at: String,
    pub ended_at: Option<String>,
    pub state: String,
    pub counters: Counters,
    pub error: String,
}

pub async fn start_cycle(pool: &Pool, id: &str, app: &str, kind: &str, now: &str) -> sqlx::Result<()> {
    super::write(
        pool,
        sqlx::query("INSERT INTO prov_cycles (id, app_id, kind, began_at) VALUES ($1, $2, $3, $4)")
            .bind(id)
            .bind(app)
            .bind(kind)
            .bind(now),
    )
    .await?;
    Ok(())
}

async fn write_counters(conn: &mut crate::db::Conn, id: &str, c: &Counters) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE prov_cycles SET total = $2, processed = $3, imported = $4, entitled = $5, created = $6,
             updated = $7, disabled = $8, deleted = $9, skipped = $10, failed = $11, staged = $12
         WHERE id = $1",
    )
    .bind(id)
    .bind(c.total)
    .bind(c.processed)
    .bind(c.imported)
    .bind(c.entitled)
    .bind(c.created)
    .bind(c.updated)
    .bind(c.disabled)
    .bind(c.deleted)
    .bind(c.skipped)
    .bind(c.failed)
    .bind(c.staged)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn end_cycle(
    pool: &Pool,
    id: &str,
    c: &Counters,
    state: &str,
    error: &str,
    now: &str,
) -> sqlx::Result<()> {
    let mut tx = super::begin(pool).await?;
    write_counters(&mut tx, id, c).await?;
    sqlx::query("UPDATE prov_cycles SET state = $2, error = $3, ended_at = $4 WHERE id = $1")
        .bind(id)
        .bind(state)
        .bind(error)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

/// Ended cycles older than `before` go (retention).
pub async fn prune_cycles(pool: &Pool, before: &str) -> sqlx::Result<u64> {
    let statement =
        sqlx::query("DELETE FROM prov_cycles WHERE ended_at IS NOT NULL AND ended_at < $1").bind(before);
    super::write(pool, statement).await
}

/// Cycles that were running when the process stopped: marked Failed at start-up.
/// Ends the cycles left Running by an instance that stopped: those whose job lease is not held
/// at `now` (another instance's running cycle keeps its lease alive), or, with `app`, that
/// application's, which the caller has just leased.
pub async fn abandon_running(pool: &Pool, app: Option<&str>, now: &str) -> sqlx::Result<u64> {
    let done = match app {
        Some(app) => {
            super::write(
                pool,
                sqlx::query(&format!("{ABANDON} WHERE state = 'Running' AND app_id = $2"))
                    .bind(now)
                    .bind(app),
            )
            .await?
        }
        None => {
            super::write(
                pool,
                sqlx::query(&format!(
                    "{ABANDON} WHERE state = 'Running' AND NOT EXISTS
                 (SELECT 1 FROM prov_leases l WHERE l.app_id = prov_cycles.app_id AND l.expires_at >= $1)"
                ))
                .bind(now),
            )
            .await?
        }
    };
    Ok(done)
}

const ABANDON: &str = "UPDATE prov_cycles SET state = 'Failed', ended_at = $1,
    error = 'provisio stopped during the cycle; the next cycle repeats its work'";

fn cycle_from(r: &crate::db::Row) -> CycleRow {
    CycleRow {
        id: r.get("id"),
        app_id: r.get("app_id"),
        kind: r.get("kind"),
        began_at: r.get("began_at"),
        ended_at: r.get("ended_at"),
        state: r.get("state"),
        error: r.get("error"),
        counters: Counters {
            total: r.get("total"),
            processed: r.get("processed"),
            imported: r.get("imported"),
            entitled: r.get("entitled"),
            created: r.get("created"),
            updated: r.get("updated"),
            disabled: r.get("disabled"),
            deleted: r.get("deleted"),
            skipped: r.get("skipped"),
            failed: r.get("failed"),
            staged: r.get("staged"),
        },
    }
}

/// The latest cycles of an application, newest first.
pub async fn cycles(pool: &Pool, app: &str, limit: i64) -> sqlx::Result<Vec<CycleRow>> {
    Ok(
        sqlx::query("SELECT * FROM prov_cycles WHERE app_id = $1 ORDER BY began_at DESC, id DESC LIMIT $2")
            .bind(app)
            .bind(limit)
            .fetch_all(pool)
            .await?
            .iter()
            .map(cycle_from)
            .collect(),
    )
}

/// Totals over every cycle of an application (statistics to date).
pub async fn totals(pool: &Pool, app: &str) -> sqlx::Result<Counters> {
    let r = sqlx::query(
        "SELECT CAST(COALESCE(sum(total), 0) AS BIGINT), CAST(COALESCE(sum(processed), 0) AS BIGINT), CAST(COALESCE(sum(imported), 0) AS BIGINT),
                CAST(COALESCE(sum(entitled), 0) AS BIGINT), CAST(COALESCE(sum(created), 0) AS BIGINT), CAST(COALESCE(sum(updated), 0) AS BIGINT),
                CAST(COALESCE(sum(disabled), 0) AS BIGINT), CAST(COALESCE(sum(deleted), 0) AS BIGINT), CAST(COALESCE(sum(skipped), 0) AS BIGINT),
                CAST(COALESCE(sum(failed), 0) AS BIGINT), CAST(COALESCE(sum(staged), 0) AS BIGINT)
         FROM prov_cycles WHERE app_id = $1",
    )
    .bind(app)
    .fetch_one(pool)
    .await?;
    Ok(Counters {
        total: r.get(0),
        processed: r.get(1),
        imported: r.get(2),
        entitled: r.get(3),
        created: r.get(4),
        updated: r.get(5),
        disabled: r.get(6),
        deleted: r.get(7),
        skipped: r.get(8),
        failed: r.get(9),
        staged: r.get(10),
    })
}

// ---- what a cycle reads ----

/// Users assigned directly to `app`: (user, role value, role display name).
pub async fn user_assignments(pool: &Pool, app: &str) -> sqlx::Result<Vec<(String, String, String)>> {
    let rows = sqlx::query(
        "SELECT s.principal_id, s.role, COALESCE(r.display_name, s.role)
         FROM app_assignments s LEFT JOIN app_roles r ON r.app_id = s.app_id AND r.value = s.role
         WHERE s.app_id = $1 AND s.principal_type = 'user'",
    )
    .bind(app)
    .fetch_all(pool)
    .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect())
}

/// Direct user members of the groups assigned to `app`: (group, user).
pub async fn assigned_group_members(pool: &Pool, app: &str) -> sqlx::Result<Vec<(String, String)>> {
    let rows = sqlx::query(
        "SELECT DISTINCT m.group_id, m.member_id FROM dir_members m
         JOIN app_assignments s ON s.principal_id = m.group_id AND s.app_id = $1 AND s.principal_type = 'group'
         WHERE m.member_type = 'user'",
    )
    .bind(app)
    .fetch_all(pool)
    .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// A user with its manager's userPrincipalName.
pub struct SourceRow {
    pub user: UserRecord,
    pub manager_upn: Option<String>,
}

const SOURCE_COLS: &str = "u.id, u.upn, u.display_name, u.mail, u.manager_id, u.account_enabled, u.attrs,
    u.created_at, u.updated_at, u.deleted_at, m.upn AS manager_upn";

fn source_from(r: &crate::db::Row) -> SourceRow {
    SourceRow {
        user: super::directory::user_from(r),
        manager_upn: r.get("manager_upn"),
    }
}

/// Users in id order after `after`: an initial cycle reads the directory page by page.
pub async fn users_after(pool: &Pool, after: &str, limit: i64) -> sqlx::Result<Vec<SourceRow>> {
    Ok(sqlx::query(&format!(
        "SELECT {SOURCE_COLS} FROM dir_users u LEFT JOIN dir_users m ON m.id = u.manager_id
         WHERE u.id > $1 ORDER BY u.id LIMIT $2"
    ))
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await?
    .iter()
    .map(source_from)
    .collect())
}

pub async fn users_by_ids(pool: &Pool, ids: &[String]) -> sqlx::Result<Vec<SourceRow>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let mut qb = Sql::new(format!(
            "SELECT {SOURCE_COLS} FROM dir_users u LEFT JOIN dir_users m ON m.id = u.manager_id WHERE u.id IN "
        ));
        qb.push_in_list(chunk);
        out.extend(qb.build().fetch_all(pool).await?.iter().map(source_from));
    }
    Ok(out)
}

/// Direct reports of the given users: (user id).
pub async fn reports_of(pool: &Pool, managers: &[String]) -> sqlx::Result<Vec<String>> {
    let mut out = Vec::new();
    for chunk in managers.chunks(500) {
        let mut qb = Sql::new("SELECT id FROM dir_users WHERE manager_id IN ");
        qb.push_in_list(chunk);
        out.extend(
            qb.build()
                .fetch_all(pool)
                .await?
                .iter()
                .map(|r| r.get::<String, _>(0)),
        );
    }
    Ok(out)
}

/// A directory group with its direct user members.
#[derive(Debug, Clone)]
pub struct GroupSource {
    pub id: String,
    pub display_name: String,
    pub description: String,
    pub mail_nickname: String,
    pub members: Vec<String>,
}

/// Groups by id (all groups when `ids` is None), with their direct user members.
pub async fn groups(pool: &Pool, ids: Option<&[String]>) -> sqlx::Result<Vec<GroupSource>> {
    let mut out: Vec<GroupSource> = Vec::new();
    let read = |rows: Vec<crate::db::Row>| {
        rows.iter()
            .map(|r| GroupSource {
                id: r.get(0),
                display_name: r.get(1),
                description: r.get(2),
                mail_nickname: r.get(3),
                members: Vec::new(),
            })
            .collect::<Vec<_>>()
    };
    const COLS: &str = "SELECT id, display_name, description, mail_nickname FROM dir_groups";
    match ids {
        None => {
            out = read(
                sqlx::query(&format!("{COLS} ORDER BY id"))
                    .fetch_all(pool)
                    .await?,
            )
        }
        Some(ids) => {
            for chunk in ids.chunks(500) {
                let mut qb = Sql::new(format!("{COLS} WHERE id IN "));
                qb.push_in_list(chunk);
                out.extend(read(qb.build().fetch_all(pool).await?));
            }
        }
    }
    for g in &mut out {
        g.members = sqlx::query_scalar(
            "SELECT member_id FROM dir_members WHERE group_id = $1 AND member_type = 'user' ORDER BY member_id",
        )
        .bind(&g.id)
        .fetch_all(pool)
        .await?;
    }
    Ok(out)
}

/// Groups that have any of `users` as a direct member.
pub async fn groups_of_users(pool: &Pool, users: &[String]) -> sqlx::Result<Vec<String>> {
    let mut out = Vec::new();
    for chunk in users.chunks(500) {
        let mut qb = Sql::new("SELECT DISTINCT group_id FROM dir_members WHERE member_id IN ");
        qb.push_in_list(chunk);
        out.extend(
            qb.build()
                .fetch_all(pool)
                .await?
                .iter()
                .map(|r| r.get::<String, _>(0)),
        );
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// The app roles of the given users, directly or through a group they are a direct member of:
/// (user, role value, role display name).
pub async fn roles_of_users(
    pool: &Pool,
    app: &str,
    users: &[String],
) -> sqlx::Result<Vec<(String, String, String)>> {
    let mut out = Vec::new();
    for chunk in users.chunks(400) {
        let mut qb = Sql::new(
            "SELECT s.principal_id, s.role, COALESCE(r.display_name, s.role) FROM app_assignments s
             LEFT JOIN app_roles r ON r.app_id = s.app_id AND r.value = s.role
             WHERE s.principal_type = 'user' AND s.app_id = ",
        );
        qb.push_bind(app).push(" AND s.principal_id IN ");
        qb.push_in_list(chunk);
        qb.push(
            " UNION SELECT m.member_id, s.role, COALESCE(r.display_name, s.role) FROM dir_members m
              JOIN app_assignments s ON s.principal_id = m.group_id AND s.principal_type = 'group'
              LEFT JOIN app_roles r ON r.app_id = s.app_id AND r.value = s.role
              WHERE s.app_id = ",
        )
        .push_bind(app)
        .push(" AND m.member_id IN ");
        qb.push_in_list(chunk);
        out.extend(
            qb.build()
                .fetch_all(pool)
                .await?
                .iter()
                .map(|r| (r.get(0), r.get(1), r.get(2))),
        );
    }
    Ok(out)
}

/// Groups assigned to `app`, with their roles: (group, role value, role display name).
pub async fn group_assignments(pool: &Pool, app: &str) -> sqlx::Result<Vec<(String, String, String)>> {
    let rows = sqlx::query(
        "SELECT s.principal_id, s.role, COALESCE(r.display_name, s.role) FROM app_assignments s
         LEFT JOIN app_roles r ON r.app_id = s.app_id AND r.value = s.role
         WHERE s.app_id = $1 AND s.principal_type = 'group'",
    )
    .bind(app)
    .fetch_all(pool)
    .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect())
}

// ---- escrows ----

#[derive(Debug, Clone)]
pub struct Escrow {
    pub object_type: String,
    pub source_id: String,
    pub first_failed_at: String,
    pub attempts: i64,
    /// When it is retried.
    pub next_at: String,
}

/// Every escrowed object of an application (few: what failed after the client's retries).
pub async fn escrows(pool: &Pool, app: &str) -> sqlx::Result<Vec<Escrow>> {
    Ok(sqlx::query(
        "SELECT object_type, source_id, first_failed_at, attempts, next_at FROM prov_escrows
         WHERE app_id = $1 ORDER BY next_at",
    )
    .bind(app)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|r| Escrow {
        object_type: r.get(0),
        source_id: r.get(1),
        first_failed_at: r.get(2),
        attempts: r.get(3),
        next_at: r.get(4),
    })
    .collect())
}

/// (all escrowed objects, those whose failure was a reference update).
pub async fn escrow_counts(pool: &Pool, app: &str) -> sqlx::Result<(i64, i64)> {
    let r = sqlx::query(
        "SELECT count(*), CAST(COALESCE(sum(reference), 0) AS BIGINT) FROM prov_escrows WHERE app_id = $1",
    )
    .bind(app)
    .fetch_one(pool)
    .await?;
    Ok((r.get(0), r.get(1)))
}

// ---- what a cycle writes, in batches ----

/// One object's new state in the connector data store; `None` exported = forget the object
/// (deleted in the target).
pub struct ObjectWrite {
    pub object_type: &'static str,
    pub source_id: String,
    pub target_id: String,
    pub exported: Option<String>,
    pub state: &'static str,
}

/// An escrow change: `Some` = (first failure, attempts, next retry, code, reference) to store,
/// `None` = the object succeeded (or was dropped): clear it.
pub struct EscrowWrite {
    pub object_type: &'static str,
    pub source_id: String,
    pub retry: Option<(String, i64, String, String, bool)>,
}

/// Owned fields of a provisioning log entry.
#[derive(Debug, Clone, Default)]
pub struct LogWrite {
    pub id: String,
    pub at: String,
    pub duration_ms: i64,
    pub object_type: &'static str,
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

/// Outcomes of a batch of objects.
#[derive(Default)]
pub struct Batch {
    pub objects: Vec<ObjectWrite>,
    pub escrows: Vec<EscrowWrite>,
    pub logs: Vec<LogWrite>,
}

/// Records a batch of outcomes and the cycle's progress in one transaction: the connector data
/// store first, so nothing the target now holds is ever unknown after the commit.
pub async fn record_batch(
    pool: &Pool,
    app: &str,
    cycle: Option<&str>,
    batch: &Batch,
    counters: &Counters,
    now: &str,
) -> sqlx::Result<()> {
    let mut tx = super::begin(pool).await?;
    for o in &batch.objects {
        match &o.exported {
            Some(exported) => {
                super::links::remember(
                    &mut *tx,
                    &Remembered {
                        app,
                        object_type: o.object_type,
                        source_id: &o.source_id,
                        target_id: &o.target_id,
                        exported,
                        state: o.state,
                        now,
                    },
                )
                .await?
            }
            None => super::links::forget(&mut tx, app, o.object_type, &o.source_id).await?,
        }
    }
    let users: Vec<String> = batch
        .objects
        .iter()
        .filter(|o| o.object_type == "user")
        .map(|o| o.source_id.clone())
        .collect();
    super::links::confirm_users(&mut tx, app, &users).await?;
    for e in &batch.escrows {
        match &e.retry {
            Some((first, attempts, next, code, reference)) => {
                sqlx::query(
                    "INSERT INTO prov_escrows (app_id, object_type, source_id, first_failed_at, attempts, next_at, error_code, reference)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                     ON CONFLICT (app_id, object_type, source_id) DO UPDATE SET attempts = excluded.attempts,
                         next_at = excluded.next_at, error_code = excluded.error_code, reference = excluded.reference",
                )
                .bind(app)
                .bind(e.object_type)
                .bind(&e.source_id)
                .bind(first)
                .bind(attempts)
                .bind(next)
                .bind(code)
                .bind(*reference as i64)
                .execute(&mut *tx)
                .await?;
            }
            None => {
                sqlx::query(
                    "DELETE FROM prov_escrows WHERE app_id = $1 AND object_type = $2 AND source_id = $3",
                )
                .bind(app)
                .bind(e.object_type)
                .bind(&e.source_id)
                .execute(&mut *tx)
                .await?;
            }
        }
    }
    for l in &batch.logs {
        super::engine::log(
            &mut *tx,
            &LogEntry {
                id: &l.id,
                app,
                cycle_id: cycle,
                at: &l.at,
                duration_ms: l.duration_ms,
                object_type: l.object_type,
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
        .await?;
    }
    if let Some(cycle) = cycle {
        write_counters(&mut tx, cycle, counters).await?;
    }
    tx.commit().await
}

/// Sets the cycle's progress denominator and counters outside a batch.
pub async fn progress(pool: &Pool, cycle: &str, counters: &Counters) -> sqlx::Result<()> {
    let mut tx = super::begin(pool).await?;
    write_counters(&mut tx, cycle, counters).await?;
    tx.commit().await
}
