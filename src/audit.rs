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
        tracing::error!(error = %e, action, "could not write the audit log");
    }
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
