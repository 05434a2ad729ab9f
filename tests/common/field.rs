//! Helpers for the tests against misbehaving SCIM targets (`tests/field_*.rs`): an application
//! targeting a [`QuirkyTarget`], five users and a group provisioned into it, and waits.

use super::apps::{eventually, setup_targeting, Setup};
use super::quirky::{Quirks, QuirkyTarget};
use super::Tenant;
use provisio::scim::schema::Kind;
use serde_json::{json, Value};
use std::collections::BTreeSet;

pub async fn targeting(quirks: Quirks) -> (QuirkyTarget, Setup) {
    let q = QuirkyTarget::start(quirks).await;
    let tenant = Tenant {
        account: "quirky".into(),
        url: q.url.clone(),
        key: q.token.clone(),
    };
    let x = setup_targeting("scim2", tenant, &[]).await;
    (q, x)
}

pub fn names(list: &[Value], attr: &str) -> BTreeSet<String> {
    list.iter()
        .filter_map(|r| r[attr].as_str().map(str::to_string))
        .collect()
}

/// Accounts already in the target for [`provision_five`]'s users.
pub fn seed_the_five(q: &QuirkyTarget) {
    for n in 1..=5 {
        q.seed(
            Kind::User,
            json!({"userName": format!("user{n}@contoso.com"), "displayName": format!("User {n}"), "active": true}),
        );
    }
}

/// Waits (up to `secs`) until the initial cycle has run to its end.
pub async fn initial_cycle_ended(x: &Setup, secs: u64) {
    eventually(secs, "the initial cycle ended", || async {
        let s = x.status().await;
        let ended =
            s["initial_pending"] == false && s["current"]["state"].as_str().is_some_and(|st| st != "Running");
        ended.then_some(()).ok_or(s.to_string())
    })
    .await;
}

/// Provisioning On; waits until the target holds `users` users.
pub async fn switch_on_until_created(q: &QuirkyTarget, x: &Setup, users: usize) {
    let token = q.token.clone();
    x.configure_with(&token, "on", "500").await;
    eventually(30, "all created", || async {
        let all = q.all(Kind::User);
        (all.len() == users)
            .then_some(())
            .ok_or(format!("{all:?} / {}", x.status().await))
    })
    .await;
}

/// Five directory users and a group of two, all assigned, then provisioning On; waits until the
/// target holds them (besides whatever was there before).
pub async fn provision_five(q: &QuirkyTarget, x: &Setup, foreign_users: usize, foreign_groups: usize) {
    assigned_users(x, 1..=5).await;
    let g = x.group("Engineers").await;
    x.add_member(&g, "user1@contoso.com").await;
    x.add_member(&g, "user2@contoso.com").await;
    x.assign("Engineers", "").await;
    let token = q.token.clone();
    x.configure_with(&token, "on", "500").await;
    eventually(30, "the target holds the directory's users and group", || async {
        let users = q.all(Kind::User);
        let groups = q.all(Kind::Group);
        let group_done = groups.iter().any(|g| {
            g["displayName"] == "Engineers" && g["members"].as_array().is_some_and(|m| m.len() == 2)
        });
        if users.len() == 5 + foreign_users && groups.len() == 1 + foreign_groups && group_done {
            Ok(())
        } else {
            Err(format!("users {users:?}\ngroups {groups:?}"))
        }
    })
    .await;
}

/// The provisioning log's latest entry with `action`, once there is one.
pub async fn logged(x: &Setup, action: &str) -> Value {
    eventually(30, &format!("a {action} is logged"), || async {
        let logs = x.post("provisioning/logs", &[("filter[app]", &x.app)]).await;
        logs["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["action"] == action)
            .cloned()
            .ok_or(logs.to_string())
    })
    .await
}

/// `Restart (Full)`, then waits until the full cycle it starts has ended; returns how many
/// writes the target had received before it.
pub async fn full_restart(q: &QuirkyTarget, x: &Setup) -> usize {
    let cycles = x.status().await["history"].as_array().map_or(0, Vec::len);
    let before = q.writes().len();
    x.post("provisioning/restart", &[("app", &x.app), ("reset", "Full")])
        .await;
    eventually(30, "the full cycle ended", || async {
        let s = x.status().await;
        let ended = s["initial_pending"] == false
            && s["history"].as_array().is_some_and(|h| h.len() > cycles)
            && s["current"]["state"].as_str().is_some_and(|st| st != "Running");
        ended.then_some(()).ok_or(s.to_string())
    })
    .await;
    before
}

/// The application's Provisioning page as the server renders it.
pub async fn provisioning_page(x: &Setup) -> String {
    x.c.get(x.s.url(&format!("/apps/{}/provisioning", x.app)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Directory users `user{n}@contoso.com` ("User {n}") for each n of `numbers`, each assigned.
pub async fn assigned_users(x: &Setup, numbers: std::ops::RangeInclusive<usize>) {
    for n in numbers {
        let upn = format!("user{n}@contoso.com");
        x.user(&upn, &format!("User {n}"), &[]).await;
        x.assign(&upn, "").await;
    }
}

/// Provisioning On with the target's token; waits (up to `secs`) until the initial cycle ended.
pub async fn switch_on(q: &QuirkyTarget, x: &Setup, secs: u64) {
    x.configure_with(&q.token, "on", "500").await;
    initial_cycle_ended(x, secs).await;
}
