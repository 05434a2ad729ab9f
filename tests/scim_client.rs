//! The SCIM client against real servers: our own endpoint (a local account) for every operation,
//! and small stand-ins for a throttling target and a wrong token.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{tenant, Server};
use provisio::scim_client::{ClientError, Kind, RetryPolicy, Target};
use serde_json::json;
use std::io::Write;
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn doc(v: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    v.as_object().unwrap().clone()
}

#[tokio::test]
async fn every_operation_against_a_local_account() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let t = tenant(&s, "Target");
    let target = Target::new(&t.url, &t.key, reqwest::Client::new());

    let caps = target.discover().await.unwrap();
    assert!(caps.patch && caps.filter, "{caps:?}");
    assert!(caps.bulk && caps.bulk_max_operations > 0, "{caps:?}");

    let created = target
        .create(
            Kind::User,
            &doc(json!({
                "userName": "ann@contoso.com",
                "active": true,
                "displayName": "Ann Lee",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Sales"}
            })),
        )
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap().to_string();
    let found = target
        .find(Kind::User, "userName", "ANN@contoso.com")
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["id"], id.as_str());
    assert!(
        target
            .find(Kind::User, "userName", "nobody\"@x")
            .await
            .unwrap()
            .is_empty(),
        "quotes are escaped"
    );

    target
        .patch(
            Kind::User,
            &id,
            &[
                json!({"op": "replace", "path": "displayName", "value": "Ann Lee-Smith"}),
                json!({"op": "replace", "path": "active", "value": false}),
            ],
        )
        .await
        .unwrap();
    let got = target.get(Kind::User, &id).await.unwrap();
    assert_eq!(
        (got["displayName"].as_str(), got["active"].as_bool()),
        (Some("Ann Lee-Smith"), Some(false))
    );
    let replaced = target
        .replace(
            Kind::User,
            &id,
            &doc(json!({"userName": "ann@contoso.com", "displayName": "Ann"})),
        )
        .await
        .unwrap();
    assert_eq!(replaced["displayName"], "Ann");

    // A duplicate create is a Conflict; a vanished object is InvalidAnchor; delete is idempotent.
    let dup = target
        .create(Kind::User, &doc(json!({"userName": "ann@contoso.com"})))
        .await
        .unwrap_err();
    assert_eq!(dup.code(), "Conflict", "{dup}");
    target.delete(Kind::User, &id).await.unwrap();
    target.delete(Kind::User, &id).await.unwrap();
    let gone = target.get(Kind::User, &id).await.unwrap_err();
    assert_eq!(gone.code(), "InvalidAnchor");

    // Groups with members.
    let u = target
        .create(Kind::User, &doc(json!({"userName": "bob@contoso.com"})))
        .await
        .unwrap();
    let g = target
        .create(
            Kind::Group,
            &doc(json!({"displayName": "Sales", "members": [{"value": u["id"]}]})),
        )
        .await
        .unwrap();
    let found = target.find(Kind::Group, "displayName", "Sales").await.unwrap();
    assert_eq!(found[0]["id"], g["id"]);

    // Bulk creates: one outcome each, in order; a duplicate or an invalid user fails alone.
    let outcomes = target
        .create_many(
            Kind::User,
            &[
                doc(json!({"userName": "cy@contoso.com", "displayName": "Cy"})),
                doc(json!({"userName": "CY@contoso.com"})),
                doc(json!({"displayName": "no userName"})),
                doc(json!({"userName": "di@contoso.com"})),
            ],
        )
        .await
        .unwrap();
    assert_eq!(outcomes.len(), 4);
    let cy = outcomes[0].clone().unwrap();
    assert_eq!(target.get(Kind::User, &cy).await.unwrap()["displayName"], "Cy");
    assert_eq!(outcomes[1].as_ref().unwrap_err().code(), "Conflict");
    assert!(
        matches!(outcomes[2], Err(ClientError::Http { status: 400, .. })),
        "{:?}",
        outcomes[2]
    );
    let di = outcomes[3].clone().unwrap();
    assert_eq!(
        target
            .find(Kind::User, "userName", "di@contoso.com")
            .await
            .unwrap()[0]["id"],
        di.as_str()
    );

    // A wrong token is not retried: Unauthorized at once.
    let mut wrong = Target::new(&t.url, "nope", reqwest::Client::new());
    wrong.retry = RetryPolicy {
        attempts: 5,
        base: Duration::from_secs(1),
        cap: Duration::from_secs(5),
    };
    let started = Instant::now();
    let e = wrong.find(Kind::User, "userName", "x").await.unwrap_err();
    assert!(e.is_unauthorized(), "{e}");
    assert!(started.elapsed() < Duration::from_secs(1));
}

/// Answers 429 with `Retry-After: 1` to the first `throttled` requests, then an empty list.
fn throttling_target(throttled: usize) -> (u16, Arc<AtomicUsize>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    std::thread::spawn(move || {
        for stream in l.incoming().flatten() {
            common::read_request_head(&stream);
            let n = counter.fetch_add(1, Ordering::SeqCst);
            let mut stream = stream;
            let _ = if n < throttled {
                let body = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"429","detail":"slow down"}"#;
                write!(stream, "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\nContent-Type: application/scim+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len())
            } else {
                let body = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":0,"Resources":[]}"#;
                write!(stream, "HTTP/1.1 200 OK\r\nContent-Type: application/scim+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len())
            };
        }
    });
    (port, seen)
}

#[tokio::test]
async fn throttling_is_retried_after_the_time_the_target_asks_for() {
    let (port, seen) = throttling_target(2);
    let target = Target::new(
        &format!("http://127.0.0.1:{port}/scim"),
        "t",
        reqwest::Client::new(),
    );
    let started = Instant::now();
    let found = target.find(Kind::User, "userName", "x").await.unwrap();
    assert!(found.is_empty());
    assert_eq!(seen.load(Ordering::SeqCst), 3);
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "Retry-After: 1, twice"
    );

    // Out of attempts: the last error is returned, still marked transient (for the escrow).
    let (port, seen) = throttling_target(usize::MAX);
    let mut target = Target::new(
        &format!("http://127.0.0.1:{port}/scim"),
        "t",
        reqwest::Client::new(),
    );
    target.retry = RetryPolicy {
        attempts: 2,
        base: Duration::from_millis(10),
        cap: Duration::from_millis(50),
    };
    let e = target.find(Kind::User, "userName", "x").await.unwrap_err();
    assert!(
        matches!(e, ClientError::Http { status: 429, .. }) && e.is_transient(),
        "{e}"
    );
    assert_eq!(e.code(), "TooManyRequests");
    assert_eq!(seen.load(Ordering::SeqCst), 2);
}

/// The server checkpoints its write-ahead log in the background (its commits no longer do):
/// users created through the SCIM endpoint reach the database file itself within seconds, read
/// here with the log ignored (`immutable`). Without a checkpointer they would stay in the log
/// until the server stopped.
#[tokio::test]
async fn writes_reach_the_database_file_through_background_checkpoints() {
    use sqlx::sqlite::SqliteConnectOptions;
    use sqlx::{ConnectOptions, Row};
    if common::postgres().is_some() {
        eprintln!("SQLite only: PostgreSQL checkpoints by itself");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let t = tenant(&s, "Target");
    let target = Target::new(&t.url, &t.key, reqwest::Client::new());
    let docs: Vec<_> = (0..40)
        .map(|i| doc(json!({"userName": format!("wal{i}@contoso.com")})))
        .collect();
    let outcomes = target.create_many(Kind::User, &docs).await.unwrap();
    assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
    let file = dir.path().join("provisio.db");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let count = async {
            let mut conn = SqliteConnectOptions::new()
                .filename(&file)
                .read_only(true)
                .immutable(true)
                .connect()
                .await
                .ok()?;
            let row = sqlx::query("SELECT count(*) FROM scim_users WHERE user_name_lower LIKE 'wal%'")
                .fetch_one(&mut conn)
                .await
                .ok()?;
            Some(row.get::<i64, _>(0))
        }
        .await;
        if count == Some(40) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the database file holds {count:?} of the 40 users after 20 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
