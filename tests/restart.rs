//! Restart (Full) while a cycle runs: setting the links aside under the running cycle changed
//! what it read and wrote (it found its links gone, sent a group's members again, and wrote some
//! links back). Now the links are set aside at once only when no cycle holds the job's lease,
//! and otherwise when the next cycle starts.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::apps::{eventually, setup_with};

#[tokio::test]
async fn a_full_restart_never_changes_links_under_a_running_cycle() {
    let x = setup_with("scim2", &[]).await;
    let mut ids = Vec::new();
    for n in 1..=10 {
        let upn = format!("user{n}@contoso.com");
        ids.push(x.user(&upn, &format!("User {n}"), &[]).await);
        x.assign(&upn, "").await;
    }
    x.configure_fields(&[("provisioning_status", "on")]).await;
    eventually(30, "ten users provisioned", || async {
        let s = x.status().await;
        (s["users_managed"] == 10 && s["current"]["state"] != "Running")
            .then_some(())
            .ok_or(s.to_string())
    })
    .await;
    // One request a second, and ten updates to send: the next cycle takes seconds.
    x.configure_fields(&[("provisioning_status", "on"), ("max_requests_per_second", "1")])
        .await;
    for id in &ids {
        x.post(
            "directory/update_user",
            &[("id", id), ("attrs[jobTitle]", "Engineer")],
        )
        .await;
    }
    let running = eventually(20, "the update cycle runs", || async {
        let s = x.status().await;
        (s["current"]["state"] == "Running" && s["current"]["kind"] == "incremental")
            .then(|| s["current"]["id"].clone())
            .ok_or(s.to_string())
    })
    .await;
    x.post("provisioning/restart", &[("app", &x.app), ("reset", "Full")])
        .await;
    let s = x.status().await;
    if s["history"][0]["id"] == running && s["history"][0]["state"] == "Running" {
        assert_eq!(
            s["users_managed"], 10,
            "the running cycle's links are left to it: {s}"
        );
    }
    // The next cycle is the initial one the restart asked for; everything converges.
    eventually(60, "the initial cycle after the restart", || async {
        let s = x.status().await;
        let done = s["initial_pending"] == false
            && s["current"]["kind"] == "initial"
            && s["current"]["id"] != running
            && s["current"]["state"].as_str().is_some_and(|st| st != "Running");
        done.then_some(()).ok_or(s.to_string())
    })
    .await;
    let s = x.status().await;
    assert_eq!(s["users_managed"], 10, "{s}");
    assert_eq!(s["escrowed"], 0, "{s}");
    let users = x.target_all("Users").await;
    assert_eq!(users.len(), 10, "no duplicates: {users:?}");
    assert!(users.iter().all(|u| u["title"] == "Engineer"), "{users:?}");
}
