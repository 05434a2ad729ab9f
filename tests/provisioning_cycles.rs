//! Provisioning cycles over real HTTP into a local account of the same server: the initial cycle
//! makes the target equal to the expected mapping (users, attributes, groups, memberships,
//! managers), then every kind of directory change reaches the target by itself within seconds.
//! Also: accidental-deletion prevention holds deletes until Allow deletes, a bad token quarantines
//! the job, and kill -9 mid-cycle followed by a restart converges without duplicates.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::apps::{eventually, restart, setup_targeting, setup_with, targeting_scim2_server, Setup};
use common::{cli, tenant, Server, Tenant};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// A user as the target holds it: (active, displayName, title, department, manager's userName).
type UserView = (bool, String, String, String, String);

/// The target's users by userName and groups by displayName (members as userNames).
async fn snapshot(x: &Setup) -> (BTreeMap<String, UserView>, BTreeMap<String, BTreeSet<String>>) {
    let users = x.target_all("Users").await;
    let by_id: BTreeMap<String, String> = users
        .iter()
        .map(|u| {
            (
                u["id"].as_str().unwrap().to_string(),
                u["userName"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let users = users
        .iter()
        .map(|u| {
            let manager = u[ENTERPRISE]["manager"]["value"]
                .as_str()
                .map(|id| by_id.get(id).cloned().unwrap_or_else(|| format!("?{id}")))
                .unwrap_or_default();
            (
                text(&u["userName"]),
                (
                    u["active"].as_bool().unwrap_or(true),
                    text(&u["displayName"]),
                    text(&u["title"]),
                    text(&u[ENTERPRISE]["department"]),
                    manager,
                ),
            )
        })
        .collect();
    let groups = x
        .target_all("Groups")
        .await
        .iter()
        .map(|g| {
            let members = g["members"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .map(|m| {
                    let id = m["value"].as_str().unwrap_or_default();
                    by_id.get(id).cloned().unwrap_or_else(|| format!("?{id}"))
                })
                .collect();
            (text(&g["displayName"]), members)
        })
        .collect();
    (users, groups)
}

fn view(active: bool, name: &str, title: &str, department: &str, manager: &str) -> UserView {
    (
        active,
        name.into(),
        title.into(),
        department.into(),
        manager.into(),
    )
}

/// Waits until the target equals the expectation.
async fn converges(
    x: &Setup,
    what: &str,
    users: &BTreeMap<String, UserView>,
    groups: &BTreeMap<String, BTreeSet<String>>,
) {
    eventually(20, what, || async {
        let (u, g) = snapshot(x).await;
        if &u == users && &g == groups {
            Ok(())
        } else {
            Err(format!("users {u:?}\ngroups {g:?}"))
        }
    })
    .await
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

/// The initial cycle, then every kind of directory change, each followed until the target `x`
/// provisions into holds exactly what it should.
async fn every_change_propagates(x: &Setup) {
    let bob = x
        .user(
            "bob@contoso.com",
            "Bob Ray",
            &[("attrs[jobTitle]", "Boss"), ("attrs[department]", "Sales")],
        )
        .await;
    let ann = x
        .user(
            "ann@contoso.com",
            "Ann Lee",
            &[
                ("attrs[department]", "Sales"),
                ("attrs[manager]", "bob@contoso.com"),
            ],
        )
        .await;
    let eve = x
        .user("eve@contoso.com", "Eve Ng", &[("attrs[department]", "Sales")])
        .await;
    let dan = x
        .user("dan@contoso.com", "Dan Wu", &[("attrs[department]", "Sales")])
        .await;
    let g1 = x.group("Engineers").await;
    let g2 = x.group("Unassigned").await;
    x.add_member(&g1, "ann@contoso.com").await;
    x.add_member(&g1, "eve@contoso.com").await;
    x.add_member(&g2, "bob@contoso.com").await;
    x.assign("ann@contoso.com", "").await;
    x.assign("bob@contoso.com", "").await;
    x.assign("Engineers", "").await;
    let key = x.target.key.clone();
    x.configure_with(&key, "on", "500").await;

    // The initial cycle: assigned users (directly or through Engineers), the assigned group with
    // its members, Ann's manager as Bob's target id; Dan and the unassigned group untouched.
    let mut users = BTreeMap::from([
        (
            "ann@contoso.com".to_string(),
            view(true, "Ann Lee", "", "Sales", "bob@contoso.com"),
        ),
        (
            "bob@contoso.com".to_string(),
            view(true, "Bob Ray", "Boss", "Sales", ""),
        ),
        (
            "eve@contoso.com".to_string(),
            view(true, "Eve Ng", "", "Sales", ""),
        ),
    ]);
    let mut groups = BTreeMap::from([(
        "Engineers".to_string(),
        set(&["ann@contoso.com", "eve@contoso.com"]),
    )]);
    converges(x, "initial cycle", &users, &groups).await;
    // The target holds everything a moment before the cycle records its end.
    let s = eventually(20, "the initial cycle ends", || async {
        let s = x.status().await;
        let ended = s["history"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c["kind"] == "initial" && c["state"] != "Running");
        ended.then_some(s.clone()).ok_or(s.to_string())
    })
    .await;
    assert_eq!(s["state"], "Active", "{s}");
    assert_eq!(
        (s["users_managed"].as_i64(), s["groups_managed"].as_i64()),
        (Some(3), Some(1)),
        "{s}"
    );
    let initial = s["history"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "initial")
        .unwrap_or_else(|| panic!("no initial cycle in {s}"));
    assert_eq!(initial["state"], "Succeeded", "{s}");
    assert_eq!(initial["percent"], 100);
    // The same details from the command line.
    let cli_status: Value = serde_json::from_str(&cli(&x.s, &["app", "status", &x.app, "--json"])).unwrap();
    assert_eq!(cli_status["users_managed"], 3, "{cli_status}");
    assert_eq!(cli_status["job_id"], s["job_id"]);
    let text = cli(&x.s, &["app", "status", &x.app]);
    assert!(text.contains("Connector data store: 3 users, 1 groups"), "{text}");

    // Attribute edit.
    x.post(
        "directory/update_user",
        &[("id", &ann), ("attrs[jobTitle]", "Engineer")],
    )
    .await;
    users.get_mut("ann@contoso.com").unwrap().2 = "Engineer".into();
    converges(x, "attribute edit", &users, &groups).await;

    // Disable, enable.
    x.set_enabled(&bob, false).await;
    users.get_mut("bob@contoso.com").unwrap().0 = false;
    converges(x, "disable", &users, &groups).await;
    x.set_enabled(&bob, true).await;
    users.get_mut("bob@contoso.com").unwrap().0 = true;
    converges(x, "enable", &users, &groups).await;

    // Unassign: out of scope, disabled in the target (not deleted).
    x.unassign("bob@contoso.com").await;
    users.get_mut("bob@contoso.com").unwrap().0 = false;
    converges(x, "unassign", &users, &groups).await;

    // Soft delete: disabled and out of its groups; restore brings both back.
    x.post("directory/delete_user", &[("id", &eve)]).await;
    users.get_mut("eve@contoso.com").unwrap().0 = false;
    groups.insert("Engineers".into(), set(&["ann@contoso.com"]));
    converges(x, "soft delete", &users, &groups).await;
    x.post("directory/restore_user", &[("id", &eve)]).await;
    users.get_mut("eve@contoso.com").unwrap().0 = true;
    groups.insert("Engineers".into(), set(&["ann@contoso.com", "eve@contoso.com"]));
    converges(x, "restore", &users, &groups).await;

    // Membership add: Dan joins the assigned group, so he is provisioned and a member.
    x.add_member(&g1, "dan@contoso.com").await;
    users.insert("dan@contoso.com".into(), view(true, "Dan Wu", "", "Sales", ""));
    groups.insert(
        "Engineers".into(),
        set(&["ann@contoso.com", "dan@contoso.com", "eve@contoso.com"]),
    );
    converges(x, "membership add", &users, &groups).await;
    // Membership remove: out of the group and out of scope.
    x.remove_member(&g1, &dan).await;
    users.get_mut("dan@contoso.com").unwrap().0 = false;
    groups.insert("Engineers".into(), set(&["ann@contoso.com", "eve@contoso.com"]));
    converges(x, "membership remove", &users, &groups).await;

    // Group rename.
    x.post("directory/update_group", &[("id", &g1), ("name", "Engineering")])
        .await;
    let members = groups.remove("Engineers").unwrap();
    groups.insert("Engineering".into(), members);
    converges(x, "group rename", &users, &groups).await;

    // Manager change: to a user provisioned in the same cycle.
    x.user("fay@contoso.com", "Fay Oh", &[]).await;
    x.assign("fay@contoso.com", "").await;
    x.post(
        "directory/update_user",
        &[("id", &ann), ("attrs[manager]", "fay@contoso.com")],
    )
    .await;
    users.insert("fay@contoso.com".into(), view(true, "Fay Oh", "", "", ""));
    users.get_mut("ann@contoso.com").unwrap().4 = "fay@contoso.com".into();
    converges(x, "manager change", &users, &groups).await;

    // Hard delete: soft delete then purge -> DELETE in the target.
    x.post("directory/delete_user", &[("id", &eve)]).await;
    x.post("directory/purge_user", &[("id", &eve)]).await;
    users.remove("eve@contoso.com");
    groups.insert("Engineering".into(), set(&["ann@contoso.com"]));
    converges(x, "hard delete", &users, &groups).await;

    // A mapping change forces an initial cycle: every managed user gets the new value.
    x.post(
        "provisioning/attribute",
        &[
            ("app", &x.app),
            ("object", "user"),
            ("original", "title"),
            ("kind", "constant"),
            ("constant", "Staff"),
            ("target", "title"),
            ("apply_on", "always"),
        ],
    )
    .await;
    for (upn, u) in users.iter_mut() {
        if upn != "bob@contoso.com" && upn != "dan@contoso.com" {
            u.2 = "Staff".into();
        }
    }
    converges(x, "mapping change", &users, &groups).await;
    let s = x.status().await;
    assert_eq!(
        s["history"][0]["kind"], "initial",
        "the mapping change ran an initial cycle: {s}"
    );

    // A scoping filter: users outside Sales leave scope and are disabled.
    x.sales_only().await;
    users.get_mut("fay@contoso.com").unwrap().0 = false;
    converges(x, "scoping change", &users, &groups).await;

    // The target kept every value it was sent: no create is logged with dropped attributes.
    let logs = x
        .post(
            "provisioning/logs",
            &[("filter[app]", &x.app), ("filter[status]", "Warning")],
        )
        .await;
    assert_eq!(logs["rows"].as_array().map(Vec::len), Some(0), "{logs}");
}

/// The same changes into scim2-server (`../shared/peers/`), software written elsewhere: the
/// engine must not depend on our own endpoint's leniencies.
#[tokio::test]
async fn every_change_propagates_to_scim2_server() {
    // The peer runs until `_peer` is dropped at the end.
    let Some((_peer, x)) = targeting_scim2_server().await else {
        return;
    };
    every_change_propagates(&x).await;
}

#[tokio::test]
async fn initial_cycle_then_every_change_propagates() {
    let x = setup_with("scim2", &[]).await;
    every_change_propagates(&x).await;

    // Turning provisioning Off pauses the job: changes wait.
    let key = x.target.key.clone();
    x.configure_with(&key, "off", "500").await;
    eventually(10, "paused", || async {
        let s = x.status().await;
        (s["state"] == "Paused").then_some(()).ok_or(s.to_string())
    })
    .await;
}

#[tokio::test]
async fn default_access_is_never_provisioned_and_a_role_change_disables() {
    let x = setup_with("harness", &[]).await;
    x.user("ann@contoso.com", "Ann Lee", &[]).await;
    x.user("bob@contoso.com", "Bob Ray", &[]).await;
    x.assign("ann@contoso.com", "user").await;
    x.assign("bob@contoso.com", "default_access").await;
    let key = x.target.key.clone();
    x.configure_with(&key, "on", "500").await;
    let mut users = BTreeMap::from([("ann@contoso.com".to_string(), view(true, "Ann Lee", "", "", ""))]);
    let groups = BTreeMap::new();
    converges(&x, "initial cycle", &users, &groups).await;
    let logs = x.post("provisioning/logs", &[("filter[app]", &x.app)]).await;
    let bob_entry = logs["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["display_name"] == "Bob Ray")
        .unwrap_or_else(|| panic!("Bob is logged: {logs}"));
    assert_eq!(
        (bob_entry["status"].as_str(), bob_entry["error_code"].as_str()),
        (Some("Skipped"), Some("NotEffectivelyEntitled"))
    );

    // Role change to Default Access: Ann leaves scope and is disabled.
    x.unassign("ann@contoso.com").await;
    x.assign("ann@contoso.com", "default_access").await;
    users.get_mut("ann@contoso.com").unwrap().0 = false;
    converges(&x, "role change", &users, &groups).await;
}

#[tokio::test]
async fn too_many_deletes_are_held_until_allowed() {
    let x = setup_with("scim2", &[]).await;
    for n in ["a", "b", "c"] {
        x.user(&format!("{n}@contoso.com"), &format!("User {n}"), &[])
            .await;
        x.assign(&format!("{n}@contoso.com"), "").await;
    }
    let key = x.target.key.clone();
    x.configure_with(&key, "on", "2").await;
    let mut users: BTreeMap<String, UserView> = ["a", "b", "c"]
        .iter()
        .map(|n| {
            (
                format!("{n}@contoso.com"),
                view(true, &format!("User {n}"), "", "", ""),
            )
        })
        .collect();
    let groups = BTreeMap::new();
    converges(&x, "initial cycle", &users, &groups).await;

    // Three disables against a threshold of two, one after another: however they group into
    // cycles (one cycle of three, or cycles of one and two), no more than two are carried out
    // within the window, the rest are held and the job is quarantined.
    // The first one in a cycle of its own (per cycle, 1 and then 2 never tripped a threshold of 2).
    x.unassign("a@contoso.com").await;
    eventually(20, "a disabled", || async {
        let users = snapshot(&x).await.0;
        (!users["a@contoso.com"].0)
            .then_some(())
            .ok_or(format!("{users:?}"))
    })
    .await;
    for n in ["b", "c"] {
        x.unassign(&format!("{n}@contoso.com")).await;
    }
    let s = eventually(20, "quarantine", || async {
        let s = x.status().await;
        (s["state"] == "Quarantine")
            .then(|| s.clone())
            .ok_or(s.to_string())
    })
    .await;
    assert_eq!(s["quarantine_reason"], "TooManyDeletes", "{s}");
    let disabled = snapshot(&x).await.0.values().filter(|u| !u.0).count();
    let logs = x
        .post(
            "provisioning/logs",
            &[("filter[app]", &x.app), ("filter[action]", "StagedDelete")],
        )
        .await;
    let held = logs["rows"].as_array().unwrap().len();
    assert!(
        disabled <= 2,
        "at most the threshold is carried out: {disabled} disabled"
    );
    assert!(
        held >= 1 && disabled + held >= 3,
        "{disabled} disabled, {held} held: {logs}"
    );

    // Allow deletes: they run, and the job leaves quarantine.
    let out = common::cli_output(&x.s, &["app", "status", &x.app]);
    assert!(!out.status.success(), "status exits non-zero in quarantine");
    assert!(String::from_utf8_lossy(&out.stdout).contains("Quarantine: TooManyDeletes"));
    cli(&x.s, &["app", "restart", &x.app, "--reset", "ForceDeletes"]);
    for u in users.values_mut() {
        u.0 = false;
    }
    converges(&x, "allowed deletes", &users, &groups).await;
    eventually(10, "active again", || async {
        let s = x.status().await;
        (s["state"] == "Active").then_some(()).ok_or(s.to_string())
    })
    .await;
}

#[tokio::test]
async fn a_bad_token_quarantines_the_job() {
    let x = setup_with("scim2", &[]).await;
    x.user("ann@contoso.com", "Ann Lee", &[]).await;
    x.assign("ann@contoso.com", "").await;
    x.configure_with("pvs_not-a-real-key", "on", "500").await;
    let s = eventually(20, "quarantine", || async {
        let s = x.status().await;
        (s["state"] == "Quarantine")
            .then(|| s.clone())
            .ok_or(s.to_string())
    })
    .await;
    assert_eq!(s["quarantine_reason"], "EncounteredQuarantineException", "{s}");
    // The back-off starts when quarantine does: saving the bad token (which retries a job
    // quarantined for its credentials) must not undo the quarantine of the cycle that used it.
    assert!(s["next_attempt"].as_str() > s["quarantine_since"].as_str(), "{s}");
    assert_eq!(s["history"][0]["state"], "Failed", "{s}");
    assert!(x.target_all("Users").await.is_empty());
    // Health says so wherever the application is listed, not only on its Provisioning tab.
    let health = |list: &Value, key: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|a| a[key] == x.app.as_str())
            .map(|a| a["health"].clone())
            .unwrap()
    };
    let apps: Value = common::call(&x.c, &x.s, "apps/list", &[])
        .await
        .json()
        .await
        .unwrap();
    let h = health(&apps["rows"], "id");
    assert_eq!(h["status"], "Quarantine", "{h}");
    assert!(
        h["reason"].as_str().unwrap().contains("refused the credentials"),
        "{h}"
    );
    let overview: Value = common::call(&x.c, &x.s, "overview", &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        health(&overview["health"], "id")["status"],
        "Quarantine",
        "{overview}"
    );
    assert_eq!(
        overview["health"][0]["id"],
        x.app.as_str(),
        "problems first: {overview}"
    );
    let detail: Value = common::call(&x.c, &x.s, "apps/get", &[("id", &x.app)])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(detail["summary"]["health"]["status"], "Quarantine", "{detail}");

    // The right token: the job tries again at once (not a day later), leaves quarantine and
    // provisions.
    let key = x.target.key.clone();
    x.configure_with(&key, "on", "500").await;
    let users = BTreeMap::from([("ann@contoso.com".to_string(), view(true, "Ann Lee", "", "", ""))]);
    converges(&x, "after the new token", &users, &BTreeMap::new()).await;
    eventually(10, "out of quarantine", || async {
        let s = x.status().await;
        (s["state"] == "Active").then_some(()).ok_or(s.to_string())
    })
    .await;
    let apps: Value = common::call(&x.c, &x.s, "apps/list", &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(health(&apps["rows"], "id")["status"], "Healthy", "{apps}");

    // Restart with a full reset forgets the links; the initial cycle matches Ann again instead of
    // creating her twice. An unknown reset option is refused.
    let r = common::call(
        &x.c,
        &x.s,
        "provisioning/restart",
        &[("csrf", &x.t), ("app", &x.app), ("reset", "Everything")],
    )
    .await;
    assert_eq!(common::field_error(&r.json::<Value>().await.unwrap()).0, "reset");
    let before = x.status().await["history"][0]["id"].clone();
    x.post("provisioning/restart", &[("app", &x.app), ("reset", "Full")])
        .await;
    eventually(20, "a new initial cycle", || async {
        let s = x.status().await;
        let c = &s["history"][0];
        (c["id"] != before && c["kind"] == "initial" && c["state"] == "Succeeded" && s["users_managed"] == 1)
            .then_some(())
            .ok_or(s.to_string())
    })
    .await;
    assert_eq!(x.target_all("Users").await.len(), 1);
}

/// The directory's users as the console lists them (every page).
async fn directory_users(x: &Setup) -> Vec<Value> {
    let mut out = Vec::new();
    let mut after = String::new();
    loop {
        let page = x.post("directory/users", &[("after", &after)]).await;
        out.extend(page["rows"].as_array().cloned().unwrap_or_default());
        match page["next"].as_str() {
            Some(n) => after = n.to_string(),
            None => return out,
        }
    }
}

/// With "Sync all users and groups": every enabled user active in `target` exactly once, users
/// disabled in the directory (if there) inactive, every group there with members that are all
/// active target users.
async fn matches_directory(x: &Setup, target: &Tenant, groups: usize) -> Result<(), String> {
    let directory = directory_users(x).await;
    let expected: BTreeSet<String> = directory
        .iter()
        .filter(|u| u["account_enabled"] == true)
        .map(|u| u["upn"].as_str().unwrap().to_lowercase())
        .collect();
    let users = peer_all(&target.url, &target.key, "Users").await;
    let names: Vec<String> = users
        .iter()
        .map(|u| u["userName"].as_str().unwrap_or_default().to_lowercase())
        .collect();
    let unique: BTreeSet<String> = names.iter().cloned().collect();
    if unique.len() != names.len() {
        return Err(format!("duplicates among {} target users", names.len()));
    }
    let active: BTreeSet<String> = users
        .iter()
        .filter(|u| u["active"] != false)
        .map(|u| u["userName"].as_str().unwrap_or_default().to_lowercase())
        .collect();
    if active != expected {
        return Err(format!(
            "{} active target users, {} expected; missing {:?}, extra {:?}",
            active.len(),
            expected.len(),
            expected.difference(&active).take(5).collect::<Vec<_>>(),
            active.difference(&expected).take(5).collect::<Vec<_>>()
        ));
    }
    if unique.difference(&active).any(|n| expected.contains(n)) {
        return Err("an enabled user is inactive in the target".into());
    }
    let ids: BTreeSet<&str> = users
        .iter()
        .filter(|u| u["active"] != false)
        .filter_map(|u| u["id"].as_str())
        .collect();
    let target_groups = peer_all(&target.url, &target.key, "Groups").await;
    if target_groups.len() != groups {
        return Err(format!(
            "{} target groups, {groups} expected",
            target_groups.len()
        ));
    }
    let members: usize = target_groups
        .iter()
        .map(|g| g["members"].as_array().map(Vec::len).unwrap_or(0))
        .sum();
    let dangling = target_groups
        .iter()
        .flat_map(|g| g["members"].as_array().cloned().unwrap_or_default())
        .filter(|m| !ids.contains(m["value"].as_str().unwrap_or_default()))
        .count();
    if members == 0 || dangling > 0 {
        return Err(format!(
            "{members} memberships, {dangling} not pointing at an active target user"
        ));
    }
    Ok(())
}

/// The target's resources straight from a peer's SCIM endpoint.
async fn peer_all(url: &str, token: &str, kind: &str) -> Vec<Value> {
    let v: Value = reqwest::Client::new()
        .get(format!("{url}/{kind}"))
        .query(&[("count", "1000")])
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["Resources"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn kill_minus_nine_mid_cycle_then_restart_converges_without_duplicates() {
    // The target lives in a server of its own, which stays up.
    let target_dir = tempfile::tempdir().unwrap();
    let target_server = Server::start(target_dir.path());
    let target = tenant(&target_server, "Target");
    let env = [("PROVISIO_PROVISIONING_CONCURRENCY", "1")];
    let x = setup_targeting("scim2", target, &env).await;
    cli(&x.s, &["demo-data", "--users", "600", "--groups", "8"]);
    x.configure_fields(&[("scope", "all"), ("provisioning_status", "on")])
        .await;

    // Killed once the first batch is recorded and before the cycle ends.
    eventually(120, "the first batch", || async {
        let s = x.status().await;
        let managed = s["users_managed"].as_i64().unwrap_or(0);
        (managed >= 256).then_some(()).ok_or(s.to_string())
    })
    .await;
    let running = x.status().await;
    let x = restart(x, &env).await;

    // The target can match the directory before the repeated initial cycle has ended (the
    // cut-short cycle may have done nearly everything): wait for both.
    let s = eventually(120, "convergence after the restart", || async {
        matches_directory(&x, &x.target, 8).await?;
        let s = x.status().await;
        let done = s["history"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c["kind"] == "initial" && c["state"] == "Succeeded");
        done.then_some(s.clone()).ok_or(s.to_string())
    })
    .await;
    // Nothing left for a later cycle to do.
    matches_directory(&x, &x.target, 8).await.unwrap();
    let cycles = s["history"].as_array().unwrap();
    if running["current"]["state"] == "Running" {
        assert!(
            cycles.iter().any(|c| c["state"] == "Failed"
                && c["error"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("stopped during the cycle")),
            "the cut-short cycle is recorded: {s}"
        );
    }
}

#[tokio::test]
async fn provisions_scim2_server_exactly() {
    let Some((peer, x)) = targeting_scim2_server().await else {
        return;
    };
    cli(&x.s, &["demo-data", "--users", "120", "--groups", "6"]);
    x.configure_fields(&[("scope", "all"), ("provisioning_status", "on")])
        .await;
    let expected: BTreeMap<String, bool> = directory_users(&x)
        .await
        .iter()
        .filter(|u| u["account_enabled"] == true)
        .map(|u| (u["upn"].as_str().unwrap().to_string(), true))
        .collect();
    eventually(90, "scim2-server holds the directory", || async {
        let users = peer_all(&peer.url, &peer.token, "Users").await;
        let got: BTreeMap<String, bool> = users
            .iter()
            .map(|u| {
                (
                    u["userName"].as_str().unwrap_or_default().to_string(),
                    u["active"].as_bool().unwrap_or(false),
                )
            })
            .collect();
        let groups = peer_all(&peer.url, &peer.token, "Groups").await;
        let members: usize = groups
            .iter()
            .map(|g| g["members"].as_array().map(Vec::len).unwrap_or(0))
            .sum();
        if got == expected && groups.len() == 6 && members > 0 {
            Ok(())
        } else {
            Err(format!(
                "{} users ({} expected), {} groups, {members} memberships",
                got.len(),
                expected.len(),
                groups.len()
            ))
        }
    })
    .await;

    // A change reaches scim2-server too: a user disabled in the directory.
    let first = directory_users(&x)
        .await
        .into_iter()
        .find(|u| u["account_enabled"] == true)
        .unwrap();
    x.set_enabled(first["id"].as_str().unwrap(), false).await;
    let upn = first["upn"].as_str().unwrap().to_string();
    eventually(20, "disabled in scim2-server", || async {
        let users = peer_all(&peer.url, &peer.token, "Users").await;
        let u = users
            .iter()
            .find(|u| u["userName"] == upn.as_str())
            .cloned()
            .unwrap_or_default();
        (u["active"] == false).then_some(()).ok_or(u.to_string())
    })
    .await;
    let s = x.status().await;
    assert_eq!(s["history"][0]["counts"]["failed"], 0, "{s}");
}

/// Every request a proxy passed on or refused: "METHOD /path?query".
type Seen = std::sync::Arc<std::sync::Mutex<Vec<String>>>;

/// A proxy in front of a SCIM target that answers every third request with a fault, in turn:
/// 429 with Retry-After (before the target sees it), 500 (before), or a connection dropped
/// after the target applied the request (the answer is lost). It also refuses filters with `or`
/// (400 invalidFilter), as some targets do, so the engine's batched lookups must fall back to
/// one lookup per user.
async fn faulty_proxy(upstream: &str) -> (String, Seen) {
    proxy(upstream, true).await
}

/// A proxy that records every request; with `faults`, the faulty one above.
async fn proxy(upstream: &str, faults: bool) -> (String, Seen) {
    use axum::body::Body;
    use axum::http::{Request, Response, StatusCode};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let url = reqwest::Url::parse(upstream).unwrap();
    let origin =
        format!("{}://{}", url.scheme(), url.host_str().unwrap()) + &format!(":{}", url.port().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let seen: Seen = Default::default();
    let http = reqwest::Client::new();
    let log = seen.clone();
    let handler = move |req: Request<Body>| {
        let (count, http, origin, log) = (count.clone(), http.clone(), origin.clone(), log.clone());
        async move {
            log.lock()
                .unwrap()
                .push(format!("{} {}", req.method(), req.uri()));
            if !faults {
                return forward(&http, &origin, req, false).await;
            }
            let n = count.fetch_add(1, Ordering::SeqCst) + 1;
            let fault = (n % 3 == 0).then_some((n / 3) % 3);
            let reply = |status: StatusCode, body: &'static str| {
                Response::builder()
                    .status(status)
                    .header("retry-after", "1")
                    .header("content-type", "application/scim+json")
                    .body(Body::from(body))
                    .unwrap()
            };
            let query = req.uri().query().unwrap_or_default().to_ascii_lowercase();
            if query.contains("%20or%20") || query.contains("+or+") {
                return reply(
                    StatusCode::BAD_REQUEST,
                    r#"{"scimType":"invalidFilter","detail":"or is not supported"}"#,
                );
            }
            match fault {
                Some(0) => return reply(StatusCode::TOO_MANY_REQUESTS, r#"{"detail":"slow down"}"#),
                Some(1) => return reply(StatusCode::INTERNAL_SERVER_ERROR, r#"{"detail":"oops"}"#),
                _ => {}
            }
            forward(&http, &origin, req, fault == Some(2)).await
        }
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, axum::Router::new().fallback(handler))
            .await
            .unwrap();
    });
    (format!("http://{addr}{}", url.path()), seen)
}

/// Passes a request on to `origin`; with `cut`, the answer is cut short (the length promises
/// more than is sent, so the client sees the connection end mid-answer).
async fn forward(
    http: &reqwest::Client,
    origin: &str,
    req: axum::http::Request<axum::body::Body>,
    cut: bool,
) -> axum::http::Response<axum::body::Body> {
    use axum::body::{Body, Bytes};
    use axum::http::Response;
    let (parts, body) = req.into_parts();
    let body: Bytes = axum::body::to_bytes(body, 8 << 20).await.unwrap();
    let mut forward = http.request(
        parts.method.clone(),
        format!("{origin}{}", parts.uri.path_and_query().unwrap()),
    );
    for name in ["authorization", "content-type", "accept"] {
        if let Some(v) = parts.headers.get(name) {
            forward = forward.header(name, v.clone());
        }
    }
    let answer = forward.body(body).send().await.unwrap();
    let status = answer.status();
    let content_type = answer.headers().get("content-type").cloned();
    let bytes = answer.bytes().await.unwrap();
    let mut r = Response::builder().status(status);
    if let Some(ct) = content_type {
        r = r.header("content-type", ct);
    }
    if cut {
        // Applied upstream, but the answer is lost.
        return r
            .header("content-length", (bytes.len() + 100).to_string())
            .body(Body::from(bytes))
            .unwrap();
    }
    r.body(Body::from(bytes)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_between_engine_and_target_still_converge_exactly() {
    let target_dir = tempfile::tempdir().unwrap();
    let target_server = Server::start(target_dir.path());
    let direct = tenant(&target_server, "Target");
    let (url, seen) = faulty_proxy(&direct.url).await;
    let proxied = Tenant {
        account: direct.account.clone(),
        url,
        key: direct.key.clone(),
    };
    let env = [
        ("PROVISIO_ESCROW_BASE_SECONDS", "1"),
        ("PROVISIO_OUTBOUND_TIMEOUT_SECONDS", "5"),
    ];
    let x = setup_targeting("scim2", proxied, &env).await;
    cli(&x.s, &["demo-data", "--users", "60", "--groups", "4"]);
    x.configure_fields(&[("scope", "all"), ("provisioning_status", "on")])
        .await;
    // Checked straight at the target, past the proxy.
    eventually(90, "convergence through faults", || {
        matches_directory(&x, &direct, 4)
    })
    .await;

    // A change through the same faults.
    let first = directory_users(&x)
        .await
        .into_iter()
        .find(|u| u["account_enabled"] == true)
        .unwrap();
    x.set_enabled(first["id"].as_str().unwrap(), false).await;
    eventually(60, "the disable through faults", || {
        matches_directory(&x, &direct, 4)
    })
    .await;
    let s = x.status().await;
    assert_ne!(s["state"], "Quarantine", "transient faults never quarantine: {s}");
    // The target offers Bulk: users were created through it, also when its answers were lost.
    let seen = seen.lock().unwrap();
    assert!(
        seen.iter().any(|r| r.starts_with("POST ") && r.contains("/Bulk")),
        "{seen:?}"
    );
}

/// The application's requests-per-second setting paces the engine: an initial cycle of 30 users
/// at 5 requests per second (bursts of 5) through a proxy that counts the requests cannot take
/// less than (requests - 5) / 5 seconds. Only that lower bound is asserted, which a slow machine
/// cannot break.
#[tokio::test]
async fn the_rate_limit_paces_requests() {
    let target_dir = tempfile::tempdir().unwrap();
    let target_server = Server::start(target_dir.path());
    let direct = tenant(&target_server, "Target");
    let (url, seen) = proxy(&direct.url, false).await;
    let proxied = Tenant {
        account: direct.account.clone(),
        url,
        key: direct.key.clone(),
    };
    let x = setup_targeting("scim2", proxied, &[]).await;
    cli(&x.s, &["demo-data", "--users", "30", "--groups", "2"]);
    x.configure_fields(&[("scope", "all"), ("max_requests_per_second", "5")])
        .await;
    seen.lock().unwrap().clear();
    x.configure_fields(&[
        ("scope", "all"),
        ("max_requests_per_second", "5"),
        ("provisioning_status", "on"),
    ])
    .await;
    let cycle = eventually(120, "the initial cycle", || async {
        let s = x.status().await;
        s["history"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["kind"] == "initial" && c["state"] == "Succeeded")
            .cloned()
            .ok_or(s.to_string())
    })
    .await;
    assert!(cycle["counts"]["created"].as_i64().unwrap() >= 30, "{cycle}");
    let ms = cycle["duration_ms"].as_i64().unwrap();
    // Everything the proxy saw since provisioning was switched On is the cycle's.
    let requests = seen.lock().unwrap().len() as i64;
    let least = (requests - 5 - 1).max(0) * 1000 / 5;
    assert!(requests >= 8, "{requests} requests: {:?}", seen.lock().unwrap());
    assert!(
        ms >= least,
        "{requests} requests at 5 per second took only {ms} ms: {cycle}"
    );
}

#[tokio::test]
async fn a_restart_clicked_while_a_cycle_runs_is_carried_out_not_lost() {
    let x = setup_with("scim2", &[]).await;
    for i in 0..8 {
        x.user(&format!("u{i}@contoso.com"), &format!("User {i}"), &[])
            .await;
        x.assign(&format!("u{i}@contoso.com"), "").await;
    }
    // One request a second: the initial cycle lasts several seconds.
    x.configure_fields(&[("provisioning_status", "on"), ("max_requests_per_second", "1")])
        .await;
    let running = eventually(30, "the initial cycle running", || async {
        let s = x.status().await;
        (s["current"]["state"] == "Running")
            .then(|| s["current"]["id"].clone())
            .ok_or(s.to_string())
    })
    .await;
    // Restart (and Allow deletes) while it runs ...
    cli(
        &x.s,
        &["app", "restart", &x.app, "--reset", "Watermark,ForceDeletes"],
    );
    // ... is not cleared by that cycle's end: another initial cycle follows it.
    let s = eventually(90, "an initial cycle after the one that was running", || async {
        let s = x.status().await;
        let history = s["history"].as_array().cloned().unwrap_or_default();
        let done = |c: &Value| c["state"] != "Running";
        let after = history.iter().take_while(|c| c["id"] != running).any(done);
        let first_done = history.iter().any(|c| c["id"] == running && done(c));
        // The cycle's end and the job's completion are two commits: wait for both.
        let completed = s["initial_pending"] == false;
        (first_done && after && completed)
            .then(|| s.clone())
            .ok_or(s.to_string())
    })
    .await;
    let history = s["history"].as_array().unwrap();
    assert!(history.iter().all(|c| c["kind"] == "initial"), "{s}");
}

/// `Restart (Full)` forgets which target account belongs to which user only until the initial
/// cycle has matched them again: a user who leaves scope in between is still disabled in the
/// target, through the link from before the restart (before, the link was gone and the user was
/// logged "never provisioned" and stayed active in the application). A link whose account the
/// target no longer has is dropped without failing the cycle.
#[tokio::test]
async fn a_user_who_leaves_scope_after_a_full_restart_is_still_disabled() {
    let x = setup_with("scim2", &[]).await;
    for (upn, name) in [
        ("ann@contoso.com", "Ann Lee"),
        ("bob@contoso.com", "Bob Ray"),
        ("cy@contoso.com", "Cy Fox"),
    ] {
        x.user(upn, name, &[]).await;
        x.assign(upn, "").await;
    }
    let key = x.target.key.clone();
    x.configure_with(&key, "on", "500").await;
    let mut users = BTreeMap::from([
        ("ann@contoso.com".to_string(), view(true, "Ann Lee", "", "", "")),
        ("bob@contoso.com".to_string(), view(true, "Bob Ray", "", "", "")),
        ("cy@contoso.com".to_string(), view(true, "Cy Fox", "", "", "")),
    ]);
    converges(&x, "initial cycle", &users, &BTreeMap::new()).await;

    // Stopped, so that nothing runs between the restart and the unassignments. Cy's account is
    // also removed from the target behind Provisio's back.
    x.configure_with(&key, "off", "500").await;
    x.post("provisioning/restart", &[("app", &x.app), ("reset", "Full")])
        .await;
    x.unassign("bob@contoso.com").await;
    x.unassign("cy@contoso.com").await;
    let cy = x.target_user("cy@contoso.com").await.unwrap();
    let r = reqwest::Client::new()
        .delete(format!("{}/Users/{}", x.target.url, cy["id"].as_str().unwrap()))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let before = x.status().await["history"][0]["id"].clone();
    x.configure_with(&key, "on", "500").await;
    eventually(20, "the initial cycle", || async {
        let s = x.status().await;
        let c = &s["history"][0];
        (c["id"] != before && c["kind"] == "initial" && c["state"] == "Succeeded")
            .then_some(())
            .ok_or(s.to_string())
    })
    .await;
    users.get_mut("bob@contoso.com").unwrap().0 = false;
    users.remove("cy@contoso.com");
    converges(&x, "after the restart", &users, &BTreeMap::new()).await;
    assert_eq!(x.target_all("Users").await.len(), 2, "nobody was created twice");

    // The links are facts again: Ann matched, Bob's disable recorded, Cy's stale link dropped.
    let s = x.status().await;
    assert_eq!(s["users_managed"], 2, "{s}");
    let logs = x.post("provisioning/logs", &[("filter[app]", &x.app)]).await;
    let cy = logs["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["display_name"] == "Cy Fox")
        .unwrap_or_else(|| panic!("Cy is logged: {logs}"));
    assert_eq!(cy["status"], "Skipped", "{cy}");
}
