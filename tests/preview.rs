//! Preview (#21): what the next cycle would do, without doing it. The preview's predicted log
//! entries equal, object by object, the entries the following real cycle writes: an initial
//! cycle and an incremental one, against a local account and against scim2-server. Nothing is
//! written to the application or the connector data store by a preview.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::apps::{setup_with, targeting_scim2_server, Setup};
use common::cli;
use serde_json::Value;

/// One object's outcome: (object type, source id, action, status).
type Outcome = (String, String, String, String);

fn outcome(v: &Value) -> Outcome {
    let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
    (s("object_type"), s("source_id"), s("action"), s("status"))
}

async fn preview(x: &Setup) -> Value {
    let out = common::cli_async(&x.s, &["app", "preview", &x.app, "--json", "--limit", "10000"]).await;
    serde_json::from_str(&out).unwrap()
}

fn predicted(p: &Value) -> Vec<Outcome> {
    let mut v: Vec<Outcome> = p["entries"].as_array().unwrap().iter().map(outcome).collect();
    v.sort();
    v
}

/// Every log entry cycle `cycle` wrote.
async fn logged(x: &Setup, cycle: &str) -> Vec<Outcome> {
    let mut out = Vec::new();
    let mut before = String::new();
    loop {
        let page = x
            .post(
                "provisioning/logs",
                &[
                    ("filter[app]", &x.app),
                    ("filter[cycle]", cycle),
                    ("before", &before),
                ],
            )
            .await;
        out.extend(page["rows"].as_array().unwrap().iter().map(outcome));
        match page["older"].as_str() {
            Some(o) => before = o.to_string(),
            None => break,
        }
    }
    out.sort();
    out
}

/// Returns Bob's id.
async fn directory(x: &Setup) -> String {
    // Ann reports to Bob, created after her: her manager reference follows in the references pass.
    let ann = x
        .user("ann@contoso.com", "Ann Lee", &[("attrs[department]", "Sales")])
        .await;
    let bob = x
        .user(
            "bob@contoso.com",
            "Bob Ray",
            &[("attrs[jobTitle]", "Boss"), ("attrs[department]", "Sales")],
        )
        .await;
    x.post(
        "directory/update_user",
        &[("id", &ann), ("attrs[manager]", "bob@contoso.com")],
    )
    .await;
    x.user("eve@contoso.com", "Eve Ng", &[]).await;
    x.user("dan@contoso.com", "Dan Wu", &[]).await;
    x.user("cy@contoso.com", "Cy Diaz", &[]).await;
    let g = x.group("Engineers").await;
    x.add_member(&g, "eve@contoso.com").await;
    x.add_member(&g, "ann@contoso.com").await;
    x.assign("ann@contoso.com", "").await;
    x.assign("bob@contoso.com", "").await;
    x.assign("Engineers", "").await;
    x.assign("cy@contoso.com", "").await;
    bob
}

/// The preview of the initial cycle, then of an incremental one, each checked against the cycle
/// that follows it.
async fn predicts_each_cycle(x: &Setup) {
    let bob = directory(x).await;
    let key = x.target.key.clone();
    x.configure_with(&key, "off", "500").await;

    let p = preview(x).await;
    assert_eq!(p["initial"], true, "{p}");
    assert_eq!(p["error"], "", "{p}");
    assert!(p["counters"]["created"].as_i64().unwrap() >= 4, "{p}");
    assert!(
        x.target_all("Users").await.is_empty(),
        "a preview creates nothing"
    );
    let status = x.status().await;
    assert!(
        status["last_completed"].is_null(),
        "no cycle was recorded: {status}"
    );
    // Every create shows the attributes it would send.
    let create = p["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "Create" && e["display_name"] == "Bob Ray")
        .unwrap_or_else(|| panic!("{p}"));
    assert!(create["modified"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["new"].as_str().unwrap_or_default().contains("bob@contoso.com")));

    let first = x.next_cycle(None).await;
    assert_eq!(
        predicted(&p),
        logged(x, &first).await,
        "the initial cycle did what the preview said"
    );

    // Changes while paused: a title, a leaver, a member removed, a user unassigned.
    x.post(
        "directory/update_user",
        &[("id", &bob), ("attrs[jobTitle]", "Director")],
    )
    .await;
    x.unassign("cy@contoso.com").await;
    let p = preview(x).await;
    assert_eq!(p["initial"], false, "{p}");
    let update = p["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["display_name"] == "Bob Ray")
        .unwrap_or_else(|| panic!("{p}"));
    assert_eq!(update["action"], "Update", "{p}");
    assert!(
        update["modified"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["old"] == "\"Boss\"" && m["new"] == "\"Director\""),
        "the diff shows the value before and after: {update}"
    );
    let second = x.next_cycle(Some(first)).await;
    assert_eq!(
        predicted(&p),
        logged(x, &second).await,
        "the incremental cycle did what the preview said"
    );
}

#[tokio::test]
async fn the_preview_predicts_each_cycle_against_a_local_account() {
    let x = setup_with("scim2", &[]).await;
    predicts_each_cycle(&x).await;
}

#[tokio::test]
async fn the_preview_predicts_each_cycle_against_scim2_server() {
    let Some((_peer, x)) = targeting_scim2_server().await else {
        return;
    };
    predicts_each_cycle(&x).await;
}

#[tokio::test]
async fn a_preview_says_when_the_deletion_threshold_would_stop_the_cycle() {
    let x = setup_with("scim2", &[]).await;
    for n in ["a", "b", "c"] {
        x.user(&format!("{n}@contoso.com"), &format!("User {n}"), &[])
            .await;
        x.assign(&format!("{n}@contoso.com"), "").await;
    }
    let first = x.next_cycle(None).await;
    assert_eq!(x.target_all("Users").await.len(), 3);
    for n in ["a", "b", "c"] {
        x.unassign(&format!("{n}@contoso.com")).await;
    }
    let key = x.target.key.clone();
    x.configure_with(&key, "off", "2").await;
    let p = preview(&x).await;
    assert_eq!(p["held"], true, "{p}");
    assert_eq!(p["threshold"], 2);
    assert_eq!(p["counters"]["staged"], 3, "{p}");
    assert_eq!(p["counters"]["disabled"], 0, "{p}");
    let text = cli(&x.s, &["app", "preview", &x.app]);
    assert!(
        text.contains("Accidental-deletion prevention would stop it"),
        "{text}"
    );
    // Nothing was disabled by the preview.
    assert!(x
        .target_all("Users")
        .await
        .iter()
        .all(|u| u["active"].as_bool().unwrap_or(true)));
    let _ = first;
}

/// The console's Preview tab and its JSON endpoint: Viewers may run it; the action filter narrows
/// the list and not the totals; without JavaScript it is a GET form.
#[tokio::test]
async fn the_console_previews_with_and_without_javascript() {
    let x = setup_with("scim2", &[("PROVISIO_LOG", "info,provisio::api=debug")]).await;
    for n in ["a", "b", "c"] {
        x.user(&format!("{n}@contoso.com"), &format!("User {n}"), &[])
            .await;
        x.assign(&format!("{n}@contoso.com"), "").await;
    }
    let key = x.target.key.clone();
    x.configure_with(&key, "off", "500").await;
    let p = common::ok(
        common::call(
            &x.c,
            &x.s,
            "provisioning/preview",
            &[("app", &x.app), ("action", "Create")],
        )
        .await,
    )
    .await;
    assert_eq!(p["counters"]["created"], 3, "{p}");
    assert_eq!(p["entries"].as_array().unwrap().len(), 3);
    // Paged: one object a page, every object once.
    let mut paged = Vec::new();
    for page in ["0", "1", "2"] {
        let p = common::ok(
            common::call(
                &x.c,
                &x.s,
                "provisioning/preview",
                &[
                    ("app", &x.app),
                    ("action", "Create"),
                    ("limit", "1"),
                    ("page", page),
                ],
            )
            .await,
        )
        .await;
        assert_eq!(p["offset"], page.parse::<u64>().unwrap(), "{p}");
        assert_eq!(p["total_entries"], 3, "{p}");
        paged.push(p["entries"][0]["source_id"].clone());
    }
    let all: Vec<Value> = p["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["source_id"].clone())
        .collect();
    assert_eq!(paged, all, "the pages are the preview's entries in order");
    let r = common::call(
        &x.c,
        &x.s,
        "provisioning/preview",
        &[("app", &x.app), ("action", "Nuke")],
    )
    .await;
    assert_eq!(common::field_error(&common::json(r).await).0, "action");

    // A page renders its screen once: it used to ask three times (the console layout's Suspense
    // ran the screen's component again until it settled).
    let asked = || {
        x.s.output
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains("preview asked for"))
            .count()
    };
    let before = asked();
    let html = common::page_html(&x.c, &x.s, &format!("/apps/{}/preview?run=1", x.app)).await;
    assert_eq!(asked(), before + 1, "one page view, one preview asked for");
    assert!(html.contains("data-preview-entries"), "{html}");
    assert!(html.contains("User b"), "{html}");
    assert!(html.contains("The next cycle is an initial cycle"), "{html}");
    let idle = common::page_html(&x.c, &x.s, &format!("/apps/{}/preview", x.app)).await;
    assert!(
        idle.contains("Press Preview"),
        "the page does not run a preview by itself"
    );

    // A Viewer may look.
    let add = common::add_user(&x.c, &x.s, "vera", "viewer", "viewer password 1").await;
    assert!(add.status().is_success());
    let v = common::signed_in(&x.s, "vera", "viewer password 1").await;
    let p = common::ok(common::call(&v, &x.s, "provisioning/preview", &[("app", &x.app)]).await).await;
    assert_eq!(p["counters"]["created"], 3, "{p}");
    assert!(
        x.target_all("Users").await.is_empty(),
        "still nothing in the application"
    );
}

/// Three users provisioned: titles "Boss", "Dev" and none.
async fn titled_users() -> Setup {
    let x = setup_with("scim2", &[]).await;
    for (n, title) in [("a", "Boss"), ("b", "Dev"), ("c", "")] {
        let mut extra = vec![];
        if !title.is_empty() {
            extra.push(("attrs[jobTitle]", title));
        }
        x.user(&format!("{n}@contoso.com"), &format!("User {n}"), &extra)
            .await;
        x.assign(&format!("{n}@contoso.com"), "").await;
    }
    x.next_cycle(None).await;
    x
}

/// `provisio app apply APP FILE --preview`: what a configuration change would do to the objects
/// already provisioned, attribute by attribute, and nothing saved.
#[tokio::test]
async fn a_configuration_change_is_previewed_before_it_is_saved() {
    let x = titled_users().await;
    let saved = cli(&x.s, &["app", "export", &x.app]);
    let mut cfg: Value = serde_json::from_str(&saved).unwrap();
    let title = cfg["mappings"][0]["attributes"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|a| a["target"] == "title")
        .expect("a title mapping");
    title["kind"] = "expression".into();
    title["source"] = "ToUpper([jobTitle])".into();
    let file = x.s.data_dir.join("changed.json");
    std::fs::write(&file, serde_json::to_vec(&cfg).unwrap()).unwrap();
    let out = common::cli_async(
        &x.s,
        &["app", "apply", &x.app, &file.to_string_lossy(), "--preview"],
    )
    .await;
    assert!(out.starts_with("Nothing is saved."), "{out}");
    assert!(out.contains("title: updates 2 users"), "{out}");
    assert!(
        out.contains("an initial cycle"),
        "a mapping change means an initial cycle: {out}"
    );
    assert!(out.contains(r#"title: "Boss" -> "BOSS""#), "{out}");
    assert_eq!(cli(&x.s, &["app", "export", &x.app]), saved, "nothing saved");
    assert!(x
        .target_all("Users")
        .await
        .iter()
        .all(|u| u["title"].as_str().unwrap_or_default() != "BOSS"));
}

/// The console's Preview beside Save on Edit attribute: the change built as Save builds it, what
/// the next cycle would do with it attribute by attribute, nothing saved or sent; a Viewer may
/// ask; without JavaScript the page after the post shows the result and keeps the unsaved form.
#[tokio::test]
async fn the_console_previews_a_mapping_change_before_it_is_saved() {
    let x = titled_users().await;
    let saved = cli(&x.s, &["app", "export", &x.app]);
    let expression = r#"IIF([jobTitle]="Dev", "", ToUpper([jobTitle]))"#;
    let form = |csrf: &str| {
        vec![
            ("csrf", csrf.to_string()),
            ("app", x.app.clone()),
            ("object", "user".into()),
            ("intent", "preview".into()),
            ("original", "title".into()),
            ("kind", "expression".into()),
            ("expression", expression.into()),
            ("target", "title".into()),
            ("matching", "off".into()),
            ("apply_on", "always".into()),
        ]
    };
    let ask = |c: &reqwest::Client, csrf: String| {
        let f = form(&csrf);
        let (c, s) = (c.clone(), &x.s);
        async move {
            let pairs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
            common::ok(common::call(&c, s, "provisioning/attribute", &pairs).await).await
        }
    };
    let o = ask(&x.c, x.t.clone()).await;
    let change = &o["change"];
    assert!(
        change["changes"].to_string().contains("changed title"),
        "the change as the audit log would say it: {o}"
    );
    assert_eq!(change["preview"]["initial"], true, "{o}");
    assert_eq!(change["preview"]["counters"]["updated"], 2, "{o}");
    let effects = change["preview"]["attributes"].as_array().unwrap();
    let title = effects
        .iter()
        .find(|a| a["attribute"] == "title")
        .expect("title counted");
    assert_eq!(title["updated"], 2, "{o}");
    assert_eq!(title["emptied"], 1, "Dev's title would be emptied: {o}");
    assert!(o["message"].as_str().unwrap().contains("update 2"), "{o}");
    // Nothing saved, nothing sent.
    assert_eq!(cli(&x.s, &["app", "export", &x.app]), saved, "nothing saved");
    assert!(x
        .target_all("Users")
        .await
        .iter()
        .all(|u| u["title"].as_str().unwrap_or_default() != "BOSS"));

    // A bad expression is refused as Save refuses it.
    let r = common::call(
        &x.c,
        &x.s,
        "provisioning/attribute",
        &[
            ("csrf", x.t.as_str()),
            ("app", &x.app),
            ("object", "user"),
            ("intent", "preview"),
            ("original", "title"),
            ("kind", "expression"),
            ("expression", "ToUpper([jobTitle]"),
            ("target", "title"),
        ],
    )
    .await;
    assert_eq!(common::field_error(&common::json(r).await).0, "expression");

    // A Viewer may preview (and still not save).
    let add = common::add_user(&x.c, &x.s, "vera", "viewer", "viewer password 1").await;
    assert!(add.status().is_success());
    let v = common::signed_in(&x.s, "vera", "viewer password 1").await;
    let vt = common::csrf(&v, &x.s).await;
    let o = ask(&v, vt).await;
    assert_eq!(o["change"]["preview"]["counters"]["updated"], 2, "{o}");

    // Without JavaScript: the page after the post shows the preview and the unsaved expression.
    let page = format!("/apps/{}/provisioning/user/attribute?target=title", x.app);
    let f = form(&x.t);
    let pairs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = common::post_html_form(&x.c, &x.s, "provisioning/attribute", &page, &pairs).await;
    assert!(
        r.status().is_success() || r.status().is_redirection(),
        "{}",
        r.status()
    );
    let html = common::page_html(&x.c, &x.s, &page).await;
    assert!(html.contains("data-change-preview"), "{html}");
    assert!(
        html.contains("title: updates 2 users; 1 would get an empty value"),
        "{html}"
    );
    assert!(
        html.contains("ToUpper([jobTitle])"),
        "the form keeps the change: {html}"
    );
    assert_eq!(
        cli(&x.s, &["app", "export", &x.app]),
        saved,
        "still nothing saved"
    );
}

/// Preview beside Add clause on the scoping screen: who would leave scope and what that does in
/// the application, nothing saved; without JavaScript too.
#[tokio::test]
async fn the_console_previews_a_scoping_change_before_it_is_saved() {
    let x = setup_with("scim2", &[]).await;
    for (n, dept) in [("a", "Sales"), ("b", "Sales"), ("c", "Legal")] {
        x.user(
            &format!("{n}@contoso.com"),
            &format!("User {n}"),
            &[("attrs[department]", dept)],
        )
        .await;
        x.assign(&format!("{n}@contoso.com"), "").await;
    }
    x.next_cycle(None).await;
    let saved = cli(&x.s, &["app", "export", &x.app]);
    let form = [
        ("csrf", x.t.as_str()),
        ("app", x.app.as_str()),
        ("object", "user"),
        ("intent", "preview"),
        ("filter", "new"),
        ("title", "Sales"),
        ("attribute", "department"),
        ("operator", "EQUALS"),
        ("value", "Sales"),
    ];
    let o = common::ok(common::call(&x.c, &x.s, "provisioning/scoping/add", &form).await).await;
    let p = &o["change"]["preview"];
    assert_eq!(p["counters"]["disabled"], 1, "Legal's user leaves scope: {o}");
    assert_eq!(p["counters"]["created"], 0, "{o}");
    let left: Vec<&str> = p["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "Disable")
        .map(|e| e["display_name"].as_str().unwrap())
        .collect();
    assert_eq!(left, ["User c"], "{o}");
    assert!(o["change"]["changes"].to_string().contains("Sales"), "{o}");
    assert_eq!(cli(&x.s, &["app", "export", &x.app]), saved, "nothing saved");
    // An invalid clause is refused as Add clause refuses it.
    let mut bad = form;
    bad[7] = ("operator", "Greater_Than");
    bad[6] = ("attribute", "employeeId");
    bad[8] = ("value", "ten");
    let r = common::call(&x.c, &x.s, "provisioning/scoping/add", &bad).await;
    assert_eq!(common::field_error(&common::json(r).await).0, "value");

    // Without JavaScript: the scoping page after the post shows the preview.
    let page = format!("/apps/{}/provisioning/user/scoping", x.app);
    common::post_html_form(&x.c, &x.s, "provisioning/scoping/add", &page, &form).await;
    let html = common::page_html(&x.c, &x.s, &page).await;
    assert!(html.contains("data-change-preview"), "{html}");
    assert!(html.contains("User c"), "{html}");
    assert_eq!(
        cli(&x.s, &["app", "export", &x.app]),
        saved,
        "still nothing saved"
    );
    assert_eq!(x.target_all("Users").await.len(), 3);
}
