//! An application's provisioning configuration over real HTTP and the command line: the
//! Provisioning page's form with its validation, Test Connection against a local account, broken
//! targets and scim2-server, attribute mappings with expressions and the expression tester,
//! scoping filters, the audit trail, and export/apply.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{bin, call, csrf, field_error, json, ok, signed_in, tenant, Server, ADMIN_PASSWORD};
use reqwest::StatusCode;
use serde_json::Value;
use std::net::TcpListener;

async fn new_app(c: &reqwest::Client, s: &Server, t: &str, template: &str, name: &str) -> String {
    common::create_app(c, s, t, template, name).await
}

async fn view(c: &reqwest::Client, s: &Server, app: &str) -> Value {
    ok(call(c, s, "provisioning/get", &[("app", app)]).await).await
}

/// The Provisioning page's fields with sensible values; tests override some.
fn page_form<'a>(t: &'a str, app: &'a str, overrides: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut f: Vec<(&str, &str)> = vec![
        ("csrf", t),
        ("app", app),
        ("intent", "save"),
        ("mode", "manual"),
        ("tenant_url", ""),
        ("secret_token", ""),
        ("notification_email", ""),
        ("scope", "assigned"),
        ("provisioning_status", "off"),
        ("prevent_deletions", "on"),
        ("deletion_threshold", "500"),
        ("reconciliation_interval_minutes", "40"),
    ];
    for (k, v) in overrides {
        f.retain(|(name, _)| name != k);
        f.push((k, v));
    }
    f
}

fn cli_in(s: &Server, env: &[(&str, &str)], args: &[&str]) -> (bool, String, String) {
    let out = bin()
        .args(args)
        .env("PROVISIO_DATA_DIR", &s.data_dir)
        .env("PROVISIO_PUBLIC_URL", &s.base)
        .env_remove("PROVISIO_DATABASE_URL")
        .envs(common::db_env(&s.data_dir))
        .envs(env.iter().copied())
        .output()
        .expect("run provisio");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

fn database_text(s: &Server) -> String {
    common::database_text(&s.data_dir)
}

#[tokio::test]
async fn provisioning_page_validates_saves_and_keeps_the_token_secret() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let c = signed_in(&s, "admin", ADMIN_PASSWORD).await;
    let t = csrf(&c, &s).await;
    let app = new_app(&c, &s, &t, "harness", "Harness").await;
    let target = tenant(&s, "Target");

    let v = view(&c, &s, &app).await;
    assert_eq!(v["config"]["mode"], "manual");
    assert_eq!(v["token_set"], false);
    let settings = &v["config"]["settings"];
    assert_eq!(settings["scope"], "assigned");
    assert_eq!(settings["provisioning_status"], "off");
    assert_eq!(settings["prevent_accidental_deletions"], true);
    assert_eq!(settings["deletion_threshold"], 500);
    assert_eq!(settings["reconciliation_interval_minutes"], 40);
    assert_eq!(settings["max_requests_per_second"], 0, "no limit unless set");
    assert_eq!(v["config"]["mappings"][0]["object"], "user");
    assert_eq!(v["config"]["mappings"][0]["attributes"][0]["target"], "userName");
    assert_eq!(v["config"]["mappings"][1]["object"], "group");

    // Bad input: the message belongs to the field, and nothing changes.
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("mode", "automatic")], "tenant_url"),
        (
            &[("mode", "automatic"), ("tenant_url", &target.url)],
            "secret_token",
        ),
        (&[("tenant_url", "ftp://example.com/scim")], "tenant_url"),
        (
            &[("tenant_url", "https://user:pw@example.com/scim")],
            "tenant_url",
        ),
        (&[("notify_on_failure", "on")], "notification_email"),
        (&[("notification_email", "not an address")], "notification_email"),
        (&[("deletion_threshold", "many")], "deletion_threshold"),
        (&[("deletion_threshold", "0")], "deletion_threshold"),
        (
            &[("reconciliation_interval_minutes", "0")],
            "reconciliation_interval_minutes",
        ),
        (&[("max_requests_per_second", "-1")], "max_requests_per_second"),
        (&[("max_requests_per_second", "fast")], "max_requests_per_second"),
        (&[("provisioning_status", "on")], "provisioning_status"),
        (&[("mode", "sometimes")], "mode"),
        (&[("scope", "everyone")], "scope"),
        (&[("provisioning_status", "maybe")], "provisioning_status"),
    ];
    for (overrides, field) in cases {
        let r = call(&c, &s, "provisioning/save", &page_form(&t, &app, overrides)).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{overrides:?}");
        assert_eq!(field_error(&json(r).await).0, *field, "{overrides:?}");
    }
    assert_eq!(view(&c, &s, &app).await, v, "invalid saves changed nothing");

    // The seed's configuration: Automatic, the tenant URL and key, a notification address, On.
    let form = page_form(
        &t,
        &app,
        &[
            ("mode", "automatic"),
            ("tenant_url", &target.url),
            ("secret_token", &target.key),
            ("notification_email", "Ops@Contoso.com"),
            ("notify_on_failure", "on"),
            ("provisioning_status", "on"),
            ("deletion_threshold", "250"),
        ],
    );
    let saved = ok(call(&c, &s, "provisioning/save", &form).await).await;
    assert!(saved["message"].as_str().unwrap().starts_with("Saved"), "{saved}");
    let v = view(&c, &s, &app).await;
    assert_eq!(v["token_set"], true);
    assert_eq!(v["config"]["mode"], "automatic");
    assert_eq!(v["config"]["tenant_url"], target.url.as_str());
    assert_eq!(v["config"]["notification_email"], "Ops@Contoso.com");
    assert_eq!(v["config"]["settings"]["provisioning_status"], "on");
    assert_eq!(v["config"]["settings"]["deletion_threshold"], 250);
    let apps = ok(call(&c, &s, "apps/list", &[]).await).await;
    assert_eq!(apps["rows"][0]["provisioning_on"], true);

    // Saving again without typing the token keeps it; the same values change nothing.
    let again = ok(call(
        &c,
        &s,
        "provisioning/save",
        &page_form(
            &t,
            &app,
            &[
                ("mode", "automatic"),
                ("tenant_url", &target.url),
                ("notification_email", "Ops@Contoso.com"),
                ("notify_on_failure", "on"),
                ("provisioning_status", "on"),
                ("deletion_threshold", "250"),
            ],
        ),
    )
    .await)
    .await;
    assert_eq!(again["message"], "No changes to save.");
    assert_eq!(view(&c, &s, &app).await["token_set"], true);

    // The token is never sent back, logged, audited or stored in the clear.
    assert!(!v.to_string().contains(&target.key));
    let audit = ok(call(&c, &s, "audit/page", &[("action", "app.provisioning")]).await).await;
    let audit_text = audit.to_string();
    assert!(audit_text.contains("Tenant URL"), "{audit}");
    assert!(audit_text.contains("Secret Token replaced"), "{audit}");
    assert!(!audit_text.contains(&target.key));
    assert!(!s.output_text().contains(&target.key));
    assert!(!database_text(&s).contains(&target.key));

    // A Viewer sees the configuration and changes nothing.
    let r = common::add_user(&c, &s, "viewer", "viewer", "viewer password 123").await;
    assert_eq!(r.status(), StatusCode::OK);
    let viewer = signed_in(&s, "viewer", "viewer password 123").await;
    let vt = csrf(&viewer, &s).await;
    assert_eq!(view(&viewer, &s, &app).await["config"]["mode"], "automatic");
    let r = call(&viewer, &s, "provisioning/save", &page_form(&vt, &app, &[])).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = call(
        &viewer,
        &s,
        "provisioning/save",
        &page_form(&vt, &app, &[("intent", "test")]),
    )
    .await;
    assert_eq!(
        r.status(),
        StatusCode::FORBIDDEN,
        "testing sends the secret: administrators only"
    );
    for (endpoint, form) in [
        (
            "provisioning/attribute/delete",
            vec![
                ("csrf", vt.as_str()),
                ("app", &app),
                ("object", "user"),
                ("target", "displayName"),
            ],
        ),
        (
            "provisioning/restore",
            vec![("csrf", vt.as_str()), ("app", &app), ("object", "user")],
        ),
        (
            "provisioning/scoping/add",
            vec![
                ("csrf", vt.as_str()),
                ("app", &app),
                ("object", "user"),
                ("filter", "new"),
                ("attribute", "department"),
                ("operator", "EQUALS"),
                ("value", "x"),
            ],
        ),
    ] {
        assert_eq!(
            call(&viewer, &s, endpoint, &form).await.status(),
            StatusCode::FORBIDDEN,
            "{endpoint}"
        );
    }
    assert_eq!(view(&c, &s, &app).await["config"], v["config"]);
}

/// A web server that answers every request with the same response: a stand-in for a URL that is
/// not a SCIM endpoint or a target that fails.
fn canned(status: &'static str, content_type: &'static str, body: &'static str) -> u16 {
    use std::io::Write;
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in l.incoming().flatten() {
            common::read_request_head(&stream);
            let mut stream = stream;
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

/// A TCP port that accepts connections and never answers.
fn silent_port() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    (l, port)
}

#[tokio::test]
async fn test_connection_explains_each_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start_with_env(dir.path(), &[("PROVISIO_OUTBOUND_TIMEOUT_SECONDS", "2")]);
    let c = signed_in(&s, "admin", ADMIN_PASSWORD).await;
    let t = csrf(&c, &s).await;
    let app = new_app(&c, &s, &t, "harness", "Harness").await;
    let target = tenant(&s, "Target");
    let test = |url: String, token: String| {
        let (c, s, t, app) = (c.clone(), &s, t.clone(), app.clone());
        async move {
            let form = page_form(
                &t,
                &app,
                &[("intent", "test"), ("tenant_url", &url), ("secret_token", &token)],
            );
            let v = ok(call(&c, s, "provisioning/save", &form).await).await;
            v["connection"].clone()
        }
    };

    // Success: the values in the form are tested before they are saved.
    let r = test(target.url.clone(), target.key.clone()).await;
    assert_eq!(r["ok"], true, "{r}");
    assert!(r["summary"].as_str().unwrap().contains("authorized"), "{r}");
    assert_eq!(r["status"], 200);
    assert_eq!(
        view(&c, &s, &app).await["token_set"],
        false,
        "testing saves nothing"
    );

    // A wrong token: 401 with the target's SCIM detail and the admin-permissions hint.
    let r = test(target.url.clone(), "not-the-key".into()).await;
    assert_eq!(
        (r["ok"].as_bool(), r["status"].as_u64()),
        (Some(false), Some(401)),
        "{r}"
    );
    assert!(r["hint"].as_str().unwrap().contains("admin"), "{r}");
    assert!(!r["detail"].as_str().unwrap().is_empty(), "{r}");

    // A URL that is not a SCIM endpoint: 404, and a 200 that is not a ListResponse.
    let web = canned(
        "404 Not Found",
        "text/html",
        "<html><body><h1>Not Found</h1></body></html>",
    );
    let r = test(format!("http://127.0.0.1:{web}/api/v2"), target.key.clone()).await;
    assert_eq!(r["status"], 404, "{r}");
    assert!(r["hint"].as_str().unwrap().contains("not a SCIM endpoint"), "{r}");
    assert!(r["detail"].as_str().unwrap().contains("Not Found"), "{r}");
    let web = canned("200 OK", "text/html", "<html><body>Welcome</body></html>");
    let r = test(format!("http://127.0.0.1:{web}/"), target.key.clone()).await;
    assert_eq!(
        (r["ok"].as_bool(), r["status"].as_u64()),
        (Some(false), Some(200)),
        "{r}"
    );
    assert!(r["hint"].as_str().unwrap().contains("not a SCIM endpoint"), "{r}");
    let failing = canned(
        "503 Service Unavailable",
        "application/scim+json",
        r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"detail":"maintenance","status":"503"}"#,
    );
    let r = test(format!("http://127.0.0.1:{failing}/scim"), target.key.clone()).await;
    assert_eq!(
        (r["status"].as_u64(), r["detail"].as_str()),
        (Some(503), Some("maintenance")),
        "{r}"
    );
    // https:// to a server that speaks plain HTTP: the TLS handshake fails.
    let r = test(format!("https://127.0.0.1:{failing}/scim"), target.key.clone()).await;
    assert!(r["summary"].as_str().unwrap().contains("TLS"), "{r}");
    // Our own console redirects a path outside the SCIM endpoint to its sign-in page.
    let r = test(s.url("/gateway/api/scim/nothing-here"), target.key.clone()).await;
    assert_eq!(r["status"], 303, "{r}");
    assert!(r["hint"].as_str().unwrap().contains("redirects"), "{r}");

    // Nothing listening; something listening that never answers (bounded by the timeout).
    let port = common::peers::free_port();
    let r = test(format!("http://127.0.0.1:{port}/scim"), "x".into()).await;
    assert!(
        r["summary"].as_str().unwrap().contains("connection refused"),
        "{r}"
    );
    assert!(r["status"].is_null());
    let (_held, port) = silent_port();
    let started = std::time::Instant::now();
    let r = test(format!("http://127.0.0.1:{port}/scim"), "x".into()).await;
    assert!(r["summary"].as_str().unwrap().contains("within 2 seconds"), "{r}");
    assert!(started.elapsed() < std::time::Duration::from_secs(20));

    // A form without a token tests the saved one; without either it says what is missing.
    let r = call(
        &c,
        &s,
        "provisioning/save",
        &page_form(&t, &app, &[("intent", "test"), ("tenant_url", &target.url)]),
    )
    .await;
    assert_eq!(field_error(&json(r).await).0, "secret_token");
    ok(call(
        &c,
        &s,
        "provisioning/save",
        &page_form(
            &t,
            &app,
            &[
                ("mode", "automatic"),
                ("tenant_url", &target.url),
                ("secret_token", &target.key),
            ],
        ),
    )
    .await)
    .await;
    let r = ok(call(
        &c,
        &s,
        "provisioning/save",
        &page_form(&t, &app, &[("intent", "test"), ("tenant_url", &target.url)]),
    )
    .await)
    .await;
    assert_eq!(r["connection"]["ok"], true, "{r}");

    // The command line runs the same check on the saved configuration: exit code 0 on success.
    let (success, out, err) = cli_in(&s, &[], &["app", "test-connection", "Harness"]);
    assert!(success, "{out}{err}");
    assert!(out.contains("authorized"), "{out}");
    let file = dir.path().join("bad-token.json");
    let (_, exported, _) = cli_in(&s, &[], &["app", "export", "Harness"]);
    std::fs::write(&file, &exported).unwrap();
    let (success, out, err) = cli_in(
        &s,
        &[("WRONG", "wrong-token")],
        &[
            "app",
            "apply",
            "Harness",
            file.to_str().unwrap(),
            "--secret-token-env",
            "WRONG",
        ],
    );
    assert!(success, "{out}{err}");
    assert_eq!(out.trim(), "Secret Token replaced");
    let (success, out, _) = cli_in(&s, &[], &["app", "test-connection", "Harness"]);
    assert!(!success);
    assert!(out.contains("HTTP status: 401"), "{out}");

    let audit = ok(call(&c, &s, "audit/page", &[("action", "app.test_connection")]).await).await;
    assert!(audit["entries"].as_array().unwrap().len() >= 6, "{audit}");
    assert!(!audit.to_string().contains(&target.key));

    // scim2-server, the reference implementation, as the target.
    if let Some(peer) = common::peers::Scim2Server::start() {
        let mut r = Value::Null;
        for _ in 0..100 {
            r = test(peer.url.clone(), peer.token.clone()).await;
            if r["ok"] == true {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(r["ok"], true, "scim2-server: {r}");
    }
}

async fn attribute(c: &reqwest::Client, s: &Server, form: &[(&str, &str)]) -> reqwest::Response {
    call(c, s, "provisioning/attribute", form).await
}

#[tokio::test]
async fn mappings_expressions_and_scoping_filters() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let c = signed_in(&s, "admin", ADMIN_PASSWORD).await;
    let t = csrf(&c, &s).await;
    let app = new_app(&c, &s, &t, "harness", "Harness").await;
    ok(call(
        &c,
        &s,
        "directory/create_user",
        &[
            ("csrf", &t),
            ("attrs[userPrincipalName]", "zoe@contoso.com"),
            ("attrs[displayName]", "Zoë Ångström"),
            ("attrs[givenName]", "Zoë"),
            ("attrs[surname]", "Ångström"),
            ("attrs[department]", "Sales"),
        ],
    )
    .await)
    .await;
    let base = |extra: &[(&'static str, &'static str)]| {
        let mut f: Vec<(&str, String)> = vec![
            ("csrf", t.clone()),
            ("app", app.clone()),
            ("object", "user".into()),
            ("intent", "save".into()),
            ("kind", "expression".into()),
            ("target", "title".into()),
            ("expression", "Join(\" \", [givenName], [surname])".into()),
        ];
        for (k, v) in extra {
            f.retain(|(n, _)| n != k);
            f.push((k, v.to_string()));
        }
        f
    };
    let send = |f: Vec<(&'static str, String)>| {
        let (c, s) = (c.clone(), &s);
        async move {
            let form: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
            attribute(&c, s, &form).await
        }
    };

    // The expression tester evaluates the unsaved expression for a directory user.
    let r = ok(send(base(&[
        ("intent", "test"),
        ("test_user", "zoe@contoso.com"),
        (
            "expression",
            "NormalizeDiacritics(Join(\".\", ToLower([givenName]), ToLower([surname])))",
        ),
    ]))
    .await)
    .await;
    assert_eq!(r["expression"]["value"], "\"zoe.angstrom\"", "{r}");
    let r = ok(send(base(&[
        ("intent", "test"),
        ("test_user", "zoe@contoso.com"),
        (
            "expression",
            "Switch([IsSoftDeleted], , \"False\", \"True\", \"True\", \"False\")",
        ),
    ]))
    .await)
    .await;
    assert_eq!(
        r["expression"]["value"], "\"False\"",
        "not assigned yet, so IsSoftDeleted is true: {r}"
    );
    // Assigned only with Default Access: still not provisioned, so still soft-deleted to mappings,
    // exactly as provision on demand sees it.
    ok(call(
        &c,
        &s,
        "apps/assign",
        &[
            ("csrf", &t),
            ("app", &app),
            ("principal", "zoe@contoso.com"),
            ("role", "default_access"),
        ],
    )
    .await)
    .await;
    let r = ok(send(base(&[
        ("intent", "test"),
        ("test_user", "zoe@contoso.com"),
        (
            "expression",
            "Switch([IsSoftDeleted], , \"False\", \"True\", \"True\", \"False\")",
        ),
    ]))
    .await)
    .await;
    assert_eq!(r["expression"]["value"], "\"False\"", "Default Access: {r}");
    let r = ok(send(base(&[
        ("intent", "test"),
        ("test_user", "zoe@contoso.com"),
        ("expression", "Left([givenName]"),
    ]))
    .await)
    .await;
    assert!(
        r["expression"]["error"].as_str().unwrap().contains("position"),
        "{r}"
    );
    let r = send(base(&[("intent", "test"), ("test_user", "nobody@contoso.com")])).await;
    assert_eq!(field_error(&json(r).await).0, "test_user");
    let before = view(&c, &s, &app).await;
    assert_eq!(
        before["needs_initial_cycle"], true,
        "a new application has never run an initial cycle"
    );

    // Bad attribute mappings: each error names the dialog's field, and nothing changes.
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);
    let cases: &[Case] = &[
        (
            &[("expression", "Join(\" \", [givenName]")],
            "expression",
            "position",
        ),
        (
            &[("expression", "join(\" \", [givenName])")],
            "expression",
            "case sensitive",
        ),
        (
            &[("expression", "ToLower([shoeSize])")],
            "expression",
            "not a source attribute",
        ),
        (&[("target", "id")], "target", "assigned by the target"),
        (&[("target", "emails[type eq \"work\"")], "target", ""),
        (
            &[("kind", "direct"), ("source_attribute", "shoeSize")],
            "source_attribute",
            "not a source attribute",
        ),
        (&[("kind", "constant"), ("constant", "")], "constant", "constant"),
        (&[("matching", "on"), ("precedence", "1")], "precedence", "unique"),
        (
            &[("matching", "on"), ("precedence", "2"), ("apply_on", "create")],
            "apply_on",
            "Always",
        ),
        (&[("target", "displayName")], "target", "mapped twice"),
        (&[("kind", "sometimes")], "kind", ""),
    ];
    for (extra, field, needle) in cases {
        let r = send(base(extra)).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{extra:?}");
        let (f, m) = field_error(&json(r).await);
        assert_eq!((f.as_str(), m.contains(needle)), (*field, true), "{extra:?}: {m}");
    }
    assert_eq!(view(&c, &s, &app).await["config"], before["config"]);

    // Add an expression mapping, edit it, then a constant; the order is kept.
    let r = ok(send(base(&[])).await).await;
    assert!(r["message"].as_str().unwrap().contains("initial cycle"), "{r}");
    let attrs = |v: &Value| {
        v["config"]["mappings"][0]["attributes"]
            .as_array()
            .unwrap()
            .clone()
    };
    let v = view(&c, &s, &app).await;
    let title = attrs(&v).into_iter().find(|a| a["target"] == "title").unwrap();
    assert_eq!(title["kind"], "expression");
    assert_eq!(title["source"], "Join(\" \", [givenName], [surname])");
    ok(send(base(&[
        ("original", "title"),
        ("kind", "direct"),
        ("source_attribute", "JOBTITLE"),
        ("default_value", "Staff"),
    ]))
    .await)
    .await;
    let v = view(&c, &s, &app).await;
    let title = attrs(&v).into_iter().find(|a| a["target"] == "title").unwrap();
    assert_eq!(
        (
            title["kind"].as_str(),
            title["source"].as_str(),
            title["default_value"].as_str()
        ),
        (Some("direct"), Some("jobTitle"), Some("Staff"))
    );
    ok(send(base(&[
        ("kind", "constant"),
        ("constant", "Contoso"),
        (
            "target",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:organization",
        ),
    ]))
    .await)
    .await;
    assert_eq!(attrs(&view(&c, &s, &app).await).len(), 9);

    // Delete, and restore the template's defaults.
    ok(call(
        &c,
        &s,
        "provisioning/attribute/delete",
        &[
            ("csrf", &t),
            ("app", &app),
            ("object", "user"),
            ("target", "title"),
        ],
    )
    .await)
    .await;
    assert!(!attrs(&view(&c, &s, &app).await)
        .iter()
        .any(|a| a["target"] == "title"));
    let r = call(
        &c,
        &s,
        "provisioning/attribute/delete",
        &[
            ("csrf", &t),
            ("app", &app),
            ("object", "user"),
            ("target", "title"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    ok(call(
        &c,
        &s,
        "provisioning/restore",
        &[("csrf", &t), ("app", &app), ("object", "user")],
    )
    .await)
    .await;
    assert_eq!(attrs(&view(&c, &s, &app).await), attrs(&before));

    // The users mapping cannot be disabled; the groups mapping can; actions switch off.
    ok(call(
        &c,
        &s,
        "provisioning/object",
        &[
            ("csrf", &t),
            ("app", &app),
            ("object", "user"),
            ("action_create", "on"),
            ("action_update", "on"),
        ],
    )
    .await)
    .await;
    ok(call(
        &c,
        &s,
        "provisioning/object",
        &[
            ("csrf", &t),
            ("app", &app),
            ("object", "group"),
            ("enabled", "off"),
            ("action_create", "on"),
        ],
    )
    .await)
    .await;
    let v = view(&c, &s, &app).await;
    let (users, groups) = (&v["config"]["mappings"][0], &v["config"]["mappings"][1]);
    assert_eq!(
        (users["enabled"].as_bool(), users["delete"].as_bool()),
        (Some(true), Some(false))
    );
    assert_eq!(
        (groups["enabled"].as_bool(), groups["update"].as_bool()),
        (Some(false), Some(false))
    );

    // Scoping filters: clauses ANDed in a filter, filters ORed; validated; shown as text.
    let add = |filter: &'static str, attribute: &'static str, operator: &'static str, value: &'static str| {
        let (c, s, t, app) = (c.clone(), &s, t.clone(), app.clone());
        async move {
            call(
                &c,
                s,
                "provisioning/scoping/add",
                &[
                    ("csrf", t.as_str()),
                    ("app", &app),
                    ("object", "user"),
                    ("filter", filter),
                    ("title", "Sales"),
                    ("attribute", attribute),
                    ("operator", operator),
                    ("value", value),
                ],
            )
            .await
        }
    };
    ok(add("new", "department", "EQUALS", "Sales").await).await;
    ok(add("0", "accountenabled", "is true", "").await).await;
    ok(add("new", "extensionAttribute1", "Greater_Than", "10").await).await;
    for (filter, attribute, operator, value, field) in [
        ("0", "employeeId", "Greater_Than", "ten", "value"),
        ("0", "manager", "IS NULL", "", "attribute"),
        ("0", "mail", "REGEX MATCH", "(", "value"),
        ("0", "mail", "IS TRUE", "yes", "value"),
        ("0", "mail", "LIKE", "x", "operator"),
        ("7", "mail", "IS NULL", "", "filter"),
    ] {
        let r = add(filter, attribute, operator, value).await;
        assert_eq!(
            field_error(&json(r).await).0,
            field,
            "{attribute} {operator} {value}"
        );
    }
    let v = view(&c, &s, &app).await;
    let filters = &v["config"]["mappings"][0]["scoping_filters"];
    assert_eq!(filters.as_array().unwrap().len(), 2, "{filters}");
    assert_eq!(filters[0]["clauses"][1]["attribute"], "accountEnabled");
    assert_eq!(filters[0]["clauses"][1]["operator"], "IS TRUE");
    let audit = ok(call(&c, &s, "audit/page", &[("action", "app.provisioning")]).await)
        .await
        .to_string();
    assert!(
        audit.contains(r#"(department EQUALS \"Sales\" AND accountEnabled IS TRUE)"#),
        "{audit}"
    );
    ok(call(
        &c,
        &s,
        "provisioning/scoping/delete",
        &[
            ("csrf", &t),
            ("app", &app),
            ("object", "user"),
            ("filter", "1"),
            ("clause", "0"),
        ],
    )
    .await)
    .await;
    let v = view(&c, &s, &app).await;
    assert_eq!(
        v["config"]["mappings"][0]["scoping_filters"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "an empty filter goes with its last clause"
    );
    assert_eq!(v["needs_initial_cycle"], true);
}

#[tokio::test]
async fn cli_creates_assigns_exports_and_applies() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let target = tenant(&s, "Target");
    let csv = dir.path().join("users.csv");
    std::fs::write(&csv, "userPrincipalName,displayName,department,groups\nann@contoso.com,Ann Lee,Sales,Sales team\nbob@contoso.com,Bob Ray,IT,\n").unwrap();
    let (success, out, err) = cli_in(&s, &[], &["import", "users", csv.to_str().unwrap()]);
    assert!(success, "{out}{err}");

    let (success, id, err) = cli_in(
        &s,
        &[],
        &["app", "create", "--template", "harness", "--name", "Harness Prod"],
    );
    assert!(success, "{err}");
    let id = id.trim().to_string();
    assert_eq!(id.len(), 36, "{id}");
    for (args, succeeds, needle) in [
        (
            ["harness prod", "--user", "ann@contoso.com", "--role", "User"],
            true,
            "with the role User",
        ),
        (
            [&id, "--group", "Sales team", "--role", "default_access"],
            true,
            "not provisioned",
        ),
        (
            [&id, "--group", "bob@contoso.com", "--role", "User"],
            false,
            "is a user, not a group",
        ),
        (
            [&id, "--user", "bob@contoso.com", "--role", ""],
            false,
            "select a role",
        ),
        (
            [&id, "--user", "nobody@contoso.com", "--role", "User"],
            false,
            "no user or group",
        ),
    ] {
        let mut all = vec!["app", "assign"];
        all.extend(args);
        let (success, out, err) = cli_in(&s, &[], &all);
        assert_eq!(success, succeeds, "{all:?}: {out}{err}");
        assert!(format!("{out}{err}").contains(needle), "{all:?}: {out}{err}");
    }

    // Export, then apply of the same file, changes nothing.
    let (success, exported, err) = cli_in(&s, &[], &["app", "export", &id]);
    assert!(success, "{err}");
    let file = dir.path().join("harness.json");
    std::fs::write(&file, &exported).unwrap();
    let (success, out, err) = cli_in(&s, &[], &["app", "apply", &id, file.to_str().unwrap()]);
    assert!(success, "{err}");
    assert_eq!(out.trim(), "No changes.");

    // A GitOps change: Automatic, the tenant URL, the token from the environment, a scoping filter.
    let mut doc: Value = serde_json::from_str(&exported).unwrap();
    doc["mode"] = "automatic".into();
    doc["tenant_url"] = target.url.clone().into();
    doc["settings"]["provisioning_status"] = "on".into();
    doc["mappings"][0]["scoping_filters"] = serde_json::json!([{"title": "Sales", "clauses": [{"attribute": "department", "operator": "EQUALS", "value": "Sales"}]}]);
    std::fs::write(&file, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    let (success, _, err) = cli_in(&s, &[], &["app", "apply", &id, file.to_str().unwrap()]);
    assert!(
        !success && err.contains("secret_token"),
        "automatic needs a token: {err}"
    );
    let (success, out, err) = cli_in(
        &s,
        &[("HARNESS_TOKEN", &target.key)],
        &[
            "app",
            "apply",
            &id,
            file.to_str().unwrap(),
            "--secret-token-env",
            "HARNESS_TOKEN",
        ],
    );
    assert!(success, "{err}");
    for line in [
        "Provisioning Mode: \"manual\" -> \"automatic\"",
        "Provisioning Status: \"off\" -> \"on\"",
        "users scoping filters: none -> (department EQUALS \"Sales\")",
        "Secret Token replaced",
    ] {
        assert!(out.contains(line), "{line} in {out}");
    }
    let (_, exported2, _) = cli_in(&s, &[], &["app", "export", &id]);
    assert!(!exported2.contains(&target.key));
    let (success, out, _) = cli_in(&s, &[], &["app", "apply", &id, file.to_str().unwrap()]);
    assert!(success && out.trim() == "No changes.", "{out}");
    let (success, out, err) = cli_in(&s, &[], &["app", "test-connection", &id]);
    assert!(success, "{out}{err}");

    // Invalid files change nothing and say where the problem is.
    doc["mappings"][0]["attributes"][0]["target"] = "id".into();
    std::fs::write(&file, serde_json::to_string(&doc).unwrap()).unwrap();
    let (success, _, err) = cli_in(&s, &[], &["app", "apply", &id, file.to_str().unwrap()]);
    assert!(!success && err.contains("user.0.target"), "{err}");
    std::fs::write(&file, r#"{"mode": "manual", "surprise": 1}"#).unwrap();
    let (success, _, err) = cli_in(&s, &[], &["app", "apply", &id, file.to_str().unwrap()]);
    assert!(
        !success && err.contains("not a provisioning configuration"),
        "{err}"
    );
    // A value outside a closed set is refused with the sentence the console shows.
    doc["mappings"][0]["attributes"][0]["target"] = "userName".into();
    doc["settings"]["scope"] = "everyone".into();
    std::fs::write(&file, serde_json::to_string(&doc).unwrap()).unwrap();
    let (success, _, err) = cli_in(&s, &[], &["app", "apply", &id, file.to_str().unwrap()]);
    assert!(
        !success && err.contains("Scope is assigned (Sync only assigned users and groups) or all"),
        "{err}"
    );
    let (_, exported3, _) = cli_in(&s, &[], &["app", "export", &id]);
    assert_eq!(exported3, exported2);
    let (success, _, err) = cli_in(&s, &[], &["app", "export", "no such app"]);
    assert!(!success && err.contains("no application"), "{err}");
}
