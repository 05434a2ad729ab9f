//! Sign-in throttling that an attacker cannot turn against the administrators.
//!
//! - An attempt is **reserved before the password is checked**: it counts as a failure from the
//!   moment it starts and is taken back only when it succeeds, so a burst of concurrent attempts
//!   cannot all pass the check before any of them is recorded.
//! - A hard limit applies per (user name, address) and per address: an attacker locks out only
//!   their own address, never the administrator signing in from another one.
//! - A user name attacked from many addresses is **slowed, never locked**: after a few failures from
//!   addresses it never signed in from, each further attempt from such an address waits a delay that
//!   doubles with every failure, up to a cap. Addresses the name signed in from before ("familiar")
//!   are not slowed.
//! - A new password (`provisio admin reset-password`, or any change that ends the user's sessions)
//!   starts the name's record afresh: the throttle remembers the credentials' version it counted
//!   against.
//! - Refused attempts are counted, and a refusal is reported for the audit log at most once per key
//!   and window, with the number refused since the last report.
//!
//! Kept in memory (a restart forgets the counts, which an attacker cannot cause), bounded in size.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Longest user name the throttle (and sign-in) accepts, in bytes; a longer one is refused before
/// it becomes a key.
pub const MAX_USERNAME_BYTES: usize = 256;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Failures of one user name from one address before that address is locked for the name.
    pub per_pair: usize,
    /// Failures from one address (any names) before the address is locked.
    pub per_address: usize,
    /// Failures of one user name from unfamiliar addresses before its attempts are slowed.
    pub free_per_name: usize,
    /// The longest delay between two attempts of a slowed user name.
    pub max_delay: Duration,
    pub window: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            per_pair: 5,
            per_address: 20,
            free_per_name: 5,
            max_delay: Duration::from_secs(60),
            window: Duration::from_secs(15 * 60),
        }
    }
}

/// Why an attempt may not go ahead now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub wait: Duration,
    /// `Some(n)` when this refusal is to be written to the audit log, `n` being the refusals of the
    /// same key not written since the last entry; `None` when one was written within the window.
    pub report: Option<u64>,
}

/// A reserved attempt: a failure until [`Throttle::succeeded`] or [`Throttle::cancel`] says otherwise.
#[derive(Debug)]
pub struct Ticket {
    name: String,
    address: String,
    at: Instant,
    familiar: bool,
}

#[derive(Default)]
struct NameRecord {
    /// The credentials' version the failures were counted against.
    version: i64,
    /// Failures from unfamiliar addresses.
    failures: VecDeque<Instant>,
    by_address: HashMap<String, VecDeque<Instant>>,
    /// Addresses the name signed in from, most recent last.
    familiar: VecDeque<String>,
}

#[derive(Default)]
struct State {
    names: HashMap<String, NameRecord>,
    addresses: HashMap<String, VecDeque<Instant>>,
    /// Per refused key: when a refusal was last reported, and how many since.
    refusals: HashMap<String, (Instant, u64)>,
}

pub struct Throttle {
    limits: Limits,
    state: Mutex<State>,
}

/// Keys kept before expired ones are swept.
const SWEEP_AT: usize = 50_000;
/// Failures kept per key: more than any limit.
const KEPT: usize = 64;
const FAMILIAR_KEPT: usize = 8;

fn prune(q: &mut VecDeque<Instant>, now: Instant, window: Duration) {
    while q.front().is_some_and(|t| now.duration_since(*t) >= window) {
        q.pop_front();
    }
}

fn push(q: &mut VecDeque<Instant>, at: Instant) {
    q.push_back(at);
    if q.len() > KEPT {
        q.pop_front();
    }
}

fn remove(q: &mut VecDeque<Instant>, at: Instant) {
    if let Some(i) = q.iter().rposition(|t| *t == at) {
        q.remove(i);
    }
}

/// The name as a key: trimmed, lower case (callers have capped its length).
fn key(name: &str) -> String {
    name.trim().to_lowercase()
}

impl Throttle {
    pub fn new(limits: Limits) -> Self {
        Throttle {
            limits,
            state: Mutex::new(State::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is counts only; a panic elsewhere while holding it leaves nothing half-done
        // that matters, so a poisoned lock is used as it is.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Reserves an attempt to sign in as `name` from `address`, whose credentials are at `version`
    /// (0 for a name that does not exist).
    pub fn begin(&self, name: &str, address: &str, version: i64) -> Result<Ticket, Refused> {
        self.begin_at(name, address, version, Instant::now())
    }

    fn begin_at(&self, name: &str, address: &str, version: i64, now: Instant) -> Result<Ticket, Refused> {
        let l = self.limits;
        let name = key(name);
        let mut st = self.lock();
        if st.names.len() + st.addresses.len() > SWEEP_AT {
            Self::sweep(&mut st, now, l.window);
        }
        let mut wait = Duration::ZERO;
        let mut refused_key = String::new();
        let locked = |q: &VecDeque<Instant>, limit: usize| -> Option<Duration> {
            (q.len() >= limit).then(|| l.window.saturating_sub(now.duration_since(q[q.len() - limit])))
        };
        if let Some(q) = st.addresses.get_mut(address) {
            prune(q, now, l.window);
            if let Some(w) = locked(q, l.per_address) {
                wait = w;
                refused_key = format!("a:{address}");
            }
        }
        let record = st.names.entry(name.clone()).or_default();
        if record.version != version {
            // A new password: what was counted against the old one no longer matters.
            *record = NameRecord {
                version,
                familiar: std::mem::take(&mut record.familiar),
                ..Default::default()
            };
        }
        let familiar = record.familiar.iter().any(|a| a == address);
        if let Some(q) = record.by_address.get_mut(address) {
            prune(q, now, l.window);
            if let Some(w) = locked(q, l.per_pair) {
                if w > wait {
                    wait = w;
                    refused_key = format!("p:{name}\n{address}");
                }
            }
        }
        prune(&mut record.failures, now, l.window);
        let n = record.failures.len();
        if !familiar && n >= l.free_per_name {
            let doublings = u32::try_from(n - l.free_per_name).unwrap_or(u32::MAX).min(16);
            let delay = Duration::from_secs(1u64 << doublings).min(l.max_delay);
            let since = record.failures.back().map_or(delay, |t| now.duration_since(*t));
            if since < delay && delay - since > wait {
                wait = delay - since;
                refused_key = format!("n:{name}");
            }
        }
        if !wait.is_zero() {
            let entry = st.refusals.entry(refused_key).or_insert((now, 0));
            let report = if entry.1 == 0 || now.duration_since(entry.0) >= l.window {
                let unreported = entry.1.saturating_sub(1);
                *entry = (now, 1);
                Some(unreported)
            } else {
                entry.1 += 1;
                None
            };
            return Err(Refused { wait, report });
        }
        push(record.by_address.entry(address.to_string()).or_default(), now);
        if !familiar {
            push(&mut record.failures, now);
        }
        push(st.addresses.entry(address.to_string()).or_default(), now);
        Ok(Ticket {
            name,
            address: address.to_string(),
            at: now,
            familiar,
        })
    }

    /// Takes a reserved attempt back, as if it had not been made (it was not checked).
    pub fn cancel(&self, t: Ticket) {
        let mut st = self.lock();
        if let Some(q) = st.addresses.get_mut(&t.address) {
            remove(q, t.at);
        }
        if let Some(r) = st.names.get_mut(&t.name) {
            if let Some(q) = r.by_address.get_mut(&t.address) {
                remove(q, t.at);
            }
            if !t.familiar {
                remove(&mut r.failures, t.at);
            }
        }
    }

    /// The attempt succeeded: it is not a failure, the name's failures from this address are
    /// forgotten and the address becomes familiar. The address's failures for other names stay
    /// (one right password must not reset a spray across many names).
    pub fn succeeded(&self, t: Ticket) {
        let (name, address) = (t.name.clone(), t.address.clone());
        self.cancel(t);
        let mut st = self.lock();
        let r = st.names.entry(name).or_default();
        r.by_address.remove(&address);
        r.familiar.retain(|a| *a != address);
        r.familiar.push_back(address);
        if r.familiar.len() > FAMILIAR_KEPT {
            r.familiar.pop_front();
        }
    }

    fn sweep(st: &mut State, now: Instant, window: Duration) {
        let live = |q: &VecDeque<Instant>| q.back().is_some_and(|t| now.duration_since(*t) < window);
        st.addresses.retain(|_, q| live(q));
        st.names.retain(|_, r| {
            r.by_address.retain(|_, q| live(q));
            live(&r.failures) || !r.by_address.is_empty() || !r.familiar.is_empty()
        });
        st.refusals.retain(|_, (at, _)| now.duration_since(*at) < window);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle() -> Throttle {
        Throttle::new(Limits {
            per_pair: 3,
            per_address: 5,
            free_per_name: 3,
            max_delay: Duration::from_secs(30),
            window: Duration::from_secs(600),
        })
    }

    fn fail(t: &Throttle, name: &str, addr: &str, now: Instant) {
        t.begin_at(name, addr, 1, now).expect("allowed");
    }

    #[test]
    fn concurrent_attempts_are_counted_before_they_are_checked() {
        let t = throttle();
        let now = Instant::now();
        // Nothing has finished yet; only the address's limit may start.
        let started = (0..10)
            .filter(|i| t.begin_at(&format!("user{i}"), "9.9.9.9", 1, now).is_ok())
            .count();
        assert_eq!(started, 5);
    }

    #[test]
    fn failures_from_one_address_lock_only_that_address_for_the_name() {
        let t = throttle();
        let now = Instant::now();
        let ok = t.begin_at("admin", "1.1.1.1", 1, now).unwrap();
        t.succeeded(ok);
        for _ in 0..3 {
            fail(&t, "Admin", "6.6.6.6", now);
        }
        let refused = t.begin_at("admin", "6.6.6.6", 1, now).unwrap_err();
        assert_eq!(refused.wait, Duration::from_secs(600));
        // The administrator's own (familiar) address is not affected at all.
        assert!(t.begin_at("admin", "1.1.1.1", 1, now).is_ok());
    }

    #[test]
    fn a_name_attacked_from_many_addresses_is_slowed_not_locked() {
        let t = throttle();
        let mut now = Instant::now();
        for i in 0..3 {
            fail(&t, "admin", &format!("10.0.0.{i}"), now);
        }
        // The fourth unfamiliar attempt waits 1 s, then 2 s, 4 s ... up to 30 s; each wait ends.
        let mut expected = 1;
        for i in 3..12 {
            let addr = format!("10.0.0.{i}");
            let r = t.begin_at("admin", &addr, 1, now).unwrap_err();
            assert_eq!(r.wait, Duration::from_secs(expected));
            now += r.wait;
            fail(&t, "admin", &addr, now);
            expected = (expected * 2).min(30);
        }
        assert_eq!(expected, 30);
    }

    #[test]
    fn a_new_password_forgets_the_failures() {
        let t = throttle();
        let now = Instant::now();
        for _ in 0..3 {
            fail(&t, "admin", "6.6.6.6", now);
        }
        assert!(t.begin_at("admin", "6.6.6.6", 1, now).is_err());
        assert!(t.begin_at("admin", "6.6.6.6", 2, now).is_ok());
    }

    #[test]
    fn refusals_are_reported_once_per_window_with_a_count() {
        let t = throttle();
        let now = Instant::now();
        for _ in 0..3 {
            fail(&t, "admin", "6.6.6.6", now);
        }
        let reports: Vec<_> = (0..5)
            .map(|_| t.begin_at("admin", "6.6.6.6", 1, now).unwrap_err().report)
            .collect();
        assert_eq!(reports, [Some(0), None, None, None, None]);
        let later = now + Duration::from_secs(599);
        assert_eq!(t.begin_at("admin", "6.6.6.6", 1, later).unwrap_err().report, None);
        // The lock has ended, but an unfamiliar name under attack is still slowed; the next
        // report carries the count of the refusals not reported.
        fail(&t, "admin", "6.6.6.6", now + Duration::from_secs(1200));
        fail(&t, "admin", "6.6.6.6", now + Duration::from_secs(1201));
        fail(&t, "admin", "6.6.6.6", now + Duration::from_secs(1202));
        let r = t
            .begin_at("admin", "6.6.6.6", 1, now + Duration::from_secs(1202))
            .unwrap_err();
        assert_eq!(r.report, Some(5));
    }

    #[test]
    fn success_and_cancel_take_the_attempt_back() {
        let t = throttle();
        let now = Instant::now();
        for i in 0..4 {
            let ticket = t.begin_at(&format!("u{i}"), "7.7.7.7", 1, now).unwrap();
            t.cancel(ticket);
        }
        let ticket = t.begin_at("alice", "7.7.7.7", 1, now).unwrap();
        t.succeeded(ticket);
        for i in 0..5 {
            assert!(t.begin_at(&format!("v{i}"), "7.7.7.7", 1, now).is_ok());
        }
    }
}
