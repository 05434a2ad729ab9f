//! User creates through the target's Bulk endpoint, when its ServiceProviderConfig offers one.
//!
//! A cycle's user tasks queue their creates here instead of each sending a POST; one task sends
//! what has queued up as a Bulk request whenever a request permit is free, so under load the
//! creates travel (and, at targets that commit per request, are committed) many at a time, and a
//! lone create still leaves at once. Every create gets its own outcome, exactly as a POST would
//! give it. A target whose Bulk endpoint refuses the request as a whole (it says it supports Bulk
//! but does not, or the request is too large for it) gets single POSTs from then on.

use crate::scim_client::{ClientError, Kind, Target};
use serde_json::{Map, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, Semaphore};

/// Most creates in one Bulk request, below the target's own maximum.
const MOST_PER_REQUEST: usize = 100;

type Outcome = Result<String, ClientError>;
type Queued = (Map<String, Value>, usize, oneshot::Sender<Outcome>);

pub(super) struct BulkCreates {
    queue: mpsc::UnboundedSender<Queued>,
    refused: Arc<AtomicBool>,
}

impl BulkCreates {
    /// Starts the sender for `target`; None when the target offers no Bulk worth using.
    /// `max_operations` and `max_payload` are the target's limits (0: not stated).
    pub(super) fn start(
        target: Target,
        permits: Arc<Semaphore>,
        max_operations: u64,
        max_payload: u64,
    ) -> Option<BulkCreates> {
        if max_operations < 2 {
            return None;
        }
        let most = (max_operations as usize).min(MOST_PER_REQUEST);
        // Some room for the envelope around the documents.
        let payload = match max_payload {
            0 => usize::MAX,
            n => (n as usize).saturating_mul(9) / 10,
        };
        let (queue, rx) = mpsc::unbounded_channel();
        let refused = Arc::new(AtomicBool::new(false));
        tokio::spawn(send_loop(target, permits, most, payload, rx, refused.clone()));
        Some(BulkCreates { queue, refused })
    }

    /// Whether creates should come here (false once the target refused a Bulk request).
    pub(super) fn usable(&self) -> bool {
        !self.refused.load(Ordering::Relaxed)
    }

    /// Creates a user; the new id, or what the target said about this create. The caller must
    /// not hold a request permit while waiting: the sender needs one.
    pub(super) async fn create(&self, doc: Map<String, Value>) -> Outcome {
        let size = Value::Object(doc.clone()).to_string().len();
        let (reply, answer) = oneshot::channel();
        let lost = || ClientError::Broken("the Bulk sender stopped before answering".into());
        self.queue.send((doc, size, reply)).map_err(|_| lost())?;
        answer.await.unwrap_or_else(|_| Err(lost()))
    }
}

async fn send_loop(
    target: Target,
    permits: Arc<Semaphore>,
    most: usize,
    payload: usize,
    mut rx: mpsc::UnboundedReceiver<Queued>,
    refused: Arc<AtomicBool>,
) {
    let mut carried: Option<Queued> = None;
    loop {
        let first = match carried.take() {
            Some(q) => q,
            None => match rx.recv().await {
                Some(q) => q,
                None => return,
            },
        };
        // Creates keep queuing while the permit is awaited; they all go in this request.
        let Ok(permit) = permits.clone().acquire_owned().await else {
            return;
        };
        let mut size = first.1;
        let mut batch = vec![first];
        while batch.len() < most {
            match rx.try_recv() {
                Ok(q) if size + q.1 <= payload => {
                    size += q.1;
                    batch.push(q);
                }
                Ok(q) => {
                    carried = Some(q);
                    break;
                }
                Err(_) => break,
            }
        }
        let (target, refused) = (target.clone(), refused.clone());
        tokio::spawn(async move {
            let _permit = permit;
            send(&target, batch, &refused).await;
        });
    }
}

async fn send(target: &Target, batch: Vec<Queued>, refused: &AtomicBool) {
    if batch.len() == 1 || refused.load(Ordering::Relaxed) {
        return singly(target, batch).await;
    }
    let docs: Vec<Map<String, Value>> = batch.iter().map(|(d, _, _)| d.clone()).collect();
    match target.create_many(Kind::User, &docs).await {
        Ok(outcomes) => {
            for ((_, _, reply), outcome) in batch.into_iter().zip(outcomes) {
                let _ = reply.send(outcome);
            }
        }
        // Refused as a whole, not for any one user: no Bulk from now on, and these go singly.
        Err(e) if !e.is_transient() && !e.is_unauthorized() => {
            tracing::info!(error = %e, "the target refused a Bulk request; creating users one by one");
            refused.store(true, Ordering::Relaxed);
            singly(target, batch).await;
        }
        Err(e) => {
            for (_, _, reply) in batch {
                let _ = reply.send(Err(e.clone()));
            }
        }
    }
}

async fn singly(target: &Target, batch: Vec<Queued>) {
    for (doc, _, reply) in batch {
        let outcome = target
            .create(Kind::User, &doc)
            .await
            .map(|created| created["id"].as_str().unwrap_or_default().to_string());
        let _ = reply.send(outcome);
    }
}
