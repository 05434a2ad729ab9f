//! Provision on demand over real HTTP into a local account: create, in sync, update with only the
//! difference, disable when the user leaves scope and enable when it returns, Default Access
//! skipped, a user already in the target matched instead of duplicated, a bad token.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::apps::{eventually, setup, setup_with};
use common::{call, ok};
use serde_json::{json, Value};

/// The report's action and status.
fn outcome(r: &Value, action: &str, status: &str) {
    assert_eq!(
        (r["action"].as_str(), r["status"].as_str()),
        (Some(action), Some(status)),
        "{r}"
    );
}

fn step<'a>(r: &'a Value, name: &str) -> &'a Value {
    r["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no step {name} in {r}"))
}

#[tokio::test]
async fn create_sync_update_and_disable() {
    let x = setup().await;
    x.user("bob@contoso.com", "Bob Ray", &[]).await;
    x.user(
        "ann@contoso.com",
        "Ann Lee",
        &[
            ("attrs[givenName]", "Ann"),
            ("attrs[surname]", "Lee"),
            ("attrs[mail]", "ann@contoso.com"),
            ("attrs[manager]", "bob@contoso.com"),
        ],
    )
    .await;
    x.assign("ann@contoso.com", "user").await;

    // Create.
    let r = x.on_demand("ann@contoso.com").await;
    outcome(&r, "Create", "Success");
    assert_eq!(step(&r, "Determine if user is in scope")["status"], "Success");
    // Each step with its details: the source attributes, each scope check, the lookups, and what
    // was sent.
    let details = |name: &str| step(&r, name)["details"].to_string();
    assert!(
        details("Import user").contains(r#"["userPrincipalName","ann@contoso.com"]"#),
        "{r}"
    );
    assert!(
        details("Determine if user is in scope").contains(r#"["Assigned to the application","true"]"#),
        "{r}"
    );
    assert!(
        details("Match user between source and target").contains("0 found"),
        "{r}"
    );
    assert!(
        details("Perform action").contains(r#"["displayName","\"Ann Lee\""]"#),
        "{r}"
    );
    let created = x
        .target_user("ann@contoso.com")
        .await
        .expect("created in the target");
    assert_eq!(created["id"], r["target_id"]);
    assert_eq!(
        created["active"], true,
        "the Switch expression's \"True\" is sent as a boolean"
    );
    assert_eq!(created["displayName"], "Ann Lee");
    assert_eq!(created["name"], json!({"givenName": "Ann", "familyName": "Lee"}));
    assert_eq!(created["emails"][0]["value"], "ann@contoso.com");

    // Nothing changed: nothing is sent.
    let r = x.on_demand("ann@contoso.com").await;
    outcome(&r, "Other", "Skipped");

    // An edit sends only the difference.
    let ann = x.target_user("ann@contoso.com").await.unwrap();
    let ann_source = ok(call(&x.c, &x.s, "directory/users", &[("q", "ann")]).await).await["rows"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    ok(call(
        &x.c,
        &x.s,
        "directory/update_user",
        &[
            ("csrf", &x.t),
            ("id", &ann_source),
            ("attrs[displayName]", "Ann Lee-Smith"),
        ],
    )
    .await)
    .await;
    let r = x.on_demand(&ann_source).await;
    outcome(&r, "Update", "Success");
    let details = step(&r, "Perform action")["details"].as_array().unwrap().clone();
    assert_eq!(details, vec![json!(["displayName", "\"Ann Lee-Smith\""])], "{r}");
    let after = x.target_user("ann@contoso.com").await.unwrap();
    assert_eq!(after["displayName"], "Ann Lee-Smith");
    // The log entry's Modified Properties: name, old value, new value.
    let updates = ok(call(&x.c, &x.s, "provisioning/logs", &[("filter[action]", "Update")]).await).await;
    let id = updates["rows"][0]["id"].as_str().unwrap();
    let entry = ok(call(&x.c, &x.s, "provisioning/log_entry", &[("id", id)]).await).await;
    assert_eq!(
        entry["modified"],
        json!([["displayName", "\"Ann Lee\"", "\"Ann Lee-Smith\""]]),
        "{entry}"
    );
    assert_eq!(after["id"], ann["id"]);

    // Disabled in the directory: disabled in the target, not deleted.
    x.set_enabled(&ann_source, false).await;
    let r = x.on_demand("ann@contoso.com").await;
    outcome(&r, "Disable", "Success");
    assert_eq!(x.target_user("ann@contoso.com").await.unwrap()["active"], false);
    let r = x.on_demand("ann@contoso.com").await;
    outcome(&r, "Other", "Skipped");

    // Enabled again: back in scope, active again in the target.
    x.set_enabled(&ann_source, true).await;
    let r = x.on_demand("ann@contoso.com").await;
    outcome(&r, "Update", "Success");
    assert_eq!(x.target_user("ann@contoso.com").await.unwrap()["active"], true);
    let audit = ok(call(&x.c, &x.s, "audit/page", &[("action", "app.provision_on_demand")]).await).await;
    assert!(audit["entries"].as_array().unwrap().len() >= 6, "{audit}");
}

#[tokio::test]
async fn scope_matching_and_failures() {
    let x = setup().await;
    x.user("dee@contoso.com", "Dee Default", &[]).await;
    x.assign("dee@contoso.com", "default_access").await;
    x.user("una@contoso.com", "Una Assigned-Not", &[]).await;
    x.user("pre@contoso.com", "Pre Existing", &[]).await;
    x.assign("pre@contoso.com", "user").await;

    // Default Access: skipped, NotEffectivelyEntitled, nothing in the target.
    let r = x.on_demand("dee@contoso.com").await;
    assert_eq!(
        (r["status"].as_str(), r["error_code"].as_str()),
        (Some("Skipped"), Some("NotEffectivelyEntitled")),
        "{r}"
    );
    assert!(x.target_user("dee@contoso.com").await.is_none());
    // Not assigned and never provisioned: not touched.
    let r = x.on_demand("una@contoso.com").await;
    assert_eq!(r["status"], "Skipped");
    assert!(step(&r, "Determine if user is in scope")["description"]
        .as_str()
        .unwrap()
        .contains("not assigned"));

    // A user already in the target is matched by userName and updated, not created twice.
    let existing: Value = reqwest::Client::new()
        .post(format!("{}/Users", x.target.url))
        .bearer_auth(&x.target.key)
        .json(&json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "pre@contoso.com", "displayName": "Old name"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let r = x.on_demand("pre@contoso.com").await;
    assert_eq!(
        (r["action"].as_str(), r["target_id"].as_str()),
        (Some("Update"), existing["id"].as_str()),
        "{r}"
    );
    assert!(
        step(&r, "Match user between source and target")["details"]
            .to_string()
            .contains("1 found"),
        "{r}"
    );
    assert_eq!(
        x.target_user("pre@contoso.com").await.unwrap()["displayName"],
        "Pre Existing"
    );

    // A bad token: the report says so with Entra's code; unknown users are a field error.
    x.configure("wrong").await;
    let r = x.on_demand("pre@contoso.com").await;
    assert_eq!(
        (r["status"].as_str(), r["error_code"].as_str()),
        (Some("Failure"), Some("Unauthorized")),
        "{r}"
    );
    let r = call(
        &x.c,
        &x.s,
        "provisioning/on_demand",
        &[("csrf", &x.t), ("app", &x.app), ("user", "ghost@contoso.com")],
    )
    .await;
    assert_eq!(common::field_error(&common::json(r).await).0, "user");
}

#[tokio::test]
async fn provisioning_logs_filter_open_and_download() {
    let x = setup().await;
    x.user("ann@contoso.com", "Ann Lee", &[]).await;
    x.assign("ann@contoso.com", "user").await;
    x.user("dee@contoso.com", "Dee Default", &[]).await;
    x.assign("dee@contoso.com", "default_access").await;
    x.on_demand("ann@contoso.com").await;
    x.on_demand("ann@contoso.com").await;
    x.on_demand("dee@contoso.com").await;

    let page = |form: Vec<(&'static str, String)>| {
        let (c, s) = (x.c.clone(), &x.s);
        async move {
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            ok(call(&c, s, "provisioning/logs", &form).await).await
        }
    };
    let all = page(vec![("filter[app]", x.app.clone())]).await;
    let rows = all["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3, "{all}");
    assert_eq!(rows[0]["display_name"], "Dee Default", "newest first");
    let created = page(vec![
        ("filter[app]", x.app.clone()),
        ("filter[action]", "Create".into()),
    ])
    .await;
    assert_eq!(created["rows"].as_array().unwrap().len(), 1);
    let ann = page(vec![("filter[identity]", "Ann".into())]).await;
    assert_eq!(ann["rows"].as_array().unwrap().len(), 2);
    let skipped = page(vec![("filter[status]", "Skipped".into())]).await;
    assert_eq!(skipped["rows"].as_array().unwrap().len(), 2);
    let r = call(&x.c, &x.s, "provisioning/logs", &[("filter[from]", "yesterday")]).await;
    assert_eq!(common::field_error(&common::json(r).await).0, "from");

    // One entry with its steps and error.
    let id = rows[0]["id"].as_str().unwrap();
    let entry = ok(call(&x.c, &x.s, "provisioning/log_entry", &[("id", id)]).await).await;
    assert_eq!(entry["row"]["error_code"], "NotEffectivelyEntitled");
    assert_eq!(entry["steps"].as_array().unwrap().len(), 4, "{entry}");
    assert!(entry["error_action"].as_str().unwrap().contains("Default Access"));

    // Downloads.
    let csv =
        x.c.get(x.s.url(&format!(
            "/provisioning-logs/download?format=csv&app={}&status=Success",
            x.app
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let text = csv.text().await.unwrap();
    assert!(text.starts_with("time,application,cycle,identity"), "{text}");
    assert_eq!(
        text.lines().count(),
        2,
        "header and the one successful create: {text}"
    );
    assert!(
        text.contains("Ann Lee,user") && text.contains("Create,Success"),
        "{text}"
    );
    let json: Value =
        x.c.get(x.s.url(&format!("/provisioning-logs/download?format=json&app={}", x.app)))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(json.as_array().unwrap().len(), 3);
    // The Overview counts the directory and the applications.
    let o = ok(call(&x.c, &x.s, "overview", &[]).await).await;
    assert_eq!(
        (o["users"].as_i64(), o["groups"].as_i64(), o["apps"].as_i64()),
        (Some(2), Some(0), Some(1)),
        "{o}"
    );
    assert_eq!(o["apps_provisioning"], 0);
    let anonymous = common::client()
        .get(x.s.url("/provisioning-logs/download"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        anonymous.status(),
        reqwest::StatusCode::SEE_OTHER,
        "signed-in users only"
    );
}

#[tokio::test]
async fn a_group_with_up_to_five_members() {
    let x = setup().await;
    for (upn, name) in [
        ("ann@contoso.com", "Ann Lee"),
        ("bob@contoso.com", "Bob Ray"),
        ("cat@contoso.com", "Cat Poe"),
        ("dan@contoso.com", "Dan Wu"),
    ] {
        x.user(upn, name, &[]).await;
    }
    let team = x.group("Team").await;
    for m in ["ann@contoso.com", "bob@contoso.com", "cat@contoso.com"] {
        x.add_member(&team, m).await;
    }
    x.assign("Team", "user").await;
    let run = |group: &'static str, members: &'static str| {
        let x = &x;
        async move {
            call(
                &x.c,
                &x.s,
                "provisioning/on_demand_group",
                &[
                    ("csrf", &x.t),
                    ("app", &x.app),
                    ("group", group),
                    ("members", members),
                ],
            )
            .await
        }
    };

    // Refused: not a member, more than five, no such group. Nothing happens.
    for (group, members, field) in [
        ("Team", "dan@contoso.com", "members"),
        (
            "Team",
            "a@x.com b@x.com c@x.com d@x.com e@x.com f@x.com",
            "members",
        ),
        ("Nobody", "", "group"),
    ] {
        let r = run(group, members).await;
        assert_eq!(r.status(), 400, "{group} {members}");
        assert_eq!(common::field_error(&r.json::<Value>().await.unwrap()).0, field);
    }
    assert!(x.target_all("Groups").await.is_empty());

    // Two members, then the group with exactly them.
    let reports = ok(run("Team", "ann@contoso.com, bob@contoso.com").await).await;
    let summary: Vec<(String, String, String)> = reports
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["display_name"].as_str().unwrap().to_string(),
                r["action"].as_str().unwrap().to_string(),
                r["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expect = |list: &[(&str, &str, &str)]| -> Vec<(String, String, String)> {
        list.iter()
            .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
            .collect()
    };
    assert_eq!(
        summary,
        expect(&[
            ("Ann Lee", "Create", "Success"),
            ("Bob Ray", "Create", "Success"),
            ("Team", "Create", "Success")
        ])
    );
    let member_names = |g: &Value, users: &[Value]| -> Vec<String> {
        let mut names: Vec<String> = g["members"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .filter_map(|m| users.iter().find(|u| u["id"] == m["value"]))
            .map(|u| u["userName"].as_str().unwrap().to_string())
            .collect();
        names.sort();
        names
    };
    let groups = x.target_all("Groups").await;
    let users = x.target_all("Users").await;
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0]["displayName"], "Team");
    assert_eq!(
        member_names(&groups[0], &users),
        ["ann@contoso.com", "bob@contoso.com"]
    );

    // A third member joins; the two already there stay.
    let reports = ok(run("Team", "cat@contoso.com").await).await;
    assert_eq!(reports[1]["action"], "Update", "{reports}");
    let groups = x.target_all("Groups").await;
    let users = x.target_all("Users").await;
    assert_eq!(
        member_names(&groups[0], &users),
        ["ann@contoso.com", "bob@contoso.com", "cat@contoso.com"]
    );

    // From the command line: already in sync.
    let out = common::cli(
        &x.s,
        &[
            "app",
            "on-demand",
            &x.app,
            "--group",
            "Team",
            "--member",
            "cat@contoso.com",
        ],
    );
    assert!(out.contains("Team Other: Skipped"), "{out}");
}

#[tokio::test]
async fn provision_on_demand_never_runs_beside_a_cycle() {
    let x = setup_with("scim2", &[]).await;
    // A cycle with groups to write at one request a second: it runs for many seconds.
    for i in 0..12 {
        let upn = format!("m{i}@contoso.com");
        x.user(&upn, &format!("Member {i}"), &[]).await;
        let g = x.group(&format!("team {i}")).await;
        x.add_member(&g, &upn).await;
        x.assign(&format!("team {i}"), "").await;
    }
    x.user("late@contoso.com", "Late Comer", &[]).await;
    x.assign("late@contoso.com", "").await;
    x.configure_fields(&[("provisioning_status", "on"), ("max_requests_per_second", "1")])
        .await;
    let running = eventually(30, "a cycle running", || async {
        let s = x.status().await;
        (s["current"]["state"] == "Running")
            .then(|| s["current"]["id"].clone())
            .ok_or(s.to_string())
    })
    .await;
    let r = call(
        &x.c,
        &x.s,
        "provisioning/on_demand",
        &[("csrf", &x.t), ("app", &x.app), ("user", "late@contoso.com")],
    )
    .await;
    let code = r.status();
    let body = r.text().await.unwrap();
    let s = x.status().await;
    let cycle_still_running = s["history"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["id"] == running && c["state"] == "Running");
    if code == reqwest::StatusCode::OK {
        assert!(
            !cycle_still_running,
            "provision on demand ran beside the cycle: {s}"
        );
    } else {
        assert_eq!(code, reqwest::StatusCode::CONFLICT, "{body}");
        assert!(body.contains("cycle of this application is running"), "{body}");
    }
    // Either way, one account for the user in the end.
    eventually(120, "the user provisioned once", || async {
        let all = x.target_all("Users").await;
        let n = all.iter().filter(|u| u["userName"] == "late@contoso.com").count();
        (n == 1).then_some(()).ok_or(format!("{n} accounts"))
    })
    .await;
}
