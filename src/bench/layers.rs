//! What each layer of the SCIM lookup path costs, measured in-process on the database
//! `bench-lookup` loaded: per call, in microseconds, one after the other on one task (no HTTP, no
//! concurrency), so the figures add up to a request's own work and can be set against wrk's.

use crate::scim::schema::Kind;
use crate::scim_server::service::{self, Ctx, ListParams, Runtime};
use sha2::{Digest, Sha256};
use std::time::Instant;

/// Runs `f` `n` times; microseconds per call.
async fn per_call<F, Fut>(n: u32, mut f: F) -> f64
where
    F: FnMut(u32) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let started = Instant::now();
    for i in 0..n {
        f(i).await;
    }
    started.elapsed().as_secs_f64() * 1e6 / f64::from(n)
}

/// The layers' costs: (what, microseconds per lookup).
pub async fn measure(
    db: &std::path::Path,
    account: &str,
    token: &str,
    users: u64,
) -> anyhow::Result<Vec<(&'static str, f64)>> {
    let pool = crate::db::connect(&crate::db::DatabaseTarget::Sqlite {
        path: db.to_path_buf(),
    })
    .await?;
    let native = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(2)
        .connect_with(sqlx::sqlite::SqliteConnectOptions::new().filename(db))
        .await?;
    let hash = crate::scim_server::auth::hash_key(token);
    let name = |i: u32| format!("bench.user.{}@example.com", u64::from(i) * 7919 % users);
    let filter = |i: u32| format!("userName eq \"{}\"", name(i));
    let mut out = Vec::new();

    out.push((
        "SHA-256 of the key",
        per_call(200_000, |_| {
            let _ = Sha256::digest(token.as_bytes());
            async {}
        })
        .await,
    ));
    out.push((
        "filter parsed and planned",
        per_call(200_000, |i| {
            let f = service::parse_filter(&filter(i)).ok();
            let _ = f.map(|f| crate::scim_server::query::plan(Kind::User, &f));
            async {}
        })
        .await,
    ));
    out.push((
        "key with its role, Any driver (Provisio)",
        per_call(5_000, |_| {
            let (pool, hash) = (&pool, &hash);
            async move {
                let _ = crate::db::scim_accounts::key_by_hash(pool, hash).await;
            }
        })
        .await,
    ));
    out.push((
        "key alone, SQLite driver (the baseline's query)",
        per_call(5_000, |_| {
            let (native, hash) = (&native, &hash);
            async move {
                let _ =
                    sqlx::query("SELECT account_id FROM scim_api_keys WHERE hash = ? AND revoked_at IS NULL")
                        .bind(hash)
                        .fetch_optional(native)
                        .await;
            }
        })
        .await,
    ));
    out.push((
        "user read, SQLite driver (the baseline's query)",
        per_call(5_000, |i| {
            let (native, account) = (&native, account);
            let name = name(i);
            async move {
                let _ = sqlx::query(
                    "SELECT id, doc, version, created_at, last_modified FROM scim_users WHERE account_id = ? AND user_name_lower = ?",
                )
                .bind(account)
                .bind(name)
                .fetch_all(native)
                .await;
            }
        })
        .await,
    ));
    let rt = Runtime::default();
    let ctx = Ctx {
        pool: &pool,
        rt: &rt,
        account,
        base: "http://127.0.0.1/gateway/api/scim/account/x",
        source: "bench",
    };
    out.push((
        "the list service: user read, its groups, rendering, projection (Any driver)",
        per_call(5_000, |i| {
            let (ctx, f) = (&ctx, filter(i));
            async move {
                let p = ListParams {
                    filter: Some(f),
                    start_index: 1,
                    ..Default::default()
                };
                let _ = service::list(ctx, Kind::User, &p)
                    .await
                    .map(|page| page.body().to_string());
            }
        })
        .await,
    ));
    pool.close().await;
    native.close().await;
    Ok(out)
}
