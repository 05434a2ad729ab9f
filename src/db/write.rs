//! Write transactions: which other writers each one keeps out ([`Exclusive`]), and the turn it
//! waits for before it starts ([`begin`]).

use super::{Backend, Conn, Pool, Tx, BUSY_TIMEOUT};

/// What a write transaction must keep other writers out of, beyond what its own statements
/// guarantee. Every caller of [`begin`] names one, and so says which guarantee its
/// read-check-write sequence relies on.
///
/// On SQLite every write transaction is alone whatever it names (SQLite has one writer). On
/// PostgreSQL each kind but [`Exclusive::Rows`] is one transaction-scoped advisory lock, shared by
/// every instance on the database, so writers of different applications, of the directory and an
/// application, and every SCIM account's writers (which need only [`Exclusive::Rows`]) go side by
/// side, and PostgreSQL's group commit can commit them together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exclusive<'a> {
    /// Nothing more: the statements are safe side by side with any other writer through unique
    /// constraints (`ON CONFLICT`, or the violation reported as "already exists"), conditional
    /// updates (`WHERE version = ..`, a lease's holder), or row locks taken inside the
    /// transaction (`SELECT .. FOR UPDATE` before a read-modify-write of one resource). A
    /// transaction naming this must say which of these it relies on.
    Rows,
    /// The directory and its change sequence (`dir_changes`): changes are read by sequence number
    /// above each job's watermark, so sequence order must be commit order, which holds only while
    /// one transaction at a time appends. Every transaction that appends a change (users, groups,
    /// memberships, assignments) names this, and also relies on it for its read-check-write
    /// sequences (a user's manager chain, a name being free across users and groups).
    Directory,
    /// One application's configuration and provisioning records (its job's state and requests,
    /// cycles, links, escrows, quarantine): read-modify-write sequences on them (a cycle's end
    /// reading the requests made while it ran, a restart setting links aside).
    App(&'a str),
    /// Console users and the service's own settings: rare administrator writes whose checks span
    /// rows (the last administrator, the SMTP settings' one row).
    Console,
}

impl Exclusive<'_> {
    /// The kind, for metrics (no ids: one series per kind).
    pub fn label(&self) -> &'static str {
        match self {
            Exclusive::Rows => "rows",
            Exclusive::Directory => "directory",
            Exclusive::App(_) => "app",
            Exclusive::Console => "console",
        }
    }

    /// The advisory lock's two keys on PostgreSQL: a class, and a stable hash of the id (the
    /// same in every instance and every version, unlike the standard library's hasher).
    fn lock_keys(&self) -> Option<(i32, i32)> {
        let (class, id) = match self {
            Exclusive::Rows => return None,
            Exclusive::Directory => (1, ""),
            Exclusive::App(id) => (2, *id),
            Exclusive::Console => (3, ""),
        };
        Some((LOCK_CLASS_BASE + class, fnv1a(id) as i32))
    }
}

/// The advisory locks' first key, so they stay apart from any other application's locks on a
/// shared database ("pr" followed by the class).
const LOCK_CLASS_BASE: i32 = 0x7072_0000;

fn fnv1a(s: &str) -> u32 {
    s.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

/// Runs one statement in a write transaction of its own (see [`begin`]); the rows it changed.
/// Every single write goes through here rather than autocommitting on the pool: on SQLite an
/// autocommit write waits in the busy handler beside the write queue and can give up after 5 s
/// while a busy SCIM endpoint or a cycle keeps the queue full. One statement is atomic on its
/// own, so on PostgreSQL it needs nothing more ([`Exclusive::Rows`]); a single write that must
/// not land inside another writer's read-check-write sequence uses [`write_in`].
pub async fn write<'q>(
    pool: &Pool,
    statement: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
) -> sqlx::Result<u64> {
    write_in(pool, Exclusive::Rows, statement).await
}

/// [`write`] excluding the writers of `scope`.
pub async fn write_in<'q>(
    pool: &Pool,
    scope: Exclusive<'_>,
    statement: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
) -> sqlx::Result<u64> {
    let mut tx = begin(pool, scope).await?;
    let changed = statement.execute(&mut *tx).await?.rows_affected();
    tx.commit().await?;
    Ok(changed)
}

/// Runs a `DELETE ... LIMIT`-style statement (made by `statement` for each round) until a round
/// deletes fewer than `batch` rows; each round is a write of its own, so retention never holds the
/// write turn for long. Returns how many rows went.
pub async fn delete_in_batches<'q>(
    pool: &Pool,
    batch: u64,
    statement: impl Fn() -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
) -> sqlx::Result<u64> {
    let mut total = 0;
    loop {
        let n = write(pool, statement()).await?;
        total += n;
        if n < batch {
            return Ok(total);
        }
    }
}

/// A write transaction, holding this process's turn for what it excludes until it commits,
/// rolls back or is dropped. Dereferences to the connection, so `&mut *tx` is what queries run
/// on.
pub struct WriteTx {
    // Declared first, so it is dropped first: the transaction ends before the next writer goes.
    tx: Tx,
    _turn: Option<tokio::sync::MutexGuard<'static, ()>>,
}

impl WriteTx {
    pub async fn commit(self) -> sqlx::Result<()> {
        self.tx.commit().await
    }

    pub async fn rollback(self) -> sqlx::Result<()> {
        self.tx.rollback().await
    }
}

impl std::ops::Deref for WriteTx {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        &self.tx
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut Conn {
        &mut self.tx
    }
}

/// SQLite's one writer, in this process.
static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// On PostgreSQL, this process's turns for the advisory locks, striped by key: writers waiting
/// for the same lock wait here without holding a pooled connection, so one busy application or
/// directory import cannot take every connection while it queues (unrelated keys may share a
/// stripe now and then, which costs a wait, never correctness).
static STRIPES: [tokio::sync::Mutex<()>; 64] = [const { tokio::sync::Mutex::const_new(()) }; 64];

/// Starts a transaction that will write, excluding the writers `scope` names (see
/// [`Exclusive`]). Not reentrant: a task holding a `WriteTx` must not start another.
///
/// On SQLite every write takes this process's one turn first: SQLite has one writer, and a
/// connection that finds the lock taken sleeps in SQLite's busy handler (1, 2, 5 ... up to
/// 100 ms a time) rather than waking when it is free, so concurrent writers in one process (the
/// SCIM endpoint's creates and a provisioning cycle's records) would lose most of their time
/// sleeping, and a writer could sleep past the busy timeout while others take the lock in turn.
/// Waiting here hands the lock over at once. Other processes (the CLI) still meet the busy
/// timeout. Then `BEGIN IMMEDIATE`: the default (deferred) transaction takes the write lock only
/// at its first write, and if another connection wrote since the transaction's first read, that
/// upgrade fails at once with "database is locked" instead of waiting.
///
/// On PostgreSQL, [`Exclusive::Rows`] is a plain transaction; any other scope waits for this
/// process's turn on its key, then takes its transaction-scoped advisory lock, held until commit
/// or rollback, which covers every instance sharing the database.
pub async fn begin(pool: &Pool, scope: Exclusive<'_>) -> sqlx::Result<WriteTx> {
    let started = std::time::Instant::now();
    let tx = begin_waiting(pool, scope).await?;
    crate::metrics::write_wait(scope.label(), started.elapsed());
    Ok(tx)
}

async fn begin_waiting(pool: &Pool, scope: Exclusive<'_>) -> sqlx::Result<WriteTx> {
    // As long as SQLite's busy timeout would have let it wait.
    let turn = |m: &'static tokio::sync::Mutex<()>| async move {
        tokio::time::timeout(BUSY_TIMEOUT, m.lock())
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)
    };
    match Backend::of(pool) {
        Backend::Sqlite => {
            let turn = turn(&TURN).await?;
            let tx = pool.begin_with("BEGIN IMMEDIATE").await?;
            Ok(WriteTx {
                tx,
                _turn: Some(turn),
            })
        }
        Backend::Postgres => {
            let Some((class, key)) = scope.lock_keys() else {
                return Ok(WriteTx {
                    tx: pool.begin().await?,
                    _turn: None,
                });
            };
            let stripe = (class as u32 ^ key as u32) as usize % STRIPES.len();
            let turn = turn(&STRIPES[stripe]).await?;
            let mut tx = pool.begin().await?;
            sqlx::query("SELECT 1 FROM pg_advisory_xact_lock($1, $2)")
                .bind(class)
                .bind(key)
                .execute(&mut *tx)
                .await?;
            Ok(WriteTx {
                tx,
                _turn: Some(turn),
            })
        }
    }
}

/// True for the errors PostgreSQL gives a transaction it chose to end so that others could go on
/// (a deadlock between row locks, a serialization failure): the whole transaction may be tried
/// again. SQLite, with its one writer, never gives them.
pub fn is_retryable(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if matches!(d.code().as_deref(), Some("40P01" | "40001")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::directory::{self, ChangeKind};
    use std::collections::BTreeSet;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    /// A database of its own on the PostgreSQL server the suite runs against, when it does.
    async fn postgres() -> Option<Pool> {
        if std::env::var("PROVISIO_TEST_BACKEND").ok()? != "postgres" {
            return None;
        }
        let admin = std::env::var("PROVISIO_TEST_POSTGRES_URL").ok()?;
        sqlx::any::install_default_drivers();
        let name = format!("provisio_u_{}", crate::ids::new().to_lowercase().replace('-', ""));
        let server = sqlx::AnyPool::connect(&admin).await.unwrap();
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&server)
            .await
            .unwrap();
        let mut url = reqwest::Url::parse(&admin).unwrap();
        url.set_path(&name);
        let target = crate::db::DatabaseTarget::Postgres {
            url: url.to_string(),
            max_connections: 16,
        };
        Some(crate::db::connect(&target).await.unwrap())
    }

    /// The directory's changes are read by sequence number above a watermark, so a change must
    /// never commit after a reader has moved past its number. Writers on the directory append
    /// side by side with a reader that reads and advances its watermark as a provisioning job
    /// does: it must see every change that committed. Without [`Exclusive::Directory`] (each
    /// writer on its own transaction) a writer that took its number first and committed last is
    /// skipped: that change never reached the applications.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn directory_changes_commit_in_sequence_order() {
        let Some(pool) = postgres().await else {
            eprintln!("skipped: PostgreSQL only (PROVISIO_TEST_BACKEND=postgres)");
            return;
        };
        let stop = Arc::new(AtomicBool::new(false));
        let reader = {
            let (pool, stop) = (pool.clone(), stop.clone());
            tokio::spawn(async move {
                let (mut watermark, mut seen) = (0, BTreeSet::new());
                loop {
                    let last = stop.load(Ordering::SeqCst);
                    for c in directory::changes_since(&pool, watermark, 1000).await.unwrap() {
                        watermark = c.seq;
                        seen.insert(c.object_id);
                    }
                    if last {
                        return seen;
                    }
                }
            })
        };
        let writers: Vec<_> = (0..8)
            .map(|w| {
                let pool = pool.clone();
                tokio::spawn(async move {
                    for i in 0..60 {
                        let mut tx = begin(&pool, Exclusive::Directory).await.unwrap();
                        let id = format!("w{w}c{i}");
                        directory::record_change(&mut tx, ChangeKind::User, &id, "", "update", "x")
                            .await
                            .unwrap();
                        // Work after the number is taken, as a directory write does.
                        sqlx::query("SELECT pg_sleep(0.001 * (random() * 3))")
                            .execute(&mut *tx)
                            .await
                            .unwrap();
                        tx.commit().await.unwrap();
                    }
                })
            })
            .collect();
        for w in writers {
            w.await.unwrap();
        }
        stop.store(true, Ordering::SeqCst);
        let seen = reader.await.unwrap();
        assert_eq!(
            seen.len(),
            8 * 60,
            "changes the reader moved past before they committed"
        );
    }
}
