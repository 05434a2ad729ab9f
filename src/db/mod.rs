//! The database: pool, migrations, and one module per aggregate. SQL lives here and nowhere else.
//!
//! Queries use numbered `$n` placeholders and portable types (text, 64-bit integers) so the same
//! text serves SQLite and PostgreSQL; [`Backend`] picks the few statements where they differ.

pub mod apps;
pub mod audit;
pub mod console_users;
pub mod directory;
pub mod engine;
pub mod jobs;
pub mod leases;
pub mod notifications;
pub mod provisioning;
pub mod scim_accounts;
pub mod scim_resources;

use crate::config::DatabaseTarget;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection, Executor};
use std::time::Duration;

pub mod sql;

/// One pool type for both databases: sqlx's Any driver picks SQLite or PostgreSQL from the URL at
/// run time, and queries are written once in the SQL both understand.
pub type Pool = sqlx::AnyPool;
pub type Conn = sqlx::AnyConnection;
pub type Tx = sqlx::Transaction<'static, sqlx::Any>;
pub type Row = sqlx::any::AnyRow;

static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Which database a pool or connection talks to, for the few statements the dialects disagree on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of(pool: &Pool) -> Backend {
        if pool
            .connect_options()
            .database_url
            .scheme()
            .starts_with("postgres")
        {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }

    pub fn of_conn(conn: &Conn) -> Backend {
        if conn.backend_name() == "PostgreSQL" {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }
}

pub(crate) fn sqlite_options(path: &std::path::Path) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(path)
        .busy_timeout(BUSY_TIMEOUT)
        .log_statements(tracing::log::LevelFilter::Trace)
}

/// What every SQLite connection sets when it opens. The Any driver opens SQLite from a URL, which
/// carries only the file and its mode, so these run after connecting.
fn sqlite_pragmas(autocheckpoint: bool) -> String {
    let mut p = format!(
        // NORMAL is durable across process crashes in WAL mode; only an OS crash can lose the last
        // transactions, which is the usual trade for an embedded database.
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = {};",
        BUSY_TIMEOUT.as_millis()
    );
    if !autocheckpoint {
        p.push_str(" PRAGMA wal_autocheckpoint = 0;");
    }
    p
}

/// Opens the database (creating the SQLite file if needed) and applies pending migrations.
pub async fn connect(target: &DatabaseTarget) -> anyhow::Result<Pool> {
    open(target, true).await
}

/// [`connect`] for the long-running server: on SQLite, WAL checkpoints run from a background task
/// instead of inside whichever write commits when the log passes 1,000 pages. A checkpoint copies
/// the log into the database file and syncs it, which on a large database under a steady write
/// load (an initial cycle into a local account) took seconds; inside a commit it held up every
/// write behind it (SCIM requests timed out). The background task checkpoints passively (never
/// waiting for readers or writers) twice a second.
pub async fn connect_server(target: &DatabaseTarget) -> anyhow::Result<Pool> {
    let pool = open(target, false).await?;
    if Backend::of(&pool) == Backend::Sqlite {
        tokio::spawn(checkpoints(pool.clone()));
    }
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
    sqlx::any::install_default_drivers();
    let (pool, migrator) = match target {
        DatabaseTarget::Sqlite { path } => {
            let url = sqlite_options(path).create_if_missing(true).to_url_lossy();
            let pragmas = sqlite_pragmas(autocheckpoint);
            let pool = AnyPoolOptions::new()
                .max_connections(8)
                .acquire_timeout(Duration::from_secs(5))
                .after_connect(move |conn, _| {
                    let pragmas = pragmas.clone();
                    Box::pin(async move {
                        conn.execute(pragmas.as_str()).await?;
                        Ok(())
                    })
                })
                .connect_with(
                    AnyConnectOptions::from_url(&url)?.log_statements(tracing::log::LevelFilter::Trace),
                )
                .await
                .map_err(|e| anyhow::anyhow!("cannot open the database {}: {e}", path.display()))?;
            (pool, &SQLITE_MIGRATOR)
        }
        DatabaseTarget::Postgres { url, max_connections } => {
            let options = AnyConnectOptions::from_url(&url.parse()?)
                .map_err(|e| anyhow::anyhow!("the database URL cannot be used: {e}"))?
                .log_statements(tracing::log::LevelFilter::Trace);
            let pool = AnyPoolOptions::new()
                .max_connections(*max_connections)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await
                .map_err(|e| anyhow::anyhow!("cannot connect to {}: {e}", target.describe()))?;
            (pool, &POSTGRES_MIGRATOR)
        }
    };
    migrator
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
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM console_users")
            .fetch_one(pool)
            .await
            .map_err(|e| format!("pool: {e}"))?;
        if let DatabaseTarget::Sqlite { path } = target {
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
        }
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

/// Runs one statement in a write transaction of its own, in the process's write queue (see
/// [`begin_write`]); the rows it changed. For single writes that must not wait in SQLite's busy
/// handler beside the queue (leases, a key's last use, a quarantine).
pub async fn write<'q>(
    pool: &Pool,
    statement: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
) -> sqlx::Result<u64> {
    let (_turn, mut tx) = begin_write(pool).await?;
    let changed = statement.execute(&mut *tx).await?.rows_affected();
    tx.commit().await?;
    Ok(changed)
}

/// The advisory lock every write transaction on PostgreSQL takes first (see [`begin`]).
const WRITE_LOCK: i64 = 0x7072_6f76_6973_696f; // "provisio"

/// Starts a transaction that will write, with SQLite's semantics on both databases: one writer at
/// a time, so the read-check-write sequences inside (a name is free, then insert; read a
/// resource, patch it, write it back) see no other writer between their steps.
///
/// On SQLite, `BEGIN IMMEDIATE`: the default (deferred) transaction takes the write lock only at
/// its first write, and if another connection wrote since the transaction's first read, that
/// upgrade fails at once with "database is locked" instead of waiting; taking the lock up front
/// makes a concurrent writer (the CLI, a last-used update) a short wait, not an error.
///
/// On PostgreSQL the same single-writer rule comes from a transaction-scoped advisory lock, held
/// until commit or rollback, which also covers every instance sharing the database.
pub async fn begin(pool: &Pool) -> sqlx::Result<Tx> {
    match Backend::of(pool) {
        Backend::Sqlite => pool.begin_with("BEGIN IMMEDIATE").await,
        Backend::Postgres => {
            let mut tx = pool.begin().await?;
            sqlx::query("SELECT 1 FROM pg_advisory_xact_lock($1)")
                .bind(WRITE_LOCK)
                .execute(&mut *tx)
                .await?;
            Ok(tx)
        }
    }
}

/// This process's turn to write (see [`begin_write`]); the next writer goes when it is dropped.
pub type WriteTurn = tokio::sync::MutexGuard<'static, ()>;

/// Starts a write transaction after the writers before it in this process. SQLite has one
/// writer; a connection that finds the lock taken sleeps in SQLite's busy handler (1, 2, 5 ... up
/// to 100 ms a time) rather than waking when it is free, so concurrent writers in one process
/// (the SCIM endpoint's creates and a provisioning cycle's records) lose most of their time
/// sleeping. Waiting here instead hands the lock over at once. Writers that do not come through
/// here still work, through the busy timeout.
pub async fn begin_write(pool: &Pool) -> sqlx::Result<(WriteTurn, Tx)> {
    static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    // As long as SQLite's busy timeout would have let it wait.
    let turn = tokio::time::timeout(BUSY_TIMEOUT, TURN.lock())
        .await
        .map_err(|_| sqlx::Error::PoolTimedOut)?;
    let tx = begin(pool).await?;
    Ok((turn, tx))
}
