//! The directory and enterprise applications over real HTTP: users, soft delete and restore,
//! groups with nested members, imports (console upload and command line), demo data, the
//! gallery, assignments with app roles, and the change sequence that records all of it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{
    add_user, bin, call, csrf, field_error, json, ok, page_html, signed_in, Server, ADMIN_PASSWORD,
};
use reqwest::StatusCode;
use serde_json::Value;

async fn count(c: &reqwest::Client, s: &Server, what: &str) -> i64 {
    ok(call(c, s, "directory/counts", &[]).await).await[what]
        .as_i64()
        .unwrap()
}

async fn last_change(c: &reqwest::Client, s: &Server) -> i64 {
    count(c, s, "last_change").await
}

#[tokio::test]
async fn users_validation_soft_delete_restore_and_purge() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let c = signed_in(&s, "admin", ADMIN_PASSWORD).await;
    let t = csrf(&c, &s).await;
    let seq0 = last_change(&c, &s).await;

    let adele = ok(call(
        &c,
        &s,
        "directory/create_user",
        &[
            ("csrf", &t),
            ("attrs[userPrincipalName]", "AdeleV@contoso.com"),
            ("attrs[displayName]", "Adele Vance"),
            ("attrs[department]", "Retail"),
            ("attrs[extensionAttribute3]", "E3"),
            ("attrs[accountEnabled]", "true"),
        ],
    )
    .await)
    .await
    .as_str()
    .unwrap()
    .to_string();
    let megan = ok(call(
        &c,
        &s,
        "directory/create_user",
        &[
            ("csrf", &t),
            ("attrs[userPrincipalName]", "megan@contoso.com"),
            ("attrs[displayName]", "Megan Bowen"),
            ("attrs[manager]", "adelev@contoso.com"),
        ],
    )
    .await)
    .await
    .as_str()
    .unwrap()
    .to_string();
    assert_eq!(last_change(&c, &s).await, seq0 + 2);

    // Bad input: a clear error on the right field, and nothing changes.
    let cases: &[(&[(&str, &str)], &str)] = &[
        (
            &[
                ("attrs[userPrincipalName]", "adelev@CONTOSO.com"),
                ("attrs[displayName]", "Dup"),
            ],
            "userPrincipalName",
        ),
        (
            &[
                ("attrs[userPrincipalName]", "no-at-sign"),
                ("attrs[displayName]", "X"),
            ],
            "userPrincipalName",
        ),
        (&[("attrs[userPrincipalName]", "x@contoso.com")], "displayName"),
        (
            &[
                ("attrs[userPrincipalName]", "y@contoso.com"),
                ("attrs[displayName]", "Y"),
                ("attrs[manager]", "ghost@contoso.com"),
            ],
            "manager",
        ),
        (
            &[
                ("attrs[userPrincipalName]", "z@contoso.com"),
                ("attrs[displayName]", "Z"),
                ("attrs[favouriteColour]", "blue"),
            ],
            "favouriteColour",
        ),
    ];
    for (fields, field) in cases {
        let mut form = vec![("csrf", t.as_str())];
        form.extend_from_slice(fields);
        let r = call(&c, &s, "directory/create_user", &form).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert_eq!(field_error(&json(r).await).0, *field);
    }
    // A cycle in managers: Adele cannot report to Megan, who reports to Adele; nor to herself.
    for m in ["megan@contoso.com", "adelev@contoso.com"] {
        let r = call(
            &c,
            &s,
            "directory/update_user",
            &[("csrf", &t), ("id", &adele), ("attrs[manager]", m)],
        )
        .await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert_eq!(field_error(&json(r).await).0, "manager");
    }
    assert_eq!(
        last_change(&c, &s).await,
        seq0 + 2,
        "failed changes record nothing"
    );

    let u = ok(call(&c, &s, "directory/user", &[("id", &megan)]).await).await;
    assert_eq!(u["manager"]["detail"], "AdeleV@contoso.com");
    assert_eq!(u["attrs"]["mailNickname"], "megan");
    let a = ok(call(&c, &s, "directory/user", &[("id", &adele)]).await).await;
    assert_eq!(a["reports"][0]["id"], megan.as_str());
    assert_eq!(a["attrs"]["extensionAttribute3"], "E3");

    // Edit: an emptied field clears the attribute.
    ok(call(
        &c,
        &s,
        "directory/update_user",
        &[
            ("csrf", &t),
            ("id", &adele),
            ("attrs[department]", ""),
            ("attrs[jobTitle]", "Buyer"),
        ],
    )
    .await)
    .await;
    let a = ok(call(&c, &s, "directory/user", &[("id", &adele)]).await).await;
    assert!(a["attrs"].get("department").is_none());
    assert_eq!(a["attrs"]["jobTitle"], "Buyer");

    // Search is in SQL by prefix of display name, UPN or mail.
    let p = ok(call(&c, &s, "directory/users", &[("q", "meg")]).await).await;
    assert_eq!(p["total"], 1);
    let p = ok(call(&c, &s, "directory/users", &[("q", "adelev@")]).await).await;
    assert_eq!(p["rows"][0]["display_name"], "Adele Vance");

    // Disable, soft delete, restore, purge.
    ok(call(
        &c,
        &s,
        "directory/set_user_enabled",
        &[("csrf", &t), ("id", &megan), ("enabled", "false")],
    )
    .await)
    .await;
    ok(call(&c, &s, "directory/delete_user", &[("csrf", &t), ("id", &megan)]).await).await;
    let p = ok(call(&c, &s, "directory/users", &[]).await).await;
    assert_eq!(p["total"], 1);
    let d = ok(call(&c, &s, "directory/users", &[("deleted", "true")]).await).await;
    assert_eq!(d["rows"][0]["upn"], "megan@contoso.com");
    assert_eq!(d["total"], 1);
    let counts = ok(call(&c, &s, "directory/counts", &[]).await).await;
    assert_eq!(
        (counts["users"].as_i64(), counts["deleted_users"].as_i64()),
        (Some(1), Some(1))
    );
    // A deleted user keeps its UPN until purged.
    let r = call(
        &c,
        &s,
        "directory/create_user",
        &[
            ("csrf", &t),
            ("attrs[userPrincipalName]", "megan@contoso.com"),
            ("attrs[displayName]", "New Megan"),
        ],
    )
    .await;
    assert!(field_error(&json(r).await).1.contains("deleted user"));
    ok(call(&c, &s, "directory/restore_user", &[("csrf", &t), ("id", &megan)]).await).await;
    let u = ok(call(&c, &s, "directory/user", &[("id", &megan)]).await).await;
    assert!(u["deleted_at"].is_null());
    assert_eq!(u["account_enabled"], false);
    // Purging needs a soft delete first; then the user is gone and its reports lose the manager.
    let r = call(&c, &s, "directory/purge_user", &[("csrf", &t), ("id", &adele)]).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    ok(call(&c, &s, "directory/delete_user", &[("csrf", &t), ("id", &adele)]).await).await;
    ok(call(&c, &s, "directory/purge_user", &[("csrf", &t), ("id", &adele)]).await).await;
    let r = call(&c, &s, "directory/user", &[("id", &adele)]).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let u = ok(call(&c, &s, "directory/user", &[("id", &megan)]).await).await;
    assert!(u["manager"].is_null());
    let counts = ok(call(&c, &s, "directory/counts", &[]).await).await;
    assert_eq!(
        (counts["users"].as_i64(), counts["deleted_users"].as_i64()),
        (Some(1), Some(0))
    );

    // Pages render on the server (no JavaScript needed).
    let html = page_html(&c, &s, "/directory/users").await;
    assert!(html.contains("Megan Bowen"), "{html}");
    let html = page_html(&c, &s, &format!("/directory/users/{megan}")).await;
    assert!(html.contains("megan@contoso.com"));
    assert!(html.contains("name=\"attrs[extensionAttribute15]\""));
}

#[tokio::test]
async fn groups_nested_members_and_cycles() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let c = signed_in(&s, "admin", ADMIN_PASSWORD).await;
    let t = csrf(&c, &s).await;
    ok(call(
        &c,
        &s,
        "directory/create_user",
        &[
            ("csrf", &t),
            ("attrs[userPrincipalName]", "lee@contoso.com"),
            ("attrs[displayName]", "Lee Gu"),
        ],
    )
    .await)
    .await;
    let mut ids = Vec::new();
    for name in ["Sales", "EMEA Sales", "All staff"] {
        let id = ok(call(&c, &s, "directory/create_group", &[("csrf", &t), ("name", name)]).await).await;
        ids.push(id.as_str().unwrap().to_string());
    }
    let r = call(
        &c,
        &s,
        "directory/create_group",
        &[("csrf", &t), ("name", "sales")],
    )
    .await;
    assert_eq!(field_error(&json(r).await).0, "displayName");
    let (sales, emea, all) = (&ids[0], &ids[1], &ids[2]);
    let seq = last_change(&c, &s).await;
    ok(call(
        &c,
        &s,
        "directory/add_member",
        &[("csrf", &t), ("group", sales), ("member", "lee@contoso.com")],
    )
    .await)
    .await;
    ok(call(
        &c,
        &s,
        "directory/add_member",
        &[("csrf", &t), ("group", sales), ("member", "EMEA Sales")],
    )
    .await)
    .await;
    ok(call(
        &c,
        &s,
        "directory/add_member",
        &[("csrf", &t), ("group", all), ("member", "Sales")],
    )
    .await)
    .await;
    assert_eq!(last_change(&c, &s).await, seq + 3);
    // A group that contains itself, directly or through nesting, is refused.
    for (group, member) in [(sales.as_str(), "Sales"), (emea.as_str(), "All staff")] {
        let r = call(
            &c,
            &s,
            "directory/add_member",
            &[("csrf", &t), ("group", group), ("member", member)],
        )
        .await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert_eq!(field_error(&json(r).await).0, "member");
    }
    let r = call(
        &c,
        &s,
        "directory/add_member",
        &[("csrf", &t), ("group", sales), ("member", "lee@contoso.com")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let r = call(
        &c,
        &s,
        "directory/add_member",
        &[("csrf", &t), ("group", sales), ("member", "nobody")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(last_change(&c, &s).await, seq + 3);

    let g = ok(call(&c, &s, "directory/group", &[("id", sales)]).await).await;
    assert_eq!(g["member_total"], 2);
    assert_eq!(g["member_of"][0]["name"], "All staff");
    let kinds: Vec<&str> = g["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["member"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["user", "group"]);
    // The search finds any part of a name: "sal" is in both Sales groups.
    let list = ok(call(&c, &s, "directory/groups", &[("q", "sal")]).await).await;
    assert_eq!(list["total"], 2);
    assert_eq!(list["rows"][0]["display_name"], "EMEA Sales");
    assert_eq!(list["rows"][1]["members"], 2);

    // Deleting a group takes its memberships with it, in both directions.
    ok(call(&c, &s, "directory/delete_group", &[("csrf", &t), ("id", sales)]).await).await;
    let g = ok(call(&c, &s, "directory/group", &[("id", all)]).await).await;
    assert_eq!(g["member_total"], 0);

    // A Viewer sees but cannot change.
    let viewer_pw = "viewer password 123";
    let r = add_user(&c, &s, "vic", "viewer", viewer_pw).await;
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    let v = signed_in(&s, "vic", viewer_pw).await;
    let vt = csrf(&v, &s).await;
    ok(call(&v, &s, "directory/groups", &[]).await).await;
    let r = call(
        &v,
        &s,
        "directory/create_group",
        &[("csrf", &vt), ("name", "Nope")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

const USERS_CSV: &str = "userPrincipalName,displayName,department,manager,groups,accountEnabled\n\
alex@contoso.com,Alex Wilber,Sales,,Sales;All staff,true\n\
\"diego@contoso.com\",\"Siciliani, Diego\",HR,alex@contoso.com,All staff,false\n\
zoë@contoso.com,Zoë,,,,\n";

#[tokio::test]
async fn imports_are_all_or_nothing_from_console_and_cli() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let c = signed_in(&s, "admin", ADMIN_PASSWORD).await;
    let t = csrf(&c, &s).await;
    let upload = |content: &'static str, kind: &'static str| {
        let form = reqwest::multipart::Form::new()
            .text("csrf", t.clone())
            .text("kind", kind)
            .part(
                "file",
                reqwest::multipart::Part::text(content).file_name("users.csv"),
            );
        c.post(s.url("/directory/import/upload")).multipart(form).send()
    };

    // One bad row (a UPN with a diacritic) blocks the whole file; the preview lists the error.
    let r = upload(USERS_CSV, "users").await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    let id = loc.rsplit('/').next().unwrap().to_string();
    let p = ok(call(&c, &s, "directory/import", &[("id", &id)]).await).await;
    assert_eq!(p["rows"], 3);
    assert_eq!(p["error_total"], 1);
    assert_eq!(p["errors"][0]["line"], 4);
    assert_eq!(p["columns"][4]["attribute"], "groups");
    let r = call(&c, &s, "directory/run_import", &[("csrf", &t), ("id", &id)]).await;
    assert_eq!(r.status(), StatusCode::OK);
    let p = wait_import(&c, &s, &id).await;
    assert_eq!(p["status"], "failed");
    assert_eq!(ok(call(&c, &s, "directory/counts", &[]).await).await["users"], 0);
    // The preview page renders without JavaScript.
    let html = page_html(&c, &s, &loc).await;
    assert!(html.contains("Line 4"), "{html}");

    // A file that cannot be read: unknown columns are reported on line 1.
    let r = upload("userPrincipalName,shoeSize\na@b.co,42\n", "users")
        .await
        .unwrap();
    let id2 = r.headers()["location"]
        .to_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let p = ok(call(&c, &s, "directory/import", &[("id", &id2)]).await).await;
    assert_eq!(p["errors"][0]["line"], 1);

    // The fixed file imports: users, managers later in the file, groups created, memberships.
    let fixed = USERS_CSV.replace("zoë@", "zoe@");
    let seq = last_change(&c, &s).await;
    let form = reqwest::multipart::Form::new()
        .text("csrf", t.clone())
        .text("kind", "users")
        .part(
            "file",
            reqwest::multipart::Part::text(fixed).file_name("users.csv"),
        );
    let r = c
        .post(s.url("/directory/import/upload"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let id3 = r.headers()["location"]
        .to_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let p = ok(call(&c, &s, "directory/import", &[("id", &id3)]).await).await;
    assert_eq!(
        (
            p["creates"].as_i64(),
            p["error_total"].as_i64(),
            p["new_groups"].as_i64()
        ),
        (Some(3), Some(0), Some(2))
    );
    ok(call(&c, &s, "directory/run_import", &[("csrf", &t), ("id", &id3)]).await).await;
    let p = wait_import(&c, &s, &id3).await;
    assert_eq!(p["status"], "done", "{p}");
    let r = call(&c, &s, "directory/run_import", &[("csrf", &t), ("id", &id3)]).await;
    assert_eq!(r.status(), StatusCode::CONFLICT, "an import runs once");
    let users = ok(call(&c, &s, "directory/users", &[("q", "diego")]).await).await;
    let diego = users["rows"][0]["id"].as_str().unwrap().to_string();
    let d = ok(call(&c, &s, "directory/user", &[("id", &diego)]).await).await;
    assert_eq!(d["display_name"], "Siciliani, Diego");
    assert_eq!(d["manager"]["detail"], "alex@contoso.com");
    assert_eq!(d["account_enabled"], false);
    assert_eq!(d["groups"][0]["name"], "All staff");
    // 3 user creates (Diego's manager is set as he is created), 2 group creates, 3 memberships.
    assert_eq!(last_change(&c, &s).await, seq + 8);

    // The command line: JSON lines upsert (missing keys keep values), memberships with nesting.
    let jl = dir.path().join("update.jsonl");
    std::fs::write(
        &jl,
        "{\"userPrincipalName\":\"alex@contoso.com\",\"jobTitle\":\"Lead\"}\n",
    )
    .unwrap();
    let out = cli(dir.path(), &["import", "users", jl.to_str().unwrap()]);
    assert!(out.contains("0 users created, 1 updated"), "{out}");
    let m = dir.path().join("members.csv");
    std::fs::write(&m, "group,member,memberType\nSales,diego@contoso.com,user\nAll staff,Sales,group\nSales,All staff,group\n").unwrap();
    let out = bin()
        .args(["import", "memberships", m.to_str().unwrap()])
        .env("PROVISIO_DATA_DIR", dir.path())
        .envs(common::db_env(dir.path()))
        .output()
        .unwrap();
    assert!(!out.status.success(), "a nesting loop fails the whole file");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 4"), "{err}");
    let g = ok(call(&c, &s, "directory/groups", &[("q", "sales")]).await).await;
    assert_eq!(
        g["rows"][0]["members"], 1,
        "nothing of the failed file was written"
    );
    std::fs::write(
        &m,
        "group,member,memberType\nSales,diego@contoso.com,user\nAll staff,Sales,group\n",
    )
    .unwrap();
    let out = cli(dir.path(), &["import", "memberships", m.to_str().unwrap()]);
    assert!(out.contains("2 memberships added"), "{out}");
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        "userPrincipalName,displayName\nnot-an-upn,X\n\"unterminated,Y\n",
    )
    .unwrap();
    let out = bin()
        .args(["import", "users", bad.to_str().unwrap()])
        .env("PROVISIO_DATA_DIR", dir.path())
        .envs(common::db_env(dir.path()))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains(":2: userPrincipalName"));
}

fn cli(data: &std::path::Path, args: &[&str]) -> String {
    let out = bin()
        .args(args)
        .env("PROVISIO_DATA_DIR", data)
        .envs(common::db_env(data))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

async fn wait_import(c: &reqwest::Client, s: &Server, id: &str) -> Value {
    for _ in 0..200 {
        let p = ok(call(c, s, "directory/import", &[("id", id)]).await).await;
        if p["status"] == "done" || p["status"] == "failed" {
            return p;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("import {id} did not finish");
}

/// Uploads an import file through the console; the staged import's id.
async fn upload(c: &reqwest::Client, s: &Server, t: &str, kind: &str, content: String) -> String {
    let form = reqwest::multipart::Form::new()
        .text("csrf", t.to_string())
        .text("kind", kind.to_string())
        .part(
            "file",
            reqwest::multipart::Part::text(content).file_name(format!("{kind}.csv")),
        );
    let r = c
        .post(s.url("/directory/import/upload"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    loc.rsplit('/').next().unwrap().to_string()
}

/// Uploads, runs and waits for an import; its final preview.
async fn imported(c: &reqwest::Client, s: &Server, t: &str, kind: &str, content: String) -> Value {
    let id = upload(c, s, t, kind, content).await;
    ok(call(c, s, "directory/run_import", &[("csrf", t), ("id", &id)]).await).await;
    wait_import(c, s, &id).await
}

/// A users file of `n` new users, `bulk{i}@contoso.com`.
fn bulk_users(n: usize, groups: &str) -> String {
    let mut csv = String::from("userPrincipalName,displayName,groups\n");
    for i in 0..n {
        csv.push_str(&format!("bulk{i}@contoso.com,Bulk {i},{groups}\n"));
    }
    csv
}

async fn users_count(c: &reqwest::Client, s: &Server) -> i64 {
    count(c, s, "users").await
}

/// A large import commits a chunk at a time, so other writers get their turn while it runs:
/// a console write completes between two moments at which the import is visibly part-way
/// (before, one transaction held every other writer until the whole file was in). Meanwhile a
/// second import is refused with a clear reason.
#[tokio::test]
async fn a_large_import_lets_other_writers_in_between_its_chunks() {
    const N: i64 = 20_000;
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let c = signed_in(&s, "admin", ADMIN_PASSWORD).await;
    let t = csrf(&c, &s).await;
    let id = upload(&c, &s, &t, "users", bulk_users(N as usize, "")).await;
    let second = upload(&c, &s, &t, "users", bulk_users(3, "")).await;
    ok(call(&c, &s, "directory/run_import", &[("csrf", &t), ("id", &id)]).await).await;
    let mut between = 0;
    let mut refused = false;
    for i in 0.. {
        let before = users_count(&c, &s).await;
        let name = format!("Written during the import {i}");
        ok(call(&c, &s, "directory/create_group", &[("csrf", &t), ("name", &name)]).await).await;
        let after = users_count(&c, &s).await;
        if before > 0 && after < N {
            between += 1;
            if !refused {
                let r = call(&c, &s, "directory/run_import", &[("csrf", &t), ("id", &second)]).await;
                assert_eq!(r.status(), StatusCode::CONFLICT);
                assert!(r.text().await.unwrap().to_lowercase().contains("another import"));
                refused = true;
            }
        }
        if after == N {
            break;
        }
    }
    let p = wait_import(&c, &s, &id).await;
    assert_eq!(p["status"], "done", "{p}");
    assert!(
        between > 0,
        "no console write completed while the import was part-way"
    );
    assert!(refused);
    // The refused import can run now.
    ok(call(&c, &s, "directory/run_import", &[("csrf", &t), ("id", &second)]).await).await;
    assert_eq!(wait_import(&c, &s, &second).await["status"], "done");
}

/// An import that fails after several chunks are in takes every one of them back: users it
/// created are gone, users it changed are as they were, groups it created and memberships it
/// added are gone, and another import can run afterwards.
#[tokio::test]
async fn a_failed_import_rolls_back_every_chunk_it_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let c = signed_in(&s, "admin", ADMIN_PASSWORD).await;
    let t = csrf(&c, &s).await;
    let first =
        "userPrincipalName,displayName,jobTitle,groups\na@contoso.com,A,Old,Sales\nb@contoso.com,B,Old,\n";
    assert_eq!(
        imported(&c, &s, &t, "users", first.into()).await["status"],
        "done"
    );
    let seq = last_change(&c, &s).await;

    // 2,500 new users (three chunks), then A and B made each other's manager: the plan cannot see
    // the loop (both exist), so the import fails only when it sets the managers, after the rest.
    let mut csv = String::from("userPrincipalName,displayName,jobTitle,manager\n");
    for i in 0..2_500 {
        csv.push_str(&format!("bulk{i}@contoso.com,Bulk {i},,\n"));
    }
    csv.push_str("a@contoso.com,A,New,b@contoso.com\nb@contoso.com,B,New,a@contoso.com\n");
    let p = imported(&c, &s, &t, "users", csv).await;
    assert_eq!(p["status"], "failed", "{p}");
    assert!(p["result"].as_str().unwrap().contains("loop"), "{}", p["result"]);
    assert_eq!(users_count(&c, &s).await, 2);
    for upn in ["a@contoso.com", "b@contoso.com"] {
        let users = ok(call(&c, &s, "directory/users", &[("q", upn)]).await).await;
        let id = users["rows"][0]["id"].as_str().unwrap().to_string();
        let u = ok(call(&c, &s, "directory/user", &[("id", &id)]).await).await;
        assert!(
            u.to_string().contains("\"Old\""),
            "{upn} keeps its job title: {u}"
        );
        assert!(u["manager"].is_null(), "{upn} has no manager: {u}");
    }
    assert!(
        last_change(&c, &s).await > seq + 2_500,
        "the rollback is in the change sequence too"
    );

    // Memberships: 2,500 users into a new group, then a nesting loop on the last line.
    let mut csv = String::from("group,member,memberType\n");
    for i in 0..2_500 {
        csv.push_str(&format!("Team {i},b@contoso.com,user\n"));
    }
    csv.push_str("Team 0,Sales,group\nSales,Team 0,group\n");
    let p = imported(&c, &s, &t, "memberships", csv).await;
    assert_eq!(p["status"], "failed", "{p}");
    let counts = ok(call(&c, &s, "directory/counts", &[]).await).await;
    assert_eq!(counts["groups"], 1, "only Sales is left: {counts}");
    let g = ok(call(&c, &s, "directory/groups", &[("q", "sales")]).await).await;
    assert_eq!(g["rows"][0]["members"], 1);

    // Nothing is left running: the next import goes ahead.
    assert_eq!(
        imported(&c, &s, &t, "users", bulk_users(3, "Sales")).await["status"],
        "done"
    );
    assert_eq!(users_count(&c, &s).await, 5);
}

/// A server killed part-way through an import leaves nothing half imported: the next start (or
/// the next import from the command line) rolls back what the import had written and marks it
/// failed.
#[tokio::test]
async fn an_import_cut_short_by_a_crash_is_rolled_back_at_the_next_start() {
    const N: i64 = 30_000;
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let c = signed_in(&s, "admin", ADMIN_PASSWORD).await;
    let t = csrf(&c, &s).await;
    let id = upload(&c, &s, &t, "users", bulk_users(N as usize, "Bulk")).await;
    ok(call(&c, &s, "directory/run_import", &[("csrf", &t), ("id", &id)]).await).await;
    loop {
        let n = users_count(&c, &s).await;
        assert!(n < N, "the import finished before the test could stop it");
        if n > 0 {
            break;
        }
    }
    s.kill();
    let s = Server::start(dir.path());
    let c = signed_in(&s, "admin", ADMIN_PASSWORD).await;
    let p = wait_import(&c, &s, &id).await;
    assert_eq!(p["status"], "failed", "{p}");
    assert!(
        p["result"].as_str().unwrap().contains("rolled back"),
        "{}",
        p["result"]
    );
    let counts = ok(call(&c, &s, "directory/counts", &[]).await).await;
    assert_eq!(
        (counts["users"].as_i64(), counts["groups"].as_i64()),
        (Some(0), Some(0)),
        "{counts}"
    );

    // Again, and this time the command line is the next to import: it rolls the abandoned
    // import back before its own, which cannot start while another import is running.
    let id = upload(
        &c,
        &s,
        &csrf(&c, &s).await,
        "users",
        bulk_users(N as usize, "Bulk"),
    )
    .await;
    let t = csrf(&c, &s).await;
    ok(call(&c, &s, "directory/run_import", &[("csrf", &t), ("id", &id)]).await).await;
    while users_count(&c, &s).await == 0 {}
    s.kill();
    let csv = dir.path().join("more.csv");
    std::fs::write(&csv, "userPrincipalName,displayName\nmore@contoso.com,More\n").unwrap();
    let out = bin()
        .args(["import", "users", csv.to_str().unwrap()])
        .env("PROVISIO_DATA_DIR", dir.path())
        .envs(common::db_env(dir.path()))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let s = Server::start(dir.path());
    let c = signed_in(&s, "admin", ADMIN_PASSWORD).await;
    assert_eq!(wait_import(&c, &s, &id).await["status"], "failed");
    assert_eq!(users_count(&c, &s).await, 1);
}

#[tokio::test]
async fn gallery_apps_and_assignments_with_roles() {
    let dir = tempfile::tempdir().unwrap();
    // Demo data from the command line, before the server starts; twice changes nothing.
    let out = cli(dir.path(), &["demo-data", "--users", "60", "--groups", "14"]);
    assert!(out.contains("60 users created"), "{out}");
    let out = cli(dir.path(), &["demo-data", "--users", "60", "--groups", "14"]);
    assert!(
        out.contains("0 users created, 0 updated, 60 unchanged; 0 groups created; 0 memberships added"),
        "{out}"
    );
    let s = Server::start(dir.path());
    let c = signed_in(&s, "admin", ADMIN_PASSWORD).await;
    let t = csrf(&c, &s).await;
    let counts = ok(call(&c, &s, "directory/counts", &[]).await).await;
    assert_eq!(
        (counts["users"].as_i64(), counts["groups"].as_i64()),
        (Some(60), Some(14))
    );

    let g = ok(call(&c, &s, "apps/gallery", &[("q", "harn")]).await).await;
    assert_eq!(g[0]["id"], "harness");
    assert!(g[0]["tenant_url_hint"]
        .as_str()
        .unwrap()
        .contains("<your_harness_account_ID>"));
    let app = ok(call(
        &c,
        &s,
        "apps/create",
        &[("csrf", &t), ("template", "harness"), ("name", "Harness")],
    )
    .await)
    .await;
    let app = app.as_str().unwrap().to_string();
    let r = call(
        &c,
        &s,
        "apps/create",
        &[("csrf", &t), ("template", "harness"), ("name", "harness")],
    )
    .await;
    assert_eq!(field_error(&json(r).await).0, "name");
    let r = call(&c, &s, "apps/create", &[("csrf", &t), ("template", "nope")]).await;
    assert_eq!(field_error(&json(r).await).0, "template");
    let generic = ok(call(&c, &s, "apps/create", &[("csrf", &t), ("template", "scim2")]).await).await;
    let generic = generic.as_str().unwrap().to_string();
    let d = ok(call(&c, &s, "apps/get", &[("id", &generic)]).await).await;
    assert_eq!(d["summary"]["name"], "SCIM 2.0 application (non-gallery)");
    assert!(d["mappings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["target"] == "name.formatted"));
    let d = ok(call(&c, &s, "apps/get", &[("id", &app)]).await).await;
    assert_eq!(d["mappings"][0]["target"], "userName");
    assert_eq!(d["mappings"][0]["matching"], 1);

    // Assignments: a role is required when the application has roles; Default Access is flagged.
    let users = ok(call(&c, &s, "directory/users", &[]).await).await;
    let upn = users["rows"][0]["upn"].as_str().unwrap().to_string();
    let upn2 = users["rows"][1]["upn"].as_str().unwrap().to_string();
    let seq = last_change(&c, &s).await;
    let r = call(
        &c,
        &s,
        "apps/assign",
        &[("csrf", &t), ("app", &app), ("principal", &upn)],
    )
    .await;
    assert_eq!(field_error(&json(r).await).0, "role");
    let r = call(
        &c,
        &s,
        "apps/assign",
        &[
            ("csrf", &t),
            ("app", &app),
            ("principal", "ghost@x.io"),
            ("role", "user"),
        ],
    )
    .await;
    assert_eq!(field_error(&json(r).await).0, "principal");
    let m = ok(call(
        &c,
        &s,
        "apps/assign",
        &[("csrf", &t), ("app", &app), ("principal", &upn), ("role", "user")],
    )
    .await)
    .await;
    assert!(m.as_str().unwrap().contains("with the role User"));
    let m = ok(call(
        &c,
        &s,
        "apps/assign",
        &[
            ("csrf", &t),
            ("app", &app),
            ("principal", &upn2),
            ("role", "default_access"),
        ],
    )
    .await)
    .await;
    assert!(m.as_str().unwrap().contains("not provisioned"), "{m}");
    ok(call(
        &c,
        &s,
        "apps/assign",
        &[
            ("csrf", &t),
            ("app", &app),
            ("principal", "Engineering"),
            ("role", "account_admin"),
        ],
    )
    .await)
    .await;
    let r = call(
        &c,
        &s,
        "apps/assign",
        &[("csrf", &t), ("app", &app), ("principal", &upn), ("role", "user")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let r = call(
        &c,
        &s,
        "apps/assign",
        &[
            ("csrf", &t),
            ("app", &generic),
            ("principal", &upn),
            ("role", "user"),
        ],
    )
    .await;
    assert_eq!(
        field_error(&json(r).await).0,
        "role",
        "an app without roles takes none"
    );
    ok(call(
        &c,
        &s,
        "apps/assign",
        &[("csrf", &t), ("app", &generic), ("principal", &upn)],
    )
    .await)
    .await;
    assert_eq!(last_change(&c, &s).await, seq + 4);

    let list = ok(call(&c, &s, "apps/assignments", &[("app", &app)]).await).await;
    assert_eq!(list["total"], 3);
    let row = list["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["role"] == "default_access")
        .unwrap();
    assert_eq!(row["role_provisioned"], false);
    let apps = ok(call(&c, &s, "apps/list", &[]).await).await;
    let h = apps["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == app.as_str())
        .unwrap();
    assert_eq!((h["users"].as_i64(), h["groups"].as_i64()), (Some(2), Some(1)));
    ok(call(
        &c,
        &s,
        "apps/unassign",
        &[
            ("csrf", &t),
            ("app", &app),
            ("assignment", row["id"].as_str().unwrap()),
        ],
    )
    .await)
    .await;
    assert_eq!(last_change(&c, &s).await, seq + 5);

    // Rename; delete needs the name typed and leaves nothing behind.
    ok(call(
        &c,
        &s,
        "apps/rename",
        &[("csrf", &t), ("id", &app), ("name", "Harness NextGen")],
    )
    .await)
    .await;
    let r = call(
        &c,
        &s,
        "apps/delete",
        &[("csrf", &t), ("id", &app), ("confirm", "Harness")],
    )
    .await;
    assert_eq!(field_error(&json(r).await).0, "confirm");
    ok(call(
        &c,
        &s,
        "apps/delete",
        &[("csrf", &t), ("id", &app), ("confirm", "Harness NextGen")],
    )
    .await)
    .await;
    let u = ok(call(&c, &s, "directory/users", &[("q", &upn)]).await).await;
    let uid = u["rows"][0]["id"].as_str().unwrap().to_string();
    let user = ok(call(&c, &s, "directory/user", &[("id", &uid)]).await).await;
    let assigned: Vec<&str> = user["assignments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["app_id"].as_str().unwrap())
        .collect();
    assert_eq!(assigned, [generic.as_str()]);

    for path in [
        "/apps",
        "/apps/gallery?template=harness",
        &format!("/apps/{generic}"),
        &format!("/apps/{generic}/users-and-groups"),
    ] {
        let html = page_html(&c, &s, path).await;
        assert!(!html.contains("Something went wrong"), "{path}");
    }
    let html = page_html(&c, &s, "/apps/gallery?template=harness").await;
    assert!(html.contains("your_harness_account_ID"));
}
