//! The database: pool, migrations, and one module per aggregate. SQL lives here and nowhere else.
//!
//! Queries use numbered `$n` placeholders and portable types so the same text serves SQLite now and
//! PostgreSQL later.

pub mod apps;
pub mod audit;
pub mod console_users;
pub mod directory;
pub mod engine;
pub mod jobs;
pub mod notifications;
pub mod provisioning;
pub mod scim_accounts;
pub mod scim_resources;

use crate::config::DatabaseTarget;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection, SqlitePool};
use std::time::Duration;

pub type Pool = SqlitePool;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

fn sqlite_options(path: &std::path::Path) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(path)
        .journal_mode(SqliteJournalMode::Wal)
        // NORMAL is durable across process crashes in WAL mode; only an OS crash can lose the last
        // transactions, which is the usual trade for an embedded database.
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(BUSY_TIMEOUT)
        .log_statements(tracing::log::LevelFilter::Trace)
}

/// Opens the database (creating the SQLite file if needed) and applies pending migrations.
pub async fn connect(target: &DatabaseTarget) -> anyhow::Result<Pool> {
    open(target, true).await
}

/// [`connect`] for the long-running server: WAL checkpoints run from a background task instead
/// of inside whichever write commits when the log passes 1,000 pages. A checkpoint copies the
/// log into the database file and syncs it, which on a large database under a steady write load
/// (an initial cycle into a local account) took seconds; inside a commit it held up every write
/// behind it (SCIM requests timed out). The background task checkpoints passively (never
/// waiting for readers or writers) twice a second.
pub async fn connect_server(target: &DatabaseTarget) -> anyhow::Result<Pool> {
    let pool = open(target, false).await?;
    tokio::spawn(checkpoints(pool.clone()));
    Ok(pool)
}

async fn checkpoints(pool: Pool) {
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if pool.is_closed() {
            return;
        }
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&pool).await {
            tracing::debug!("WAL checkpoint: {e}");
        }
    }
}

async fn open(target: &DatabaseTarget, autocheckpoint: bool) -> anyhow::Result<Pool> {
    let DatabaseTarget::Sqlite { path } = target;
    let mut options = sqlite_options(path).create_if_missing(true);
    if !autocheckpoint {
        options = options.pragma("wal_autocheckpoint", "0");
    }
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options)
        .await
        .map_err(|e| anyhow::anyhow!("cannot open the database {}: {e}", path.display()))?;
    MIGRATOR
        .run(&pool)
        .await
        .map_err(|e| anyhow::anyhow!("cannot apply database migrations: {e}"))?;
    Ok(pool)
}

/// Readiness: the pool answers, and the database is still reachable where the settings say (for
/// SQLite a fresh connection to the file, which fails when the file or its directory is gone,
/// something the pool's already-open connections would not notice).
pub async fn check_ready(pool: &Pool, target: &DatabaseTarget) -> Result<(), String> {
    let probe = async {
        sqlx::query_scalar::<_, i64>("SELECT 1")
            .fetch_one(pool)
            .await
            .map_err(|e| format!("pool: {e}"))?;
        let DatabaseTarget::Sqlite { path } = target;
        let mut conn = sqlite_options(path)
            .create_if_missing(false)
            .connect()
            .await
            .map_err(|e| format!("database file: {e}"))?;
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM console_users")
            .fetch_one(&mut conn)
            .await
            .map_err(|e| format!("database file: {e}"))?;
        let _ = conn.close().await;
        Ok(())
    };
    match tokio::time::timeout(Duration::from_secs(3), probe).await {
        Ok(r) => r,
        Err(_) => Err("database did not answer within 3 s".into()),
    }
}

/// True when the error is a violated UNIQUE constraint, which callers turn into a clear
/// "already exists" message instead of a server error.
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

/// Starts a transaction that will write. SQLite's default (deferred) transaction takes the write
/// lock only at its first write, and if another connection wrote since the transaction's first
/// read, that upgrade fails at once with "database is locked" instead of waiting; taking the lock
/// up front makes a concurrent writer (the CLI, a last-used update) a short wait, not an error.
pub const BEGIN_WRITE: &str = "BEGIN IMMEDIATE";

/// This process's turn to write (see [`begin_write`]); the next writer goes when it is dropped.
pub type WriteTurn = tokio::sync::MutexGuard<'static, ()>;

/// Starts a write transaction after the writers before it in this process. SQLite has one
/// writer; a connection that finds the lock taken sleeps in SQLite's busy handler (1, 2, 5 ... up
/// to 100 ms a time) rather than waking when it is free, so concurrent writers in one process
/// (the SCIM endpoint's creates and a provisioning cycle's records) lose most of their time
/// sleeping. Waiting here instead hands the lock over at once. Writers that do not come through
/// here still work, through the busy timeout.
pub async fn begin_write(pool: &Pool) -> sqlx::Result<(WriteTurn, sqlx::Transaction<'static, sqlx::Sqlite>)> {
    static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    // As long as SQLite's busy timeout would have let it wait.
    let turn = tokio::time::timeout(BUSY_TIMEOUT, TURN.lock())
        .await
        .map_err(|_| sqlx::Error::PoolTimedOut)?;
    let tx = pool.begin_with(BEGIN_WRITE).await?;
    Ok((turn, tx))
}
