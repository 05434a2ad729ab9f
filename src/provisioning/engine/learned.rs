//! What the engine learns about a target by trying, kept per application until its configuration
//! changes (the compatibility profile, [`Adaptation`]): a cycle starts from what earlier cycles
//! learned, so a form the target refused is not tried again each cycle, and the admin sees what
//! was adapted and why.

use super::*;
use crate::model::Adaptation;
use std::sync::atomic::{AtomicBool, Ordering};

pub(super) struct Learned {
    /// By position in [`Adaptation::ALL`].
    flags: Vec<AtomicBool>,
    /// Learned during this cycle, with the answer that taught it, to be stored at its end.
    new: std::sync::Mutex<Vec<(Adaptation, String)>>,
}

fn index(a: Adaptation) -> usize {
    Adaptation::ALL.iter().position(|x| *x == a).unwrap_or_default()
}

impl Learned {
    /// Starts from what is already known of the target.
    pub(super) fn from(known: &[Adaptation]) -> Learned {
        Learned {
            flags: Adaptation::ALL
                .iter()
                .map(|a| AtomicBool::new(known.contains(a)))
                .collect(),
            new: Default::default(),
        }
    }

    pub(super) fn has(&self, a: Adaptation) -> bool {
        self.flags[index(a)].load(Ordering::Relaxed)
    }

    /// Records `a`, learned from `reason` (what the target answered). True the first time, when
    /// the caller says so in the server log.
    pub(super) fn learn(&self, a: Adaptation, reason: impl Into<String>) -> bool {
        if self.flags[index(a)].swap(true, Ordering::Relaxed) {
            return false;
        }
        self.new
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((a, reason.into()));
        true
    }

    /// Stores what this cycle learned. A failure to store costs only a retry of the refused form
    /// next cycle, so it is logged, not fatal.
    pub(super) async fn save(&self, pool: &Pool, app: &str) {
        let new = std::mem::take(&mut *self.new.lock().unwrap_or_else(|p| p.into_inner()));
        let now = crate::timefmt::now();
        for (a, reason) in new {
            if let Err(e) = crate::db::adaptations::record(pool, app, a, &reason, &now).await {
                tracing::warn!(app = %app, adaptation = %a, error = %e, "cannot store what was learned about the application");
            }
        }
    }
}
