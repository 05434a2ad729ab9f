//! Access Management in the console: accounts, user groups with roles, API keys (shown once),
//! and what a key's inherited roles allow on the SCIM endpoint.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{add_user, call, csrf, json, page_html, post_html_form, signed_in, Server, ADMIN_PASSWORD};
use reqwest::header::AUTHORIZATION;
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn scim(
    url: &str,
    key: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = reqwest::Client::new()
        .request(method, format!("{url}{path}"))
        .header(AUTHORIZATION, format!("Bearer {key}"));
    if let Some(b) = body {
        req = req
            .header("content-type", "application/scim+json")
            .body(b.to_string());
    }
    let r = req.send().await.unwrap();
    let status = r.status();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test]
async fn accounts_groups_and_keys_from_the_console() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let c = signed_in(&s, "admin", ADMIN_PASSWORD).await;
    let token = csrf(&c, &s).await;

    // Create an account; a blank or duplicate name is refused next to the field.
    let r = call(
        &c,
        &s,
        "access/create_account",
        &[("csrf", &token), ("name", "  ")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json(r).await["Invalid"]["field"], "name");
    let r = call(
        &c,
        &s,
        "access/create_account",
        &[("csrf", &token), ("name", "Acme")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let account = json(r).await.as_str().unwrap().to_string();
    assert_eq!(account.len(), 22);
    assert!(account
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    let r = call(
        &c,
        &s,
        "access/create_account",
        &[("csrf", &token), ("name", "ACME")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    let summary = json(call(&c, &s, "access/account", &[("id", &account)]).await).await;
    let tenant_url = summary["tenant_url"].as_str().unwrap().to_string();
    assert_eq!(
        tenant_url,
        format!("{}/gateway/api/scim/account/{account}", s.base)
    );

    // User groups: the built-in one plus a Viewer and a no-permission group.
    for (name, role) in [("Auditors", "account_viewer"), ("Nobody", "none")] {
        let r = call(
            &c,
            &s,
            "access/create_user_group",
            &[
                ("csrf", &token),
                ("account", &account),
                ("name", name),
                ("role", role),
            ],
        )
        .await;
        assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    }
    let groups = json(call(&c, &s, "access/user_groups", &[("account", &account)]).await).await;
    assert_eq!(groups["total"], 3);
    let groups = groups["rows"].clone();
    let id_of = |name: &str| {
        groups
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["name"] == name)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (admins, auditors, nobody) = (
        id_of("Account Administrators"),
        id_of("Auditors"),
        id_of("Nobody"),
    );
    assert_eq!(groups[0]["role"], "AccountAdmin");
    let found = json(
        call(
            &c,
            &s,
            "access/user_groups",
            &[("account", &account), ("q", "aud")],
        )
        .await,
    )
    .await;
    assert_eq!(found["total"], 1);
    assert_eq!(found["rows"][0]["name"], "Auditors");
    // Only groups that grant something are offered to new keys.
    let offered = json(call(&c, &s, "access/inheritable_groups", &[("account", &account)]).await).await;
    assert_eq!(offered.as_array().unwrap().len(), 3);
    // The built-in group keeps its role and cannot be deleted.
    let r = call(
        &c,
        &s,
        "access/set_user_group_role",
        &[
            ("csrf", &token),
            ("account", &account),
            ("group", &admins),
            ("role", "none"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = call(
        &c,
        &s,
        "access/delete_user_group",
        &[("csrf", &token), ("account", &account), ("group", &admins)],
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    // API keys, one per group, shown once in the response.
    let mut keys = Vec::new();
    for (name, group) in [
        ("admin key", &admins),
        ("viewer key", &auditors),
        ("no key", &nobody),
    ] {
        let r = call(
            &c,
            &s,
            "access/create_api_key",
            &[
                ("csrf", &token),
                ("account", &account),
                ("name", name),
                ("groups[]", group),
            ],
        )
        .await;
        assert_eq!(r.status(), StatusCode::OK);
        let k = json(r).await;
        assert_eq!(k["tenant_url"], tenant_url);
        let key = k["key"].as_str().unwrap().to_string();
        assert!(key.starts_with("pvs_") && key.len() >= 47);
        keys.push(key);
    }
    // Without a group, the form says so.
    let r = call(
        &c,
        &s,
        "access/create_api_key",
        &[("csrf", &token), ("account", &account), ("name", "x")],
    )
    .await;
    assert_eq!(json(r).await["Invalid"]["field"], "groups");

    // What each key may do on the SCIM endpoint.
    let user = json!({"userName": "a@acme.com"});
    let (st, _) = scim(
        &tenant_url,
        &keys[0],
        reqwest::Method::POST,
        "/Users",
        Some(user.clone()),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED);
    let (st, _) = scim(&tenant_url, &keys[1], reqwest::Method::GET, "/Users", None).await;
    assert_eq!(st, StatusCode::OK);
    let (st, body) = scim(
        &tenant_url,
        &keys[1],
        reqwest::Method::POST,
        "/Users",
        Some(json!({"userName": "b@acme.com"})),
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("lack admin permissions"),
        "{body}"
    );
    let (st, _) = scim(&tenant_url, &keys[2], reqwest::Method::GET, "/Users", None).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    // Promote the Auditors group: its key can write at once.
    call(
        &c,
        &s,
        "access/set_user_group_role",
        &[
            ("csrf", &token),
            ("account", &account),
            ("group", &auditors),
            ("role", "account_admin"),
        ],
    )
    .await;
    let (st, _) = scim(
        &tenant_url,
        &keys[1],
        reqwest::Method::POST,
        "/Users",
        Some(json!({"userName": "b@acme.com"})),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED);

    // The list shows names, prefixes, groups and last use; never the key.
    let list = json(call(&c, &s, "access/api_keys", &[("account", &account)]).await).await;
    let text = list.to_string();
    assert!(!keys.iter().any(|k| text.contains(k.as_str())));
    let admin_key = list
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "admin key")
        .unwrap();
    assert_eq!(admin_key["prefix"], &keys[0][..12]);
    assert_eq!(admin_key["groups"], json!(["Account Administrators"]));
    assert!(admin_key["last_used_at"].is_string());
    assert_eq!(admin_key["status"], "Active");
    // Revoke from the console.
    let id = admin_key["id"].as_str().unwrap();
    let r = call(
        &c,
        &s,
        "access/revoke_api_key",
        &[("csrf", &token), ("account", &account), ("key", id)],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let (st, _) = scim(&tenant_url, &keys[0], reqwest::Method::GET, "/Users", None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);

    // Users list with search and the resource as clients see it.
    let page = json(call(&c, &s, "access/users", &[("account", &account), ("q", "B@")]).await).await;
    assert_eq!(page["total"], 1);
    assert_eq!(page["rows"][0]["user_name"], "b@acme.com");
    assert_eq!(page["rows"][0]["source"], "viewer key");
    let uid = page["rows"][0]["id"].as_str().unwrap();
    let html = page_html(&c, &s, &format!("/access/accounts/{account}/users/{uid}")).await;
    assert!(html.contains("b@acme.com") && html.contains("urn:ietf:params:scim:schemas:core:2.0:User"));
    let html = page_html(&c, &s, &format!("/access/accounts/{account}/users")).await;
    assert!(html.contains("a@acme.com") && html.contains("b@acme.com"));
    for tab in ["", "/user-groups", "/api-keys"] {
        let r = c
            .get(s.url(&format!("/access/accounts/{account}{tab}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{tab}");
    }
    assert!(page_html(&c, &s, &format!("/access/accounts/{account}"))
        .await
        .contains(&tenant_url));
    let r = c
        .get(s.url("/access/accounts/AAAAAAAAAAAAAAAAAAAAAA"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // The audit log has every change, and never a key.
    let audit = json(call(&c, &s, "audit/page", &[]).await).await.to_string();
    for action in [
        "scim_account.create",
        "scim_group.create",
        "scim_api_key.create",
        "scim_api_key.revoke",
        "scim_group.set_role",
    ] {
        assert!(audit.contains(action), "{action}");
    }
    assert!(!keys.iter().any(|k| audit.contains(k.as_str())));
    assert!(!keys.iter().any(|k| s.output_text().contains(k.as_str())));
}

#[tokio::test]
async fn without_javascript_the_new_key_is_shown_once() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let c = signed_in(&s, "admin", ADMIN_PASSWORD).await;
    let token = csrf(&c, &s).await;
    let r = post_html_form(
        &c,
        &s,
        "access/create_account",
        "/access/accounts",
        &[("csrf", &token), ("name", "NoJS")],
    )
    .await;
    assert!(r.status().is_redirection());
    let account = r.headers()["location"]
        .to_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let page = format!("/access/accounts/{account}/api-keys");
    let html = page_html(&c, &s, &page).await;
    // The built-in group is preselected in the form.
    assert!(html.contains("name=\"groups[]\""));
    let groups = json(call(&c, &s, "access/user_groups", &[("account", &account)]).await).await;
    let admins = groups["rows"][0]["id"].as_str().unwrap().to_string();
    let r = post_html_form(
        &c,
        &s,
        "access/create_api_key",
        &page,
        &[
            ("csrf", &token),
            ("account", &account),
            ("name", "okta"),
            ("groups[]", &admins),
            ("expires_in_days", "30"),
        ],
    )
    .await;
    assert!(r.status().is_redirection(), "{}", r.status());
    let html = page_html(&c, &s, &page).await;
    assert!(html.contains("will not be shown again"));
    let key = html
        .split("value=\"pvs_")
        .nth(1)
        .map(|rest| format!("pvs_{}", &rest[..43]))
        .expect("the key on the page");
    // Shown once: the next view has only the list.
    let again = page_html(&c, &s, &page).await;
    assert!(!again.contains(&key));
    assert!(again.contains("okta"));
    let list = json(call(&c, &s, "access/api_keys", &[("account", &account)]).await).await;
    assert!(list[0]["expires_at"].is_string());
}

#[tokio::test]
async fn viewers_see_but_cannot_change_accounts() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let admin = signed_in(&s, "admin", ADMIN_PASSWORD).await;
    assert_eq!(
        add_user(&admin, &s, "vera", "viewer", "viewer password 1")
            .await
            .status(),
        StatusCode::OK
    );
    let token = csrf(&admin, &s).await;
    let account = json(
        call(
            &admin,
            &s,
            "access/create_account",
            &[("csrf", &token), ("name", "Acme")],
        )
        .await,
    )
    .await;
    let account = account.as_str().unwrap();
    let v = signed_in(&s, "vera", "viewer password 1").await;
    let vt = csrf(&v, &s).await;
    assert_eq!(json(call(&v, &s, "access/accounts", &[]).await).await["total"], 1);
    for (endpoint, form) in [
        ("access/create_account", vec![("name", "Other")]),
        (
            "access/create_api_key",
            vec![("account", account), ("name", "k"), ("groups[]", "x")],
        ),
        (
            "access/create_user_group",
            vec![("account", account), ("name", "g"), ("role", "none")],
        ),
    ] {
        let mut f = vec![("csrf", vt.as_str())];
        f.extend(form);
        assert_eq!(
            call(&v, &s, endpoint, &f).await.status(),
            StatusCode::FORBIDDEN,
            "{endpoint}"
        );
    }
    let html = page_html(&v, &s, &format!("/access/accounts/{account}/api-keys")).await;
    assert!(!html.contains("Add API Key</button>"));
}

#[tokio::test]
async fn user_groups_page_and_show_scim_groups() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let t = common::tenant(&s, "Many");
    for i in 0..205 {
        let group = json!({"displayName": format!("team {i:03}")});
        let (st, _) = scim(&t.url, &t.key, reqwest::Method::POST, "/Groups", Some(group)).await;
        assert_eq!(st, StatusCode::CREATED);
    }
    let c = signed_in(&s, "admin", ADMIN_PASSWORD).await;
    let first = json(call(&c, &s, "access/user_groups", &[("account", &t.account)]).await).await;
    assert_eq!(first["total"], 206);
    assert_eq!(first["rows"].as_array().unwrap().len(), 200);
    assert_eq!(first["rows"][0]["name"], "Account Administrators");
    assert_eq!(first["rows"][1]["source"], "Scim");
    let second = json(
        call(
            &c,
            &s,
            "access/user_groups",
            &[("account", &t.account), ("page", "1")],
        )
        .await,
    )
    .await;
    assert_eq!(second["offset"], 200);
    assert_eq!(second["rows"].as_array().unwrap().len(), 6);
    assert_eq!(second["rows"][5]["name"], "team 204");
    let html = page_html(&c, &s, &format!("/access/accounts/{}/user-groups", t.account)).await;
    assert!(html.contains("Groups 1-200 of 206") && html.contains("Next page"));
    let html = page_html(
        &c,
        &s,
        &format!("/access/accounts/{}/user-groups?q=team%2020&page=0", t.account),
    )
    .await;
    assert!(
        html.contains("5 groups"),
        "team 200 to team 204 start with the text"
    );
}

/// The accounts list is paged (50 a page) and searched by any part of a name or id, case and
/// accents aside: a provider of SCIM endpoints has an account per customer, thousands of them.
#[tokio::test]
async fn the_accounts_list_is_paged_and_searchable() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let c = signed_in(&s, "admin", ADMIN_PASSWORD).await;
    let token = csrf(&c, &s).await;
    for i in 0..55 {
        let name = format!("Customer {i:02}");
        let r = call(
            &c,
            &s,
            "access/create_account",
            &[("csrf", &token), ("name", &name)],
        )
        .await;
        assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    }
    let r = call(
        &c,
        &s,
        "access/create_account",
        &[("csrf", &token), ("name", "Müller GmbH")],
    )
    .await;
    let muller = json(r).await;
    let list = |q: &'static str, page: &'static str| {
        let (c, s) = (&c, &s);
        async move { json(call(c, s, "access/accounts", &[("q", q), ("page", page)]).await).await }
    };
    let first = list("", "0").await;
    assert_eq!(first["total"], 56, "{first}");
    assert_eq!(first["rows"].as_array().unwrap().len(), 50);
    assert_eq!(first["rows"][0]["name"], "Customer 00");
    let second = list("", "1").await;
    assert_eq!(second["offset"], 50);
    let names: Vec<&str> = second["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 6, "{second}");
    assert_eq!(names.last(), Some(&"Müller GmbH"));
    // Any part, without its accents; or the id.
    let found = list("MULLER", "0").await;
    assert_eq!(found["total"], 1, "{found}");
    assert_eq!(found["rows"][0]["id"], muller);
    let by_id = &muller.as_str().unwrap()[4..14];
    let r = json(call(&c, &s, "access/accounts", &[("q", by_id)]).await).await;
    assert_eq!(r["rows"][0]["id"], muller, "{r}");
    assert_eq!(list("stomer 1", "0").await["total"], 10);
    // The console: pages linked, a search that finds nothing says so.
    let html = page_html(&c, &s, "/access/accounts").await;
    assert!(html.contains("56 accounts · 1–50 shown"), "{html}");
    assert!(
        html.contains(r#"href="/access/accounts?page=1" rel="next""#),
        "{html}"
    );
    let html = page_html(&c, &s, "/access/accounts?q=nobody").await;
    assert!(html.contains("No account matches."), "{html}");
    // Bounded input.
    let long = "x".repeat(201);
    let r = call(&c, &s, "access/accounts", &[("q", &long)]).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}
