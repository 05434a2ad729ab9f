//! What Synchronization details says while a cycle runs against a rate-limited application:
//! progress that moves with the objects done, the phase, and the time so far.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![cfg(feature = "ssr")]

mod common;

use common::field::targeting;
use common::quirky::Quirks;
use std::time::{Duration, Instant};

const USERS: usize = 30;

#[tokio::test]
async fn progress_moves_while_a_rate_limited_batch_is_out() {
    // A target without Bulk: one request per create (and one lookup before it).
    let (q, x) = targeting(Quirks::default()).await;
    for i in 0..USERS {
        x.user(&format!("user{i}@contoso.com"), &format!("User {i}"), &[])
            .await;
    }
    // Every user in one batch, at 5 requests a second: the batch takes several seconds, and
    // before, its progress showed only once all of it was back.
    x.configure_fields(&[
        ("tenant_url", &q.url),
        ("secret_token", &q.token),
        ("provisioning_status", "on"),
        ("scope", "all"),
        ("max_requests_per_second", "5"),
    ])
    .await;
    let started = Instant::now();
    let mut seen = Vec::new();
    let partial = loop {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no cycle ran: {seen:?}"
        );
        let s = x.status().await;
        let c = &s["current"];
        if c["state"] == "Running" {
            let (done, total) = (
                c["counts"]["processed"].as_i64().unwrap(),
                c["counts"]["total"].as_i64().unwrap(),
            );
            seen.push((done, total));
            if done > 0 && done < total {
                break c.clone();
            }
        } else if !c.is_null() {
            panic!("the cycle ended without showing progress on the way: {seen:?} then {c}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(partial["phase"], "users", "{partial}");
    assert!(
        partial["duration_ms"].as_i64().unwrap() > 0,
        "time so far: {partial}"
    );
    assert!(partial["percent"].as_u64().unwrap() < 100, "{partial}");
    assert_eq!(x.status().await["rate_limit"], 5);
}
