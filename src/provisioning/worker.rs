//! The scheduler: runs each application's provisioning job when there is something to do.
//!
//! One loop looks every 100 ms (or at once when woken) at the directory's change sequence and at
//! every application's schedule, in two small indexed queries, and starts a cycle for a job that
//! is On and due: it never ran, was restarted or reconfigured, the directory changed since its
//! watermark (debounced: started once the sequence is quiet for one look, at most ~1 s after the
//! first change), an escrowed object is due, or the reconciliation interval passed. Jobs run
//! under a global bound; a job never runs twice at once. Turning provisioning Off lets a running
//! cycle finish and then pauses the job; a quarantined job waits for its next attempt.
//!
//! Polling the database (rather than an in-process signal from every writer) also sees changes
//! made by the command line and by other instances sharing the database.

use super::cycle::{self, Tuning};
use crate::db::{directory as dir, jobs, Pool};
use crate::secrets::Sealer;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, Semaphore};

const LOOK_EVERY: Duration = Duration::from_millis(100);
const DEBOUNCE_MAX: Duration = Duration::from_secs(1);

/// Why a job runs now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// Never ran, restarted, or the mappings/scoping changed.
    Initial,
    /// The directory changed since the watermark.
    Changes,
    Escrow,
    Reconciliation,
    /// A quarantined job's next attempt.
    Retry,
}

/// What the loop remembers between looks, per application.
#[derive(Debug, Default, Clone)]
pub struct Memory {
    /// When a change after the watermark was first seen, and the sequence then.
    pub pending: Option<(Instant, i64)>,
    pub last_end: Option<Instant>,
}

/// Whether the job of `s` is due, given the directory's last change and the time.
pub fn due(s: &jobs::Schedule, last_change: i64, now: &str, at: Instant, m: &mut Memory) -> Option<Due> {
    if !s.on || s.state == "Disabled" {
        m.pending = None;
        return None;
    }
    if s.state == "Quarantine" {
        return match &s.next_attempt {
            Some(next) if next.as_str() > now => None,
            _ => Some(Due::Retry),
        };
    }
    if s.watermark.is_none() || s.initial_requested || s.config_ahead {
        return Some(Due::Initial);
    }
    if last_change > s.watermark.unwrap_or(0) {
        match m.pending {
            None => {
                m.pending = Some((at, last_change));
            }
            Some((first, seq)) if seq == last_change || at.duration_since(first) >= DEBOUNCE_MAX => {
                return Some(Due::Changes);
            }
            Some((first, _)) => m.pending = Some((first, last_change)),
        }
    } else {
        m.pending = None;
    }
    if s.next_escrow.as_deref().is_some_and(|n| n <= now) {
        return Some(Due::Escrow);
    }
    let interval = Duration::from_secs(s.interval_minutes.max(1) as u64 * 60);
    match m.last_end {
        Some(end) if at.duration_since(end) >= interval => Some(Due::Reconciliation),
        None if m.pending.is_none() => {
            // After a start-up: one reconciliation soon, then at the interval.
            m.last_end = Some(at);
            None
        }
        _ => None,
    }
}

pub struct Scheduler {
    pool: Pool,
    sealer: Arc<Sealer>,
    http: reqwest::Client,
    tuning: Tuning,
    wake: Notify,
    running: Mutex<HashSet<String>>,
    /// When each job's last cycle ended, for the reconciliation interval.
    finished: Mutex<HashMap<String, Instant>>,
    bound: Arc<Semaphore>,
}

impl Scheduler {
    pub fn new(
        pool: Pool,
        sealer: Arc<Sealer>,
        http: reqwest::Client,
        tuning: Tuning,
        jobs: usize,
    ) -> Arc<Self> {
        Arc::new(Scheduler {
            pool,
            sealer,
            http,
            tuning,
            wake: Notify::new(),
            running: Mutex::new(HashSet::new()),
            finished: Mutex::new(HashMap::new()),
            bound: Arc::new(Semaphore::new(jobs.max(1))),
        })
    }

    /// Looks again now (after a configuration change, a restart request, ...).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    pub fn is_running(&self, app: &str) -> bool {
        self.running.lock().map(|r| r.contains(app)).unwrap_or(false)
    }

    /// The loop; runs until the process ends.
    pub async fn run(self: Arc<Self>) {
        match jobs::abandon_running(&self.pool, &crate::timefmt::now()).await {
            Ok(0) => {}
            Ok(n) => {
                tracing::warn!("{n} provisioning cycle(s) were cut short by the last stop; they run again")
            }
            Err(e) => tracing::error!(error = %e, "cannot read provisioning cycles"),
        }
        let mut memory: HashMap<String, Memory> = HashMap::new();
        loop {
            if let Err(e) = self.look(&mut memory).await {
                tracing::warn!(error = %e, "the provisioning scheduler could not read its state");
            }
            tokio::select! {
                _ = tokio::time::sleep(LOOK_EVERY) => {}
                _ = self.wake.notified() => {}
            }
        }
    }

    async fn look(self: &Arc<Self>, memory: &mut HashMap<String, Memory>) -> sqlx::Result<()> {
        let last = dir::last_change(&self.pool).await?;
        let now = crate::timefmt::now();
        let at = Instant::now();
        if let Ok(mut f) = self.finished.lock() {
            for (app, end) in f.drain() {
                memory.entry(app).or_default().last_end = Some(end);
            }
        }
        for s in jobs::schedules(&self.pool).await? {
            if self.is_running(&s.app_id) {
                continue;
            }
            if !s.on {
                if s.state == "Active" {
                    jobs::set_state(&self.pool, &s.app_id, "Paused", &now).await?;
                }
                continue;
            }
            if s.state == "Paused" {
                jobs::set_state(&self.pool, &s.app_id, "Active", &now).await?;
            }
            let m = memory.entry(s.app_id.clone()).or_default();
            let Some(why) = due(&s, last, &now, at, m) else {
                continue;
            };
            m.pending = None;
            self.start(s.app_id.clone(), why);
        }
        Ok(())
    }

    fn start(self: &Arc<Self>, app: String, why: Due) {
        if let Ok(mut r) = self.running.lock() {
            r.insert(app.clone());
        }
        let me = self.clone();
        tokio::spawn(async move {
            let permit = me.bound.clone().acquire_owned().await;
            tracing::debug!(app = %app, ?why, "provisioning cycle starting");
            match cycle::run(&me.pool, &me.sealer, &me.http, &app, &me.tuning).await {
                Ok(r) => tracing::info!(
                    app = %app, cycle = %r.id, kind = r.kind, state = r.state,
                    created = r.counters.created, updated = r.counters.updated,
                    disabled = r.counters.disabled, deleted = r.counters.deleted,
                    failed = r.counters.failed, quarantine = r.quarantine.unwrap_or(""),
                    "provisioning cycle ended"
                ),
                Err(e) => {
                    tracing::error!(app = %app, error = %e, "provisioning cycle failed");
                    // Do not spin on a persistent error: wait like a quarantined job would.
                    tokio::time::sleep(Duration::from_secs(5)).await;
                }
            }
            drop(permit);
            if let Ok(mut f) = me.finished.lock() {
                f.insert(app.clone(), Instant::now());
            }
            if let Ok(mut r) = me.running.lock() {
                r.remove(&app);
            }
            me.wake();
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on() -> jobs::Schedule {
        jobs::Schedule {
            app_id: "a".into(),
            on: true,
            config_ahead: false,
            interval_minutes: 40,
            state: "Active".into(),
            watermark: Some(10),
            initial_requested: false,
            next_attempt: None,
            next_escrow: None,
        }
    }

    #[test]
    fn off_and_disabled_jobs_never_run() {
        let mut m = Memory::default();
        let s = jobs::Schedule { on: false, ..on() };
        assert_eq!(due(&s, 99, "2026", Instant::now(), &mut m), None);
        let s = jobs::Schedule {
            state: "Disabled".into(),
            ..on()
        };
        assert_eq!(due(&s, 99, "2026", Instant::now(), &mut m), None);
    }

    #[test]
    fn a_new_restarted_or_reconfigured_job_runs_an_initial_cycle() {
        let mut m = Memory::default();
        for s in [
            jobs::Schedule {
                watermark: None,
                state: String::new(),
                ..on()
            },
            jobs::Schedule {
                initial_requested: true,
                ..on()
            },
            jobs::Schedule {
                config_ahead: true,
                ..on()
            },
        ] {
            assert_eq!(due(&s, 10, "2026", Instant::now(), &mut m), Some(Due::Initial));
        }
    }

    #[test]
    fn changes_run_once_the_sequence_is_quiet_or_after_a_second() {
        let mut m = Memory::default();
        let t0 = Instant::now();
        assert_eq!(due(&on(), 11, "2026", t0, &mut m), None);
        // Still changing: wait, but not past a second.
        assert_eq!(due(&on(), 12, "2026", t0 + LOOK_EVERY, &mut m), None);
        assert_eq!(
            due(&on(), 13, "2026", t0 + DEBOUNCE_MAX, &mut m),
            Some(Due::Changes)
        );
        let mut m = Memory::default();
        assert_eq!(due(&on(), 11, "2026", t0, &mut m), None);
        assert_eq!(
            due(&on(), 11, "2026", t0 + LOOK_EVERY, &mut m),
            Some(Due::Changes)
        );
    }

    #[test]
    fn quarantined_jobs_wait_for_their_next_attempt() {
        let mut m = Memory::default();
        let s = jobs::Schedule {
            state: "Quarantine".into(),
            next_attempt: Some("2026-11-29T10:00:00.000Z".into()),
            ..on()
        };
        assert_eq!(
            due(&s, 99, "2026-11-29T09:00:00.000Z", Instant::now(), &mut m),
            None
        );
        assert_eq!(
            due(&s, 99, "2026-11-29T10:00:00.000Z", Instant::now(), &mut m),
            Some(Due::Retry)
        );
    }

    #[test]
    fn escrows_and_the_interval_bring_a_cycle() {
        let mut m = Memory::default();
        let s = jobs::Schedule {
            next_escrow: Some("2026-01-01".into()),
            ..on()
        };
        assert_eq!(
            due(&s, 10, "2026-02-01", Instant::now(), &mut m),
            Some(Due::Escrow)
        );
        let mut m = Memory::default();
        let t0 = Instant::now();
        assert_eq!(due(&on(), 10, "2026", t0, &mut m), None);
        assert_eq!(
            due(&on(), 10, "2026", t0 + Duration::from_secs(39 * 60), &mut m),
            None
        );
        assert_eq!(
            due(&on(), 10, "2026", t0 + Duration::from_secs(40 * 60), &mut m),
            Some(Due::Reconciliation)
        );
    }
}
