//! Group commit for user creation. Identity providers create users in bursts (an initial cycle
//! is thousands of POSTs at a time), and SQLite has one writer: committing each create on its own
//! makes the commit the bottleneck. Concurrent creates are queued to one task that inserts a
//! batch in one transaction and commits once; each request still gets its own answer (a
//! duplicate userName fails only that request) and only after the commit.

use crate::db::scim_resources::{self as store, UserCols};
use crate::db::Pool;
use tokio::sync::{mpsc, oneshot};

/// Most creates committed together.
const BATCH: usize = 256;

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

pub struct Writer {
    tx: mpsc::Sender<Job>,
}

impl Writer {
    /// Starts the writer task.
    pub fn start(pool: Pool) -> Writer {
        let (tx, rx) = mpsc::channel::<Job>(4 * BATCH);
        tokio::spawn(run(pool, rx));
        Writer { tx }
    }

    /// Queues a create; the answer comes after its batch is committed.
    pub async fn submit(&self, job: CreateUser) -> oneshot::Receiver<Outcome> {
        let (reply, answer) = oneshot::channel();
        if let Err(mpsc::error::SendError((_, reply))) = self.tx.send((job, reply)).await {
            let _ = reply.send(Outcome::Failed("the writer has stopped".into()));
        }
        answer
    }
}

async fn run(pool: Pool, mut rx: mpsc::Receiver<Job>) {
    while let Some(first) = rx.recv().await {
        let mut jobs = vec![first];
        while jobs.len() < BATCH {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        match write(&pool, &jobs).await {
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
    let mut tx = crate::db::begin(pool).await?;
    let mut inserted = Vec::with_capacity(jobs.len());
    for (j, _) in jobs {
        inserted
            .push(store::insert_user(&mut tx, &j.account, &j.id, &j.cols, &j.doc, &j.now, &j.source).await?);
    }
    tx.commit().await?;
    Ok(inserted)
}
