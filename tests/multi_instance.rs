//! Several provisio instances on one PostgreSQL database behave as one provisio: any instance
//! serves the console and the SCIM endpoint, and a provisioning job runs on exactly one instance;
//! when that instance dies (kill -9) mid-cycle, another takes the job over and the target
//! converges exactly, with no duplicate creates.
//!
//! PostgreSQL only (`PROVISIO_TEST_BACKEND=postgres`); on SQLite these tests say so and pass.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::apps::eventually;
use common::{call, csrf, ok, signed_in, tenant, Server, ADMIN_PASSWORD};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::sync::{Arc, Mutex};
use tokio::net::{TcpListener, TcpStream};

const USERS: usize = 1000;
const GROUPS: usize = 5;
const MEMBERS: usize = 50;

/// A load balancer in front of the instances: each connection goes to the next instance that
/// accepts it, so a dead instance is skipped.
async fn balancer(upstreams: Vec<String>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let next = Arc::new(Mutex::new(0usize));
    tokio::spawn(async move {
        loop {
            let Ok((mut inbound, _)) = listener.accept().await else {
                return;
            };
            let (upstreams, next) = (upstreams.clone(), next.clone());
            tokio::spawn(async move {
                let first = {
                    let mut n = next.lock().unwrap();
                    *n += 1;
                    *n
                };
                for i in 0..upstreams.len() {
                    let up = &upstreams[(first + i) % upstreams.len()];
                    if let Ok(mut outbound) = TcpStream::connect(up).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                        return;
                    }
                }
            });
        }
    });
    format!("http://{addr}")
}

fn psql(url: &str, sql: &str) -> String {
    let out = Command::new("psql")
        .args([url, "-Atq", "-c", sql])
        .output()
        .expect("run psql");
    assert!(
        out.status.success(),
        "{sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Every resource of `kind` in the target, page by page.
async fn everything(url: &str, key: &str, kind: &str) -> Vec<Value> {
    let c = reqwest::Client::new();
    let mut all = Vec::new();
    loop {
        let start = (all.len() + 1).to_string();
        let v: Value = c
            .get(format!("{url}/{kind}"))
            .query(&[("startIndex", start.as_str()), ("count", "200")])
            .bearer_auth(key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let page = v["Resources"].as_array().cloned().unwrap_or_default();
        if page.is_empty() {
            return all;
        }
        all.extend(page);
    }
}

#[tokio::test]
async fn three_instances_share_the_work_and_survive_the_job_holder_dying() {
    let Some(_) = common::postgres() else {
        eprintln!("skipped: several instances share a PostgreSQL database (PROVISIO_TEST_BACKEND=postgres)");
        return;
    };
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let database = common::database_url(dirs[0].path()).unwrap();
    // What the instances must share besides the database: the key that seals secrets.
    let key = "c2hhcmVkIGVuY3J5cHRpb24ga2V5IGZvciB0ZXN0cyE=";
    let env = [
        ("PROVISIO_DATABASE_URL", database.as_str()),
        ("PROVISIO_ENCRYPTION_KEY", key),
        ("PROVISIO_LOG", "info,provisio::provisioning=debug"),
    ];
    let mut servers: Vec<Option<Server>> = dirs
        .iter()
        .map(|d| Some(Server::start_with_env(d.path(), &env)))
        .collect();
    let upstreams = servers
        .iter()
        .map(|s| s.as_ref().unwrap().base.trim_start_matches("http://").to_string())
        .collect();
    let front = balancer(upstreams).await;
    let (a, b) = (servers[0].as_ref().unwrap(), servers[1].as_ref().unwrap());
    let a_base = a.base.clone();

    // The console: signed in on one instance, the session works on the others.
    let c = signed_in(a, "admin", ADMIN_PASSWORD).await;
    let t = csrf(&c, a).await;
    let me = ok(call(&c, b, "session", &[]).await).await;
    assert_eq!(me["username"], "admin", "{me}");
    assert_eq!(me["csrf"], t.as_str(), "one session, whichever instance answers");

    // A realistic directory: users from an import file, groups with members.
    let mut csv = String::from("userPrincipalName,displayName,department\n");
    for i in 0..USERS {
        csv.push_str(&format!("user{i:04}@contoso.com,User {i:04},Dept {}\n", i % 7));
    }
    let file = dirs[0].path().join("users.csv");
    std::fs::write(&file, csv).unwrap();
    common::cli(a, &["import", "users", file.to_str().unwrap()]);
    let mut members = String::from("group,member,memberType\n");
    for g in 0..GROUPS {
        let name = format!("Team {g}");
        ok(call(&c, b, "directory/create_group", &[("csrf", &t), ("name", &name)]).await).await;
        for m in 0..MEMBERS {
            members.push_str(&format!("{name},user{:04}@contoso.com,user\n", g * 100 + m));
        }
    }
    let file = dirs[0].path().join("members.csv");
    std::fs::write(&file, members).unwrap();
    common::cli(a, &["import", "memberships", file.to_str().unwrap()]);

    // An application provisioning every user and group into a local account, reached through
    // the balancer; slowed to a few requests a second so that the cycle is long enough to cut.
    let target = tenant(a, "Target");
    let target_url = target.url.replace(&a_base, &front);
    let app = ok(call(
        &c,
        a,
        "apps/create",
        &[("csrf", &t), ("template", "harness"), ("name", "Harness")],
    )
    .await)
    .await
    .as_str()
    .unwrap()
    .to_string();
    ok(call(
        &c,
        b,
        "provisioning/save",
        &[
            ("csrf", &t),
            ("app", &app),
            ("intent", "save"),
            ("mode", "automatic"),
            ("tenant_url", &target_url),
            ("secret_token", &target.key),
            ("scope", "all"),
            ("provisioning_status", "on"),
            ("prevent_deletions", "on"),
            ("deletion_threshold", "500"),
            ("reconciliation_interval_minutes", "40"),
            ("max_requests_per_second", "2"),
        ],
    )
    .await)
    .await;

    // Mid-cycle: some users are in the target, not all. Kill the instance holding the job.
    let lease = |sql: &str| psql(&database, &sql.replace("$app", &app));
    let holder = eventually(120, "the initial cycle is under way", || async {
        let done: usize =
            lease("SELECT count(*) FROM prov_objects WHERE app_id = '$app' AND object_type = 'user'")
                .parse()
                .unwrap();
        let holder = lease("SELECT holder FROM prov_leases WHERE app_id = '$app'");
        if done > 0 && !holder.is_empty() {
            Ok((holder, done))
        } else {
            Err(format!("{done} users provisioned, lease held by {holder:?}"))
        }
    })
    .await;
    let (holder, done_before) = holder;
    assert!(
        done_before < USERS,
        "the cycle must still be running: {done_before}"
    );
    let pid: u32 = holder.split('/').nth(1).unwrap().parse().unwrap();
    let victim = servers
        .iter()
        .position(|s| s.as_ref().is_some_and(|s| s.pid() == pid))
        .unwrap_or_else(|| panic!("no instance has pid {pid} ({holder})"));
    servers[victim].take().unwrap().kill();

    // Another instance takes the job over and finishes: a later cycle succeeds, with every user.
    let survivors: Vec<&Server> = servers.iter().flatten().collect();
    let took_over = eventually(120, "another instance takes the job over", || async {
        let holder = lease("SELECT holder FROM prov_leases WHERE app_id = '$app'");
        let state =
            lease("SELECT state FROM prov_cycles WHERE app_id = '$app' ORDER BY began_at DESC LIMIT 1");
        let watermark = lease("SELECT COALESCE(watermark, -1) FROM prov_jobs WHERE app_id = '$app'");
        if state == "Succeeded" && watermark != "-1" {
            Ok(holder)
        } else {
            Err(format!(
                "lease {holder:?}, last cycle {state}, watermark {watermark}"
            ))
        }
    })
    .await;
    assert!(!took_over.contains(&format!("/{pid}/")), "{took_over}");
    let cut = lease("SELECT count(*) FROM prov_cycles WHERE app_id = '$app' AND state = 'Failed' AND error LIKE 'provisio stopped%'");
    assert_eq!(cut, "1", "the dead instance's cycle is recorded as cut short");
    assert!(
        survivors
            .iter()
            .any(|s| s.output_text().contains("took over a provisioning job")),
        "a survivor says it took the job over"
    );

    // The target converged exactly: every user once, every group with its members.
    let users = everything(&target_url, &target.key, "Users").await;
    let names: BTreeSet<String> = users
        .iter()
        .map(|u| u["userName"].as_str().unwrap().to_lowercase())
        .collect();
    assert_eq!(users.len(), USERS, "no user twice");
    let expected: BTreeSet<String> = (0..USERS).map(|i| format!("user{i:04}@contoso.com")).collect();
    assert_eq!(names, expected);
    let by_id: BTreeMap<&str, &str> = users
        .iter()
        .map(|u| (u["id"].as_str().unwrap(), u["userName"].as_str().unwrap()))
        .collect();
    let groups = everything(&target_url, &target.key, "Groups").await;
    assert_eq!(groups.len(), GROUPS, "{groups:?}");
    for g in &groups {
        let n: usize = g["displayName"].as_str().unwrap()[5..].parse().unwrap();
        let got: BTreeSet<String> = g["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| by_id[m["value"].as_str().unwrap()].to_lowercase())
            .collect();
        let want: BTreeSet<String> = (0..MEMBERS)
            .map(|m| format!("user{:04}@contoso.com", n * 100 + m))
            .collect();
        assert_eq!(got, want, "members of {}", g["displayName"]);
    }
    // No object was created twice: the cycle that took over matched what the dead one had
    // created but not recorded.
    let twice = lease(
        "SELECT count(*) FROM (SELECT source_id FROM prov_log WHERE app_id = '$app'
             AND action = 'Create' AND status = 'Success' GROUP BY object_type, source_id
             HAVING count(*) > 1) d",
    );
    assert_eq!(twice, "0");
    let managed = lease("SELECT count(DISTINCT target_id) FROM prov_objects WHERE app_id = '$app'");
    assert_eq!(managed, (USERS + GROUPS).to_string());

    // The survivors still serve the SCIM endpoint and the console.
    for s in &survivors {
        let r = reqwest::Client::new()
            .get(format!("{}/Users", target.url.replace(&a_base, &s.base)))
            .query(&[("count", "1")])
            .bearer_auth(&target.key)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let status = ok(call(&c, s, "provisioning/status", &[("app", &app)]).await).await;
        assert!(status.is_object(), "{status}");
    }
}
