//! The compatibility profile as configuration: an admin forces an adaptation (`always`) or
//! forbids it (`never`) from the console or through `app export` / `app apply`, audited, and
//! the engine follows the choice over what it would learn.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::apps::eventually;
use common::field::*;
use common::quirky::Quirks;
use provisio::scim::schema::Kind;
use serde_json::{json, Value};

/// `put_for_patch always`, set by `app apply` of an exported file, on a compliant target: the
/// next change goes out as GET + PUT without a PATCH being tried, the export carries the choice,
/// the audit log and the profile say an admin chose it, and no initial cycle is started for it.
#[tokio::test]
async fn an_adaptation_forced_through_the_configuration_is_used_at_once() {
    let (q, x) = targeting(Quirks::default()).await;
    provision_five(&q, &x, 0, 0).await;
    let cycles = x.status().await["history"].as_array().unwrap().len();
    let exported = common::cli(&x.s, &["app", "export", &x.app]);
    let mut doc: Value = serde_json::from_str(&exported).unwrap();
    assert!(doc.get("compatibility").is_none(), "{exported}");
    doc["compatibility"] = json!([{"adaptation": "put_for_patch", "choice": "always"}]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("app.json");
    std::fs::write(&file, doc.to_string()).unwrap();
    let out = common::cli(&x.s, &["app", "apply", &x.app, file.to_str().unwrap()]);
    assert!(
        out.contains("Compatibility: auto -> put_for_patch always"),
        "{out}"
    );
    let again: Value = serde_json::from_str(&common::cli(&x.s, &["app", "export", &x.app])).unwrap();
    assert_eq!(again["compatibility"], doc["compatibility"]);
    let audit = x.post("audit/page", &[]).await.to_string();
    assert!(
        audit.contains("Compatibility: auto -> put_for_patch always"),
        "{audit}"
    );

    let before = q.writes().len();
    common::cli(&x.s, &["directory", "disable-user", "user3@contoso.com"]);
    eventually(30, "user3 is disabled in the application", || async {
        let u = q.all(Kind::User);
        let user3 = u.iter().find(|u| u["userName"] == "user3@contoso.com").unwrap();
        (user3["active"] == false).then_some(()).ok_or(user3.to_string())
    })
    .await;
    let methods: Vec<&str> = q.writes()[before..].iter().map(|w| w.method).collect();
    assert_eq!(methods, ["PUT"], "GET + PUT only, no PATCH tried");
    let s = x.status().await;
    let profile = s["adaptations"].as_array().unwrap();
    assert_eq!(profile.len(), 1, "{s}");
    assert_eq!(profile[0]["adaptation"], "put_for_patch");
    assert_eq!(profile[0]["choice"], "always");
    assert_eq!(profile[0]["reason"], "Chosen by an admin");
    let history = s["history"].as_array().unwrap();
    assert!(
        history
            .iter()
            .take(history.len() - cycles)
            .all(|c| c["kind"] != "initial"),
        "a choice is not a mapping change: {s}"
    );
}

/// `members_by_user_name never`, saved from the console, on a target whose groups name members
/// by userName: the refused members are not sent again by userName, the group fails with the
/// target's answer, nothing is learned, and the profile shows the admin's choice. Back to
/// "Learn by trying", the next cycle adapts and the group converges.
#[tokio::test]
async fn an_adaptation_forbidden_from_the_console_is_not_learned() {
    let (q, x) = targeting(Quirks {
        member_user_names: true,
        ..Quirks::default()
    })
    .await;
    let choose = |choice: &'static str| {
        let x = &x;
        async move {
            x.post(
                "provisioning/compatibility",
                &[
                    ("app", &x.app),
                    ("adaptation", "members_by_user_name"),
                    ("choice", choice),
                ],
            )
            .await
        }
    };
    let saved = choose("never").await;
    assert!(
        saved.as_str().unwrap().contains("members_by_user_name never"),
        "{saved}"
    );
    assigned_users(&x, 1..=2).await;
    let g = x.group("Engineers").await;
    x.add_member(&g, "user1@contoso.com").await;
    x.assign("Engineers", "").await;
    switch_on(&q, &x, 30).await;
    let logs = x.post("provisioning/logs", &[("filter[app]", &x.app)]).await;
    let failed = logs["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["object_type"] == "group")
        .unwrap();
    assert_eq!(
        (&failed["action"], &failed["status"]),
        (&json!("Create"), &json!("Failure")),
        "{failed}"
    );
    let group = q.all(Kind::Group).into_iter().next().unwrap();
    assert!(group["members"].as_array().is_none_or(Vec::is_empty), "{group}");
    let named = q
        .writes()
        .iter()
        .any(|w| w.body.to_string().contains("\"value\":\"user1@contoso.com\""));
    assert!(!named, "members are never sent by userName");
    let s = x.status().await;
    assert_eq!(s["adaptations"][0]["choice"], "never", "{s}");
    assert_eq!(
        s["adaptations"][0]["effect"], "Names group members by their id",
        "{s}"
    );
    let page = provisioning_page(&x).await;
    assert!(page.contains(r#"data-choice="never""#), "{page}");
    assert!(page.contains("Change what Provisio adapts to"), "{page}");

    choose("auto").await;
    x.post("provisioning/restart", &[("app", &x.app)]).await;
    eventually(30, "the group gets its member by userName", || async {
        let group = q.all(Kind::Group).into_iter().next().unwrap();
        (group["members"][0]["value"] == "user1@contoso.com")
            .then_some(())
            .ok_or(group.to_string())
    })
    .await;
}
