//! The engine against SCIM endpoints that bend the rules (`common::quirky`, one switch per
//! misbehaviour seen in real applications), how it matches and links: each cycle must converge
//! exactly, touch no account Provisio does not own, and say what it adapted to. What it writes
//! and how it checks the writes: `field_writes.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::apps::{eventually, setup_targeting};
use common::field::*;
use common::quirky::Quirks;
use common::Tenant;
use provisio::scim::schema::Kind;
use serde_json::json;
use std::collections::BTreeSet;

/// The target ignores `filter` (answering every lookup with every account, a page at a time):
/// no directory user may be taken for the account that was there before, nor the group for
/// the unrelated group; all are created, once.
async fn foreign_accounts_stay_untouched(quirks: Quirks) {
    let (q, x) = targeting(quirks).await;
    let admin = q.seed(
        Kind::User,
        json!({"userName": "admin@app.example", "displayName": "The application's admin", "active": true}),
    );
    let admins = q.seed(Kind::Group, json!({"displayName": "Administrators"}));
    provision_five(&q, &x, 1, 1).await;

    // Another change, another cycle: still nothing foreign is touched.
    x.user("user6@contoso.com", "User 6", &[]).await;
    x.assign("user6@contoso.com", "").await;
    eventually(30, "the sixth user arrives", || async {
        let n = q.all(Kind::User).len();
        (n == 7).then_some(()).ok_or(format!("{n} users"))
    })
    .await;

    let touched: Vec<_> = q
        .writes()
        .into_iter()
        .filter(|w| w.path.ends_with(&format!("/{admin}")) || w.path.ends_with(&format!("/{admins}")))
        .collect();
    assert!(touched.is_empty(), "foreign accounts were written: {touched:?}");
    let users = q.all(Kind::User);
    assert_eq!(
        names(&users, "userName"),
        (1..=6)
            .map(|n| format!("user{n}@contoso.com"))
            .chain(["admin@app.example".to_string()])
            .collect(),
    );
    let admin_now = users.iter().find(|u| u["id"] == admin.as_str()).unwrap();
    assert_eq!(admin_now["displayName"], "The application's admin");
    let creates = q.writes().iter().filter(|w| w.method == "POST").count();
    assert_eq!(creates, 7, "six users and one group, each created once");
}

#[tokio::test]
async fn a_target_that_ignores_filters_never_has_its_own_accounts_overwritten() {
    foreign_accounts_stay_untouched(Quirks {
        ignores_filter: true,
        page_size: 2,
        ..Quirks::default()
    })
    .await;
}

#[tokio::test]
async fn a_target_that_says_it_cannot_filter_is_matched_locally() {
    foreign_accounts_stay_untouched(Quirks {
        filter_unsupported: true,
        ignores_filter: true,
        page_size: 3,
        ..Quirks::default()
    })
    .await;
}

#[tokio::test]
async fn a_compliant_quirky_target_converges() {
    let (q, x) = targeting(Quirks::default()).await;
    provision_five(&q, &x, 0, 0).await;
    // Test Connection's probe reads what it supports, and finds its lookups trustworthy.
    let probe = common::cli_async(&x.s, &["app", "test-connection", &x.app]).await;
    assert!(probe.contains("PATCH: supported."), "{probe}");
    assert!(probe.contains("Schemas: not published"), "{probe}");
    assert!(probe.contains("found by its userName, and only it"), "{probe}");
    let writes = q.writes();
    assert_eq!(writes.iter().filter(|w| w.method == "POST").count(), 6);
    // A target that keeps everything gets no warning about dropped values.
    let logs = x.post("provisioning/logs", &[("filter[app]", &x.app)]).await;
    let statuses: BTreeSet<&str> = logs["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["status"].as_str())
        .collect();
    assert_eq!(statuses, BTreeSet::from(["Success"]), "{logs}");
}

/// The initial cycle matches two accounts that were there before, but updating their title
/// answers 501 (and PUT, the fallback, 405): the links must be recorded anyway (they are facts), each refused PATCH sent once
/// (501 is not transient), and a user who leaves afterwards is still disabled.
#[tokio::test]
async fn a_failed_update_after_a_match_keeps_the_link_and_leavers_are_disabled() {
    let (q, x) = targeting(Quirks {
        patch_501_paths: vec!["title"],
        no_put: true,
        ..Quirks::default()
    })
    .await;
    for (upn, name) in [("ann@contoso.com", "Ann Lee"), ("bob@contoso.com", "Bob Ray")] {
        q.seed(
            Kind::User,
            json!({"userName": upn, "displayName": name, "active": true}),
        );
    }
    let ann = x
        .user("ann@contoso.com", "Ann Lee", &[("attrs[jobTitle]", "Engineer")])
        .await;
    x.user("bob@contoso.com", "Bob Ray", &[("attrs[jobTitle]", "Boss")])
        .await;
    x.assign("ann@contoso.com", "").await;
    x.assign("bob@contoso.com", "").await;
    switch_on(&q, &x, 30).await;

    // 501 is an answer, not an accident: PATCH refused once (twice when both users were updated
    // at the same moment), then PUT (refused too) once per account; nothing retried.
    let count = |m: &str| q.writes().iter().filter(|w| w.method == m).count();
    assert!(
        (1..=2).contains(&count("PATCH")) && count("PUT") == 2,
        "{:?}",
        q.writes()
    );
    // Both accounts are linked: the connector data store says so.
    let s = x.status().await;
    assert_eq!(s["users_managed"], 2, "{s}");
    assert_eq!(q.all(Kind::User).len(), 2, "matched, not created");

    // Ann leaves: she must be disabled in the application.
    x.set_enabled(&ann, false).await;
    eventually(30, "ann is disabled in the application", || async {
        let users = q.all(Kind::User);
        let ann = users.iter().find(|u| u["userName"] == "ann@contoso.com").unwrap();
        (ann["active"] == false).then_some(()).ok_or(format!("{ann}"))
    })
    .await;
}

/// Every create refused: a small tenant's job quarantines (Entra's 5,000-escrow threshold never
/// would), `app status` says so with its exit code, the server log says so, and each failed
/// entry shows what it tried to change and how it matched.
#[tokio::test]
async fn a_cycle_that_fails_everything_quarantines_a_small_tenant_and_says_so() {
    let (q, x) = targeting(Quirks {
        create_status: 400,
        ..Quirks::default()
    })
    .await;
    for n in 1..=4 {
        x.user(
            &format!("user{n}@contoso.com"),
            &format!("User {n}"),
            &[("attrs[jobTitle]", "Clerk")],
        )
        .await;
        x.assign(&format!("user{n}@contoso.com"), "").await;
    }
    let token = q.token.clone();
    x.configure_with(&token, "on", "500").await;
    let s = eventually(30, "quarantine", || async {
        let s = x.status().await;
        (s["state"] == "Quarantine")
            .then_some(s.clone())
            .ok_or(s.to_string())
    })
    .await;
    assert_eq!(s["quarantine_reason"], "EncounteredCycleFailureThreshold", "{s}");

    let out = common::cli_output(&x.s, &["app", "status", &x.app]);
    assert!(!out.status.success(), "app status exits non-zero");
    assert!(
        x.s.output_text().contains("the cycle ended with failures"),
        "the server log says so: {}",
        x.s.output_text()
    );

    let logs = x.post("provisioning/logs", &[("filter[app]", &x.app)]).await;
    let failed = logs["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["display_name"] == "User 1" && r["status"] == "Failure")
        .unwrap_or_else(|| panic!("a failure for User 1: {logs}"))
        .clone();
    let entry = x
        .post(
            "provisioning/log_entry",
            &[("id", failed["id"].as_str().unwrap())],
        )
        .await;
    let modified: Vec<String> = entry["modified"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m[0].as_str().unwrap().to_string())
        .collect();
    assert!(
        modified.contains(&"userName".to_string()) && modified.contains(&"title".to_string()),
        "{entry}"
    );
    let steps: Vec<&str> = entry["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert!(steps.contains(&"Match user between source and target"), "{entry}");
}

/// `Restart (Full)` matches every account again; what the accounts already hold is not sent
/// again (before, every value of every account was re-sent: 102 PATCHes that changed nothing).
#[tokio::test]
async fn a_full_rematch_sends_only_what_differs() {
    let (q, x) = targeting(Quirks::default()).await;
    provision_five(&q, &x, 0, 0).await;
    let before = full_restart(&q, &x).await;
    let s = x.status().await;
    assert_eq!(
        (s["users_managed"].as_i64(), s["groups_managed"].as_i64()),
        (Some(5), Some(1)),
        "{s}"
    );
    let writes: Vec<_> = q.writes().into_iter().skip(before).collect();
    assert!(writes.is_empty(), "nothing changed, nothing sent: {writes:?}");
}

/// An account that was in scim2-server before (no email, another display name) is adopted by
/// its userName: the values it lacks are added, not "replaced" (scim2-server refuses a replace
/// whose filter selects nothing), and only what differs is sent.
#[tokio::test]
async fn a_pre_existing_account_in_scim2_server_is_adopted() {
    let Some(peer) = common::peers::Scim2Server::start() else {
        return;
    };
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{}/Users", peer.url))
        .bearer_auth(&peer.token)
        .json(&json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "ann@contoso.com",
            "displayName": "Ann (old)",
        }))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{:?}", r.text().await);
    let tenant = Tenant {
        account: String::new(),
        url: peer.url.clone(),
        key: peer.token.clone(),
    };
    let x = setup_targeting("scim2", tenant, &[]).await;
    x.user(
        "ann@contoso.com",
        "Ann Lee",
        &[
            ("attrs[mail]", "ann@contoso.com"),
            ("attrs[jobTitle]", "Engineer"),
        ],
    )
    .await;
    x.assign("ann@contoso.com", "").await;
    x.configure_with(&peer.token, "on", "500").await;
    let ann = eventually(30, "ann adopted", || async {
        let all = x.target_all("Users").await;
        let ann = all.iter().find(|u| u["userName"] == "ann@contoso.com").cloned();
        match ann {
            Some(a) if a["displayName"] == "Ann Lee" && a["title"] == "Engineer" => Ok(a),
            other => Err(format!("{other:?}; status {}", x.status().await)),
        }
    })
    .await;
    assert_eq!(ann["emails"][0]["value"], "ann@contoso.com", "{ann}");
    assert_eq!(x.target_all("Users").await.len(), 1, "adopted, not duplicated");
}

/// A target without PATCH (501 to every PATCH, though its ServiceProviderConfig says it has
/// one): changes and disables go as GET + PUT, the rest of the account kept.
#[tokio::test]
async fn a_target_without_patch_gets_put_and_leavers_are_disabled() {
    let (q, x) = targeting(Quirks {
        no_patch: true,
        ..Quirks::default()
    })
    .await;
    provision_five(&q, &x, 0, 0).await;
    let user3 = q
        .all(Kind::User)
        .into_iter()
        .find(|u| u["userName"] == "user3@contoso.com")
        .unwrap();
    // A leaver (not in the assigned group): unassigned, so disabled.
    x.unassign("user3@contoso.com").await;
    eventually(30, "user3 disabled through PUT", || async {
        let u = q
            .all(Kind::User)
            .into_iter()
            .find(|u| u["userName"] == "user3@contoso.com")
            .unwrap();
        (u["active"] == false).then_some(()).ok_or(format!("{u}"))
    })
    .await;
    let after = q
        .all(Kind::User)
        .into_iter()
        .find(|u| u["userName"] == "user3@contoso.com")
        .unwrap();
    assert_eq!(
        after["displayName"], user3["displayName"],
        "the rest of the account is kept"
    );
    // Refused once per cycle at most, then PUT for the rest of it.
    let patches = q.writes().iter().filter(|w| w.method == "PATCH").count();
    let cycles = x.status().await["history"].as_array().unwrap().len();
    assert!(patches <= cycles, "{patches} PATCHes in {cycles} cycles");
}

/// Every first create answered 500 without creating anything: the engine's own lookup confirms
/// the account is absent, so the create is sent again in the same cycle instead of waiting in
/// escrow for hours; nothing is duplicated.
#[tokio::test]
async fn a_create_confirmed_absent_after_a_500_is_sent_again_at_once() {
    let (q, x) = targeting(Quirks {
        first_create_500: true,
        ..Quirks::default()
    })
    .await;
    provision_five(&q, &x, 0, 0).await;
    let s = x.status().await;
    assert_eq!(s["escrowed"], 0, "{s}");
    assert_eq!(s["history"].as_array().unwrap().len(), 1, "one cycle did it: {s}");
    let users = q.all(Kind::User);
    assert_eq!(names(&users, "userName").len(), 5, "no duplicates: {users:?}");
}

/// A target that answers every filtered lookup with an empty list (200, no results) and does not
/// refuse a second account with the same name: its own accounts must be matched, not created
/// again. The engine looks one of them up by its own userName before trusting lookups, finds
/// nothing, and matches from a full read instead.
#[tokio::test]
async fn a_target_answering_every_lookup_with_nothing_gets_no_duplicates() {
    let (q, x) = targeting(Quirks {
        zero_for_filters: true,
        duplicates_allowed: true,
        ..Quirks::default()
    })
    .await;
    seed_the_five(&q);
    q.seed(Kind::Group, json!({"displayName": "Engineers"}));
    // Test Connection says so before anything is provisioned, and changes nothing.
    let token = q.token.clone();
    x.configure_with(&token, "off", "500").await;
    let probe = common::cli_async(&x.s, &["app", "test-connection", &x.app]).await;
    assert!(probe.contains("Filters: not evaluated"), "{probe}");
    assert!(q.writes().is_empty(), "the probe only reads");
    provision_five(&q, &x, 0, 0).await;
    let posts = q.writes().iter().filter(|w| w.method == "POST").count();
    assert_eq!(posts, 0, "matched, not created: {:?}", q.writes());
    let s = x.status().await;
    assert_eq!(
        (s["users_managed"].as_i64(), s["escrowed"].as_i64()),
        (Some(5), Some(0)),
        "{s}"
    );
    let learned = s["adaptations"].to_string();
    assert!(learned.contains("ignores_filters"), "{s}");
}

/// A target that ignores filters (so accounts are matched from a full read of it) and answers a
/// list with `count` with 500: the read goes on in the pages it chooses, its accounts are
/// adopted, and that is remembered.
#[tokio::test]
async fn a_target_refusing_count_is_read_in_its_own_pages() {
    let (q, x) = targeting(Quirks {
        ignores_filter: true,
        count_refused: true,
        page_size: 3,
        ..Quirks::default()
    })
    .await;
    seed_the_five(&q);
    provision_five(&q, &x, 0, 0).await;
    let s = x.status().await;
    assert_eq!(
        (s["users_managed"].as_i64(), s["escrowed"].as_i64()),
        (Some(5), Some(0)),
        "{s}"
    );
    assert!(
        s["adaptations"].to_string().contains("pages_without_count"),
        "{s}"
    );
    let users = q.all(Kind::User);
    assert_eq!(users.len(), 5, "adopted, not created: {users:?}");
}

/// A target that only deactivates on DELETE and hides inactive accounts from its filters: a
/// user deleted and later created again in the directory meets a 409 on create; the engine finds
/// the account in a full read and adopts it (active again), instead of failing for ever.
#[tokio::test]
async fn a_409_on_create_adopts_the_account_that_is_there() {
    let (q, x) = targeting(Quirks {
        soft_delete: true,
        ..Quirks::default()
    })
    .await;
    let ann = x.user("ann@contoso.com", "Ann Lee", &[]).await;
    x.assign("ann@contoso.com", "").await;
    let token = q.token.clone();
    x.configure_with(&token, "on", "500").await;
    eventually(30, "ann created", || async {
        let n = q.all(Kind::User).len();
        (n == 1).then_some(()).ok_or(format!("{n}"))
    })
    .await;
    // Deleted for good in the directory: DELETE in the target, which only deactivates.
    x.post("directory/delete_user", &[("id", &ann)]).await;
    x.post("directory/purge_user", &[("id", &ann)]).await;
    eventually(30, "ann deactivated", || async {
        let u = q.all(Kind::User)[0].clone();
        (u["active"] == false).then_some(()).ok_or(format!("{u}"))
    })
    .await;
    let delete = logged(&x, "Delete").await;
    assert_eq!(
        (&delete["status"], &delete["error_code"]),
        (&json!("Warning"), &json!("SoftDeleted")),
        "a soft delete is not a plain success: {delete}"
    );
    // She comes back: a new directory user with the same name.
    x.user("ann@contoso.com", "Ann Lee", &[]).await;
    x.assign("ann@contoso.com", "").await;
    eventually(30, "ann adopted and active again", || async {
        let users = q.all(Kind::User);
        match users.as_slice() {
            [u] if u["active"] == true => Ok(()),
            other => Err(format!("{other:?} / {}", x.status().await)),
        }
    })
    .await;
    let s = x.status().await;
    assert_eq!(
        (s["users_managed"].as_i64(), s["escrowed"].as_i64()),
        (Some(1), Some(0)),
        "{s}"
    );
}
