//! The engine against SCIM endpoints that bend the rules (`common::quirky`), what it writes and
//! how it checks the writes: undeclared attributes left out, groups and memberships in the forms
//! the target takes, fewer requests when it fails under load, deletes and dropped values
//! verified. Matching and links: `field_targets.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::apps::eventually;
use common::field::*;
use common::quirky::Quirks;
use provisio::scim::schema::Kind;
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// What a target declares is read once for the cycles of the next few minutes, not at the start
/// of each one: a cycle follows every directory change within a second, and a rate-limited
/// application would spend seconds of its budget on two more requests per change.
#[tokio::test]
async fn what_a_target_declares_is_not_read_again_every_cycle() {
    let (q, x) = targeting(Quirks {
        strict_user_schema: Some(vec!["userName", "displayName", "active", "emails", "externalId"]),
        ..Quirks::default()
    })
    .await;
    assigned_users(&x, 1..=3).await;
    switch_on(&q, &x, 30).await;
    common::cli(&x.s, &["directory", "disable-user", "user2@contoso.com"]);
    eventually(30, "user2 is disabled in the application", || async {
        let all = q.all(Kind::User);
        let user2 = all.iter().find(|u| u["userName"] == "user2@contoso.com").cloned();
        user2
            .filter(|u| u["active"] == false)
            .map(|_| ())
            .ok_or(format!("{all:?}"))
    })
    .await;
    let cycles = x.status().await["history"].as_array().unwrap().len();
    assert!(cycles >= 2, "{cycles} cycles");
    assert_eq!(q.schema_reads(), 1, "read once for {cycles} cycles");
}

/// A target whose `/Schemas` marks an attribute required that no mapping writes (nickName): every
/// create it refuses carries a log step naming the attribute and what to do, and the server log
/// says it once per cycle, not once per user; Test Connection lists it.
#[tokio::test]
async fn a_required_attribute_no_mapping_writes_is_named() {
    let (q, x) = targeting(Quirks {
        strict_user_schema: Some(vec!["userName", "displayName", "active", "nickName", "emails"]),
        requires: vec!["nickName"],
        ..Quirks::default()
    })
    .await;
    seed_the_five(&q);
    let seeded = q.all(Kind::User).len();
    assigned_users(&x, 6..=8).await;
    switch_on(&q, &x, 30).await;
    assert_eq!(q.all(Kind::User).len(), seeded, "every create was refused");
    let entry = logged(&x, "Create").await;
    let id = entry["id"].as_str().unwrap();
    let detail = x.post("provisioning/log_entry", &[("id", id)]).await;
    let text = detail.to_string();
    assert!(
        text.contains("marks nickName required") && text.contains("Map a value to nickName"),
        "{detail}"
    );
    let log = x.s.output_text();
    assert_eq!(
        log.matches("marks this attribute of User resources required")
            .count(),
        1,
        "{log}"
    );
    let test = x
        .post(
            "provisioning/save",
            &[
                ("app", &x.app),
                ("intent", "test"),
                ("mode", "automatic"),
                ("tenant_url", &q.url),
            ],
        )
        .await;
    assert!(
        test.to_string().contains("Required in every user: nickName"),
        "{test}"
    );
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
    let page = provisioning_page(&x).await;
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

/// A target whose groups name their members by userName and refuse ids: the first members sent
/// by id are refused, sent again by userName and accepted, and from then on members go by
/// userName (added and removed); the connector data store keeps target ids, and after
/// `Restart (Full)` the group is read back (its members by userName) as in sync: nothing is sent.
#[tokio::test]
async fn groups_naming_members_by_user_name_converge() {
    let (q, x) = targeting(Quirks {
        member_user_names: true,
        ..Quirks::default()
    })
    .await;
    provision_five(&q, &x, 0, 0).await;
    let group = || q.all(Kind::Group).into_iter().next().unwrap();
    let members = || {
        names(
            group()["members"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .as_slice(),
            "value",
        )
    };
    assert_eq!(
        members(),
        BTreeSet::from(["user1@contoso.com".to_string(), "user2@contoso.com".to_string()])
    );
    let s = x.status().await;
    assert_eq!(s["escrowed"], 0, "{s}");
    let learned = &s["adaptations"][0];
    assert_eq!(learned["adaptation"], "members_by_user_name", "{s}");
    assert!(learned["reason"].as_str().unwrap().contains("400"), "{s}");
    let log = x.s.output_text();
    assert!(log.contains("names group members by userName"), "{log}");

    common::cli(
        &x.s,
        &["directory", "remove-member", "Engineers", "user1@contoso.com"],
    );
    let user3 = "user3@contoso.com";
    common::cli(&x.s, &["directory", "add-member", "Engineers", user3]);
    eventually(30, "user1 leaves the group and user3 joins it", || async {
        let m = members();
        (m == BTreeSet::from(["user2@contoso.com".to_string(), user3.to_string()]))
            .then_some(())
            .ok_or(format!("{m:?} / {}", x.status().await))
    })
    .await;

    // Read back after a full reset: the same members, by userName, are in sync.
    let before = full_restart(&q, &x).await;
    let writes: Vec<_> = q.writes().into_iter().skip(before).collect();
    assert!(writes.is_empty(), "nothing changed, nothing sent: {writes:?}");
    let s = x.status().await;
    assert_eq!(s["groups_managed"], 1, "{s}");
    assert_eq!(s["adaptations"][0]["adaptation"], "members_by_user_name", "{s}");
    assert!(
        s["adaptations"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("lists its members by userName"),
        "{s}"
    );
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
    assigned_users(&x, 1..=40).await;
    switch_on(&q, &x, 60).await;
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

/// One account whose create is always answered 500 among answers that succeed is that account's
/// problem, not load: it fails (and waits for a retry) while the others go out at full speed,
/// and the server log does not say the application is failing under load (before, its first
/// 500 halved the requests sent at a time, and the lookup and create again halved them twice
/// more).
#[tokio::test]
async fn one_account_that_always_fails_does_not_slow_the_others() {
    let (q, x) = targeting(Quirks {
        fails_for: vec!["user3@contoso.com"],
        ..Quirks::default()
    })
    .await;
    assigned_users(&x, 1..=12).await;
    switch_on(&q, &x, 30).await;
    let s = x.status().await;
    assert_eq!(
        (q.all(Kind::User).len(), s["escrowed"].as_i64()),
        (11, Some(1)),
        "{s}"
    );
    let posts = q
        .writes()
        .iter()
        .filter(|w| w.method == "POST" && w.body["userName"] == "user3@contoso.com")
        .count();
    assert_eq!(posts, 2, "created again once after its lookup found nothing");
    let log = x.s.output_text();
    assert!(!log.contains("failing under load"), "{log}");
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

/// What provision on demand learns about a target (here: PATCH of `title` refused, PUT used)
/// is kept for the cycles too, as a cycle's is.
#[tokio::test]
async fn provision_on_demand_teaches_the_profile_too() {
    let (q, x) = targeting(Quirks {
        patch_501_paths: vec!["title"],
        ..Quirks::default()
    })
    .await;
    q.seed(
        Kind::User,
        json!({"userName": "ann@contoso.com", "displayName": "Ann Lee", "active": true}),
    );
    x.user("ann@contoso.com", "Ann Lee", &[("attrs[jobTitle]", "Engineer")])
        .await;
    x.assign("ann@contoso.com", "").await;
    let token = q.token.clone();
    x.configure_with(&token, "off", "500").await;
    let r = x.on_demand("ann@contoso.com").await;
    assert_eq!(r["status"], "Success", "{r}");
    let s = x.status().await;
    assert!(s["adaptations"].to_string().contains("put_for_patch"), "{s}");
}
