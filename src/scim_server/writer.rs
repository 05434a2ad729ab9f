//! Group commit for user creation. Identity providers create users in bursts (an initial cycle
//! is thousands of POSTs at a time), and SQLite has one writer: committing each create on its own
//! makes the commit the bottleneck. Concurrent creates are queued to one task that inserts a
//! batch in one transaction and commits once; each request still gets its own answer (a
//! duplicate userName fails only that request) and only after the commit.
//!
//! On PostgreSQL several batches commit side by side (one task each, sharing the queue): nothing
//! but the unique index on an account's userNames keeps them apart, and an insert of a name that
//! another batch has just inserted waits for that batch's commit and then finds it taken. Two
//! batches waiting on each other's names is a deadlock PostgreSQL ends in one of them; that
//! batch is written again.

use crate::db::scim_resources::{self as store, UserCols};
use crate::db::Pool;
use tokio::sync::{mpsc, oneshot};

/// Most creates committed together.
const BATCH: usize = 256;

/// Batches in flight at once on PostgreSQL: while one commits (a network round trip and a WAL
/// flush) the next is being written.
const POSTGRES_WRITERS: usize = 4;

/// Tries of a batch the database ended in a deadlock.
const TRIES: usize = 4;

pub struct CreateUser {
    pub account: String,
    pub id: String,
    pub cols: UserCols,
    pub doc: String,
    pub now: String,
    pub source: String,
}

/// What happened to one create.
#[derive(Debug)]
pub enum Outcome {
    Created,
    /// The userName is taken in the account.
    Duplicate,
    /// The batch could not be written; the message is for the log.
    Failed(String),
}

type Job = (CreateUser, oneshot::Sender<Outcome>);

/// Creates queued together, never split between batches: a Bulk request's run of creates is
/// inserted in its order in one transaction, so of two with one userName the first wins even
/// when several batches commit side by side.
type Unit = Vec<Job>;

pub struct Writer {
    tx: mpsc::Sender<Unit>,
}

impl Writer {
    /// Starts the writer tasks: one on SQLite (it has one writer), [`POSTGRES_WRITERS`] on
    /// PostgreSQL.
    pub fn start(pool: Pool) -> Writer {
        let (tx, rx) = mpsc::channel::<Unit>(4 * BATCH);
        let rx = std::sync::Arc::new(tokio::sync::Mutex::new(rx));
        let writers = match crate::db::Backend::of(&pool) {
            crate::db::Backend::Sqlite => 1,
            crate::db::Backend::Postgres => POSTGRES_WRITERS,
        };
        for _ in 0..writers {
            tokio::spawn(run(pool.clone(), rx.clone()));
        }
        Writer { tx }
    }

    /// Queues creates as one unit (see [`Unit`]); each answer comes after their batch is
    /// committed, in the order given.
    pub async fn submit_many(&self, jobs: Vec<CreateUser>) -> Vec<oneshot::Receiver<Outcome>> {
        let mut answers = Vec::with_capacity(jobs.len());
        let unit: Unit = jobs
            .into_iter()
            .map(|job| {
                let (reply, answer) = oneshot::channel();
                answers.push(answer);
                (job, reply)
            })
            .collect();
        if let Err(mpsc::error::SendError(unit)) = self.tx.send(unit).await {
            for (_, reply) in unit {
                let _ = reply.send(Outcome::Failed("the writer has stopped".into()));
            }
        }
        answers
    }
}

async fn run(pool: Pool, rx: std::sync::Arc<tokio::sync::Mutex<mpsc::Receiver<Unit>>>) {
    loop {
        let jobs = {
            let mut rx = rx.lock().await;
            let Some(mut jobs) = rx.recv().await else {
                return;
            };
            while jobs.len() < BATCH {
                match rx.try_recv() {
                    Ok(unit) => jobs.extend(unit),
                    Err(_) => break,
                }
            }
            jobs
        };
        let mut done = write(&pool, &jobs).await;
        for _ in 1..TRIES {
            match &done {
                Err(e) if crate::db::is_retryable(e) => done = write(&pool, &jobs).await,
                _ => break,
            }
        }
        match done {
            Ok(inserted) => {
                for ((_, reply), ok) in jobs.into_iter().zip(inserted) {
                    let _ = reply.send(if ok { Outcome::Created } else { Outcome::Duplicate });
                }
            }
            Err(e) => {
                let message = e.to_string();
                for (_, reply) in jobs {
                    let _ = reply.send(Outcome::Failed(message.clone()));
                }
            }
        }
    }
}

async fn write(pool: &Pool, jobs: &[Job]) -> sqlx::Result<Vec<bool>> {
    let mut tx = crate::db::begin(pool, crate::db::Exclusive::Rows).await?;
    let mut inserted = Vec::with_capacity(jobs.len());
    for (j, _) in jobs {
        inserted
            .push(store::insert_user(&mut tx, &j.account, &j.id, &j.cols, &j.doc, &j.now, &j.source).await?);
    }
    tx.commit().await?;
    Ok(inserted)
}
