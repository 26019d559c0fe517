//! Gathering concurrent appends into batches for one integrator task per process.

use std::sync::Arc;

use sigstack_server::Clock;
use tokio::sync::{mpsc, oneshot};

use crate::integrate::integrate_batch;
use crate::{AppendOutcome, HeadSigner, LogStore, NewLeaf, StoreError};

/// Most leaves integrated in one transaction. Large enough that a busy log pays one commit per
/// several hundred entries, small enough that one batch's rows stay well under a second to write.
pub const MAX_BATCH_LEAVES: usize = 1024;

/// Most leaf bytes integrated in one transaction, so that a few very large entries (the Rekor v1
/// API has no entry size limit beyond the request body limit) do not build one huge batch.
pub const MAX_BATCH_BYTES: usize = 64 * 1024 * 1024;

/// Appends waiting for the integrator. Callers beyond this many wait to enqueue, which applies
/// backpressure to request handlers instead of growing memory without bound.
const QUEUE_CAPACITY: usize = 8 * MAX_BATCH_LEAVES;

type Request = (NewLeaf, oneshot::Sender<Result<AppendOutcome, StoreError>>);

/// The write side of a log: queues leaves for a background integrator task, which commits them
/// in batches. Cloning is cheap; all clones feed the same integrator.
#[derive(Debug, Clone)]
pub struct Appender {
    queue: mpsc::Sender<Request>,
}

impl Appender {
    /// Starts the integrator task for `store`. It runs until every `Appender` clone is dropped.
    pub fn start(store: LogStore, signer: Arc<dyn HeadSigner>, clock: Arc<dyn Clock>) -> Self {
        let (queue, receiver) = mpsc::channel(QUEUE_CAPACITY);
        tokio::spawn(run_integrator(store, signer, clock, receiver));
        Self { queue }
    }

    /// Appends one leaf and waits until it is committed (or found to be a duplicate).
    pub async fn append(&self, leaf: NewLeaf) -> Result<AppendOutcome, StoreError> {
        let (reply, outcome) = oneshot::channel();
        self.queue
            .send((leaf, reply))
            .await
            .map_err(|_| StoreError::Closed)?;
        outcome.await.map_err(|_| StoreError::Closed)?
    }
}

async fn run_integrator(
    store: LogStore,
    signer: Arc<dyn HeadSigner>,
    clock: Arc<dyn Clock>,
    mut receiver: mpsc::Receiver<Request>,
) {
    let mut carried: Option<Request> = None;
    loop {
        // Wait for the first leaf, then take whatever else is already queued, within limits.
        let first = match carried.take() {
            Some(request) => request,
            None => match receiver.recv().await {
                Some(request) => request,
                None => return,
            },
        };
        let mut bytes = first.0.leaf_value.len();
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH_LEAVES {
            match receiver.try_recv() {
                Ok(request) => {
                    let size = request.0.leaf_value.len();
                    if bytes + size > MAX_BATCH_BYTES {
                        carried = Some(request);
                        break;
                    }
                    bytes += size;
                    batch.push(request);
                }
                Err(_) => break,
            }
        }

        let (leaves, replies): (Vec<NewLeaf>, Vec<_>) = batch.into_iter().unzip();
        let started = std::time::Instant::now();
        let result = integrate_batch(&store, signer.as_ref(), clock.now(), &leaves).await;
        match result {
            Ok(outcomes) => {
                tracing::debug!(
                    log = %store.info.name,
                    leaves = leaves.len(),
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "integrated batch"
                );
                for (reply, outcome) in replies.into_iter().zip(outcomes) {
                    let _ = reply.send(Ok(outcome));
                }
            }
            Err(error) => {
                tracing::error!(log = %store.info.name, leaves = leaves.len(), %error, "failed to integrate batch");
                for reply in replies {
                    let _ = reply.send(Err(error.clone()));
                }
            }
        }
    }
}
