//! `GET /metrics`: served only as configured (a bearer token on the main address, or an address
//! of its own), in the Prometheus text format, with the figures an operator alerts on.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::apps::{eventually, setup_with};
use common::{bin, tenant, Server, ADMIN_PASSWORD};
use reqwest::StatusCode;
use serde_json::json;

const TOKEN: &str = "metrics-token-0123456789abcdef0123456789";

async fn scrape(url: &str, token: Option<&str>) -> (StatusCode, String, String) {
    let mut r = reqwest::Client::new().get(url);
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    let r = r.send().await.unwrap();
    let status = r.status();
    let content_type = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, content_type, r.text().await.unwrap())
}

/// The value of one sample (`name{labels}`), when it is there.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|v| v.strip_prefix(' ')))
        .map(|v| v.trim().parse().unwrap())
}

/// An application's gauge (`metric{app="..",name=".."}`), whatever its name.
fn app_gauge(text: &str, metric: &str, app: &str) -> Option<f64> {
    let start = format!("{metric}{{app=\"{app}\",name=\"");
    text.lines()
        .find(|l| l.starts_with(&start))
        .and_then(|l| l.rsplit(' ').next())
        .map(|v| v.parse().unwrap())
}

#[tokio::test]
async fn metrics_need_the_token_and_count_what_happened() {
    // An application provisioning into a local account, so that cycles, outbound requests and
    // SCIM operations all happen.
    let x = setup_with("scim2", &[("PROVISIO_METRICS_TOKEN", TOKEN)]).await;
    x.user("ann@contoso.com", "Ann", &[]).await;
    x.assign("ann@contoso.com", "").await;
    x.next_cycle(None).await;
    let url = x.s.url("/metrics");

    let (status, _, body) = scrape(&url, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, _, body) = scrape(&url, Some("metrics-token-wrong-0123456789abcdef0123")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(!body.contains("provisio_"), "{body}");

    // A request to an account that does not exist is counted, but not under a made-up account.
    let stranger = reqwest::Client::new()
        .get(x.s.url("/gateway/api/scim/account/made-up-account/Users"))
        .bearer_auth("pvs_not-a-key")
        .send()
        .await
        .unwrap();
    assert_eq!(stranger.status(), StatusCode::UNAUTHORIZED);

    let app = x.app.clone();
    let account = x.target.account.clone();
    let body = eventually(30, "the cycle's figures are scraped", || async {
        let (status, content_type, body) = scrape(&url, Some(TOKEN)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(
            content_type.starts_with("text/plain; version=0.0.4"),
            "{content_type}"
        );
        let cycles = format!(
            "provisio_provisioning_cycles_total{{app=\"{app}\",kind=\"initial\",outcome=\"Succeeded\"}}"
        );
        if sample(&body, &cycles).is_some() {
            Ok(body)
        } else {
            Err(format!("no {cycles} in\n{body}"))
        }
    })
    .await;
    let has = |series: &str| {
        assert!(
            sample(&body, series).is_some_and(|v| v >= 1.0),
            "{series} in\n{body}"
        )
    };
    has(&format!(
        "provisio_provisioning_objects_total{{app=\"{app}\",action=\"created\"}}"
    ));
    has(&format!(
        "provisio_outbound_requests_total{{app=\"{app}\",status=\"201\"}}"
    ));
    has(&format!(
        "provisio_scim_operations_total{{account=\"{account}\",operation=\"create\",status=\"201\"}}"
    ));
    has("provisio_scim_operations_total{account=\"unauthenticated\",operation=\"list\",status=\"401\"}");
    has("provisio_http_requests_total{family=\"scim\",status=\"201\"}");
    has("provisio_http_request_duration_seconds_count{family=\"server_fn\"}");
    has("provisio_db_write_wait_seconds_count{scope=\"rows\"}");
    has("provisio_db_pool_connections{state=\"max\"}");
    has("provisio_scim_account_turn_wait_seconds_count");
    assert!(!body.contains("made-up-account"), "{body}");
    assert_eq!(
        app_gauge(&body, "provisio_app_quarantined", &app),
        Some(0.0),
        "{body}"
    );
    assert_eq!(
        app_gauge(&body, "provisio_app_escrowed_objects", &app),
        Some(0.0),
        "{body}"
    );
    assert!(body.contains("# TYPE provisio_http_request_duration_seconds histogram"));
    // The token never reaches the log.
    assert!(!x.s.output_text().contains(TOKEN));
}

/// A quarantined application shows as 1 in `provisio_app_quarantined`, what an alert watches.
#[tokio::test]
async fn a_quarantined_application_is_scraped_as_quarantined() {
    let x = setup_with("scim2", &[("PROVISIO_METRICS_TOKEN", TOKEN)]).await;
    x.user("ann@contoso.com", "Ann", &[]).await;
    x.assign("ann@contoso.com", "").await;
    // A token the account refuses: the job goes into quarantine.
    x.configure_with("pvs_refused-by-the-account", "on", "500").await;
    let url = x.s.url("/metrics");
    eventually(60, "the quarantine is scraped", || async {
        let (_, _, body) = scrape(&url, Some(TOKEN)).await;
        match app_gauge(&body, "provisio_app_quarantined", &x.app) {
            Some(1.0) => Ok(()),
            other => Err(format!("quarantined = {other:?}")),
        }
    })
    .await;
    let (_, _, body) = scrape(&url, Some(TOKEN)).await;
    assert!(
        sample(
            &body,
            &format!(
                "provisio_outbound_requests_total{{app=\"{}\",status=\"401\"}}",
                x.app
            )
        )
        .is_some(),
        "{body}"
    );
}

#[tokio::test]
async fn metrics_on_an_address_of_their_own_and_nowhere_else() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start_with_env(dir.path(), &[("PROVISIO_METRICS_BIND", "127.0.0.1:0")]);
    let addr = eventually(10, "the metrics address is logged", || async {
        s.output_text()
            .split("metrics on http://")
            .nth(1)
            .map(|r| r.split('/').next().unwrap().to_string())
            .ok_or_else(|| "not yet".to_string())
    })
    .await;
    // Not on the main address: it is not configured there (no token).
    let (status, _, body) = scrape(&s.url("/metrics"), None).await;
    assert!(!body.contains("provisio_http_requests_total"), "{status}: {body}");
    // A SCIM request to the main address, then the separate address answers without a token.
    let t = tenant(&s, "Tenant");
    let (status, _) = {
        let r = reqwest::Client::new()
            .post(format!("{}/Users", t.url))
            .bearer_auth(&t.key)
            .json(&json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "bo@example.com"}))
            .send()
            .await
            .unwrap();
        (r.status(), ())
    };
    assert_eq!(status, StatusCode::CREATED);
    let (status, _, body) = scrape(&format!("http://{addr}/metrics"), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        body.contains(&format!(
            "provisio_scim_operations_total{{account=\"{}\",operation=\"create\",status=\"201\"}} 1",
            t.account
        )),
        "{body}"
    );
    // Only /metrics there.
    let (status, _, _) = scrape(&format!("http://{addr}/login"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[test]
fn a_short_metrics_token_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let out = bin()
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env("PROVISIO_DATA_DIR", dir.path())
        .envs(common::db_env(dir.path()))
        .env("PROVISIO_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("PROVISIO_METRICS_TOKEN", "short")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--metrics-token must be at least 32"), "{err}");
    assert!(!err.contains("short"), "the value is not repeated: {err}");
}
