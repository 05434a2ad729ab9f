//! The console over real HTTP: sign-in, throttling, CSRF, roles, sign-out, sessions across
//! restarts, health endpoints, audit log, and start-up errors.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![cfg(feature = "ssr")]

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::Value;

#[tokio::test]
async fn sign_in_reaches_the_overview_and_pages_need_a_session() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());

    let anon = client();
    assert_eq!(
        page_status(&anon, &s, "/").await,
        (StatusCode::SEE_OTHER, "/login".into())
    );
    assert_eq!(
        page_status(&anon, &s, "/settings/audit-log?actor=x").await,
        (
            StatusCode::SEE_OTHER,
            "/login?next=/settings/audit-log%3Factor%3Dx".into()
        )
    );

    let c = signed_in(&s, "Admin", ADMIN_PASSWORD).await;
    let r = c.get(s.url("/")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let cookie_flags = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect::<Vec<_>>();
    let html = r.text().await.unwrap();
    assert!(html.contains("<h1>Overview"), "{html}");
    assert!(html.contains("admin"));
    assert!(html.contains("Administrator"));
    for flags in cookie_flags {
        assert!(
            flags.contains("HttpOnly") && flags.contains("SameSite=Lax"),
            "{flags}"
        );
    }
    // A signed-in user is sent from the sign-in page to the console.
    assert_eq!(
        page_status(&c, &s, "/login").await,
        (StatusCode::SEE_OTHER, "/".into())
    );
    // Unknown pages are 404s inside the console.
    assert_eq!(
        c.get(s.url("/no/such/page")).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );

    // Neither the password nor a session id reaches the log.
    let session_cookie = c
        .get(s.url("/"))
        .send()
        .await
        .unwrap()
        .cookies()
        .map(|c| c.value().to_string())
        .collect::<Vec<_>>();
    let log = s.output_text();
    assert!(
        log.contains(&format!("sign in at {}/login", s.base)),
        "says where to sign in: {log}"
    );
    assert!(!log.contains('\u{1b}'), "no terminal colour codes in a log file");
    assert!(!log.contains(ADMIN_PASSWORD));
    for v in session_cookie {
        assert!(!log.contains(&v));
    }
    assert!(
        log.contains("path=/login") || log.contains("path: /login") || log.contains("/login"),
        "request logs: {log}"
    );
}

#[tokio::test]
async fn wrong_password_and_unknown_user_get_the_same_answer() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let c = client();

    let wrong = login(&c, &s, "admin", "not the password").await;
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    let wrong = json(wrong).await;
    let unknown = json(login(&c, &s, "nobody", "not the password").await).await;
    assert_eq!(
        wrong, unknown,
        "the answer must not reveal which user names exist"
    );
    assert!(wrong.to_string().contains("incorrect"), "{wrong}");
    assert_eq!(page_status(&c, &s, "/").await.0, StatusCode::SEE_OTHER);

    // Both failures are in the audit log, with where they came from, and no password.
    let admin = signed_in(&s, "admin", ADMIN_PASSWORD).await;
    let page = json(call(&admin, &s, "audit/page", &[("outcome", "failure")]).await).await;
    let entries = page["entries"].as_array().unwrap();
    let targets: Vec<_> = entries.iter().map(|e| e["target"].as_str().unwrap()).collect();
    assert!(
        targets.contains(&"admin") && targets.contains(&"nobody"),
        "{page}"
    );
    assert!(entries
        .iter()
        .all(|e| e["action"] == "sign_in" && e["source_ip"] == "127.0.0.1"));
    assert!(!page.to_string().contains("not the password"));
}

#[tokio::test]
async fn repeated_failures_are_throttled_even_with_the_right_password() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let c = client();
    for _ in 0..5 {
        assert_eq!(
            login(&c, &s, "admin", "guess guess guess").await.status(),
            StatusCode::BAD_REQUEST
        );
    }
    let r = login(&c, &s, "admin", ADMIN_PASSWORD).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let body = r.text().await.unwrap();
    assert!(body.contains("Too many failed sign-in attempts"), "{body}");
    assert_eq!(page_status(&c, &s, "/").await.0, StatusCode::SEE_OTHER);

    // An unknown name is throttled the same way, so throttling reveals nothing either.
    for _ in 0..5 {
        login(&c, &s, "ghost", "guess guess guess").await;
    }
    let r = login(&c, &s, "ghost", "guess guess guess").await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn state_changes_without_a_valid_csrf_token_are_refused_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let c = signed_in(&s, "admin", ADMIN_PASSWORD).await;

    let r = call(
        &c,
        &s,
        "console_users/add",
        &[
            ("csrf", "forged"),
            ("username", "mallory"),
            ("role", "administrator"),
            ("password", "mallory's password"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = call(
        &c,
        &s,
        "console_users/add",
        &[
            ("username", "mallory"),
            ("role", "administrator"),
            ("password", "mallory's password"),
        ],
    )
    .await;
    assert!(r.status().is_client_error(), "missing token: {}", r.status());
    // A cross-site form post is refused before any handler runs, even with the right token.
    let token = csrf(&c, &s).await;
    let r = c
        .post(s.url("/api/console_users/add"))
        .header("origin", "https://evil.example")
        .form(&[
            ("csrf", token.as_str()),
            ("username", "mallory"),
            ("role", "viewer"),
            ("password", "mallory's password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // Sign-out needs the token too.
    assert_eq!(
        call(&c, &s, "logout", &[("csrf", "forged")]).await.status(),
        StatusCode::FORBIDDEN
    );
    // A sign-in with a forged token is refused.
    let other = client();
    let r = call(
        &other,
        &s,
        "login",
        &[
            ("csrf", "forged"),
            ("username", "admin"),
            ("password", ADMIN_PASSWORD),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    assert_eq!(console_usernames(&c, &s).await, vec!["admin"]);
    assert_eq!(
        page_status(&c, &s, "/").await.0,
        StatusCode::OK,
        "still signed in"
    );
}

#[tokio::test]
async fn a_viewer_can_look_but_not_change() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let admin = signed_in(&s, "admin", ADMIN_PASSWORD).await;
    let r = add_user(&admin, &s, "Vera", "viewer", "vera's long password").await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());

    let vera = signed_in(&s, "vera", "vera's long password").await;
    let session = json(call(&vera, &s, "session", &[]).await).await;
    assert_eq!(session["role"], "Viewer");
    assert_eq!(page_status(&vera, &s, "/").await.0, StatusCode::OK);
    assert_eq!(
        page_status(&vera, &s, "/settings/audit-log").await.0,
        StatusCode::OK
    );

    let r = add_user(&vera, &s, "eve", "administrator", "eve's long password").await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let admin_id = json(call(&admin, &s, "session", &[]).await).await["user_id"]
        .as_str()
        .unwrap()
        .to_string();
    let token = csrf(&vera, &s).await;
    let r = call(
        &vera,
        &s,
        "console_users/set_enabled",
        &[("csrf", &token), ("id", &admin_id), ("enabled", "false")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = call(
        &vera,
        &s,
        "console_users/reset_password",
        &[
            ("csrf", &token),
            ("id", &admin_id),
            ("password", "taken over at last"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        call(&vera, &s, "console_users/list", &[]).await.status(),
        StatusCode::FORBIDDEN
    );

    assert_eq!(console_usernames(&admin, &s).await, vec!["admin", "vera"]);
    assert_eq!(
        page_status(&admin, &s, "/").await.0,
        StatusCode::OK,
        "the admin is still enabled"
    );
    assert_eq!(
        login(&client(), &s, "admin", ADMIN_PASSWORD).await.status(),
        StatusCode::OK,
        "password unchanged"
    );
}

#[tokio::test]
async fn sign_out_ends_the_session_for_good() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let c = signed_in(&s, "admin", ADMIN_PASSWORD).await;
    let old_cookie = c
        .get(s.url("/"))
        .send()
        .await
        .unwrap()
        .headers()
        .get("set-cookie")
        .cloned();
    let token = csrf(&c, &s).await;
    let r = call(&c, &s, "logout", &[("csrf", &token)]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        page_status(&c, &s, "/").await,
        (StatusCode::SEE_OTHER, "/login".into())
    );
    assert_eq!(json(call(&c, &s, "session", &[]).await).await, Value::Null);
    // The browser reaches the sign-in form without a page load after signing out: the form's
    // token comes from login_context alone, and signing in with it works.
    let token = json(call(&c, &s, "login_context", &[]).await).await["csrf"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(!token.is_empty());
    let r = call(
        &c,
        &s,
        "login",
        &[
            ("csrf", &token),
            ("username", "admin"),
            ("password", ADMIN_PASSWORD),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let token = csrf(&c, &s).await;
    assert_eq!(
        call(&c, &s, "logout", &[("csrf", &token)]).await.status(),
        StatusCode::OK
    );
    // Replaying the old session cookie does not bring the session back.
    if let Some(cookie) = old_cookie {
        let pair = cookie.to_str().unwrap().split(';').next().unwrap().to_string();
        let r = client()
            .get(s.url("/"))
            .header("cookie", pair)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
    }
}

#[tokio::test]
async fn a_session_survives_a_restart_and_shutdown_is_graceful() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let c = signed_in(&s, "admin", ADMIN_PASSWORD).await;
    assert_eq!(page_status(&c, &s, "/").await.0, StatusCode::OK);
    assert_eq!(s.terminate(), Some(0), "SIGTERM ends the server cleanly");

    // Cookies are not bound to a port, so the same client reaches the new process.
    let s = Server::start(dir.path());
    assert_eq!(page_status(&c, &s, "/").await.0, StatusCode::OK);
    assert_eq!(
        json(call(&c, &s, "session", &[]).await).await["username"],
        "admin"
    );
}

/// A request that never finishes (here a form whose body stops halfway) does not keep the
/// server from stopping: SIGTERM waits for it only for the grace period (10 s). Before, the
/// process waited for it for ever, as a browser test's server once did for a page that stalled.
#[tokio::test]
async fn a_request_that_never_finishes_does_not_hold_up_shutdown() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let addr = s.base.trim_start_matches("http://").to_string();
    let mut stuck = std::net::TcpStream::connect(&addr).unwrap();
    stuck
        .write_all(
            format!(
                "POST /api/login HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nusername=adm"
            )
            .as_bytes(),
        )
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let started = std::time::Instant::now();
    let code = tokio::task::spawn_blocking(move || s.terminate_within(std::time::Duration::from_secs(40)))
        .await
        .unwrap();
    assert!(code.is_some(), "the server was still running 40 s after SIGTERM");
    assert!(started.elapsed().as_secs() < 40);
    drop(stuck);
}

#[tokio::test]
async fn password_reset_and_disable_end_that_users_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let admin = signed_in(&s, "admin", ADMIN_PASSWORD).await;
    add_user(&admin, &s, "bob", "administrator", "bob's long password").await;
    add_user(&admin, &s, "carol", "viewer", "carol's long password").await;
    let bob = signed_in(&s, "bob", "bob's long password").await;
    let carol = signed_in(&s, "carol", "carol's long password").await;

    let users = json(call(&admin, &s, "console_users/list", &[]).await).await;
    let id_of = |name: &str| {
        users
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["username"] == name)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let token = csrf(&admin, &s).await;

    let r = call(
        &admin,
        &s,
        "console_users/reset_password",
        &[("csrf", &token), ("id", &id_of("bob")), ("password", "short")],
    )
    .await;
    assert_eq!(
        r.status(),
        StatusCode::BAD_REQUEST,
        "the policy applies to resets"
    );
    let r = call(
        &admin,
        &s,
        "console_users/reset_password",
        &[
            ("csrf", &token),
            ("id", &id_of("bob")),
            ("password", "bob's new password"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        page_status(&bob, &s, "/").await.0,
        StatusCode::SEE_OTHER,
        "bob's old session ended"
    );
    signed_in(&s, "bob", "bob's new password").await;

    let r = call(
        &admin,
        &s,
        "console_users/set_enabled",
        &[("csrf", &token), ("id", &id_of("carol")), ("enabled", "false")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        page_status(&carol, &s, "/").await.0,
        StatusCode::SEE_OTHER,
        "carol's session ended"
    );
    assert_eq!(
        login(&client(), &s, "carol", "carol's long password")
            .await
            .status(),
        StatusCode::BAD_REQUEST
    );

    // Nobody can lock everyone out.
    let admin_id = id_of("admin");
    let r = call(
        &admin,
        &s,
        "console_users/set_enabled",
        &[("csrf", &token), ("id", &admin_id), ("enabled", "false")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let r = call(
        &admin,
        &s,
        "console_users/set_role",
        &[("csrf", &token), ("id", &id_of("bob")), ("role", "viewer")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = call(
        &admin,
        &s,
        "console_users/set_role",
        &[("csrf", &token), ("id", &admin_id), ("role", "viewer")],
    )
    .await;
    assert_eq!(
        r.status(),
        StatusCode::CONFLICT,
        "the last Administrator stays one"
    );

    let r = add_user(&admin, &s, "BOB", "viewer", "another long password").await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(json(r).await.to_string().contains("already exists"));

    let log = json(call(&admin, &s, "audit/page", &[("actor", "admin")]).await)
        .await
        .to_string();
    for action in [
        "console_user.create",
        "console_user.reset_password",
        "console_user.disable",
        "console_user.change_role",
    ] {
        assert!(log.contains(action), "{action} missing from {log}");
    }
    assert!(!log.contains("bob's new password"));
}

#[tokio::test]
async fn forms_work_without_javascript() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let c = client();
    let token = csrf(&c, &s).await;

    // A failed sign-in returns to the form with the error in the address, for the page to show.
    let r = post_html_form(
        &c,
        &s,
        "login",
        "/login",
        &[
            ("csrf", &token),
            ("username", "admin"),
            ("password", "wrong wrong wrong"),
            ("next", ""),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::FOUND);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    assert!(
        location.contains("/login") && location.contains("__err="),
        "{location}"
    );
    let html = c.get(&location).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("The user name or password is incorrect."), "{html}");

    let r = post_html_form(
        &c,
        &s,
        "login",
        "/login?next=/settings/audit-log",
        &[
            ("csrf", &token),
            ("username", "admin"),
            ("password", ADMIN_PASSWORD),
            ("next", "/settings/audit-log"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::FOUND);
    assert_eq!(r.headers()["location"], "/settings/audit-log");
    let html = page_html(&c, &s, "/settings/audit-log").await;
    assert!(
        html.contains("<h1>Audit log") && html.contains("sign_in"),
        "{html}"
    );

    // A console form post: add a user, then see them in the server-rendered list.
    let token = csrf(&c, &s).await;
    let r = post_html_form(
        &c,
        &s,
        "console_users/add",
        "/settings/console-users",
        &[
            ("csrf", &token),
            ("username", "dora"),
            ("role", "viewer"),
            ("password", "dora's long password"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::FOUND);
    let html = page_html(&c, &s, "/settings/console-users").await;
    assert!(html.contains("dora"), "{html}");
}

#[tokio::test]
async fn health_and_readiness() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let c = client();
    let r = c.get(s.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers().get("set-cookie").is_none(), "probes get no session");
    assert_eq!(
        c.get(s.url("/readyz")).send().await.unwrap().status(),
        StatusCode::OK
    );

    // The database goes away under the running server.
    match database_url(dir.path()) {
        Some(url) => {
            let name = url.rsplit('/').next().unwrap().to_string();
            let out = std::process::Command::new("psql")
                .arg(postgres().unwrap())
                .args(["-q", "-c", &format!("DROP DATABASE {name} WITH (FORCE)")])
                .output()
                .unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        }
        None => {
            for name in ["provisio.db", "provisio.db-wal", "provisio.db-shm"] {
                let _ = std::fs::remove_file(dir.path().join(name));
            }
        }
    }
    assert_eq!(
        c.get(s.url("/readyz")).send().await.unwrap().status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        c.get(s.url("/healthz")).send().await.unwrap().status(),
        StatusCode::OK,
        "the process is alive"
    );
}

#[test]
fn bad_settings_exit_with_code_2_and_say_why() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().to_string();
    let out = bin()
        .args(["serve", "--bind", &port])
        .env("PROVISIO_DATA_DIR", dir.path())
        .envs(common::db_env(dir.path()))
        .env("PROVISIO_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("already in use"), "{err}");

    let file = dir.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let out = bin()
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env("PROVISIO_DATA_DIR", file.join("sub"))
        .envs(common::db_env(file.join("sub")))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("data directory"));

    let out = bin()
        .args(["serve", "--bind", "nonsense"])
        .env("PROVISIO_DATA_DIR", dir.path())
        .envs(common::db_env(dir.path()))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn admin_cli_manages_console_users() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str], stdin: Option<&str>| {
        use std::io::Write;
        let mut child = bin()
            .args(args)
            .env("PROVISIO_DATA_DIR", dir.path())
            .envs(common::db_env(dir.path()))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        if let Some(input) = stdin {
            child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        }
        child.wait_with_output().unwrap()
    };
    let out = run(
        &["admin", "create", "ops", "--role", "viewer", "--password-stdin"],
        Some("ops long password\n"),
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = run(&["admin", "create", "root"], None);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(text.contains("shown only this once"), "{text}");
    let out = run(&["admin", "create", "ops"], None);
    assert_eq!(out.status.code(), Some(1), "duplicates are refused");
    let out = run(&["admin", "disable", "ops"], None);
    assert!(out.status.success());
    let out = run(
        &["admin", "reset-password", "root", "--password-stdin"],
        Some("short\n"),
    );
    assert!(!out.status.success(), "the password policy applies");
    let list = String::from_utf8_lossy(&run(&["admin", "list"], None).stdout).to_string();
    assert!(
        list.contains("ops") && list.contains("disabled") && list.contains("root"),
        "{list}"
    );
    let out = run(&["admin", "disable", "nobody"], None);
    assert_eq!(out.status.code(), Some(1));
}

#[tokio::test]
async fn the_audit_log_pages_by_keyset_without_gaps_or_overlaps() {
    let dir = tempfile::tempdir().unwrap();
    // Seventy failed sign-ins from seventy addresses (refusals are aggregated, failures are not).
    let s = Server::start_with_env(dir.path(), &[("PROVISIO_TRUST_FORWARDED_FOR", "true")]);
    let c = client();
    let token = csrf(&c, &s).await;
    for i in 0..70 {
        let r = c
            .post(s.url("/api/login"))
            .header("accept", "application/json")
            .header("x-forwarded-for", format!("10.0.{i}.1"))
            .form(&[
                ("csrf", token.as_str()),
                ("username", &format!("probe{i}")),
                ("password", "wrong password here"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "attempt {i}");
    }
    let admin = signed_in(&s, "admin", ADMIN_PASSWORD).await;
    let first = json(call(&admin, &s, "audit/page", &[("outcome", "failure")]).await).await;
    let first_ids: Vec<i64> = first["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .collect();
    assert_eq!(first_ids.len(), 50);
    assert!(first_ids.windows(2).all(|w| w[0] > w[1]), "newest first");
    let older = first["older"].as_i64().expect("a second page");
    let second = json(
        call(
            &admin,
            &s,
            "audit/page",
            &[("outcome", "failure"), ("before", &older.to_string())],
        )
        .await,
    )
    .await;
    let second_ids: Vec<i64> = second["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .collect();
    assert_eq!(second_ids.len(), 20);
    assert!(second_ids[0] < *first_ids.last().unwrap());
    assert!(second["older"].is_null(), "the last page says so");
    assert!(
        second.to_string().contains("wrong password") || second.to_string().contains("unknown user name")
    );

    let r = call(&admin, &s, "audit/page", &[("from", "2026-02-30")]).await;
    assert_eq!(
        r.status(),
        StatusCode::BAD_REQUEST,
        "an impossible date is a clear error"
    );
    // The server-rendered page shows the pager link with the filters kept.
    let html = page_html(&admin, &s, "/settings/audit-log?outcome=failure").await;
    assert!(
        html.contains(&format!("/settings/audit-log?outcome=failure&amp;before={older}")),
        "{html}"
    );
}

/// Pages and server functions' answers go out gzipped to a browser that accepts it, and plain to
/// one that does not.
#[tokio::test]
async fn pages_are_compressed_for_browsers_that_accept_it() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let anon = client();
    let admin = signed_in(&s, "admin", ADMIN_PASSWORD).await;
    for (c, path) in [(&anon, "/login"), (&admin, "/"), (&admin, "/settings/audit-log")] {
        let r = c
            .get(s.url(path))
            .header("accept-encoding", "gzip")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        assert_eq!(
            r.headers().get("content-encoding").map(|v| v.to_str().unwrap()),
            Some("gzip"),
            "{path}"
        );
        let raw = r.bytes().await.unwrap();
        assert_eq!(&raw[..2], &[0x1f, 0x8b], "{path}: a gzip stream");
        let plain = c.get(s.url(path)).send().await.unwrap();
        assert!(plain.headers().get("content-encoding").is_none(), "{path}");
        let text = plain.text().await.unwrap();
        assert!(text.contains("<html"), "{path}");
        assert!(
            raw.len() * 2 < text.len(),
            "{path}: {} gzipped vs {} bytes",
            raw.len(),
            text.len()
        );
    }
}
