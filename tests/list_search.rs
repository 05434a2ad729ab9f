//! Contains-search (ignoring case and accents) on the lists beyond users and groups: the
//! applications, an account's API keys (with a status filter), and the provisioning logs.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![cfg(feature = "ssr")]

mod common;

use common::apps::setup;
use common::*;
use reqwest::StatusCode;
use serde_json::Value;

fn names(v: &Value, field: &str) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| r[field].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn applications_keys_and_logs_are_found_by_any_part_ignoring_accents() {
    let x = setup().await;
    create_app(&x.c, &x.s, &x.t, "scim2", "Gestión Comercial").await;
    let apps = ok(call(&x.c, &x.s, "apps/list", &[("q", "GESTION")]).await).await;
    assert_eq!(names(&apps["rows"], "name"), ["Gestión Comercial"]);
    let apps = ok(call(&x.c, &x.s, "apps/list", &[("q", "ness")]).await).await;
    assert_eq!(names(&apps["rows"], "name"), ["Harness"]);
    // LIKE's own characters are plain text.
    let apps = ok(call(&x.c, &x.s, "apps/list", &[("q", "%")]).await).await;
    assert!(names(&apps["rows"], "name").is_empty());

    // API keys: by name, prefix or group, and by status.
    let account = &x.target.account;
    create_key(&x.s, account, "Señal Okta", "Account Administrators");
    create_key(&x.s, account, "old entra", "Account Administrators");
    let keys = |q: &str, status: &'static str| {
        let (c, s, q) = (&x.c, &x.s, q.to_string());
        async move {
            let form = [
                ("account", account.as_str()),
                ("q", q.as_str()),
                ("status", status),
            ];
            ok(call(c, s, "access/api_keys", &form).await).await
        }
    };
    assert_eq!(names(&keys("senal", "").await, "name"), ["Señal Okta"]);
    assert_eq!(
        names(&keys("administrators", "").await, "name").len(),
        3,
        "by group"
    );
    let all = keys("", "").await;
    let old = all
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "old entra")
        .unwrap()
        .clone();
    assert_eq!(
        names(&keys(old["prefix"].as_str().unwrap(), "").await, "name"),
        ["old entra"],
        "by prefix"
    );
    ok(call(
        &x.c,
        &x.s,
        "access/revoke_api_key",
        &[
            ("csrf", &x.t),
            ("account", account),
            ("key", old["id"].as_str().unwrap()),
        ],
    )
    .await)
    .await;
    assert_eq!(names(&keys("", "inactive").await, "name"), ["old entra"]);
    assert_eq!(keys("", "active").await.as_array().unwrap().len(), 2);
    let r = call(
        &x.c,
        &x.s,
        "access/api_keys",
        &[("account", account), ("status", "gone")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(field_error(&json(r).await).0, "status");

    // The provisioning logs: any part of the name, or a source id exactly.
    let ana = x.user("ana@contoso.com", "Ana Fernández", &[]).await;
    x.user("bob@contoso.com", "Bob Stone", &[]).await;
    x.assign("ana@contoso.com", "user").await;
    x.assign("bob@contoso.com", "user").await;
    x.on_demand("ana@contoso.com").await;
    x.on_demand("bob@contoso.com").await;
    let logs = |identity: String| {
        let x = &x;
        async move {
            let v = x
                .post(
                    "provisioning/logs",
                    &[("filter[app]", &x.app), ("filter[identity]", &identity)],
                )
                .await;
            let mut n = names(&v["rows"], "display_name");
            n.dedup();
            n
        }
    };
    assert_eq!(logs("FERNANDEZ".into()).await, ["Ana Fernández"]);
    assert_eq!(logs("stone".into()).await, ["Bob Stone"]);
    assert_eq!(logs(ana.clone()).await, ["Ana Fernández"]);
    assert!(logs("nobody".into()).await.is_empty());

    // Empty results say so and offer the way back.
    for (path, says) in [
        ("/apps?q=nothing-like-it", "No application matches."),
        ("/directory/groups?q=nothing-like-it", "No group matches."),
        (
            "/provisioning-logs?identity=nothing-like-it",
            "No provisioning log entries match.",
        ),
        ("/directory/groups", "No groups yet."),
    ] {
        let html = page_html(&x.c, &x.s, path).await;
        assert!(html.contains(says), "{path}: {html}");
    }
    x.s.terminate();
}

/// The applications list is paged (50 a page) with the search kept across pages.
#[tokio::test]
async fn applications_are_paged() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let c = signed_in(&s, "admin", ADMIN_PASSWORD).await;
    let t = csrf(&c, &s).await;
    for i in 0..52 {
        create_app(&c, &s, &t, "scim2", &format!("App {i:02}")).await;
    }
    create_app(&c, &s, &t, "scim2", "Zeta").await;
    let page = |q: &'static str, n: &'static str| {
        let (c, s) = (&c, &s);
        async move { ok(call(c, s, "apps/list", &[("q", q), ("page", n)]).await).await }
    };
    let first = page("", "0").await;
    assert_eq!(first["total"], 53);
    assert_eq!(names(&first["rows"], "name").len(), 50);
    let last = page("", "1").await;
    assert_eq!(names(&last["rows"], "name"), ["App 50", "App 51", "Zeta"]);
    let searched = page("app", "1").await;
    assert_eq!(searched["total"], 52);
    assert_eq!(names(&searched["rows"], "name"), ["App 50", "App 51"]);
    let html = page_html(&c, &s, "/apps?q=app").await;
    assert!(html.contains("52 applications · 1–50 shown"), "{html}");
    assert!(
        html.contains(r#"href="/apps?page=1&amp;q=app" rel="next""#),
        "{html}"
    );
    let r = call(&c, &s, "apps/list", &[("q", &"x".repeat(201))]).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}
