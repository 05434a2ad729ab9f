//! `provisio bench-lookup`: the SCIM lookup path (`GET /Users?filter=userName eq "..."`) against
//! a baseline that does only the essential work, measured with `wrk` in one run, alternating, so
//! the ratio between them is what BENCHMARKS.md tracks.
//!
//! The baseline is a plain axum handler on Provisio's own SQLite file (after Provisio loaded the
//! users): the bearer key's SHA-256 looked up by its index, the user read by its indexed
//! (account, lower-cased userName), a ListResponse written with serde_json. No middleware, no
//! filter language, no projection, no metrics: what any endpoint must at least do.
//!
//! A benchmark, not a test: it asserts nothing.

use super::{load, start_provisio, Guard, Servers, Stats};
use anyhow::{anyhow, Context};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use sqlx::Row;
use std::collections::HashMap;
use std::process::Command;

#[derive(Debug, Clone, clap::Args)]
pub struct LookupArgs {
    /// Users in the account.
    #[arg(long, default_value_t = 10_000)]
    pub users: u64,
    /// Seconds per wrk run.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// wrk's connections (and 2 threads).
    #[arg(long, default_value_t = 4)]
    pub connections: usize,
    /// Rounds; each runs the baseline and Provisio once, in alternating order.
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// Provisio's log level: `info` (the default in production) writes a line per request
    /// (to /dev/null here); `warn` writes none.
    #[arg(long, default_value = "info")]
    pub log: String,
}

/// The baseline's lookup: key, user, ListResponse.
async fn baseline_lookup(
    State(pool): State<sqlx::SqlitePool>,
    Path(account): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let Some(token) = headers
        .get("authorization")
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
    else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let hash = format!("{:x}", Sha256::digest(token.as_bytes()));
    let key = sqlx::query("SELECT account_id FROM scim_api_keys WHERE hash = ? AND revoked_at IS NULL")
        .bind(&hash)
        .fetch_optional(&pool)
        .await;
    match key {
        Ok(Some(r)) if r.get::<String, _>("account_id") == account => {}
        Ok(_) => return StatusCode::UNAUTHORIZED.into_response(),
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
    // `userName eq "x"`, and nothing else.
    let Some(name) = q
        .get("filter")
        .and_then(|f| f.split_once('"'))
        .and_then(|(_, r)| r.rsplit_once('"'))
        .map(|(n, _)| n.to_lowercase())
    else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let rows = sqlx::query(
        "SELECT id, doc, version, created_at, last_modified FROM scim_users WHERE account_id = ? AND user_name_lower = ?",
    )
    .bind(&account)
    .bind(&name)
    .fetch_all(&pool)
    .await;
    let Ok(rows) = rows else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let resources: Vec<Value> = rows
        .iter()
        .map(|r| {
            let mut doc: Value = serde_json::from_str(r.get::<&str, _>("doc")).unwrap_or_default();
            let id: String = r.get("id");
            doc["id"] = json!(id);
            doc["meta"] = json!({
                "resourceType": "User",
                "created": r.get::<String, _>("created_at"),
                "lastModified": r.get::<String, _>("last_modified"),
                "version": format!("W/\"{}\"", r.get::<i64, _>("version")),
                "location": format!("/Users/{id}"),
            });
            doc
        })
        .collect();
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": resources.len(),
        "startIndex": 1,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    });
    ([("content-type", "application/scim+json")], body.to_string()).into_response()
}

/// Serves the baseline on `db` (read only) at a free port; its base URL.
async fn start_baseline(db: &std::path::Path) -> anyhow::Result<String> {
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(db)
        .read_only(true);
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await?;
    let app = axum::Router::new()
        .route("/gateway/api/scim/account/{account}/Users", get(baseline_lookup))
        .with_state(pool);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(format!("http://{addr}"))
}

/// One wrk run at `url` (a tenant URL) with random users' lookups: req/s and p99 in ms.
fn wrk(
    url: &str,
    token: &str,
    users: u64,
    args: &LookupArgs,
    script_dir: &std::path::Path,
) -> anyhow::Result<Stats> {
    let script = script_dir.join("lookup.lua");
    let path = url
        .split_once("://")
        .and_then(|(_, r)| r.split_once('/'))
        .map(|(_, p)| format!("/{p}"))
        .ok_or_else(|| anyhow!("no path in {url}"))?;
    std::fs::write(
        &script,
        format!(
            r#"request = function()
  local i = math.random(0, {max})
  return wrk.format("GET", "{path}/Users?filter=userName%20eq%20%22bench.user." .. i .. "%40example.com%22",
    {{["Authorization"] = "Bearer {token}"}})
end
"#,
            max = users - 1
        ),
    )?;
    let out = Command::new("wrk")
        .args([
            "-t2",
            &format!("-c{}", args.connections),
            &format!("-d{}s", args.seconds),
            "--latency",
            "-s",
        ])
        .arg(&script)
        .arg(url)
        .output()
        .context("run wrk (Debian's package `wrk`; scripts/bench-lookup.sh installs it)")?;
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |prefix: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(prefix).map(|v| v.trim().to_string()))
            .ok_or_else(|| anyhow!("wrk said no {prefix:?}: {text}"))
    };
    let rate: f64 = field("Requests/sec:")?.parse()?;
    let p50 = millis(&field("50%")?)?;
    let p99 = millis(&field("99%")?)?;
    let errors = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Non-2xx or 3xx responses:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    Ok(Stats {
        requests: (rate * args.seconds as f64) as u64,
        errors,
        seconds: args.seconds as f64,
        p50_ms: p50,
        p99_ms: p99,
    })
}

/// wrk's latency ("812.00us", "1.20ms", "2.01s") in milliseconds.
fn millis(v: &str) -> anyhow::Result<f64> {
    let (n, unit) = v
        .find(|c: char| c.is_ascii_alphabetic())
        .map(|i| v.split_at(i))
        .ok_or_else(|| anyhow!("latency {v:?}"))?;
    let n: f64 = n.parse()?;
    Ok(match unit {
        "us" => n / 1000.0,
        "ms" => n,
        "s" => n * 1000.0,
        _ => return Err(anyhow!("latency unit {unit:?}")),
    })
}

/// The account id at the end of a tenant URL.
fn account_id(tenant_url: &str) -> String {
    tenant_url.rsplit('/').next().unwrap_or_default().to_string()
}

pub async fn run(args: LookupArgs) -> anyhow::Result<()> {
    let mut children = Guard::default();
    let servers = Servers {
        connections: 8,
        database: None,
        instances: 1,
        accounts: 1,
        log: &args.log,
        exe: None,
        cpu: None,
    };
    let (mut ours, _quiet, dir) = start_provisio(&servers, &mut children).await?;
    eprintln!("loading {} users into provisio…", args.users);
    load(&mut ours, args.users, 0).await?;
    let account = &ours.accounts[0];
    let provisio = account.bases[0].clone();
    let baseline_base = start_baseline(&dir.path().join("provisio.db")).await?;
    let tail = provisio
        .find("/gateway/")
        .map(|i| provisio[i..].to_string())
        .ok_or_else(|| anyhow!("tenant URL {provisio}"))?;
    let baseline = format!("{baseline_base}{tail}");
    println!(
        "SCIM userName eq lookups, {} users, wrk -t2 -c{} -d{}s, {} rounds (alternating); provisio logging at {}",
        args.users, args.connections, args.seconds, args.rounds, args.log
    );
    println!(
        "{:<6} {:>13} {:>9} {:>9} {:>13} {:>9} {:>9} {:>7}",
        "round", "baseline r/s", "p50 ms", "p99 ms", "provisio r/s", "p50 ms", "p99 ms", "ratio"
    );
    for round in 0..args.rounds {
        let run_one = |url: &str| wrk(url, &account.token, args.users, &args, dir.path());
        let (b, p) = if round % 2 == 0 {
            let b = run_one(&baseline)?;
            (b, run_one(&provisio)?)
        } else {
            let p = run_one(&provisio)?;
            (run_one(&baseline)?, p)
        };
        let rate = |s: &Stats| s.requests as f64 / s.seconds;
        println!(
            "{:<6} {:>13.0} {:>9.2} {:>9.2} {:>13.0} {:>9.2} {:>9.2} {:>6.0}%",
            round + 1,
            rate(&b),
            b.p50_ms,
            b.p99_ms,
            rate(&p),
            p.p50_ms,
            p.p99_ms,
            100.0 * rate(&p) / rate(&b).max(1e-9)
        );
        if b.errors + p.errors > 0 {
            println!("  non-2xx answers: baseline {}, provisio {}", b.errors, p.errors);
        }
    }
    println!();
    println!("the lookup's layers in Provisio, in-process, one call at a time (µs per call):");
    let path = dir.path().join("provisio.db");
    for (what, us) in
        super::layers::measure(&path, &account_id(&provisio), &account.token, args.users).await?
    {
        println!("  {us:>8.1}  {what}");
    }
    Ok(())
}
