//! The running import: at most one at a time, claimed by one instance, the claim renewed with
//! every chunk it writes. An import whose process stopped (or whose claim lapsed) is rolled back
//! by the next instance that looks: at start, every half minute, and before another import starts.

use super::{undo, Format, Kind};
use crate::audit::{Actor, Outcome};
use crate::db::imports::{self as store, Refused, Undo};
use crate::db::{Conn, Pool};
use crate::directory::DirError;
use crate::model::ImportPreview;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;

/// The imports this process is running or rolling back, which its own recovery must leave alone
/// (their claims carry this process's name too).
static ACTIVE: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

fn active(id: &str) -> bool {
    ACTIVE.lock().map(|a| a.contains(id)).unwrap_or(true)
}

/// How long a claim lasts unless renewed. Each chunk renews it; the longest gap is planning a
/// large file before the first chunk.
const CLAIM: time::Duration = time::Duration::minutes(2);

/// How often a server looks for abandoned imports.
const WATCH_EVERY: std::time::Duration = std::time::Duration::from_secs(30);

fn claim_until() -> String {
    crate::timefmt::format(time::OffsetDateTime::now_utc() + CLAIM)
}

/// An import this process is running (or rolling back).
pub struct Run {
    pub(super) id: String,
    /// The time stamp on everything the import writes; a rollback leaves alone users whose stamp
    /// has changed since (someone edited them meanwhile).
    pub(super) written_at: String,
    next_step: AtomicI64,
    /// What the console shows of the import (its preview), kept with the outcome.
    preview: ImportPreview,
}

fn refused(r: Refused) -> DirError {
    DirError::Conflict(match r {
        Refused::NotStaged => "this import has already started".into(),
        Refused::Busy(file) => {
            format!("another import ({file}) is running; start this one when it has finished")
        }
    })
}

impl Run {
    fn new(id: String, written_at: String, preview: ImportPreview) -> Run {
        if let Ok(mut a) = ACTIVE.lock() {
            a.insert(id.clone());
        }
        Run {
            id,
            written_at,
            next_step: AtomicI64::new(0),
            preview,
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// Starts an import that was not staged (the command line, demo data), after rolling back
    /// any import an earlier process left unfinished.
    pub async fn start(
        pool: &Pool,
        kind: Kind,
        file_name: &str,
        format: Format,
        actor: &str,
    ) -> Result<Run, DirError> {
        recover_abandoned(pool).await?;
        let (id, written_at) = (crate::ids::new(), crate::timefmt::now());
        store::claim_new(
            pool,
            &id,
            kind.as_str(),
            file_name,
            format.as_str(),
            actor,
            crate::instance::this(),
            &claim_until(),
            &written_at,
        )
        .await?
        .map_err(refused)?;
        // Registered as active only once claimed: a refused second start of a running import must
        // not unregister the first.
        let preview = preview_of("", &id, kind.as_str(), file_name, format.as_str());
        Ok(Run::new(id, written_at, preview))
    }

    /// Starts a staged import.
    pub(super) async fn claim_staged(pool: &Pool, staged: &store::StagedImport) -> Result<Run, DirError> {
        let written_at = crate::timefmt::now();
        store::claim_staged(
            pool,
            &staged.id,
            crate::instance::this(),
            &claim_until(),
            &written_at,
        )
        .await?
        .map_err(refused)?;
        let s = staged;
        let preview = preview_of(&s.result, &s.id, &s.kind, &s.file_name, &s.format);
        Ok(Run::new(s.id.clone(), written_at, preview))
    }

    /// Renews the claim inside a chunk's transaction; false when it was lost.
    pub(super) async fn renew(&self, conn: &mut Conn) -> sqlx::Result<bool> {
        store::renew(conn, &self.id, crate::instance::this(), &claim_until()).await
    }

    /// Journals a chunk's undo steps inside its transaction.
    pub(super) async fn journal(&self, conn: &mut Conn, steps: &[Undo]) -> sqlx::Result<()> {
        if steps.is_empty() {
            return Ok(());
        }
        let first = self.next_step.fetch_add(steps.len() as i64, Ordering::SeqCst);
        store::journal(conn, &self.id, first, steps).await
    }

    /// Records how the import ended, with `text` for the console. A failed import whose
    /// rollback did not finish stays running, and recovery finishes it once the claim lapses.
    pub async fn finish(mut self, pool: &Pool, done: bool, text: &str) {
        self.preview.result = text.to_string();
        let json = serde_json::to_string(&self.preview).unwrap_or_default();
        match store::finish(pool, &self.id, crate::instance::this(), done, &json).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(import = %self.id, "the import's rollback is unfinished; it is retried")
            }
            Err(e) => tracing::error!(import = %self.id, error = %e, "could not record the end of an import"),
        }
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        if let Ok(mut a) = ACTIVE.lock() {
            a.remove(&self.id);
        }
    }
}

/// The stored preview of an import, or an empty one for an import that was not staged.
fn preview_of(stored: &str, id: &str, kind: &str, file_name: &str, format: &str) -> ImportPreview {
    serde_json::from_str(stored).unwrap_or_else(|_| ImportPreview {
        id: id.to_string(),
        kind: kind.to_string(),
        file_name: file_name.to_string(),
        format: format.to_string(),
        ..Default::default()
    })
}

/// Rolls back every running import whose process is gone or whose claim lapsed; how many.
pub async fn recover_abandoned(pool: &Pool) -> Result<usize, DirError> {
    let me = crate::instance::this();
    let now = crate::timefmt::now();
    let mut recovered = 0;
    for r in store::running(pool).await? {
        let gone = crate::instance::stopped_here(&r.runner, me);
        if active(&r.id)
            || !(gone || r.alive_until < now)
            || !store::take_over(pool, &r.id, &r.runner, me, &claim_until()).await?
        {
            continue;
        }
        tracing::warn!(import = %r.id, file = %r.file_name, runner = %r.runner, "rolling back an import that did not finish");
        let preview = preview_of(&r.result, &r.id, &r.kind, &r.file_name, &r.format);
        let run = Run::new(r.id.clone(), r.written_at.clone(), preview);
        let undone = undo::rollback(&run, pool).await?;
        let text = format!(
            "Nothing was imported: the import stopped before it finished (Provisio was stopped, or lost its database), and what it had written was rolled back{}.",
            undone.kept_note()
        );
        run.finish(pool, false, &text).await;
        let actor = Actor::system();
        crate::audit::record(
            pool,
            &actor,
            "directory.import",
            &r.file_name,
            Outcome::Failure,
            &text,
        )
        .await;
        recovered += 1;
    }
    Ok(recovered)
}

/// The server's watch for abandoned imports: at start, then every half minute.
pub async fn watch(pool: Pool) {
    let mut tick = tokio::time::interval(WATCH_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if pool.is_closed() {
            return;
        }
        if let Err(e) = recover_abandoned(&pool).await {
            tracing::warn!(error = %e, "could not roll back an unfinished import; trying again later");
        }
    }
}
