//! Fairness between accounts: each account may have a bounded number of SCIM requests in progress
//! on this instance, so one identity provider's bulk load (thousands of requests at a time) takes
//! at most its share of the database connections and the other accounts' requests go on beside
//! it. A request beyond the bound waits for one of its own account's turns, not behind the other
//! accounts'; after [`WAIT`] it is answered 429 with `Retry-After`, as identity providers expect
//! from a busy endpoint.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How long a request waits for its account's turn before it is told to come back.
pub const WAIT: Duration = Duration::from_secs(30);

pub struct AccountTurns {
    per_account: usize,
    accounts: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl AccountTurns {
    pub fn new(per_account: usize) -> Self {
        AccountTurns {
            per_account: per_account.max(1),
            accounts: Mutex::default(),
        }
    }

    /// One of `account`'s turns, held until the request is answered; None when none came free
    /// within [`WAIT`]. Only called for authenticated requests, so only real accounts get an
    /// entry.
    pub async fn take(&self, account: &str) -> Option<OwnedSemaphorePermit> {
        let turns = {
            let mut map = self.accounts.lock().unwrap_or_else(|e| e.into_inner());
            match map.get(account) {
                Some(t) => t.clone(),
                None => map
                    .entry(account.to_string())
                    .or_insert_with(|| Arc::new(Semaphore::new(self.per_account)))
                    .clone(),
            }
        };
        if let Ok(turn) = turns.clone().try_acquire_owned() {
            crate::metrics::scim_turn(Some(Duration::ZERO));
            return Some(turn);
        }
        let started = Instant::now();
        match tokio::time::timeout(WAIT, turns.acquire_owned()).await {
            Ok(Ok(turn)) => {
                crate::metrics::scim_turn(Some(started.elapsed()));
                Some(turn)
            }
            _ => {
                crate::metrics::scim_turn(None);
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_account_at_its_bound_waits_while_another_goes_on() {
        let turns = AccountTurns::new(2);
        let a1 = turns.take("a").await.unwrap();
        let _a2 = turns.take("a").await.unwrap();
        // Account b is not held up by a's requests.
        let b = tokio::time::timeout(Duration::from_millis(50), turns.take("b")).await;
        assert!(b.is_ok_and(|t| t.is_some()));
        // a's third waits until one of its own finishes.
        let third = tokio::time::timeout(Duration::from_millis(50), turns.take("a")).await;
        assert!(third.is_err(), "a third request of a must wait");
        drop(a1);
        let third = tokio::time::timeout(Duration::from_millis(50), turns.take("a")).await;
        assert!(third.is_ok_and(|t| t.is_some()));
    }
}
