//! The expression debugger (#21): the tester's trace for one user, and the what-if over the users
//! in scope, through the console's form endpoint (with and without JavaScript) and the command
//! line. Nothing is provisioned by either.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::apps::{setup, Setup};
use common::*;
use serde_json::Value;

/// Posts the Edit attribute form of the users mapping with `intent`.
async fn tester(x: &Setup, intent: &str, expression: &str, extra: &[(&str, &str)]) -> reqwest::Response {
    let mut form = vec![
        ("csrf", x.t.as_str()),
        ("app", x.app.as_str()),
        ("object", "user"),
        ("original", "userName"),
        ("kind", "expression"),
        ("target", "userName"),
        ("intent", intent),
        ("expression", expression),
    ];
    for (k, v) in extra {
        form.retain(|(n, _)| n != k);
        form.push((k, v));
    }
    call(&x.c, &x.s, "provisioning/attribute", &form).await
}

async fn directory(x: &Setup) {
    for (upn, given, surname, department) in [
        ("ana@contoso.com", "Ana", "Lima", "2"),
        ("ana.b@contoso.com", "Ana", "", "Sales"),
        ("bo@contoso.com", "Bo", "Chen", ""),
        ("cy@contoso.com", "Cy", "Diaz", "3"),
        ("out@contoso.com", "Ana", "Outside", "1"),
    ] {
        let mut extra = vec![("attrs[givenName]", given), ("attrs[department]", department)];
        if !surname.is_empty() {
            extra.push(("attrs[surname]", surname));
        }
        x.user(upn, given, &extra).await;
        if !upn.starts_with("out@") {
            x.assign(upn, "user").await;
        }
    }
}

fn steps(r: &Value) -> &Vec<Value> {
    r["expression"]["trace"].as_array().expect("a trace")
}

#[tokio::test]
async fn the_tester_traces_each_call_with_its_arguments() {
    let x = setup().await;
    directory(&x).await;
    let r = ok(tester(
        &x,
        "test",
        r#"ToLower(Join(".", [givenName], [surname]))"#,
        &[("test_user", "ana.b@contoso.com")],
    )
    .await)
    .await;
    assert_eq!(r["expression"]["value"], "\"ana\"", "{r}");
    let s = steps(&r);
    assert_eq!(s.len(), 2, "{r}");
    assert_eq!(s[0]["name"], "ToLower");
    assert_eq!(s[0]["depth"], 0);
    assert_eq!(s[1]["name"], "Join");
    assert_eq!(s[1]["depth"], 1);
    // The null that flowed in is visible where it entered.
    assert_eq!(s[1]["args"], serde_json::json!(["\".\"", "\"Ana\"", "null"]));
    assert_eq!(s[1]["result"], "\"Ana\"");

    // The branch IIF does not take is shown as not evaluated; a failing call shows its error.
    let r = ok(tester(
        &x,
        "test",
        r#"IIF(IsNull([department]), "none", Mid("abc", [department], 1))"#,
        &[("test_user", "ana.b@contoso.com")],
    )
    .await)
    .await;
    assert!(
        r["expression"]["error"]
            .as_str()
            .unwrap()
            .contains("whole number"),
        "{r}"
    );
    let s = steps(&r);
    let iif = &s[0];
    assert_eq!(iif["args"][1], Value::Null, "{r}");
    let mid = s.iter().find(|s| s["name"] == "Mid").unwrap();
    assert_eq!(mid["failed"], true);
    assert!(mid["result"].as_str().unwrap().contains("whole number"));

    // A Viewer may debug expressions too; the trace is in the page after a plain form post.
    let add = add_user(&x.c, &x.s, "vera", "viewer", "viewer password 1").await;
    assert!(add.status().is_success());
    let v = signed_in(&x.s, "vera", "viewer password 1").await;
    let vt = csrf(&v, &x.s).await;
    let page = format!("/apps/{}/provisioning/user/attribute?target=userName", x.app);
    // Posted as a plain form by a browser without JavaScript: the outcome is on the page the
    // post redirects back to.
    let plain = |fields: Vec<(&'static str, &'static str)>| {
        let (v, vt, page, app) = (v.clone(), vt.clone(), page.clone(), x.app.clone());
        let s = &x.s;
        async move {
            let mut form = vec![
                ("csrf", vt.as_str()),
                ("app", app.as_str()),
                ("object", "user"),
                ("original", "userName"),
                ("kind", "expression"),
                ("target", "userName"),
            ];
            form.extend(fields);
            let r = post_html_form(&v, s, "provisioning/attribute", &page, &form).await;
            assert!(r.status().is_redirection(), "{}", r.status());
            page_html(&v, s, &page).await
        }
    };
    let html = plain(vec![
        ("intent", "test"),
        ("expression", r#"ToLower(Join(".", [givenName], [surname]))"#),
        ("test_user", "ana.b@contoso.com"),
    ])
    .await;
    assert!(
        html.contains("data-trace"),
        "the trace is shown without JavaScript: {html}"
    );
    assert!(
        html.contains("not evaluated") || html.contains(">null<"),
        "{html}"
    );
    // So is the what-if.
    let html = plain(vec![
        ("intent", "survey"),
        ("expression", "ToLower([givenName])"),
        ("survey_size", "all"),
    ])
    .await;
    assert!(html.contains("Values more than one user would get"), "{html}");
    assert!(html.contains("ana.b@contoso.com"), "{html}");
}

#[tokio::test]
async fn the_what_if_tells_the_values_users_in_scope_would_get() {
    let x = setup().await;
    directory(&x).await;
    let r = ok(tester(&x, "survey", "ToLower([givenName])", &[("survey_size", "all")]).await).await;
    let s = &r["survey"];
    // Four users are assigned; the fifth is not in scope and not evaluated.
    assert_eq!(s["evaluated"], 4, "{r}");
    assert_eq!(s["with_value"], 4);
    assert_eq!(s["distinct"], 3);
    assert_eq!(s["unique"], true, "userName must be unique");
    assert_eq!(s["duplicated_values"], 1);
    assert_eq!(s["duplicated_users"], 2);
    let dup = &s["duplicates"][0];
    assert_eq!(dup["value"], "\"ana\"");
    assert_eq!(dup["count"], 2);
    let mut users: Vec<&str> = dup["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap())
        .collect();
    users.sort();
    assert_eq!(users, ["ana.b@contoso.com", "ana@contoso.com"]);
    assert!(r["message"].as_str().unwrap().contains("must be unique"), "{r}");

    // Empty values and failures name their users.
    let r = ok(tester(
        &x,
        "survey",
        r#"IIF(IsNull([department]), "", Mid("abc", [department], 1))"#,
        &[("survey_size", "all"), ("target", "title")],
    )
    .await)
    .await;
    let s = &r["survey"];
    assert_eq!(s["unique"], false);
    assert_eq!(s["errors"], 1, "{r}");
    assert_eq!(s["failures"][0][0], "ana.b@contoso.com");
    assert_eq!(s["empty"], 1);
    assert_eq!(s["empties"][0], "bo@contoso.com");
    assert_eq!(s["with_value"], 2);

    // A sample stops at its size and says so.
    let r = ok(tester(&x, "survey", "[givenName]", &[("survey_size", "2")]).await).await;
    assert_eq!(r["survey"]["evaluated"], 2, "{r}");
    assert_eq!(r["survey"]["cut"], true);
    let r = tester(&x, "survey", "[givenName]", &[("survey_size", "lots")]).await;
    assert_eq!(field_error(&json(r).await).0, "survey_size");
    let r = tester(&x, "survey", "Left([givenName]", &[("survey_size", "all")]).await;
    assert_eq!(field_error(&json(r).await).0, "expression");

    // Redact keeps values out of the report.
    let r = ok(tester(&x, "survey", "Redact([surname])", &[("survey_size", "all")]).await).await;
    assert_eq!(r["survey"]["redacted"], true);
    assert!(!r.to_string().contains("Lima"), "{r}");

    // Nothing was provisioned or saved by any of it.
    assert!(x.target_all("Users").await.is_empty());
    let cfg = cli(&x.s, &["app", "export", &x.app]);
    assert!(!cfg.contains("ToLower([givenName])"));
}

#[tokio::test]
async fn the_command_line_tests_expressions_for_one_user_or_all() {
    let x = setup().await;
    directory(&x).await;
    let out = cli(
        &x.s,
        &[
            "app",
            "test-expression",
            "Harness",
            "--expression",
            r#"Join(".", [givenName], [surname])"#,
            "--user",
            "ana.b@contoso.com",
        ],
    );
    assert!(out.starts_with("ana.b@contoso.com: \"Ana\""), "{out}");
    assert!(out.contains("How the value came about"), "{out}");
    assert!(out.contains("(not evaluated)") || out.contains("null"), "{out}");

    let out = cli(
        &x.s,
        &[
            "app",
            "test-expression",
            &x.app,
            "--expression",
            "ToLower([givenName])",
            "--all",
            "--target",
            "userName",
            "--json",
        ],
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["evaluated"], 4, "{v}");
    assert_eq!(v["duplicated_values"], 1);

    // An expression failing for some users: the report, then a failing exit code.
    let out = cli_output(
        &x.s,
        &[
            "app",
            "test-expression",
            &x.app,
            "--expression",
            r#"Mid("abc", [department], 1)"#,
            "--sample",
            "10",
        ],
    );
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Users the expression fails for"), "{text}");
}

/// What-if over the whole users mapping: every attribute that reads the directory, over the users
/// in scope, on the Attribute Mapping page (a GET form) and the command line.
#[tokio::test]
async fn the_whole_mapping_is_tried_on_the_users_in_scope() {
    let x = setup().await;
    directory(&x).await;
    let list = ok(call(
        &x.c,
        &x.s,
        "provisioning/mapping_survey",
        &[("app", &x.app), ("size", "all")],
    )
    .await)
    .await;
    let attribute = |target: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|a| a["target"] == target)
            .map(|a| a["survey"].clone())
            .unwrap_or_else(|| panic!("{target} not tried: {list}"))
    };
    let user_name = attribute("userName");
    assert_eq!(user_name["evaluated"], 4, "the four users in scope: {user_name}");
    assert_eq!(user_name["with_value"], 4);
    assert_eq!(user_name["unique"], true, "userName must be unique");
    assert_eq!(user_name["duplicated_values"], 0);
    let family = attribute("name.familyName");
    assert_eq!(family["empty"], 1, "Ana B. has no surname: {family}");
    let given = attribute("name.givenName");
    assert_eq!(given["duplicated_values"], 1, "two Anas: {given}");
    assert_eq!(given["unique"], false);
    // Constants are the same for everyone: not tried.
    assert!(list
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["survey"]["evaluated"] == 4));

    let html = page_html(
        &x.c,
        &x.s,
        &format!("/apps/{}/provisioning/user?whatif=all", x.app),
    )
    .await;
    assert!(html.contains("data-whatif"), "{html}");
    assert!(html.contains(r#"data-attribute="name.familyName""#), "{html}");
    assert!(html.contains("Evaluated for 4 users in scope."), "{html}");
    let idle = page_html(&x.c, &x.s, &format!("/apps/{}/provisioning/user", x.app)).await;
    assert!(
        !idle.contains("data-whatif="),
        "nothing is evaluated before it is asked for"
    );

    let out = cli_async(&x.s, &["app", "test-expression", &x.app, "--mapping", "--all"]).await;
    assert!(out.contains("userName: "), "{out}");
    assert!(out.contains("name.familyName: "), "{out}");
}
