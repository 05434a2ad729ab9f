//! Concurrent writers, across two instances on one database: what each kind of write relies on
//! (see `db::Exclusive`) holds without one lock for every write. On PostgreSQL the instances
//! write side by side; on SQLite (one writer) the same requests must give the same answers.
//!
//! - creates of one userName: exactly one wins, the others get 409;
//! - PATCHes of one resource (a group's members, a user's emails): none lost;
//! - PUTs with the same `If-Match`: one wins, the others get 412;
//! - a provisioning cycle into an account while SCIM clients write to it: both complete;
//! - directory changes written from both instances while a job runs: every one reaches the
//!   application (the change sequence is read in commit order);
//! - two administrators disabling each other: one stays enabled.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::apps::eventually;
use common::{call, csrf, signed_in, tenant, Server, Tenant, ADMIN_PASSWORD};
use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// Two instances sharing one database (PostgreSQL, or one SQLite file).
struct Pair {
    a: Server,
    b: Server,
    _dir: tempfile::TempDir,
}

impl Pair {
    fn start() -> Pair {
        let dir = tempfile::tempdir().unwrap();
        // What the instances must share besides the database: the key that seals secrets.
        let key = "c2hhcmVkIGVuY3J5cHRpb24ga2V5IGZvciB0ZXN0cyE=";
        let env = [("PROVISIO_ENCRYPTION_KEY", key)];
        let a = Server::start_with_env(dir.path(), &env);
        let b = Server::start_with_env(dir.path(), &env);
        Pair { a, b, _dir: dir }
    }

    /// The instance for the `i`th request: every other one goes to `b`.
    fn base(&self, i: usize) -> &str {
        if i.is_multiple_of(2) {
            &self.a.base
        } else {
            &self.b.base
        }
    }
}

/// SCIM requests to an account, on whichever instance `base` names.
struct Scim {
    c: reqwest::Client,
    tenant: Tenant,
    a_base: String,
}

impl Scim {
    fn new(pair: &Pair, name: &str) -> Scim {
        Scim {
            c: reqwest::Client::new(),
            tenant: tenant(&pair.a, name),
            a_base: pair.a.base.clone(),
        }
    }

    fn url(&self, base: &str, path: &str) -> String {
        format!("{}{path}", self.tenant.url.replace(&self.a_base, base))
    }

    async fn send(
        &self,
        method: reqwest::Method,
        base: &str,
        path: String,
        body: Option<Value>,
        if_match: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut r = self
            .c
            .request(method, self.url(base, &path))
            .bearer_auth(&self.tenant.key)
            .header("content-type", "application/scim+json");
        if let Some(b) = body {
            r = r.body(b.to_string());
        }
        if let Some(m) = if_match {
            r = r.header("if-match", m);
        }
        let r = r.send().await.unwrap();
        let status = r.status();
        let text = r.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn post(&self, base: &str, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(reqwest::Method::POST, base, path.to_string(), Some(body), None)
            .await
    }

    async fn get(&self, base: &str, path: &str) -> Value {
        let (status, v) = self
            .send(reqwest::Method::GET, base, path.to_string(), None, None)
            .await;
        assert_eq!(status, StatusCode::OK, "{path}: {v}");
        v
    }

    async fn user(&self, base: &str, name: String) -> String {
        let (status, v) = self
            .post(
                base,
                "/Users",
                json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{v}");
        v["id"].as_str().unwrap().to_string()
    }
}

/// Directory user `dirNNN` created through one instance's console.
async fn directory_user((c, s, t): (&reqwest::Client, &Server, &String), i: usize) {
    let upn = format!("dir{i:03}@contoso.com");
    let form = [
        ("csrf", t.as_str()),
        ("attrs[userPrincipalName]", &upn),
        ("attrs[displayName]", &upn),
    ];
    let r = call(c, s, "directory/create_user", &form).await;
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
}

fn statuses(results: &[(StatusCode, Value)]) -> Vec<u16> {
    let mut s: Vec<u16> = results.iter().map(|(s, _)| s.as_u16()).collect();
    s.sort();
    s
}

#[tokio::test]
async fn creates_of_one_user_name_at_once_make_one_user() {
    let pair = Pair::start();
    let scim = Scim::new(&pair, "Tenant");
    for round in 0..5 {
        let name = format!("Same.Name{round}@example.com");
        let creates = (0..12usize).map(|i| {
            // The same name in different cases: userName is case-insensitive.
            let name = if i.is_multiple_of(3) {
                name.to_uppercase()
            } else {
                name.clone()
            };
            scim.post(
                pair.base(i),
                "/Users",
                json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name}),
            )
        });
        let results = join_all(creates).await;
        let s = statuses(&results);
        assert_eq!(s.iter().filter(|&&s| s == 201).count(), 1, "round {round}: {s:?}");
        assert!(s.iter().all(|&s| s == 201 || s == 409), "round {round}: {s:?}");
        for (status, v) in &results {
            if *status == StatusCode::CONFLICT {
                assert_eq!(v["scimType"], "uniqueness", "{v}");
            }
        }
        let found = scim
            .get(
                pair.base(round),
                &format!("/Users?filter=userName%20eq%20%22{name}%22"),
            )
            .await;
        assert_eq!(found["totalResults"], 1, "{found}");
    }
}

#[tokio::test]
async fn patches_of_one_group_from_two_instances_lose_no_member() {
    let pair = Pair::start();
    let scim = Scim::new(&pair, "Tenant");
    let users: Vec<String> =
        join_all((0..40).map(|i| scim.user(pair.base(i), format!("member{i}@example.com")))).await;
    let (status, group) = scim
        .post(
            pair.base(0),
            "/Groups",
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Team",
                   "members": [{"value": users[0]}, {"value": users[1]}]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{group}");
    let gid = group["id"].as_str().unwrap().to_string();
    // Each adds one member; some also remove one of the first two, and rename the group (a
    // document change read, modified and written back) in the same request.
    let patches = (2..40).map(|i| {
        let mut ops = vec![json!({"op": "add", "path": "members", "value": [{"value": users[i]}]})];
        if i == 2 {
            ops.push(json!({"op": "remove", "path": format!("members[value eq \"{}\"]", users[0])}));
        }
        if i.is_multiple_of(5) {
            ops.push(json!({"op": "replace", "path": "displayName", "value": format!("Team {i}")}));
        }
        scim.send(
            reqwest::Method::PATCH,
            pair.base(i),
            format!("/Groups/{gid}"),
            Some(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops})),
            None,
        )
    });
    let results = join_all(patches).await;
    for (status, v) in &results {
        assert!(status.is_success(), "{status}: {v}");
    }
    let g = scim.get(pair.base(1), &format!("/Groups/{gid}")).await;
    let got: BTreeSet<&str> = g["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap())
        .collect();
    let want: BTreeSet<&str> = users[1..].iter().map(String::as_str).collect();
    assert_eq!(got, want, "every member added is there, the removed one is not");
}

#[tokio::test]
async fn patches_of_one_user_from_two_instances_lose_no_value() {
    let pair = Pair::start();
    let scim = Scim::new(&pair, "Tenant");
    let id = scim.user(pair.base(0), "many.mails@example.com".into()).await;
    // Each request reads the user's document, adds its email and writes the document back: two
    // at once without the row lock would each write their own and lose the other's.
    let patches = (0..30).map(|i| {
        scim.send(
            reqwest::Method::PATCH,
            pair.base(i),
            format!("/Users/{id}"),
            Some(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                        "Operations": [{"op": "add", "path": "emails",
                                        "value": [{"value": format!("mail{i}@example.com"), "type": "work"}]}]})),
            None,
        )
    });
    for (status, v) in join_all(patches).await {
        assert_eq!(status, StatusCode::OK, "{v}");
    }
    let u = scim.get(pair.base(1), &format!("/Users/{id}")).await;
    let mails: BTreeSet<&str> = u["emails"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap())
        .collect();
    assert_eq!(mails.len(), 30, "{mails:?}");
    assert_eq!(
        u["meta"]["version"], "W/\"31\"",
        "one version per change: {}",
        u["meta"]
    );
}

#[tokio::test]
async fn puts_with_the_same_if_match_let_one_win() {
    let pair = Pair::start();
    let scim = Scim::new(&pair, "Tenant");
    for round in 0..5 {
        let id = scim
            .user(pair.base(round), format!("etag{round}@example.com"))
            .await;
        let v = scim.get(pair.base(round), &format!("/Users/{id}")).await;
        let etag = v["meta"]["version"].as_str().unwrap().to_string();
        let puts = (0..8).map(|i| {
            scim.send(
                reqwest::Method::PUT,
                pair.base(i),
                format!("/Users/{id}"),
                Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                            "userName": format!("etag{round}@example.com"), "displayName": format!("Writer {i}")})),
                Some(&etag),
            )
        });
        let results = join_all(puts).await;
        let s = statuses(&results);
        assert_eq!(s.iter().filter(|&&s| s == 200).count(), 1, "round {round}: {s:?}");
        assert!(s.iter().all(|&s| s == 200 || s == 412), "round {round}: {s:?}");
        let winner = results.iter().find(|(s, _)| *s == StatusCode::OK).unwrap();
        let now = scim.get(pair.base(round + 1), &format!("/Users/{id}")).await;
        assert_eq!(
            now["displayName"], winner.1["displayName"],
            "the winner's write is the one kept"
        );
    }
}

/// An application provisioning the directory into an account while SCIM clients create, change
/// and delete other users of the same account on both instances; and directory changes written
/// on both instances during the cycles: the job sees every one.
#[tokio::test]
async fn a_cycle_and_scim_writes_and_directory_changes_on_both_instances_all_land() {
    let pair = Pair::start();
    let scim = Scim::new(&pair, "Target");
    let (a, b) = (&pair.a, &pair.b);
    let ca = signed_in(a, "admin", ADMIN_PASSWORD).await;
    let ta = csrf(&ca, a).await;
    let cb = signed_in(b, "admin", ADMIN_PASSWORD).await;
    let tb = csrf(&cb, b).await;
    let consoles = [(&ca, a, &ta), (&cb, b, &tb)];
    join_all((0..60).map(|i| directory_user(consoles[i % 2], i))).await;
    let app = common::ok(
        call(
            &ca,
            a,
            "apps/create",
            &[("csrf", &ta), ("template", "harness"), ("name", "Harness")],
        )
        .await,
    )
    .await
    .as_str()
    .unwrap()
    .to_string();
    common::ok(
        call(
            &ca,
            a,
            "provisioning/save",
            &[
                ("csrf", &ta),
                ("app", &app),
                ("intent", "save"),
                ("mode", "automatic"),
                ("tenant_url", &scim.tenant.url),
                ("secret_token", &scim.tenant.key),
                ("scope", "all"),
                ("provisioning_status", "on"),
                ("prevent_deletions", "on"),
                ("deletion_threshold", "500"),
                ("reconciliation_interval_minutes", "40"),
            ],
        )
        .await,
    )
    .await;
    // Meanwhile: SCIM clients on both instances, and more directory users on both.
    let clients = async {
        for round in 0..4 {
            let ids =
                join_all((0..10).map(|i| scim.user(pair.base(i), format!("direct{round}x{i}@example.com"))))
                    .await;
            let changes = ids.iter().enumerate().map(|(i, id)| {
                scim.send(
                    reqwest::Method::PATCH,
                    pair.base(i + 1),
                    format!("/Users/{id}"),
                    Some(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                                "Operations": [{"op": "replace", "path": "displayName", "value": "Changed"}]})),
                    None,
                )
            });
            for (status, v) in join_all(changes).await {
                assert_eq!(status, StatusCode::OK, "{v}");
            }
            let (status, v) = scim
                .send(
                    reqwest::Method::DELETE,
                    pair.base(round),
                    format!("/Users/{}", ids[0]),
                    None,
                    None,
                )
                .await;
            assert_eq!(status, StatusCode::NO_CONTENT, "{v}");
        }
    };
    let directory = async {
        let writes = (60..120).map(|i| directory_user(consoles[i % 2], i));
        join_all(writes).await;
    };
    tokio::join!(clients, directory);
    let want: BTreeSet<String> = (0..120)
        .map(|i| format!("dir{i:03}@contoso.com"))
        .chain((0..4).flat_map(|r| (1..10).map(move |i| format!("direct{r}x{i}@example.com"))))
        .collect();
    eventually(
        120,
        "every directory user and every direct user is in the account",
        || async {
            let mut names = BTreeSet::new();
            let mut start = 1;
            loop {
                let v = scim
                    .get(&pair.a.base, &format!("/Users?startIndex={start}&count=200"))
                    .await;
                let page = v["Resources"].as_array().cloned().unwrap_or_default();
                if page.is_empty() {
                    break;
                }
                start += page.len();
                names.extend(
                    page.iter()
                        .map(|u| u["userName"].as_str().unwrap().to_lowercase()),
                );
            }
            if names == want {
                Ok(())
            } else {
                Err(format!(
                    "missing {:?}, unexpected {:?}",
                    want.difference(&names).take(10).collect::<Vec<_>>(),
                    names.difference(&want).take(10).collect::<Vec<_>>()
                ))
            }
        },
    )
    .await;
    let failed = common::ok(call(&ca, a, "provisioning/status", &[("app", &app)]).await).await;
    assert_ne!(failed["state"], "Quarantine", "{failed}");
}

#[tokio::test]
async fn two_administrators_disabling_each_other_leave_one_enabled() {
    let pair = Pair::start();
    let (a, b) = (&pair.a, &pair.b);
    let ca = signed_in(a, "admin", ADMIN_PASSWORD).await;
    let ta = csrf(&ca, a).await;
    let r = common::add_user(&ca, a, "second", "administrator", "second admin password").await;
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    let cb = signed_in(b, "second", "second admin password").await;
    let tb = csrf(&cb, b).await;
    let users = common::ok(call(&ca, a, "console_users/list", &[]).await).await;
    let id_of = |name: &str| {
        users
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["username"] == name)
            .unwrap_or_else(|| panic!("{name} in {users}"))["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (admin, second) = (id_of("admin"), id_of("second"));
    let disable_second = [
        ("csrf", ta.as_str()),
        ("id", second.as_str()),
        ("enabled", "false"),
    ];
    let disable_admin = [
        ("csrf", tb.as_str()),
        ("id", admin.as_str()),
        ("enabled", "false"),
    ];
    let (ra, rb) = tokio::join!(
        call(&ca, a, "console_users/set_enabled", &disable_second),
        call(&cb, b, "console_users/set_enabled", &disable_admin),
    );
    let (sa, sb) = (ra.status(), rb.status());
    let enabled = common::cli(a, &["admin", "list"]);
    let still = enabled
        .lines()
        .filter(|l| l.contains("Administrator") && !l.contains("disabled"))
        .count();
    assert!(
        still >= 1,
        "{sa} {sb}: no enabled administrator is left:\n{enabled}"
    );
    assert!(
        sa == StatusCode::CONFLICT || sb == StatusCode::CONFLICT || !sa.is_success() || !sb.is_success(),
        "one of them is refused: {sa} {sb}"
    );
}

/// A Bulk request's creates are carried out in its order: of two with one userName, the first is
/// created and the second refused, also while the instance's writer commits several batches side
/// by side (on PostgreSQL a later create could land in a batch committed before the earlier
/// one's). Several requests at once, so the batches really are concurrent.
#[tokio::test]
async fn bulk_creates_keep_their_order() {
    let pair = Pair::start();
    let scim = Scim::new(&pair, "Tenant");
    let requests = (0..10).map(|r| {
        let mut ops = Vec::new();
        for k in 0..40 {
            for copy in ["first", "second"] {
                ops.push(
                    json!({"method": "POST", "path": "/Users", "bulkId": format!("{copy}{k}"),
                                "data": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                                         "userName": format!("r{r}k{k}@example.com"), "title": copy}}),
                );
            }
        }
        scim.post(
            pair.base(0),
            "/Bulk",
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": ops}),
        )
    });
    // Plain creates from other requests meanwhile, so the writer's batches fill and overlap.
    let noise = join_all((0..400).map(|i| scim.user(pair.base(0), format!("noise{i}@example.com"))));
    let (results, _) = tokio::join!(join_all(requests), noise);
    for (status, body) in results {
        assert_eq!(status, StatusCode::OK, "{body}");
        for op in body["Operations"].as_array().unwrap() {
            let id = op["bulkId"].as_str().unwrap();
            let want = if id.starts_with("first") { "201" } else { "409" };
            assert_eq!(op["status"], want, "{id}: {op}");
        }
    }
}
