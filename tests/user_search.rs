//! The users list: contains-search ignoring case and accents, the sign-in and department filters,
//! and the search columns of users written before they existed (filled when the server starts).
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![cfg(feature = "ssr")]

mod common;

use common::*;
use reqwest::StatusCode;

async fn upns(c: &reqwest::Client, s: &Server, form: &[(&str, &str)]) -> Vec<String> {
    let p = ok(call(c, s, "directory/users", form).await).await;
    let mut v: Vec<String> = p["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["upn"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(p["total"].as_u64().unwrap() as usize, v.len(), "{p}");
    v.sort();
    v
}

async fn create(c: &reqwest::Client, s: &Server, t: &str, upn: &str, name: &str, department: &str) -> String {
    ok(call(
        c,
        s,
        "directory/create_user",
        &[
            ("csrf", t),
            ("attrs[userPrincipalName]", upn),
            ("attrs[displayName]", name),
            ("attrs[department]", department),
        ],
    )
    .await)
    .await
    .as_str()
    .unwrap()
    .to_string()
}

#[tokio::test]
async fn users_are_found_by_any_part_of_their_names_ignoring_case_and_accents() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let c = signed_in(&s, "admin", ADMIN_PASSWORD).await;
    let t = csrf(&c, &s).await;
    create(&c, &s, &t, "jose@contoso.com", "José Fernández García", "Ventas").await;
    let zoe = create(
        &c,
        &s,
        &t,
        "zoe@contoso.com",
        "Zoë Ångström",
        "Research & Development",
    )
    .await;
    create(
        &c,
        &s,
        &t,
        "per_cent@contoso.com",
        "Per Cent",
        "research & development",
    )
    .await;

    // Any part, any case, with or without accents.
    assert_eq!(upns(&c, &s, &[("q", "fernandez")]).await, ["jose@contoso.com"]);
    assert_eq!(upns(&c, &s, &[("q", "GARCÍA")]).await, ["jose@contoso.com"]);
    assert_eq!(upns(&c, &s, &[("q", "angstr")]).await, ["zoe@contoso.com"]);
    assert_eq!(upns(&c, &s, &[("q", "@contoso")]).await.len(), 3);
    // LIKE's own characters are plain text.
    assert_eq!(upns(&c, &s, &[("q", "_")]).await, ["per_cent@contoso.com"]);
    assert!(upns(&c, &s, &[("q", "%")]).await.is_empty());

    // Sign-in and department (ignoring case and accents), with the search.
    ok(call(
        &c,
        &s,
        "directory/set_user_enabled",
        &[("csrf", &t), ("id", &zoe), ("enabled", "false")],
    )
    .await)
    .await;
    assert_eq!(
        upns(&c, &s, &[("enabled", "disabled")]).await,
        ["zoe@contoso.com"]
    );
    assert_eq!(upns(&c, &s, &[("enabled", "enabled")]).await.len(), 2);
    assert_eq!(
        upns(&c, &s, &[("department", "RESEARCH & DEVELOPMENT")]).await,
        ["per_cent@contoso.com", "zoe@contoso.com"]
    );
    assert_eq!(
        upns(
            &c,
            &s,
            &[
                ("department", "research & development"),
                ("enabled", "enabled"),
                ("q", "cent")
            ]
        )
        .await,
        ["per_cent@contoso.com"]
    );
    let d = ok(call(&c, &s, "directory/departments", &[]).await).await;
    assert_eq!(d.as_array().unwrap().len(), 2, "{d}");
    assert!(
        d.as_array()
            .unwrap()
            .iter()
            .any(|x| x[0] == "Ventas" && x[1] == 1),
        "{d}"
    );

    // A changed name is found by its new name only.
    ok(call(
        &c,
        &s,
        "directory/update_user",
        &[("csrf", &t), ("id", &zoe), ("attrs[displayName]", "Zoe Smith")],
    )
    .await)
    .await;
    assert!(upns(&c, &s, &[("q", "ångström")]).await.is_empty());
    assert_eq!(upns(&c, &s, &[("q", "smith")]).await, ["zoe@contoso.com"]);

    // Bad filters are refused on their field, and nothing is listed.
    let r = call(&c, &s, "directory/users", &[("enabled", "maybe")]).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(field_error(&json(r).await).0, "enabled");
    let long = "x".repeat(257);
    let r = call(&c, &s, "directory/users", &[("q", &long)]).await;
    assert_eq!(field_error(&json(r).await).0, "q");

    // The page: an empty result says so and offers to clear.
    let html = page_html(&c, &s, "/directory/users?q=nobody-at-all").await;
    assert!(html.contains("No users match."), "{html}");
}

/// Users and groups stored by a version without the search columns are folded when the server
/// starts.
#[tokio::test]
async fn users_and_groups_from_before_the_search_columns_are_found_after_an_upgrade() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let c = signed_in(&s, "admin", ADMIN_PASSWORD).await;
    let t = csrf(&c, &s).await;
    create(&c, &s, &t, "jose@contoso.com", "José Fernández", "Ventas").await;
    ok(call(
        &c,
        &s,
        "directory/create_group",
        &[("csrf", &t), ("name", "Ingeniería")],
    )
    .await)
    .await;
    assert_eq!(s.terminate(), Some(0));
    // What the table looked like to the older version: no folded text.
    sqlx::any::install_default_drivers();
    let url = database_url(dir.path())
        .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("provisio.db").display()));
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    sqlx::query("UPDATE dir_users SET search_fold = NULL, department_fold = NULL")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("UPDATE dir_groups SET search_fold = NULL")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;

    let s = Server::start(dir.path());
    assert!(
        s.output_text().contains("prepared the directory's search"),
        "{}",
        s.output_text()
    );
    let c = signed_in(&s, "admin", ADMIN_PASSWORD).await;
    assert_eq!(upns(&c, &s, &[("q", "fernandez")]).await, ["jose@contoso.com"]);
    assert_eq!(
        upns(&c, &s, &[("department", "ventas")]).await,
        ["jose@contoso.com"]
    );
    let groups = ok(call(&c, &s, "directory/groups", &[("q", "ingenieria")]).await).await;
    assert_eq!(groups["total"], 1, "{groups}");
}

/// A group's members come a page at a time, and can be searched like the users list.
#[tokio::test]
async fn a_groups_members_are_paged_and_searchable() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let c = signed_in(&s, "admin", ADMIN_PASSWORD).await;
    let t = csrf(&c, &s).await;
    let group = ok(call(
        &c,
        &s,
        "directory/create_group",
        &[("csrf", &t), ("name", "Everyone")],
    )
    .await)
    .await
    .as_str()
    .unwrap()
    .to_string();
    for i in 0..55 {
        let upn = format!("member{i:02}@contoso.com");
        let name = if i == 7 {
            "Zoë Ångström".to_string()
        } else {
            format!("Member {i:02}")
        };
        create(&c, &s, &t, &upn, &name, "").await;
        ok(call(
            &c,
            &s,
            "directory/add_member",
            &[("csrf", &t), ("group", &group), ("member", &upn)],
        )
        .await)
        .await;
    }
    let page = |q: &'static str, n: &'static str| {
        let (c, s, group) = (&c, &s, group.clone());
        async move {
            ok(call(
                c,
                s,
                "directory/group",
                &[("id", &group), ("members_q", q), ("members_page", n)],
            )
            .await)
            .await
        }
    };
    let first = page("", "0").await;
    assert_eq!(first["member_total"], 55);
    assert_eq!(first["members"].as_array().unwrap().len(), 50);
    let second = page("", "1").await;
    let names: Vec<&str> = second["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["member"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 5, "{second}");
    assert!(!first["members"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| names.contains(&m["member"]["name"].as_str().unwrap())));
    let found = page("angstrom", "0").await;
    assert_eq!(found["member_total"], 1, "{found}");
    assert_eq!(found["members"][0]["member"]["name"], "Zoë Ångström");
    // The page: a count, and the next page's link keeps the search.
    let html = page_html(&c, &s, &format!("/directory/groups/{group}")).await;
    assert!(html.contains("55 direct members · 1–50 shown"), "{html}");
    assert!(
        html.contains(&format!("/directory/groups/{group}?mpage=1")),
        "{html}"
    );
}
