//! Provisioning cycles (`prov_cycles`): started, counted, ended, listed and pruned; and the
//! batch a cycle records in one transaction (connector data store, escrows, log, progress).

use super::escrows::EscrowWrite;
use super::links::{ObjectWrite, Remembered};
use super::prov_log::LogWrite;
use super::vocab::{column, optional_column, CycleKind, CyclePhase, CycleState};
use super::{Exclusive, Pool};
use sqlx::Row;

/// A cycle's counters, as recorded and shown.
pub use crate::model::CycleCounts as Counters;

#[derive(Debug, Clone)]
pub struct CycleRow {
    pub id: String,
    pub app_id: String,
    pub kind: CycleKind,
    pub began_at: String,
    pub ended_at: Option<String>,
    pub state: CycleState,
    /// What it is doing while it runs (the last phase it began, once it ended).
    pub phase: Option<CyclePhase>,
    pub counters: Counters,
    pub error: String,
}

pub async fn start_cycle(pool: &Pool, id: &str, app: &str, kind: CycleKind, now: &str) -> sqlx::Result<()> {
    super::write(
        pool,
        sqlx::query("INSERT INTO prov_cycles (id, app_id, kind, began_at) VALUES ($1, $2, $3, $4)")
            .bind(id)
            .bind(app)
            .bind(kind.as_str())
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
    state: CycleState,
    error: &str,
    now: &str,
) -> sqlx::Result<()> {
    // Only the cycle's runner writes its row.
    let mut tx = super::begin(pool, Exclusive::Rows).await?;
    write_counters(&mut tx, id, c).await?;
    sqlx::query("UPDATE prov_cycles SET state = $2, error = $3, ended_at = $4 WHERE id = $1")
        .bind(id)
        .bind(state.as_str())
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

fn cycle_from(r: &crate::db::Row) -> sqlx::Result<CycleRow> {
    Ok(CycleRow {
        id: r.get("id"),
        app_id: r.get("app_id"),
        kind: column(r, "kind")?,
        began_at: r.get("began_at"),
        ended_at: r.get("ended_at"),
        state: column(r, "state")?,
        phase: optional_column(r, "phase")?,
        error: r.get("error"),
        counters: counters_from(r),
    })
}

/// The latest cycles of an application, newest first.
pub async fn cycles(pool: &Pool, app: &str, limit: i64) -> sqlx::Result<Vec<CycleRow>> {
    sqlx::query("SELECT * FROM prov_cycles WHERE app_id = $1 ORDER BY began_at DESC, id DESC LIMIT $2")
        .bind(app)
        .bind(limit)
        .fetch_all(pool)
        .await?
        .iter()
        .map(cycle_from)
        .collect()
}

/// Totals over every cycle of an application (statistics to date).
pub async fn totals(pool: &Pool, app: &str) -> sqlx::Result<Counters> {
    let r = sqlx::query(
        "SELECT CAST(COALESCE(sum(total), 0) AS BIGINT) AS total, CAST(COALESCE(sum(processed), 0) AS BIGINT) AS processed, CAST(COALESCE(sum(imported), 0) AS BIGINT) AS imported,
                CAST(COALESCE(sum(entitled), 0) AS BIGINT) AS entitled, CAST(COALESCE(sum(created), 0) AS BIGINT) AS created, CAST(COALESCE(sum(updated), 0) AS BIGINT) AS updated,
                CAST(COALESCE(sum(disabled), 0) AS BIGINT) AS disabled, CAST(COALESCE(sum(deleted), 0) AS BIGINT) AS deleted, CAST(COALESCE(sum(skipped), 0) AS BIGINT) AS skipped,
                CAST(COALESCE(sum(failed), 0) AS BIGINT) AS failed, CAST(COALESCE(sum(staged), 0) AS BIGINT) AS staged
         FROM prov_cycles WHERE app_id = $1",
    )
    .bind(app)
    .fetch_one(pool)
    .await?;
    Ok(counters_from(&r))
}

/// The counters of a row with one column per counter (a cycle, or the sums over cycles).
fn counters_from(r: &crate::db::Row) -> Counters {
    Counters {
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
    }
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
    // The application's links, escrows and log, beside a restart or an action on drift.
    let mut tx = super::begin(pool, Exclusive::App(app)).await?;
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
        .filter(|o| o.object_type == super::vocab::ObjectType::User)
        .map(|o| o.source_id.clone())
        .collect();
    super::links::confirm_users(&mut tx, app, &users).await?;
    for e in &batch.escrows {
        super::escrows::write(&mut tx, app, e).await?;
    }
    for l in &batch.logs {
        super::prov_log::write(&mut tx, app, cycle, l).await?;
    }
    if let Some(cycle) = cycle {
        write_counters(&mut tx, cycle, counters).await?;
    }
    tx.commit().await
}

/// A cycle begins a phase; its counters so far go with it.
pub async fn set_phase(pool: &Pool, cycle: &str, phase: CyclePhase, counters: &Counters) -> sqlx::Result<()> {
    // Only the cycle's runner writes its row.
    let mut tx = super::begin(pool, Exclusive::Rows).await?;
    sqlx::query("UPDATE prov_cycles SET phase = $2 WHERE id = $1")
        .bind(cycle)
        .bind(phase.as_str())
        .execute(&mut *tx)
        .await?;
    write_counters(&mut tx, cycle, counters).await?;
    tx.commit().await
}

/// How many objects a running cycle has finished, while a batch is still out (a rate-limited
/// application takes minutes per batch): the progress the console shows.
pub async fn processed(pool: &Pool, cycle: &str, processed: i64) -> sqlx::Result<()> {
    let statement = sqlx::query("UPDATE prov_cycles SET processed = $2 WHERE id = $1 AND processed < $2")
        .bind(cycle)
        .bind(processed);
    super::write(pool, statement).await?;
    Ok(())
}

/// Sets the cycle's progress denominator and counters outside a batch.
pub async fn progress(pool: &Pool, cycle: &str, counters: &Counters) -> sqlx::Result<()> {
    let mut tx = super::begin(pool, Exclusive::Rows).await?;
    write_counters(&mut tx, cycle, counters).await?;
    tx.commit().await
}
