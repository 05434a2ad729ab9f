//! What the engine learns about a target by trying, kept per application until its configuration
//! changes (the compatibility profile, [`Adaptation`]): a cycle starts from what earlier cycles
//! learned, so a form the target refused is not tried again each cycle, and the admin sees what
//! was adapted and why.

use super::*;
use crate::model::{Adaptation, AdaptationChoice, AdaptationRule};
use std::sync::atomic::{AtomicBool, Ordering};

pub(super) struct Learned {
    /// By position in [`Adaptation::ALL`].
    flags: Vec<AtomicBool>,
    /// The admin's choices, by position: `Always` and `Never` win over what is learned.
    chosen: Vec<AdaptationChoice>,
    /// Learned during this cycle, with the answer that taught it, to be stored at its end.
    new: std::sync::Mutex<Vec<(Adaptation, String)>>,
}

fn index(a: Adaptation) -> usize {
    Adaptation::ALL.iter().position(|x| *x == a).unwrap_or_default()
}

impl Learned {
    /// Starts from what is already known of the target and what the admin chose.
    pub(super) fn from(known: &[Adaptation], rules: &[AdaptationRule]) -> Learned {
        Learned {
            flags: Adaptation::ALL
                .iter()
                .map(|a| AtomicBool::new(known.contains(a)))
                .collect(),
            chosen: Adaptation::ALL
                .iter()
                .map(|a| {
                    rules
                        .iter()
                        .find(|r| r.adaptation == *a)
                        .map_or(AdaptationChoice::Auto, |r| r.choice)
                })
                .collect(),
            new: Default::default(),
        }
    }

    /// Whether the other form is used for `a`: chosen by the admin, or learned (unless the admin
    /// forbade it).
    pub(super) fn has(&self, a: Adaptation) -> bool {
        match self.chosen[index(a)] {
            AdaptationChoice::Always => true,
            AdaptationChoice::Never => false,
            AdaptationChoice::Auto => self.flags[index(a)].load(Ordering::Relaxed),
        }
    }

    /// Whether the other form may be tried when the standard one is refused: not when the admin
    /// chose `never`, where the refusal fails the object instead.
    pub(super) fn allowed(&self, a: Adaptation) -> bool {
        self.chosen[index(a)] != AdaptationChoice::Never
    }

    /// Records `a`, learned from `reason` (what the target answered). True the first time, when
    /// the caller says so in the server log. Nothing is recorded against the admin's choice.
    pub(super) fn learn(&self, a: Adaptation, reason: impl Into<String>) -> bool {
        if self.chosen[index(a)] != AdaptationChoice::Auto {
            return false;
        }
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
