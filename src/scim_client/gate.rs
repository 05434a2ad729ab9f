//! Adaptive concurrency towards one application: at most `limit` requests at a time, the limit
//! halved when the application fails under load (5xx, 429, timeouts) and grown back by one after
//! a run of answers that are not failures (additive increase, multiplicative decrease), never
//! above the engine's configured concurrency nor below one. An application that answers
//! `database is locked` with 500 when ten requests arrive together gets fewer, instead of the same
//! ten retried again and again. A 500, 502 or 504 is ambiguous (one account's own error looks the
//! same): it counts as load only when another request failed so within the last few answers, so
//! one object that always fails (retried, or created again after a lookup) does not slow the
//! whole cycle down; 429, 503 and timeouts count at once.

use std::sync::{Arc, Mutex};
use tokio::sync::Semaphore;

/// Answers in a row, not failures, before the limit grows by one (times the limit).
const GROW_AFTER: usize = 20;

#[derive(Clone)]
pub struct Gate {
    inner: Arc<Inner>,
}

struct Inner {
    /// Free request slots; permits are taken out of it by hand and given back (or not) on release.
    slots: Semaphore,
    max: usize,
    state: Mutex<State>,
}

struct State {
    limit: usize,
    /// Slots to keep when they are released, after the limit came down while they were in use.
    owed: usize,
    streak: usize,
    /// The last ambiguous failure: which request (a hash of it) and the answers since.
    last_ambiguous: Option<(u64, usize)>,
}

/// How sure a failure is to mean load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// 429, 503, a timeout, a refused connection: the application says it is overloaded.
    Load,
    /// 500, 502, 504: load, or this request's own problem; with a hash of the request (method,
    /// URL, body), so the same request failing again is not taken for load.
    Ambiguous(u64),
}

/// One request in flight; the slot goes back (or pays a debt) when it is dropped.
pub struct Slot {
    inner: Arc<Inner>,
}

impl Gate {
    pub fn new(max: usize) -> Gate {
        let max = max.max(1);
        Gate {
            inner: Arc::new(Inner {
                slots: Semaphore::new(max),
                max,
                state: Mutex::new(State {
                    limit: max,
                    owed: 0,
                    streak: 0,
                    last_ambiguous: None,
                }),
            }),
        }
    }

    pub async fn enter(&self) -> Slot {
        if let Ok(permit) = self.inner.slots.acquire().await {
            permit.forget();
        }
        Slot {
            inner: self.inner.clone(),
        }
    }

    /// The requests allowed at a time now.
    pub fn limit(&self) -> usize {
        self.inner.state().limit
    }

    /// The application failed: halves the limit when that means load (see [`Failure`]). Returns
    /// the new limit when it changed.
    pub fn failed(&self, failure: Failure) -> Option<usize> {
        let mut s = self.inner.state();
        if let Failure::Ambiguous(request) = failure {
            let previous = s.last_ambiguous.replace((request, 0));
            // Alone among the last answers, or the same request again: not a sign of load.
            let another_close_by =
                previous.is_some_and(|(other, answers)| other != request && answers <= 2 * s.limit);
            if !another_close_by {
                return None;
            }
        }
        s.streak = 0;
        let lower = (s.limit / 2).max(1);
        if lower == s.limit {
            return None;
        }
        let cut = s.limit - lower;
        s.limit = lower;
        // Free slots go at once; those in use are kept when they come back.
        let mut taken = 0;
        while taken < cut {
            match self.inner.slots.try_acquire() {
                Ok(p) => {
                    p.forget();
                    taken += 1;
                }
                Err(_) => break,
            }
        }
        s.owed += cut - taken;
        Some(lower)
    }

    /// An answer that is not a failure under load: after enough of them, one more slot.
    pub fn answered(&self) {
        let mut s = self.inner.state();
        if let Some((_, n)) = s.last_ambiguous.as_mut() {
            *n += 1;
        }
        if s.limit >= self.inner.max {
            return;
        }
        s.streak += 1;
        if s.streak < GROW_AFTER * s.limit {
            return;
        }
        s.streak = 0;
        s.limit += 1;
        if s.owed > 0 {
            s.owed -= 1;
        } else {
            self.inner.slots.add_permits(1);
        }
    }
}

impl Inner {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut s = self.inner.state();
        if s.owed > 0 {
            s.owed -= 1;
        } else {
            self.inner.slots.add_permits(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn failures_halve_the_limit_and_answers_grow_it_back() {
        let gate = Gate::new(8);
        let held: Vec<Slot> = futures_util::future::join_all((0..8).map(|_| gate.enter())).await;
        assert_eq!(gate.failed(Failure::Load), Some(4));
        assert_eq!(gate.failed(Failure::Load), Some(2));
        drop(held);
        // Six of the eight slots in use when the limit came down are kept: two are free.
        let a = gate.enter().await;
        let b = gate.enter().await;
        assert!(
            tokio::time::timeout(std::time::Duration::from_millis(50), gate.enter())
                .await
                .is_err(),
            "a third request waits"
        );
        drop((a, b));
        assert_eq!(gate.failed(Failure::Load), Some(1));
        assert_eq!(gate.failed(Failure::Load), None, "never below one");
        for _ in 0..GROW_AFTER {
            gate.answered();
        }
        assert_eq!(gate.limit(), 2);
        let a = gate.enter().await;
        let b = gate.enter().await;
        drop((a, b));
        for _ in 0..1000 {
            gate.answered();
        }
        assert_eq!(gate.limit(), 8, "never above the maximum");
        let all: Vec<Slot> = futures_util::future::join_all((0..8).map(|_| gate.enter())).await;
        assert_eq!(all.len(), 8);
    }

    #[test]
    fn an_ambiguous_failure_counts_only_with_another_close_by() {
        let gate = Gate::new(8);
        // Failures far apart: no cut.
        for request in 0..5 {
            assert_eq!(gate.failed(Failure::Ambiguous(request)), None);
            for _ in 0..17 {
                gate.answered();
            }
        }
        // One request that always fails, again and again: no cut.
        for _ in 0..5 {
            assert_eq!(gate.failed(Failure::Ambiguous(7)), None);
            gate.answered();
        }
        assert_eq!(gate.limit(), 8);
        // Another request failing within the last few answers: load.
        assert_eq!(gate.failed(Failure::Ambiguous(8)), Some(4));
        assert_eq!(gate.failed(Failure::Ambiguous(9)), Some(2));
    }
}
