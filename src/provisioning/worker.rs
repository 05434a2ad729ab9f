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
//! made by the command line and by other instances sharing the database. On PostgreSQL, triggers
//! also notify every instance of such changes (`provisio_wake`), so a look follows at once.
//!
//! Several instances may share one database: a job's cycle runs only where its lease is held
//! (`db::leases`). The holder renews it every few seconds while the cycle runs and stops the
//! cycle if it ever finds the lease gone; when a holder dies, its lease expires and the next
//! instance to find the job due takes it over, ending the dead holder's cycle as cut short. The
//! new cycle repeats the unfinished work, which is safe because every create is matched first.

use super::engine::{self, Tuning};
use crate::db::vocab::JobState;
use crate::db::{cycles, directory as dir, jobs, leases, Pool};
use crate::secrets::Sealer;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, Semaphore};

const LOOK_EVERY: Duration = Duration::from_millis(100);
const DEBOUNCE_MAX: Duration = Duration::from_secs(1);
/// How long a job lease lasts without renewal: how soon another instance takes over a job whose
/// holder died.
const LEASE: Duration = Duration::from_secs(10);
const RENEW_EVERY: Duration = Duration::from_secs(3);

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
    if !s.on || s.state == Some(JobState::Disabled) {
        m.pending = None;
        return None;
    }
    if s.state == Some(JobState::Quarantine) {
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

/// Moves the memory's last cycle end to the one the database records, when that is later: a cycle
/// another instance ran counts toward the reconciliation interval here too, so instances sharing
/// a database reconcile once per interval between them, and a restarted instance knows when the
/// last reconciliation was.
fn learn_last_end(m: &mut Memory, last_ended: Option<&str>, at: Instant) {
    let Some(ended) = last_ended.and_then(crate::timefmt::parse) else {
        return;
    };
    let ago = (time::OffsetDateTime::now_utc() - ended)
        .try_into()
        .unwrap_or(Duration::ZERO);
    let end = at.checked_sub(ago).unwrap_or(at);
    if m.last_end.is_none_or(|known| end > known) {
        m.last_end = Some(end);
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
    /// This instance, as job leases name it.
    holder: String,
}

fn lease_until(from: time::OffsetDateTime) -> String {
    crate::timefmt::format(from + LEASE)
}

/// Renews `app`'s lease until it is lost: returns when another instance holds it, or, on
/// PostgreSQL, when renewals failed (database unreachable) until the lease ran out, so that the
/// cycle stops before another instance could take over. A SQLite database belongs to one process,
/// so there a failed renewal is only retried.
async fn keep_lease(pool: &Pool, app: &str, holder: &str) {
    let shared = crate::db::Backend::of(pool) == crate::db::Backend::Postgres;
    let mut valid_until = Instant::now() + LEASE;
    loop {
        tokio::time::sleep(RENEW_EVERY).await;
        let asked = Instant::now();
        match leases::renew(pool, app, holder, &lease_until(time::OffsetDateTime::now_utc())).await {
            Ok(true) => valid_until = asked + LEASE,
            Ok(false) => {
                tracing::warn!(app = %app, "another instance took over this provisioning job");
                return;
            }
            Err(e) => {
                tracing::warn!(app = %app, error = %e, "cannot renew the provisioning job's lease");
                if shared && Instant::now() + RENEW_EVERY >= valid_until {
                    return;
                }
            }
        }
    }
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
            holder: crate::instance::new_name(),
        })
    }

    /// Looks again now (after a configuration change, a restart request, ...).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// How this instance runs cycles (a preview runs the same way).
    pub fn tuning(&self) -> Tuning {
        self.tuning.clone()
    }

    pub fn is_running(&self, app: &str) -> bool {
        self.running.lock().map(|r| r.contains(app)).unwrap_or(false)
    }

    /// Wakes the loop whenever the database says something changed that can make a job due
    /// (PostgreSQL's `provisio_wake` notifications, sent by triggers on every instance's writes).
    /// Polling still runs, so a notification lost while reconnecting delays a look by at most
    /// one poll.
    pub async fn listen(self: Arc<Self>, url: String) {
        loop {
            let mut listener = match sqlx::postgres::PgListener::connect(&url).await {
                Ok(l) => l,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for database notifications; retrying");
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    continue;
                }
            };
            if let Err(e) = listener.listen("provisio_wake").await {
                tracing::warn!(error = %e, "cannot listen for database notifications; retrying");
                tokio::time::sleep(Duration::from_secs(5)).await;
                continue;
            }
            // recv() reconnects by itself after a lost connection.
            loop {
                match listener.recv().await {
                    Ok(_) => self.wake(),
                    Err(e) => {
                        tracing::warn!(error = %e, "database notifications interrupted");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        }
    }

    /// The loop; runs until the process ends.
    pub async fn run(self: Arc<Self>) {
        tracing::info!(instance = %self.holder, "provisioning scheduler started");
        match cycles::abandon_running(&self.pool, None, &crate::timefmt::now()).await {
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
        for s in jobs::schedules(&self.pool, &now).await? {
            let dead = match &s.leased_to {
                Some(h) if *h == self.holder => None,
                Some(h) if crate::instance::stopped_here(h, &self.holder) => Some(h.clone()),
                Some(_) => continue,
                None => None,
            };
            if self.is_running(&s.app_id) {
                continue;
            }
            if !s.on {
                if s.state == Some(JobState::Active) {
                    jobs::set_state(&self.pool, &s.app_id, JobState::Paused, &now).await?;
                }
                continue;
            }
            if s.state == Some(JobState::Paused) {
                jobs::set_state(&self.pool, &s.app_id, JobState::Active, &now).await?;
            }
            let m = memory.entry(s.app_id.clone()).or_default();
            learn_last_end(m, s.last_ended.as_deref(), at);
            let Some(why) = due(&s, last, &now, at, m) else {
                continue;
            };
            m.pending = None;
            self.start(s.app_id.clone(), why, dead);
        }
        Ok(())
    }

    fn start(self: &Arc<Self>, app: String, why: Due, dead: Option<String>) {
        if let Ok(mut r) = self.running.lock() {
            r.insert(app.clone());
        }
        let me = self.clone();
        tokio::spawn(async move {
            let permit = me.bound.clone().acquire_owned().await;
            me.run_leased(&app, why, dead.as_deref()).await;
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

    /// Runs a cycle of `app` if this instance gets its lease, and keeps the lease while it runs.
    async fn run_leased(&self, app: &str, why: Due, dead: Option<&str>) {
        let now = time::OffsetDateTime::now_utc();
        let stamp = crate::timefmt::format(now);
        match leases::acquire(&self.pool, app, &self.holder, &stamp, &lease_until(now), dead).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::debug!(app = %app, "another instance runs this provisioning job");
                return;
            }
            Err(e) => {
                tracing::warn!(app = %app, error = %e, "cannot lease the provisioning job");
                return;
            }
        }
        // A cycle still Running here was cut short: its instance lost this lease.
        match cycles::abandon_running(&self.pool, Some(app), &stamp).await {
            Ok(0) => {}
            Ok(_) => {
                tracing::warn!(app = %app, "took over a provisioning job whose cycle was cut short; it runs again")
            }
            Err(e) => tracing::warn!(app = %app, error = %e, "cannot read provisioning cycles"),
        }
        tracing::debug!(app = %app, ?why, "provisioning cycle starting");
        tokio::select! {
            r = engine::run(&self.pool, &self.sealer, &self.http, app, &self.tuning) => match r {
                Ok(r) => {
                    crate::metrics::cycle(app, r.kind.as_str(), r.state.as_str(), &r.counters);
                    tracing::info!(
                    app = %app, cycle = %r.id, kind = r.kind.as_str(), state = r.state.as_str(),
                    created = r.counters.created, updated = r.counters.updated,
                    disabled = r.counters.disabled, deleted = r.counters.deleted,
                    failed = r.counters.failed, quarantine = r.quarantine.unwrap_or(""),
                    "provisioning cycle ended"
                    )
                }
                Err(e) => {
                    tracing::error!(app = %app, error = %e, "provisioning cycle failed");
                    // Do not spin on a persistent error: wait like a quarantined job would.
                    tokio::time::sleep(Duration::from_secs(5)).await;
                }
            },
            _ = keep_lease(&self.pool, app, &self.holder) => {
                tracing::warn!(app = %app, "stopped the provisioning cycle: this instance no longer holds the job");
                return;
            }
        }
        if let Err(e) = leases::release(&self.pool, app, &self.holder).await {
            tracing::warn!(app = %app, error = %e, "cannot release the provisioning job's lease");
        }
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
            state: Some(JobState::Active),
            watermark: Some(10),
            initial_requested: false,
            next_attempt: None,
            next_escrow: None,
            last_ended: None,
            leased_to: None,
        }
    }

    #[test]
    fn a_cycle_recorded_elsewhere_counts_toward_the_interval() {
        let at = Instant::now();
        let mut m = Memory::default();
        let ended = crate::timefmt::format(time::OffsetDateTime::now_utc() - time::Duration::minutes(39));
        learn_last_end(&mut m, Some(&ended), at);
        assert_eq!(due(&on(), 10, "2026", at, &mut m), None);
        let later = at + Duration::from_secs(61);
        assert_eq!(due(&on(), 10, "2026", later, &mut m), Some(Due::Reconciliation));
        // An older end never replaces a later one this instance saw.
        let mut m = Memory {
            last_end: Some(at),
            ..Memory::default()
        };
        learn_last_end(&mut m, Some(&ended), at);
        assert_eq!(m.last_end, Some(at));
        learn_last_end(&mut m, None, at);
        assert_eq!(m.last_end, Some(at));
    }

    #[test]
    fn off_and_disabled_jobs_never_run() {
        let mut m = Memory::default();
        let s = jobs::Schedule { on: false, ..on() };
        assert_eq!(due(&s, 99, "2026", Instant::now(), &mut m), None);
        let s = jobs::Schedule {
            state: Some(JobState::Disabled),
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
                state: None,
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
            state: Some(JobState::Quarantine),
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
