//! The engine against SCIM endpoints that bend the rules (`common::quirky`, one switch per
//! misbehaviour seen in real applications): each cycle must converge exactly, touch no account
//! Provisio does not own, and say what it adapted to.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::apps::{eventually, setup_targeting, Setup};
use common::quirky::{Quirks, QuirkyTarget};
use common::Tenant;
use provisio::scim::schema::Kind;
use serde_json::{json, Value};
use std::collections::BTreeSet;

async fn targeting(quirks: Quirks) -> (QuirkyTarget, Setup) {
    let q = QuirkyTarget::start(quirks).await;
    let tenant = Tenant {
        account: "quirky".into(),
        url: q.url.clone(),
        key: q.token.clone(),
    };
    let x = setup_targeting("scim2", tenant, &[]).await;
    (q, x)
}

fn names(list: &[Value], attr: &str) -> BTreeSet<String> {
    list.iter()
        .filter_map(|r| r[attr].as_str().map(str::to_string))
        .collect()
}

/// Accounts already in the target for [`provision_five`]'s users.
fn seed_the_five(q: &QuirkyTarget) {
    for n in 1..=5 {
        q.seed(
            Kind::User,
            json!({"userName": format!("user{n}@contoso.com"), "displayName": format!("User {n}"), "active": true}),
        );
    }
}

/// Waits (up to `secs`) until the initial cycle has run to its end.
async fn initial_cycle_ended(x: &Setup, secs: u64) {
    eventually(secs, "the initial cycle ended", || async {
        let s = x.status().await;
        let ended =
            s["initial_pending"] == false && s["current"]["state"].as_str().is_some_and(|st| st != "Running");
        ended.then_some(()).ok_or(s.to_string())
    })
    .await;
}

/// Provisioning On; waits until the target holds `users` users.
async fn switch_on_until_created(q: &QuirkyTarget, x: &Setup, users: usize) {
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
async fn provision_five(q: &QuirkyTarget, x: &Setup, foreign_users: usize, foreign_groups: usize) {
    for n in 1..=5 {
        x.user(&format!("user{n}@contoso.com"), &format!("User {n}"), &[])
            .await;
        x.assign(&format!("user{n}@contoso.com"), "").await;
    }
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
    let token = q.token.clone();
    x.configure_with(&token, "on", "500").await;
    initial_cycle_ended(&x, 30).await;

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
    let before = q.writes().len();
    x.post("provisioning/restart", &[("app", &x.app), ("reset", "Full")])
        .await;
    eventually(30, "the full cycle ended", || async {
        let s = x.status().await;
        let ended = s["initial_pending"] == false
            && s["history"].as_array().is_some_and(|h| h.len() >= 2)
            && s["current"]["state"].as_str().is_some_and(|st| st != "Running");
        ended.then_some(()).ok_or(s.to_string())
    })
    .await;
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

/// A target whose `/Schemas` declares only some User attributes and no extension, and refuses
/// any write with more: the engine leaves out what it does not declare (title, the enterprise
/// extension) instead of having every create refused, and says so in the server log.
#[tokio::test]
async fn attributes_a_target_does_not_declare_are_left_out() {
    let (q, x) = targeting(Quirks {
        strict_user_schema: Some(vec!["userName", "displayName", "active", "emails", "name"]),
        ..Quirks::default()
    })
    .await;
    for n in 1..=3 {
        x.user(
            &format!("user{n}@contoso.com"),
            &format!("User {n}"),
            &[
                ("attrs[jobTitle]", "Clerk"),
                ("attrs[department]", "Sales"),
                ("attrs[mail]", "u@contoso.com"),
            ],
        )
        .await;
        x.assign(&format!("user{n}@contoso.com"), "").await;
    }
    switch_on_until_created(&q, &x, 3).await;
    let s = x.status().await;
    assert_eq!(s["escrowed"], 0, "{s}");
    let probe = common::cli_async(&x.s, &["app", "test-connection", &x.app]).await;
    assert!(
        probe.contains("Schemas: 5 user attributes declared, no extension"),
        "{probe}"
    );
    assert!(
        x.s.output_text().contains("does not declare this attribute"),
        "{}",
        x.s.output_text()
    );
    let user = &q.all(Kind::User)[0];
    assert!(user.get("title").is_none(), "{user}");
    assert_eq!(user["emails"][0]["value"], "u@contoso.com", "{user}");
}

/// A target whose schema lists sub-attributes: emails with a `value` but no `type`, a name with
/// given and family names only. Every create and update used to be refused for `emails[].type`;
/// now undeclared sub-attributes are left out of documents and an email, which the target cannot
/// select by type, is written whole; a changed address reaches the account.
#[tokio::test]
async fn sub_attributes_a_target_does_not_declare_are_left_out() {
    let (q, x) = targeting(Quirks {
        strict_user_schema: Some(vec![
            "userName",
            "displayName",
            "active",
            "emails.value",
            "name.givenName",
            "name.familyName",
        ]),
        ..Quirks::default()
    })
    .await;
    let mut ids = Vec::new();
    for n in 1..=3 {
        let upn = format!("user{n}@contoso.com");
        let mail = format!("user{n}@mail.contoso.com");
        let extra = [
            ("attrs[mail]", mail.as_str()),
            ("attrs[givenName]", "Ann"),
            ("attrs[surname]", "Lee"),
        ];
        ids.push(x.user(&upn, &format!("User {n}"), &extra).await);
        x.assign(&upn, "").await;
    }
    switch_on_until_created(&q, &x, 3).await;
    let user1 = || {
        q.all(Kind::User)
            .into_iter()
            .find(|u| u["userName"] == "user1@contoso.com")
            .unwrap()
    };
    let u = user1();
    assert_eq!(u["emails"], json!([{"value": "user1@mail.contoso.com"}]), "{u}");
    assert_eq!(u["name"], json!({"givenName": "Ann", "familyName": "Lee"}), "{u}");

    x.post(
        "directory/update_user",
        &[("id", &ids[0]), ("attrs[mail]", "new1@mail.contoso.com")],
    )
    .await;
    eventually(30, "the new address reaches the account", || async {
        let u = user1();
        (u["emails"] == json!([{"value": "new1@mail.contoso.com"}]))
            .then_some(())
            .ok_or(format!("{u} / {}", x.status().await))
    })
    .await;
    let s = x.status().await;
    assert_eq!(s["escrowed"], 0, "{s}");
    let patches: Vec<Value> = q
        .writes()
        .into_iter()
        .filter(|w| w.method == "PATCH")
        .map(|w| w.body)
        .collect();
    assert_eq!(patches.len(), 1, "{patches:?}");
    assert_eq!(patches[0]["Operations"][0]["path"], "emails", "{patches:?}");
}

/// A target that refuses a group created without members and PATCH paths with a filter: groups
/// are created with their members, and a member leaving the group is removed by value (Entra's
/// form), which it accepts; the group converges and nothing is escrowed.
#[tokio::test]
async fn groups_needing_members_and_removal_by_value_converge() {
    let (q, x) = targeting(Quirks {
        group_requires_members: true,
        no_filtered_paths: true,
        ..Quirks::default()
    })
    .await;
    provision_five(&q, &x, 0, 0).await;
    let group = || q.all(Kind::Group).into_iter().next().unwrap();
    common::cli(
        &x.s,
        &["directory", "remove-member", "Engineers", "user1@contoso.com"],
    );
    eventually(30, "user1 leaves the group in the application", || async {
        let members = group()["members"].as_array().map_or(0, Vec::len);
        (members == 1)
            .then_some(())
            .ok_or(format!("{} / {}", group(), x.status().await))
    })
    .await;
    let s = x.status().await;
    assert_eq!(s["escrowed"], 0, "{s}");
    let removal = q
        .writes()
        .into_iter()
        .rfind(|w| w.method == "PATCH" && w.path.starts_with("Groups/"))
        .unwrap();
    assert_eq!(
        removal.body["Operations"][0]["path"], "members",
        "{:?}",
        removal.body
    );
    let log = x.s.output_text();
    assert!(log.contains("creates groups with their first members"), "{log}");
    assert!(log.contains("removes them by value"), "{log}");

    // Remembered: the console, `app status` and the next cycles know it, and a new group is
    // created with its members at once, without trying the refused form again.
    let learned: Vec<Value> = s["adaptations"].as_array().unwrap().clone();
    let names: BTreeSet<&str> = learned.iter().filter_map(|a| a["adaptation"].as_str()).collect();
    assert_eq!(
        names,
        BTreeSet::from(["members_by_value", "members_on_create"]),
        "{s}"
    );
    assert!(
        learned
            .iter()
            .all(|a| a["reason"].as_str().is_some_and(|r| r.contains("400"))),
        "{s}"
    );
    let text = common::cli(&x.s, &["app", "status", &x.app]);
    assert!(text.contains("Adapted to this application"), "{text}");
    assert!(text.contains("Creates groups with their first members"), "{text}");
    let page =
        x.c.get(x.s.url(&format!("/apps/{}/provisioning", x.app)))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
    assert!(page.contains(r#"data-adaptation="members_on_create""#), "{page}");
    let designers = x.group("Designers").await;
    x.add_member(&designers, "user3@contoso.com").await;
    x.assign("Designers", "").await;
    eventually(30, "Designers created", || async {
        let n = q.all(Kind::Group).len();
        (n == 2).then_some(()).ok_or(format!("{n}"))
    })
    .await;
    let posts: Vec<Value> = q
        .writes()
        .into_iter()
        .filter(|w| w.method == "POST" && w.path == "Groups" && w.body["displayName"] == "Designers")
        .map(|w| w.body)
        .collect();
    assert_eq!(posts.len(), 1, "the refused form is not tried again: {posts:?}");

    // A new token: another application, perhaps; what was learned is forgotten.
    let token = q.token.clone();
    x.configure_with(&token, "on", "500").await;
    assert_eq!(x.status().await["adaptations"], json!([]));
}

/// A slow target that answers 500 when more than two requests arrive together (SQLite's
/// `database is locked` in many small applications): the engine sends fewer at a time instead of
/// retrying the same eight until they are escrowed, every user arrives, and the server log says
/// it backed off.
#[tokio::test]
async fn a_target_failing_under_load_gets_fewer_requests_at_a_time() {
    let (q, x) = targeting(Quirks {
        max_in_flight: 2,
        ..Quirks::default()
    })
    .await;
    for n in 1..=40 {
        let upn = format!("user{n}@contoso.com");
        x.user(&upn, &format!("User {n}"), &[]).await;
        x.assign(&upn, "").await;
    }
    let token = q.token.clone();
    x.configure_with(&token, "on", "500").await;
    initial_cycle_ended(&x, 60).await;
    let s = x.status().await;
    assert_eq!(
        (q.all(Kind::User).len(), s["escrowed"].as_i64()),
        (40, Some(0)),
        "{s}"
    );
    assert!(q.refused_under_load() > 0, "the target was overloaded at first");
    let log = x.s.output_text();
    assert!(log.contains("failing under load"), "{log}");
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

/// The provisioning log's latest entry with `action`, once there is one.
async fn logged(x: &Setup, action: &str) -> Value {
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

/// A target that answers DELETE with 204 and keeps the account, active: a leaver deleted for
/// good would keep signing in while the log said Success. The engine reads the account back,
/// disables it, and logs a Warning that names the problem.
#[tokio::test]
async fn a_delete_the_target_ignores_is_caught_and_the_account_disabled() {
    let (q, x) = targeting(Quirks {
        delete_ignored: true,
        ..Quirks::default()
    })
    .await;
    provision_five(&q, &x, 0, 0).await;
    common::cli(&x.s, &["directory", "delete-user", "user4@contoso.com"]);
    common::cli(&x.s, &["directory", "purge-user", "user4@contoso.com"]);
    let delete = logged(&x, "Delete").await;
    assert_eq!(
        (&delete["status"], &delete["error_code"]),
        (&json!("Warning"), &json!("DeleteNotApplied")),
        "{delete}"
    );
    let user4 = q
        .all(Kind::User)
        .into_iter()
        .find(|u| u["userName"] == "user4@contoso.com")
        .unwrap();
    assert_eq!(user4["active"], false, "{user4}");
}

/// A target that takes a create but silently drops some values: the log says Warning with the
/// attributes it did not keep, not Success.
#[tokio::test]
async fn values_a_target_drops_are_reported_not_logged_as_success() {
    let (q, x) = targeting(Quirks {
        drops: vec!["title", "displayName"],
        ..Quirks::default()
    })
    .await;
    let ann = x
        .user("ann@contoso.com", "Ann Lee", &[("attrs[jobTitle]", "Engineer")])
        .await;
    x.assign("ann@contoso.com", "").await;
    let token = q.token.clone();
    x.configure_with(&token, "on", "500").await;
    let row = eventually(30, "ann's create is logged", || async {
        let logs = x.post("provisioning/logs", &[("filter[app]", &x.app)]).await;
        logs["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["display_name"] == "Ann Lee" && r["action"] == "Create")
            .cloned()
            .ok_or(logs.to_string())
    })
    .await;
    assert_eq!(row["status"], "Warning", "{row}");
    assert_eq!(row["error_code"], "AttributesNotKept", "{row}");
    let entry = x
        .post("provisioning/log_entry", &[("id", row["id"].as_str().unwrap())])
        .await;
    let reason = entry["error_reason"].as_str().unwrap();
    assert!(
        reason.contains("title") && reason.contains("displayName"),
        "{entry}"
    );

    // Known to drop values now: an update is read back, and what it did not keep is named.
    let s = x.status().await;
    assert!(s["adaptations"].to_string().contains("drops_values"), "{s}");
    x.post(
        "directory/update_user",
        &[("id", &ann), ("attrs[jobTitle]", "Director")],
    )
    .await;
    let update = logged(&x, "Update").await;
    assert_eq!(
        (&update["status"], &update["error_code"]),
        (&json!("Warning"), &json!("AttributesNotKept")),
        "{update}"
    );
}

/// Scripts can exercise deprovisioning from the command line: a membership removed, a user
/// disabled, deleted and restored, another purged; each reaches the application.
#[tokio::test]
async fn the_command_line_drives_deprovisioning() {
    let (q, x) = targeting(Quirks::default()).await;
    provision_five(&q, &x, 0, 0).await;
    let run = |args: &[&str]| common::cli(&x.s, args);
    assert!(
        run(&["directory", "remove-member", "Engineers", "user2@contoso.com"]).contains("no longer a member")
    );
    run(&["directory", "disable-user", "user3@contoso.com"]);
    run(&["directory", "delete-user", "user4@contoso.com"]);
    run(&["directory", "delete-user", "user5@contoso.com"]);
    run(&["directory", "purge-user", "user5@contoso.com"]);
    let user = |name: &str| q.all(Kind::User).into_iter().find(|u| u["userName"] == name);
    eventually(30, "every change reached the application", || async {
        let group = q
            .all(Kind::Group)
            .into_iter()
            .find(|g| g["displayName"] == "Engineers")
            .unwrap();
        let members = group["members"].as_array().map(Vec::len).unwrap_or(0);
        let state = (
            members,
            user("user3@contoso.com").map(|u| u["active"].clone()),
            user("user4@contoso.com").map(|u| u["active"].clone()),
            user("user5@contoso.com").is_none(),
        );
        (state == (1, Some(json!(false)), Some(json!(false)), true))
            .then_some(())
            .ok_or(format!("{state:?}"))
    })
    .await;
    run(&["directory", "restore-user", "user4@contoso.com"]);
    eventually(30, "the restored user is active again", || async {
        let active = user("user4@contoso.com").map(|u| u["active"].clone());
        (active == Some(json!(true)))
            .then_some(())
            .ok_or(format!("{active:?}"))
    })
    .await;
    let out = common::cli_output(&x.s, &["directory", "disable-user", "nobody@contoso.com"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("there is no user"));
}
