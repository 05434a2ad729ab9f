//! Users and groups of an application: Add assignment (search, several at once, all or nothing),
//! changing an assignment's role (and the next cycle acting on it), and what provisioning did
//! with each assignment.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![cfg(feature = "ssr")]

mod common;

use common::apps::{eventually, setup, Setup};
use common::*;
use reqwest::StatusCode;
use serde_json::Value;

async fn candidates(x: &Setup, q: &str, kind: &str) -> Value {
    ok(call(
        &x.c,
        &x.s,
        "apps/assign_candidates",
        &[("app", &x.app), ("q", q), ("kind", kind)],
    )
    .await)
    .await
}

fn names(v: &Value) -> Vec<String> {
    v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["principal"]["name"].as_str().unwrap().to_string())
        .collect()
}

async fn assign_many(x: &Setup, ids: &[&str], role: &str) -> reqwest::Response {
    let mut form = vec![("csrf", x.t.as_str()), ("app", x.app.as_str()), ("role", role)];
    form.extend(ids.iter().map(|id| ("principals[]", *id)));
    call(&x.c, &x.s, "apps/assign_many", &form).await
}

async fn assignments(x: &Setup, q: &str) -> Value {
    ok(call(&x.c, &x.s, "apps/assignments", &[("app", &x.app), ("q", q)]).await).await
}

/// The row of the assignment of `name` (display name).
fn row<'a>(list: &'a Value, name: &str) -> &'a Value {
    list["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["principal"]["name"] == name)
        .unwrap_or_else(|| panic!("no assignment of {name} in {list}"))
}

#[tokio::test]
async fn several_users_and_groups_are_assigned_at_once_all_or_nothing() {
    let x = setup().await;
    let ana = x.user("ana@contoso.com", "Ana Fernández", &[]).await;
    let bob = x.user("bob@contoso.com", "Bob Stone", &[]).await;
    let carl = x.user("carl@contoso.com", "Carl Berg", &[]).await;
    let eng = x.group("Ingeniería").await;
    x.group("Sales").await;

    // The search ignores case and accents and looks inside names, for users and groups alike.
    assert_eq!(names(&candidates(&x, "FERNANDEZ", "").await), ["Ana Fernández"]);
    assert_eq!(
        names(&candidates(&x, "ingenieria", "group").await),
        ["Ingeniería"]
    );
    assert!(names(&candidates(&x, "ingenieria", "user").await).is_empty());
    let all = candidates(&x, "", "").await;
    assert_eq!(
        names(&all),
        ["Ana Fernández", "Bob Stone", "Carl Berg", "Ingeniería", "Sales"]
    );
    assert_eq!(all["more"], false);
    // The groups list searches the same way.
    let groups = ok(call(&x.c, &x.s, "directory/groups", &[("q", "GENIER")]).await).await;
    assert_eq!(groups["total"], 1, "{groups}");

    // Harness has roles: one must be chosen, and nothing is assigned without it.
    let r = assign_many(&x, &[&ana, &eng], "").await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(field_error(&json(r).await).0, "role");
    // A principal that does not exist fails the whole request: Ana is not assigned either.
    let r = assign_many(&x, &[&ana, "no-such-id"], "user").await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(field_error(&json(r).await).0, "principals");
    assert_eq!(assignments(&x, "").await["total"], 0);
    let r = assign_many(&x, &[], "user").await;
    assert_eq!(field_error(&json(r).await).0, "principals");
    let many: Vec<String> = (0..201).map(|n| format!("id-{n}")).collect();
    let refs: Vec<&str> = many.iter().map(String::as_str).collect();
    let r = assign_many(&x, &refs, "user").await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(field_error(&json(r).await).1.contains("at most 200"));

    let m = ok(assign_many(&x, &[&ana, &eng], "user").await).await;
    assert_eq!(m, "Assigned 1 user and 1 group with the role User.");
    // Those who already hold the role are named and left alone; the others are assigned.
    let m = ok(assign_many(&x, &[&ana, &bob], "user").await).await;
    assert_eq!(
        m,
        "Assigned 1 user with the role User. Already assigned with this role: ana@contoso.com."
    );
    let m = ok(assign_many(&x, &[&carl], "default_access").await).await;
    assert!(
        m.as_str()
            .unwrap()
            .ends_with("Users with this role are not provisioned."),
        "{m}"
    );
    let list = assignments(&x, "").await;
    assert_eq!(list["total"], 4);
    // The candidates show the roles each already has.
    let ana_now = candidates(&x, "ana", "user").await;
    assert_eq!(ana_now["rows"][0]["roles"], serde_json::json!(["User"]));
    // The assignments' search is a contains-search too.
    assert_eq!(assignments(&x, "stone").await["total"], 1);
    assert_eq!(assignments(&x, "genieria").await["total"], 1);

    // Each assignment is audited.
    let audit = ok(call(&x.c, &x.s, "audit/page", &[("action", "app.assign")]).await).await;
    assert_eq!(audit["entries"].as_array().unwrap().len(), 4, "{audit}");

    // A Viewer sees the candidates but cannot assign.
    let r = add_user(&x.c, &x.s, "vic", "viewer", "viewer password 123").await;
    assert!(r.status().is_success());
    let v = signed_in(&x.s, "vic", "viewer password 123").await;
    let vt = csrf(&v, &x.s).await;
    ok(call(&v, &x.s, "apps/assign_candidates", &[("app", &x.app)]).await).await;
    let r = call(
        &v,
        &x.s,
        "apps/assign_many",
        &[
            ("csrf", vt.as_str()),
            ("app", &x.app),
            ("principals[]", &carl),
            ("role", "user"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    x.s.terminate();
}

#[tokio::test]
async fn an_assignments_role_changes_and_the_next_cycle_acts_on_it() {
    let x = setup().await;
    let ana = x.user("ana@contoso.com", "Ana Lopez", &[]).await;
    x.user("dora@contoso.com", "Dora Diaz", &[]).await;
    ok(assign_many(&x, &[&ana], "user").await).await;
    x.assign("dora@contoso.com", "account_admin").await;
    let id = row(&assignments(&x, "").await, "Ana Lopez")["id"]
        .as_str()
        .unwrap()
        .to_string();
    let set = |role: &'static str| {
        let id = id.clone();
        let x = &x;
        async move {
            call(
                &x.c,
                &x.s,
                "apps/set_assignment_role",
                &[
                    ("csrf", x.t.as_str()),
                    ("app", &x.app),
                    ("assignment", &id),
                    ("role", role),
                ],
            )
            .await
        }
    };
    // A role the application does not have is refused.
    let r = set("owner").await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(field_error(&json(r).await).0, "role");

    // Provisioned with the role User...
    let key = x.target.key.clone();
    x.configure_with(&key, "on", "500").await;
    eventually(30, "Ana provisioned", || async {
        match x.target_user("ana@contoso.com").await {
            Some(u) if u["active"] == true => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    let before = row(&assignments(&x, "").await, "Ana Lopez").clone();
    assert_eq!(before["provisioning"]["state"], "Provisioned", "{before}");
    assert!(before["provisioning"]["entry"][0].is_string(), "{before}");

    // ...then given Default Access, a role provisioning skips: the change reaches the next cycle,
    // which takes her account out as leaving scope does.
    let m = ok(set("default_access").await).await;
    assert_eq!(m, "ana@contoso.com now has the role Default Access.");
    let list = assignments(&x, "").await;
    assert_eq!(row(&list, "Ana Lopez")["role_name"], "Default Access");
    eventually(30, "Ana's account disabled after the role change", || async {
        match x.target_user("ana@contoso.com").await {
            Some(u) if u["active"] == false => Ok(()),
            None => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    let after = eventually(30, "the assignment shows what the cycle did", || async {
        let list = assignments(&x, "").await;
        let r = row(&list, "Ana Lopez").clone();
        match r["provisioning"]["state"].as_str() {
            Some("Disabled") | Some("Removed") => Ok(r),
            _ => Err(r.to_string()),
        }
    })
    .await;
    let entry = after["provisioning"]["entry"][0].as_str().unwrap();
    let e = ok(call(&x.c, &x.s, "provisioning/log_entry", &[("id", entry)]).await).await;
    assert!(e.to_string().contains("Ana Lopez"), "{e}");

    // One person cannot hold the same role twice: changing Dora's second assignment to the role
    // her first one has is refused, and nothing changes.
    x.assign("dora@contoso.com", "user").await;
    let dora_user = assignments(&x, "dora").await["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["role"] == "user")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = call(
        &x.c,
        &x.s,
        "apps/set_assignment_role",
        &[
            ("csrf", x.t.as_str()),
            ("app", &x.app),
            ("assignment", &dora_user),
            ("role", "account_admin"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let dora = assignments(&x, "dora").await;
    assert_eq!(dora["total"], 2, "nothing changed: {dora}");

    let audit = ok(call(&x.c, &x.s, "audit/page", &[("action", "app.assignment_role")]).await).await;
    assert_eq!(audit["entries"].as_array().unwrap().len(), 1, "{audit}");
    x.s.terminate();
}

#[tokio::test]
async fn each_assignment_shows_what_provisioning_did_with_it() {
    let x = setup().await;
    let ana = x.user("ana@contoso.com", "Ana Lopez", &[]).await;
    let eve = x.user("eve@contoso.com", "Eve Park", &[]).await;
    x.user("finn@contoso.com", "Finn Holm", &[]).await;
    let crew = x.group("Crew").await;
    // Ana and Finn are in the group; Eve is not (the group's role would give her an account).
    x.add_member(&crew, "ana@contoso.com").await;
    x.add_member(&crew, "finn@contoso.com").await;
    ok(assign_many(&x, &[&ana, &crew], "user").await).await;
    ok(assign_many(&x, &[&eve], "default_access").await).await;

    // Before any cycle: nothing has happened yet.
    let list = assignments(&x, "").await;
    assert_eq!(row(&list, "Ana Lopez")["provisioning"]["state"], "Pending");
    assert_eq!(
        row(&list, "Crew")["provisioning"]["members"],
        serde_json::json!([0, 2])
    );

    x.on_demand("ana@contoso.com").await;
    x.on_demand("eve@contoso.com").await;
    let list = assignments(&x, "").await;
    let a = &row(&list, "Ana Lopez")["provisioning"];
    assert_eq!(a["state"], "Provisioned", "{a}");
    let e = &row(&list, "Eve Park")["provisioning"];
    assert_eq!(e["state"], "Skipped", "{e}");
    assert_eq!(
        e["reason"], "assigned only with a role that is not provisioned",
        "the reason says why: {e}"
    );
    // The group: one of its two members is in the application (Finn's turn comes with a cycle).
    assert_eq!(
        row(&list, "Crew")["provisioning"]["members"],
        serde_json::json!([1, 2])
    );

    // The page shows it, with a link to the log entry.
    let html = page_html(&x.c, &x.s, &format!("/apps/{}/users-and-groups", x.app)).await;
    assert!(html.contains("data-state=\"Skipped\""), "{html}");
    assert!(html.contains("1 of 2 members provisioned"));
    let entry = a["entry"][0].as_str().unwrap();
    assert!(html.contains(&format!("provisioning-logs?entry={entry}")));
    x.s.terminate();
}

#[tokio::test]
async fn add_assignment_works_as_a_plain_form_without_javascript() {
    let x = setup().await;
    let ana = x.user("ana@contoso.com", "Ana Fernández", &[]).await;
    let bob = x.user("bob@contoso.com", "Bob Stone", &[]).await;
    let add = format!("/apps/{}/users-and-groups/add", x.app);
    let html = page_html(&x.c, &x.s, &format!("{add}?q=fernandez")).await;
    assert!(
        html.contains("Ana Fernández") && !html.contains("Bob Stone"),
        "{html}"
    );
    assert!(html.contains("name=\"principals[]\""));

    // The browser posts the ticked boxes and follows the redirect back to the page, which says
    // what was done.
    let r = post_html_form(
        &x.c,
        &x.s,
        "apps/assign_many",
        &add,
        &[
            ("csrf", x.t.as_str()),
            ("app", &x.app),
            ("principals[]", &ana),
            ("principals[]", &bob),
            ("role", "user"),
        ],
    )
    .await;
    assert!(r.status().is_redirection(), "{}", r.status());
    let html = page_html(&x.c, &x.s, &add).await;
    assert!(html.contains("Assigned 2 users with the role User."), "{html}");
    // Shown once only.
    let html = page_html(&x.c, &x.s, &add).await;
    assert!(!html.contains("Assigned 2 users"));
    assert_eq!(assignments(&x, "").await["total"], 2);
    x.s.terminate();
}
