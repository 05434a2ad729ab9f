//! The database: pool, migrations, and one module per aggregate. SQL lives here and nowhere else.
//!
//! Queries use numbered `$n` placeholders and portable types (text, 64-bit integers) so the same
//! text serves SQLite and PostgreSQL; [`Backend`] picks the few statements where they differ.

pub mod adaptations;
pub mod apps;
pub mod assignments;
pub mod audit;
pub mod console_users;
pub mod cycles;
pub mod directory;
pub mod drift_checks;
pub mod escrows;
pub mod health;
pub mod imports;
pub mod jobs;
pub mod leases;
pub mod links;
pub mod notifications;
pub mod prov_log;
pub mod provisioning;
pub mod scim_accounts;
pub mod scim_resources;
pub mod scim_views;
pub mod sealed;
pub mod sources;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection, Executor};
use std::time::Duration;

pub mod sql;
pub mod vocab;
mod write;

pub use write::{begin, delete_in_batches, is_retryable, write, write_in, Exclusive, WriteTx};

/// Where the database lives, resolved from the settings.
#[derive(Debug, Clone)]
pub enum DatabaseTarget {
    Sqlite {
        path: std::path::PathBuf,
    },
    /// `url` may hold a password: show it only through [`DatabaseTarget::describe`].
    Postgres {
        url: String,
        max_connections: u32,
    },
}

impl DatabaseTarget {
    /// For the Overview page and logs; never contains credentials.
    pub fn describe(&self) -> String {
        match self {
            DatabaseTarget::Sqlite { path } => format!("SQLite ({})", path.display()),
            DatabaseTarget::Postgres { url, .. } => format!("PostgreSQL ({})", redact_url(url)),
        }
    }
}

/// A database URL with its password replaced by `***`, for messages.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => match url[s + 3..at].find(':') {
            Some(colon) => format!("{}:***{}", &url[..s + 3 + colon], &url[at..]),
            None => url.to_string(),
        },
        _ => url.to_string(),
    }
}

/// One pool type for both databases: sqlx's Any driver picks SQLite or PostgreSQL from the URL at
/// run time, and queries are written once in the SQL both understand.
pub type Pool = sqlx::AnyPool;
pub type Conn = sqlx::AnyConnection;
type Tx = sqlx::Transaction<'static, sqlx::Any>;
pub type Row = sqlx::any::AnyRow;

static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The newest SQLite migration this build knows: a database beyond it was written by a newer
/// version.
pub fn latest_sqlite_migration() -> i64 {
    SQLITE_MIGRATOR
        .iter()
        .map(|m| m.version)
        .max()
        .unwrap_or_default()
}

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

/// The SQLite file holds session ids and sealed secrets: it is created readable by its owner only
/// (SQLite gives its -wal and -shm files the same mode), and one left readable to others by an
/// earlier version is tightened.
fn private_database_file(path: &std::path::Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let beside = |suffix: &str| std::path::PathBuf::from(format!("{}{suffix}", path.display()));
        for file in [path.to_path_buf(), beside("-wal"), beside("-shm")] {
            let Ok(meta) = std::fs::metadata(&file) else {
                continue;
            };
            if meta.permissions().mode() & 0o077 != 0 {
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))
                    .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
                tracing::info!(path = %file.display(), "made the database file readable by its owner only");
            }
        }
    }
    Ok(())
}

async fn open(target: &DatabaseTarget, autocheckpoint: bool) -> anyhow::Result<Pool> {
    sqlx::any::install_default_drivers();
    let (pool, migrator) = match target {
        DatabaseTarget::Sqlite { path } => {
            private_database_file(path)?;
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
    // Data the schema migrations cannot fill (folded in Rust).
    let folded = directory::backfill_search(&pool)
        .await
        .map_err(|e| anyhow::anyhow!("cannot prepare the users' search: {e}"))?;
    let groups = directory::backfill_group_search(&pool)
        .await
        .map_err(|e| anyhow::anyhow!("cannot prepare the groups' search: {e}"))?;
    if folded + groups > 0 {
        tracing::info!(
            users = folded,
            groups,
            "prepared the directory's search (once, after an upgrade)"
        );
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Arc;

    fn entry(actor: &str) -> audit::NewEntry<'_> {
        audit::NewEntry {
            at: "2026-01-01T00:00:00.000Z",
            actor,
            action: "test",
            target: "",
            outcome: "success",
            detail: "",
            source_ip: "",
        }
    }

    const WRITERS: usize = 6;

    /// A single write (an audit entry, a job's state, a cycle's progress) waits its turn behind
    /// the writers already queued, and no longer: the turn is first come, first served. When
    /// single writes autocommitted on the pool, they slept in SQLite's busy handler while queued
    /// writers handed the lock on to each other (dozens of their commits went by per single
    /// write here), and under a long enough load failed with "database is locked".
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_single_write_waits_only_for_the_writers_queued_before_it() {
        let dir = tempfile::tempdir().unwrap();
        let target = DatabaseTarget::Sqlite {
            path: dir.path().join("provisio.db"),
        };
        let pool = connect(&target).await.unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let commits = Arc::new(AtomicUsize::new(0));
        let writers: Vec<tokio::task::JoinHandle<sqlx::Result<()>>> = (0..WRITERS)
            .map(|_| {
                let (pool, stop, commits) = (pool.clone(), stop.clone(), commits.clone());
                tokio::spawn(async move {
                    while !stop.load(Ordering::SeqCst) {
                        let mut tx = begin(&pool, Exclusive::Rows).await?;
                        sqlx::query("INSERT INTO audit_log (at, actor, action, target, outcome, detail, source_ip) VALUES ('x', 'queued', 'test', '', 'success', '', '')")
                            .execute(&mut *tx)
                            .await?;
                        // Holds the lock a while, as a batch of a cycle's records does.
                        tokio::time::sleep(Duration::from_millis(5)).await;
                        tx.commit().await?;
                        commits.fetch_add(1, Ordering::SeqCst);
                    }
                    Ok(())
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(50)).await;
        let mut most_passed = 0;
        for _ in 0..20 {
            let before = commits.load(Ordering::SeqCst);
            audit::insert(&pool, &entry("single")).await.unwrap();
            most_passed = most_passed.max(commits.load(Ordering::SeqCst) - before);
        }
        stop.store(true, Ordering::SeqCst);
        for w in writers {
            w.await.unwrap().unwrap();
        }
        // Each queued writer at most once, and once more for a commit counted late.
        assert!(
            most_passed <= 2 * WRITERS,
            "{most_passed} queued commits went by one single write"
        );
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE actor = 'single'")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(n, 20);
    }

    /// Retention keeps what is younger than the cut-off, and of the directory's changes also what
    /// a provisioning job has not read yet and always the newest one (the sequence must never
    /// start again below a watermark).
    #[tokio::test]
    async fn retention_keeps_what_is_recent_or_still_needed() {
        let dir = tempfile::tempdir().unwrap();
        let target = DatabaseTarget::Sqlite {
            path: dir.path().join("provisio.db"),
        };
        let pool = connect(&target).await.unwrap();
        for at in [
            "2020-01-01T00:00:00.000Z",
            "2020-06-01T00:00:00.000Z",
            "2030-01-01T00:00:00.000Z",
        ] {
            audit::insert(
                &pool,
                &audit::NewEntry {
                    at,
                    ..entry("old or new")
                },
            )
            .await
            .unwrap();
        }
        assert_eq!(audit::prune(&pool, "2025-01-01T00:00:00.000Z").await.unwrap(), 2);
        assert_eq!(audit::prune(&pool, "2025-01-01T00:00:00.000Z").await.unwrap(), 0);

        let change = |at: &'static str| {
            sqlx::query(
                "INSERT INTO dir_changes (at, object_type, object_id, op) VALUES ($1, 'user', 'u', 'update')",
            )
            .bind(at)
        };
        for _ in 0..6 {
            write(&pool, change("2020-01-01T00:00:00.000Z")).await.unwrap();
        }
        let seqs = || async {
            sqlx::query_scalar::<_, i64>("SELECT seq FROM dir_changes ORDER BY seq")
                .fetch_all(&pool)
                .await
                .unwrap()
        };
        let all = seqs().await;
        // A job that has read up to the third change.
        sqlx::query("INSERT INTO apps (id, name, name_lower, template, created_at, created_by, updated_at) VALUES ('a', 'A', 'a', 'scim2', 'x', 'x', 'x')")
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO prov_jobs (app_id, job_id, updated_at, watermark) VALUES ('a', 'j', 'x', $1)",
        )
        .bind(all[2])
        .execute(&pool)
        .await
        .unwrap();
        assert_eq!(
            directory::prune_changes(&pool, "2025-01-01T00:00:00.000Z")
                .await
                .unwrap(),
            3
        );
        assert_eq!(seqs().await, all[3..].to_vec());
        // Every job has read everything: all but the newest go.
        sqlx::query("UPDATE prov_jobs SET watermark = $1")
            .bind(all[5])
            .execute(&pool)
            .await
            .unwrap();
        assert_eq!(
            directory::prune_changes(&pool, "2025-01-01T00:00:00.000Z")
                .await
                .unwrap(),
            2
        );
        assert_eq!(seqs().await, vec![all[5]]);
        // The sequence goes on above it.
        write(&pool, change("2030-01-01T00:00:00.000Z")).await.unwrap();
        assert!(seqs().await[1] > all[5]);
    }
}
