//! Sign-in throttling. Failures are counted per user name (whether or not it exists, so the answer
//! reveals nothing) and per client address, in a sliding window. Once a key reaches its limit every
//! attempt is refused, even with the right password, until the oldest failure leaves the window.
//!
//! Kept in memory: a restart forgets the counts, which an attacker cannot cause.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub per_user: usize,
    pub per_address: usize,
    pub window: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            per_user: 5,
            per_address: 20,
            window: Duration::from_secs(15 * 60),
        }
    }
}

pub struct Throttle {
    limits: Limits,
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl Throttle {
    pub fn new(limits: Limits) -> Self {
        Throttle {
            limits,
            failures: Mutex::new(HashMap::new()),
        }
    }

    fn keys(username: &str, address: &str) -> [(String, bool); 2] {
        [
            (format!("u:{}", username.trim().to_lowercase()), true),
            (format!("a:{address}"), false),
        ]
    }

    /// `Err(wait)` when the user name or the address is locked out.
    pub fn check(&self, username: &str, address: &str) -> Result<(), Duration> {
        self.check_at(username, address, Instant::now())
    }

    fn check_at(&self, username: &str, address: &str, now: Instant) -> Result<(), Duration> {
        let mut map = self.failures.lock().expect("throttle lock poisoned");
        let mut wait = Duration::ZERO;
        for (key, is_user) in Self::keys(username, address) {
            let limit = if is_user {
                self.limits.per_user
            } else {
                self.limits.per_address
            };
            if let Some(q) = map.get_mut(&key) {
                while q
                    .front()
                    .is_some_and(|t| now.duration_since(*t) >= self.limits.window)
                {
                    q.pop_front();
                }
                if q.len() >= limit {
                    let oldest = *q.front().expect("non-empty");
                    wait = wait.max(self.limits.window - now.duration_since(oldest));
                }
            }
        }
        if wait.is_zero() {
            Ok(())
        } else {
            Err(wait)
        }
    }

    pub fn record_failure(&self, username: &str, address: &str) {
        self.record_failure_at(username, address, Instant::now())
    }

    fn record_failure_at(&self, username: &str, address: &str, now: Instant) {
        let mut map = self.failures.lock().expect("throttle lock poisoned");
        // Bound memory under a spray of random user names: forget keys whose failures expired.
        if map.len() > 100_000 {
            let window = self.limits.window;
            map.retain(|_, q| q.back().is_some_and(|t| now.duration_since(*t) < window));
        }
        for (key, _) in Self::keys(username, address) {
            let q = map.entry(key).or_default();
            q.push_back(now);
            if q.len() > 64 {
                q.pop_front();
            }
        }
    }

    /// A successful sign-in clears the user name's failures (not the address's: one right password
    /// must not reset a spray across many names).
    pub fn record_success(&self, username: &str) {
        let mut map = self.failures.lock().expect("throttle lock poisoned");
        map.remove(&format!("u:{}", username.trim().to_lowercase()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            per_user: 3,
            per_address: 5,
            window: Duration::from_secs(60),
        }
    }

    #[test]
    fn locks_a_user_name_after_the_limit_and_releases_after_the_window() {
        let t = Throttle::new(limits());
        let start = Instant::now();
        for i in 0..3 {
            assert!(t.check_at("Alice", "1.1.1.1", start).is_ok(), "attempt {i}");
            t.record_failure_at("alice", "1.1.1.1", start);
        }
        let wait = t
            .check_at("ALICE", "2.2.2.2", start + Duration::from_secs(10))
            .unwrap_err();
        assert_eq!(wait, Duration::from_secs(50));
        assert!(t.check_at("bob", "2.2.2.2", start).is_ok());
        assert!(t
            .check_at("alice", "2.2.2.2", start + Duration::from_secs(60))
            .is_ok());
    }

    #[test]
    fn locks_an_address_spraying_many_names() {
        let t = Throttle::new(limits());
        let now = Instant::now();
        for i in 0..5 {
            t.record_failure_at(&format!("user{i}"), "9.9.9.9", now);
        }
        assert!(t.check_at("someone-else", "9.9.9.9", now).is_err());
        assert!(t.check_at("someone-else", "8.8.8.8", now).is_ok());
    }

    #[test]
    fn success_clears_only_the_user_name() {
        let t = Throttle::new(limits());
        let now = Instant::now();
        for _ in 0..3 {
            t.record_failure_at("alice", "1.1.1.1", now);
        }
        t.record_success("alice");
        assert!(t.check_at("alice", "3.3.3.3", now).is_ok());
    }
}
