//! Drift and orphans (#21 part 2): what an application holds that Provisio did not put there.
//! Accounts created, changed and deleted in the application behind Provisio's back are found,
//! against a local account: orphans with the directory user they would match, drift attribute
//! by attribute, managed accounts gone missing. Nothing is written by the report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::apps::{setup_with, Setup};
use serde_json::{json, Value};

/// A SCIM request straight to the application, as someone working in it would.
async fn in_the_application(x: &Setup, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
    let mut r = reqwest::Client::new()
        .request(method, format!("{}{path}", x.target.url))
        .bearer_auth(&x.target.key);
    if let Some(b) = body {
        r = r
            .header("content-type", "application/scim+json")
            .body(b.to_string());
    }
    let r = r.send().await.unwrap();
    assert!(r.status().is_success(), "{path}: {}", r.status());
    r.json().await.unwrap_or(Value::Null)
}

fn target_id(x: &[Value], user_name: &str) -> String {
    x.iter()
        .find(|u| u["userName"] == user_name)
        .and_then(|u| u["id"].as_str())
        .unwrap()
        .to_string()
}

/// Three users provisioned; then, in the application: an account for a directory user who is not
/// assigned (an orphan that matches him), one for nobody (an orphan that matches no one), Ann's
/// title changed (drift), Bob deleted (missing).
async fn tampered() -> Setup {
    tampered_with(&[]).await
}

async fn tampered_with(env: &[(&str, &str)]) -> Setup {
    let x = setup_with("scim2", env).await;
    // Cat reports to Ann: a manager is a complex value ({"value": id}) the application returns
    // with more in it ($ref, displayName); held as sent, it is no drift.
    for (upn, name, title, manager) in [
        ("ann@contoso.com", "Ann Lee", "Dev", ""),
        ("bob@contoso.com", "Bob Stone", "Ops", ""),
        ("cat@contoso.com", "Cat Berg", "QA", "ann@contoso.com"),
    ] {
        let mut extra = vec![("attrs[jobTitle]", title)];
        if !manager.is_empty() {
            extra.push(("attrs[manager]", manager));
        }
        x.user(upn, name, &extra).await;
        x.assign(upn, "").await;
    }
    x.user("dan@contoso.com", "Dan Ray", &[]).await;
    x.next_cycle(None).await;
    let users = x.target_all("Users").await;
    assert_eq!(users.len(), 3);
    let manager = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    assert!(
        users.iter().any(|u| !u[manager]["manager"]["value"].is_null()),
        "the manager was provisioned: {users:?}"
    );
    use reqwest::Method;
    in_the_application(
        &x,
        Method::POST,
        "/Users",
        Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "DAN@contoso.com", "active": true})),
    )
    .await;
    in_the_application(
        &x,
        Method::POST,
        "/Users",
        Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "zed@elsewhere.com", "active": true})),
    )
    .await;
    let ann = target_id(&users, "ann@contoso.com");
    in_the_application(
        &x,
        Method::PATCH,
        &format!("/Users/{ann}"),
        Some(
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "title", "value": "Chief"}]}),
        ),
    )
    .await;
    let bob = target_id(&users, "bob@contoso.com");
    in_the_application(&x, Method::DELETE, &format!("/Users/{bob}"), None).await;
    x
}

#[tokio::test]
async fn orphans_drift_and_missing_accounts_are_reported() {
    let x = tampered().await;
    let before = x.target_all("Users").await;
    let out = common::cli_async(&x.s, &["app", "drift", &x.app, "--json"]).await;
    let r: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["error"], "", "{r}");
    assert_eq!(r["users_read"], 4, "{r}");
    assert_eq!(r["managed_users"], 3, "{r}");

    assert_eq!(r["orphans_total"], 2, "{r}");
    let orphan = |name: &str| {
        r["orphans"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name} not reported: {r}"))
    };
    // userName is compared as SCIM compares it (case aside), as the engine's matching does.
    let dan = orphan("DAN@contoso.com");
    assert_eq!(dan["matches"]["upn"], "dan@contoso.com", "{r}");
    assert_eq!(dan["matches"]["by"], "userName", "{r}");
    assert_eq!(dan["matches"]["in_scope"], false, "not assigned: {r}");
    let zed = orphan("zed@elsewhere.com");
    assert!(zed["matches"].is_null(), "{r}");
    assert_eq!(zed["active"], true);

    assert_eq!(r["drifted_total"], 1, "{r}");
    let d = &r["drifted"][0];
    assert_eq!(d["display_name"], "Ann Lee", "{r}");
    assert_eq!(
        d["attributes"],
        json!([{"name": "title", "sent": "\"Dev\"", "found": "\"Chief\""}]),
        "{r}"
    );

    assert_eq!(r["missing_total"], 1, "{r}");
    assert_eq!(r["missing"][0]["display_name"], "Bob Stone", "{r}");

    // As text.
    let text = common::cli_async(&x.s, &["app", "drift", &x.app]).await;
    assert!(
        text.contains(
            "2 accounts not managed by Provisio, 1 managed account changed in the application, 1 missing"
        ),
        "{text}"
    );
    assert!(
        text.contains("matches dan@contoso.com by userName (not in scope)"),
        "{text}"
    );
    assert!(text.contains(r#"title: "Dev" -> "Chief""#), "{text}");
    assert!(text.contains("Bob Stone"), "{text}");

    // The report wrote nothing.
    assert_eq!(x.target_all("Users").await, before);

    // The command line acts on a finding too.
    let zed_id = zed["target_id"].as_str().unwrap();
    let out = common::cli_async(
        &x.s,
        &["app", "drift", &x.app, "--act", "delete", "--account", zed_id],
    )
    .await;
    assert!(
        out.contains("zed@elsewhere.com deleted in the application"),
        "{out}"
    );
    assert_eq!(x.target_all("Users").await.len(), 3);
}

fn find<'a>(list: &'a [Value], key: &str, value: &str) -> &'a Value {
    list.iter()
        .find(|u| u[key] == value)
        .unwrap_or_else(|| panic!("no {key} {value} in {list:?}"))
}

/// Each finding's action, from the console's API (administrators only), audited and logged; the
/// deletion threshold counts orphans removed by hand.
#[tokio::test]
async fn findings_are_reverted_adopted_disabled_and_deleted() {
    let x = tampered().await;
    // Dan is assigned now, so the account adopted for him stays enabled.
    x.assign("dan@contoso.com", "").await;
    let report = x.post("provisioning/drift", &[("app", &x.app)]).await;
    assert_eq!(report["orphans_total"], 2, "{report}");
    let orphans = report["orphans"].as_array().unwrap();
    let dan = find(orphans, "name", "DAN@contoso.com").clone();
    let zed = find(orphans, "name", "zed@elsewhere.com").clone();
    let ann = report["drifted"][0]["target_id"].as_str().unwrap().to_string();
    let act = |action: &'static str, target: String, user: String| {
        let x = &x;
        async move {
            common::call(
                &x.c,
                &x.s,
                "provisioning/drift/act",
                &[
                    ("csrf", x.t.as_str()),
                    ("app", &x.app),
                    ("action", action),
                    ("target_id", &target),
                    ("user_id", &user),
                ],
            )
            .await
        }
    };

    // A Viewer may look but not act.
    let add = common::add_user(&x.c, &x.s, "vera", "viewer", "viewer password 1").await;
    assert!(add.status().is_success());
    let v = common::signed_in(&x.s, "vera", "viewer password 1").await;
    let vt = common::csrf(&v, &x.s).await;
    common::ok(common::call(&v, &x.s, "provisioning/drift", &[("app", &x.app)]).await).await;
    let r = common::call(
        &v,
        &x.s,
        "provisioning/drift/act",
        &[
            ("csrf", &vt),
            ("app", &x.app),
            ("action", "delete"),
            ("target_id", zed["target_id"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(r.status(), reqwest::StatusCode::FORBIDDEN);

    // Revert: Ann's title is the directory's again.
    let m = common::ok(act("revert", ann.clone(), String::new()).await).await;
    assert!(m.as_str().unwrap().contains("Ann Lee"), "{m}");
    let users = x.target_all("Users").await;
    assert_eq!(find(&users, "id", &ann)["title"], "Dev", "{users:?}");

    // Adopt: Dan's account is linked to him and brought in line.
    let m = common::ok(
        act(
            "adopt",
            dan["target_id"].as_str().unwrap().into(),
            dan["matches"]["user_id"].as_str().unwrap().into(),
        )
        .await,
    )
    .await;
    assert!(m.as_str().unwrap().contains("Dan Ray"), "{m}");
    let users = x.target_all("Users").await;
    let adopted = find(&users, "id", dan["target_id"].as_str().unwrap());
    assert_eq!(adopted["displayName"], "Dan Ray", "{adopted}");
    // Adopting it again is refused: it is managed now.
    let r = act(
        "adopt",
        dan["target_id"].as_str().unwrap().into(),
        dan["matches"]["user_id"].as_str().unwrap().into(),
    )
    .await;
    assert_eq!(common::field_error(&common::json(r).await).0, "target_id");

    // Disable the orphan that matches no one; then the deletion threshold (1) stops a delete.
    let key = x.target.key.clone();
    x.configure_with(&key, "off", "1").await;
    common::ok(
        act(
            "disable",
            zed["target_id"].as_str().unwrap().into(),
            String::new(),
        )
        .await,
    )
    .await;
    let users = x.target_all("Users").await;
    assert_eq!(find(&users, "userName", "zed@elsewhere.com")["active"], false);
    let r = act("delete", zed["target_id"].as_str().unwrap().into(), String::new()).await;
    let body = common::json(r).await.to_string();
    assert!(body.contains("Accidental-deletion prevention"), "{body}");
    assert_eq!(x.target_all("Users").await.len(), 4, "nothing deleted");

    // What is left: the report is clean but for zed (still unmanaged) and Bob (missing).
    let after = x.post("provisioning/drift", &[("app", &x.app)]).await;
    assert_eq!(after["drifted_total"], 0, "{after}");
    assert_eq!(after["orphans_total"], 1, "{after}");
    assert_eq!(after["missing_total"], 1, "{after}");

    // Audited, and the orphan's disable is in the provisioning logs.
    let audit = x.post("audit/page", &[("action", "app.drift_disable")]).await;
    assert_eq!(audit["entries"].as_array().unwrap().len(), 1, "{audit}");
    let audit = x.post("audit/page", &[("action", "app.drift_delete")]).await;
    assert_eq!(audit["entries"][0]["outcome"], "failure", "{audit}");
    let logs = x.post("provisioning/logs", &[("filter[app]", &x.app)]).await;
    let disabled = logs["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["display_name"] == "zed@elsewhere.com")
        .unwrap_or_else(|| panic!("{logs}"));
    assert_eq!(disabled["action"], "Disable", "{disabled}");
    assert_eq!(disabled["status"], "Success", "{disabled}");
}

/// The Drift tab without JavaScript: the comparison runs from a GET form; an action posts and
/// the page after it says what was done.
#[tokio::test]
async fn the_drift_tab_works_without_javascript() {
    let x = tampered().await;
    let page = format!("/apps/{}/drift", x.app);
    let idle = common::page_html(&x.c, &x.s, &page).await;
    assert!(
        idle.contains("Press Compare"),
        "the page does not read the application by itself"
    );
    let html = common::page_html(&x.c, &x.s, &format!("{page}?run=1")).await;
    assert!(html.contains("data-drift-report"), "{html}");
    assert!(html.contains(r#"data-orphan="zed@elsewhere.com""#), "{html}");
    assert!(html.contains(r#"data-drifted="Ann Lee""#), "{html}");
    assert!(html.contains(r#"data-missing="Bob Stone""#), "{html}");
    assert!(html.contains("not in scope"), "{html}");
    let report = x.post("provisioning/drift", &[("app", &x.app)]).await;
    let ann = report["drifted"][0]["target_id"].as_str().unwrap().to_string();
    common::post_html_form(
        &x.c,
        &x.s,
        "provisioning/drift/act",
        &format!("{page}?run=1"),
        &[
            ("csrf", &x.t),
            ("app", &x.app),
            ("action", "revert"),
            ("target_id", &ann),
        ],
    )
    .await;
    let html = common::page_html(&x.c, &x.s, &format!("{page}?run=1")).await;
    assert!(html.contains("data-drift-outcome"), "{html}");
    assert!(!html.contains(r#"data-drifted="Ann Lee""#), "reverted: {html}");
}

/// A scheduled check (every hour here, looked for every second): its figures show under
/// Synchronization details, the admin gets one email for what it found, and the setting is
/// part of the configuration (validated, exported).
#[tokio::test]
async fn a_scheduled_check_shows_its_figures_and_emails_what_it_found() {
    let x = tampered_with(&[("PROVISIO_DRIFT_LOOK_SECONDS", "1")]).await;
    let r = common::call(
        &x.c,
        &x.s,
        "provisioning/save",
        &[
            ("csrf", x.t.as_str()),
            ("app", &x.app),
            ("intent", "save"),
            ("mode", "automatic"),
            ("tenant_url", &x.target.url),
            ("scope", "assigned"),
            ("provisioning_status", "off"),
            ("prevent_deletions", "on"),
            ("deletion_threshold", "500"),
            ("reconciliation_interval_minutes", "40"),
            ("drift_check_hours", "1000"),
        ],
    )
    .await;
    assert_eq!(common::field_error(&common::json(r).await).0, "drift_check_hours");
    x.configure_fields(&[
        ("drift_check_hours", "24"),
        ("notification_email", "ops@contoso.com"),
        ("notify_on_failure", "on"),
    ])
    .await;
    let details = common::apps::eventually(20, "a scheduled check", || async {
        let d = x.post("provisioning/status", &[("app", &x.app)]).await;
        match d["drift"]["orphans"].as_i64() {
            Some(2) => Ok(d),
            _ => Err(d["drift"].to_string()),
        }
    })
    .await;
    assert_eq!(details["drift"]["drifted"], 1, "{details}");
    assert_eq!(details["drift"]["missing"], 1, "{details}");
    let html = common::page_html(&x.c, &x.s, &format!("/apps/{}/provisioning", x.app)).await;
    assert!(
        html.contains("2 accounts not managed by Provisio, 1 changed in the application, 1 missing"),
        "{html}"
    );
    let outbox = common::apps::eventually(10, "the drift email", || async {
        let n = x.post("notifications/get", &[]).await;
        let found = n["outbox"].as_array().unwrap().iter().any(|e| {
            e["subject"]
                .as_str()
                .unwrap_or_default()
                .contains("did not put there")
        });
        found.then_some(n.clone()).ok_or(n.to_string())
    })
    .await;
    let emails = outbox["outbox"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["subject"]
                .as_str()
                .unwrap_or_default()
                .contains("did not put there")
        })
        .count();
    assert_eq!(emails, 1, "one email per check that found something: {outbox}");
    let exported = common::cli(&x.s, &["app", "export", &x.app]);
    assert!(exported.contains("\"drift_check_hours\": 24"), "{exported}");
    let audit = x.post("audit/page", &[("action", "app.provisioning")]).await;
    assert!(
        audit
            .to_string()
            .contains(r#"Check for drift every (hours): \"0\" -> \"24\""#),
        "{audit}"
    );
}

/// The policy of scheduled checks (provisioning On): changed values reverted and accounts
/// matching a user in scope adopted (here by the policy or by the cycle that meets Dan first),
/// audited; an orphan that matches nobody stays as it is.
#[tokio::test]
async fn a_scheduled_check_applies_the_policy() {
    let x = tampered_with(&[("PROVISIO_DRIFT_LOOK_SECONDS", "1")]).await;
    x.assign("dan@contoso.com", "").await;
    x.configure_fields(&[
        ("provisioning_status", "on"),
        ("drift_check_hours", "24"),
        ("drift_revert", "on"),
        ("drift_adopt", "on"),
    ])
    .await;
    let exported = common::cli(&x.s, &["app", "export", &x.app]);
    assert!(exported.contains("\"drift_revert\": true"), "{exported}");
    let users = common::apps::eventually(30, "the policy acted", || async {
        let users = x.target_all("Users").await;
        let ann = users.iter().find(|u| u["userName"] == "ann@contoso.com").cloned();
        let dan = users.iter().find(|u| u["userName"] == "DAN@contoso.com").cloned();
        match (ann, dan) {
            (Some(a), Some(d)) if a["title"] == "Dev" && d["displayName"] == "Dan Ray" => Ok(users),
            _ => Err(format!("{users:?}")),
        }
    })
    .await;
    let zed = users
        .iter()
        .find(|u| u["userName"] == "zed@elsewhere.com")
        .unwrap();
    assert_eq!(zed["active"], true, "an orphan matching nobody is left alone");
    let audit = x.post("audit/page", &[("action", "app.drift_revert")]).await;
    assert_eq!(audit["entries"][0]["actor"], "scheduled drift check", "{audit}");
    let after = x.post("provisioning/drift", &[("app", &x.app)]).await;
    assert_eq!(after["orphans_total"], 1, "only zed is left unmanaged: {after}");
    assert_eq!(after["drifted_total"], 0, "{after}");
}
