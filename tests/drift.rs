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
    let x = setup_with("scim2", &[]).await;
    for (upn, name, title) in [
        ("ann@contoso.com", "Ann Lee", "Dev"),
        ("bob@contoso.com", "Bob Stone", "Ops"),
        ("cat@contoso.com", "Cat Berg", "QA"),
    ] {
        x.user(upn, name, &[("attrs[jobTitle]", title)]).await;
        x.assign(upn, "").await;
    }
    x.user("dan@contoso.com", "Dan Ray", &[]).await;
    x.next_cycle(None).await;
    let users = x.target_all("Users").await;
    assert_eq!(users.len(), 3);
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
        Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "zed@elsewhere.com", "active": false})),
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
    assert_eq!(zed["active"], false);

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
}
