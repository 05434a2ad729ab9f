//! The audit log: who did what, when and from where. The single writer, so that nothing else
//! decides what goes in. Callers pass descriptions, never secrets.

use crate::db::{self, Pool};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
        }
    }
}

/// Who acted and from where, captured from the request (or the command line).
#[derive(Debug, Clone)]
pub struct Actor {
    pub name: String,
    pub source_ip: String,
}

impl Actor {
    pub fn cli() -> Self {
        Actor {
            name: "cli".into(),
            source_ip: "local".into(),
        }
    }

    pub fn system() -> Self {
        Actor {
            name: "system".into(),
            source_ip: "local".into(),
        }
    }
}

/// Records one event. A failure to write the audit log is logged but does not undo the change:
/// the change already happened, and hiding it from the caller would be worse.
pub async fn record(pool: &Pool, actor: &Actor, action: &str, target: &str, outcome: Outcome, detail: &str) {
    let now = crate::timefmt::now();
    let entry = db::audit::NewEntry {
        at: &now,
        actor: &truncate(&actor.name, 200),
        action,
        target: &truncate(target, 200),
        outcome: outcome.as_str(),
        detail: &truncate(detail, 1000),
        source_ip: &actor.source_ip,
    };
    if let Err(e) = db::audit::insert(pool, &entry).await {
        // Most often the database's write turn was busy for longer than a writer waits (a large
        // import): the entry is written later, never dropped. Entries hold no secrets, so the
        // last resort is the log, in full.
        tracing::warn!(error = %e, action, "could not write the audit log now; retrying in the background");
        let owned = OwnedEntry {
            at: now.clone(),
            actor: entry.actor.to_string(),
            action: action.to_string(),
            target: entry.target.to_string(),
            outcome: outcome.as_str(),
            detail: entry.detail.to_string(),
            source_ip: actor.source_ip.clone(),
        };
        tokio::spawn(retry(pool.clone(), owned));
    }
}

/// An audit entry waiting to be written again.
struct OwnedEntry {
    at: String,
    actor: String,
    action: String,
    target: String,
    outcome: &'static str,
    detail: String,
    source_ip: String,
}

/// Writes `e` with back-off (1, 2, 4, 8, 16, 32 s); when every attempt fails, logs it in full.
async fn retry(pool: Pool, e: OwnedEntry) {
    let entry = db::audit::NewEntry {
        at: &e.at,
        actor: &e.actor,
        action: &e.action,
        target: &e.target,
        outcome: e.outcome,
        detail: &e.detail,
        source_ip: &e.source_ip,
    };
    let mut last = None;
    for attempt in 0..6u32 {
        tokio::time::sleep(std::time::Duration::from_secs(1 << attempt)).await;
        match db::audit::insert(&pool, &entry).await {
            Ok(()) => return,
            Err(err) => last = Some(err),
        }
    }
    tracing::error!(
        error = ?last, at = %e.at, actor = %e.actor, action = %e.action, target = %e.target,
        outcome = e.outcome, detail = %e.detail, source_ip = %e.source_ip,
        "could not write this audit entry; it is recorded here instead"
    );
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DatabaseTarget;
    use sqlx::ConnectOptions;

    /// An entry whose write fails (here: another connection holds SQLite's write lock for longer
    /// than a writer waits, as a large import did) is written once the database is free again.
    /// Before, it was logged as "could not write" and lost.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_entry_that_could_not_be_written_now_is_written_later() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("provisio.db");
        let pool = db::connect(&DatabaseTarget::Sqlite { path: path.clone() })
            .await
            .unwrap();
        let mut other = db::sqlite_options(&path).connect().await.unwrap();
        sqlx::query("BEGIN IMMEDIATE").execute(&mut other).await.unwrap();
        let actor = Actor {
            name: "ops".into(),
            source_ip: "10.0.0.1".into(),
        };
        record(&pool, &actor, "test.busy", "target", Outcome::Success, "kept").await;
        let count = || async {
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM audit_log WHERE action = 'test.busy'")
                .fetch_one(&pool)
                .await
                .unwrap()
        };
        assert_eq!(count().await, 0, "the write lock was held the whole time");
        sqlx::query("COMMIT").execute(&mut other).await.unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while count().await == 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "the entry was never written"
            );
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        assert_eq!(count().await, 1);
    }
}
