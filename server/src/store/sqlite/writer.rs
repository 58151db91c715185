//! The single writer thread and its group commit.
//!
//! A dedicated OS thread (not a tokio task) owns the write connection: SQLite
//! calls block, and an fsync can take milliseconds. Each loop takes every
//! operation that queued up, applies them in one transaction (one savepoint
//! each, so one failing op does not undo the others), commits once, and only
//! then replies: an OK always means "on disk".

use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

use super::coalesce::coalesce;
use super::deferred::Deferred;
use super::ops::{self, WriterState};
use super::{backend, schema};
use crate::domain::{DeviceRecord, QueuedMessage, SubscriptionRecord, UnixMillis};
use crate::store::{Admission, Enqueued, StoreError, StoreResult};

/// Upper bound on operations per transaction, so one commit never holds
/// replies back for long under a flood.
const MAX_BATCH: usize = 4096;
const QUEUE_DEPTH: usize = 65_536;
/// Longest nap while only held inserts and their acks are coming in.
const GATHER: Duration = Duration::from_micros(500);

type Reply<T> = oneshot::Sender<StoreResult<T>>;

pub enum WriteOp {
    CreateDevice(DeviceRecord, Reply<()>),
    CreateSubscription(SubscriptionRecord, Reply<()>),
    DeleteSubscription {
        device_id: String,
        subscription_id: String,
        reply: Reply<bool>,
    },
    Enqueue {
        message: QueuedMessage,
        admission: Admission,
        /// Set by [`coalesce`]: an ack later in the same batch cancels this write.
        acked_in_batch: bool,
        reply: Reply<Enqueued>,
    },
    Ack {
        device_id: String,
        message_ids: Vec<String>,
        /// Ids [`coalesce`] matched to inserts in the same batch and took out.
        removed_in_batch: u64,
        reply: Reply<u64>,
    },
    PurgeExpired {
        now: UnixMillis,
        reply: Reply<u64>,
    },
    Close(oneshot::Sender<()>),
}

pub struct WriterHandle {
    queue: mpsc::Sender<WriteOp>,
}

impl WriterHandle {
    pub fn start(path: &Path, synchronous_full: bool, hold: Duration) -> StoreResult<Self> {
        let mut connection = Connection::open(path).map_err(backend)?;
        schema::configure(&connection, synchronous_full).map_err(backend)?;
        schema::migrate(&mut connection).map_err(StoreError::Backend)?;
        let (queue, receiver) = mpsc::channel(QUEUE_DEPTH);
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || run(connection, receiver, hold))
            .map_err(|error| StoreError::Backend(format!("starting the writer thread: {error}")))?;
        Ok(Self { queue })
    }

    /// Queues one operation and waits for its committed result.
    pub async fn call<T>(&self, make: impl FnOnce(Reply<T>) -> WriteOp) -> StoreResult<T> {
        let (reply, result) = oneshot::channel();
        self.queue.send(make(reply)).await.map_err(|_| closed())?;
        result.await.map_err(|_| closed())?
    }

    pub async fn close(&self) {
        let (done, finished) = oneshot::channel();
        if self.queue.send(WriteOp::Close(done)).await.is_ok() {
            let _ = finished.await;
        }
    }
}

fn closed() -> StoreError {
    StoreError::Unavailable("the store is shutting down".into())
}

fn run(mut connection: Connection, mut receiver: mpsc::Receiver<WriteOp>, hold: Duration) {
    // A private single-threaded runtime, only to wait on the queue with a
    // deadline (the next held insert); SQLite itself runs synchronously here.
    let (runtime, hold) = match tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
    {
        Ok(runtime) => (Some(runtime), hold),
        Err(error) => {
            tracing::warn!(%error, "no timer for the sqlite writer; live inserts will not wait for acks");
            (None, Duration::ZERO)
        }
    };
    let mut state = WriterState::default();
    let mut deferred = Deferred::new(hold);
    let mut batch = Vec::with_capacity(MAX_BATCH);
    loop {
        let wake = match (deferred.next_deadline(), &runtime) {
            (Some(deadline), Some(runtime)) => {
                let waited = runtime.block_on(async {
                    tokio::time::timeout_at(deadline.into(), receiver.recv()).await
                });
                match waited {
                    Ok(Some(op)) => Wake::Op(op),
                    Ok(None) => Wake::Closed,
                    Err(_elapsed) => Wake::Deadline,
                }
            }
            _ => receiver.blocking_recv().map_or(Wake::Closed, Wake::Op),
        };
        let mut next = match wake {
            Wake::Op(op) => Some(op),
            Wake::Deadline => None,
            Wake::Closed => break,
        };
        deferred.take_due(Instant::now(), &mut batch);
        let mut taken = 0;
        while let Some(op) = next.take().or_else(|| {
            (taken < MAX_BATCH)
                .then(|| receiver.try_recv().ok())
                .flatten()
        }) {
            taken += 1;
            route(op, &mut deferred, &mut batch);
        }
        if batch.is_empty() {
            // Only holds and cancels so far: nothing to write. A short nap lets
            // more gather, so the thread wakes once per batch, not per message
            // (an insert arriving meanwhile waits at most this long).
            if let Some(deadline) = deferred.next_deadline() {
                std::thread::sleep(deadline.saturating_duration_since(Instant::now()).min(GATHER));
            }
            continue;
        }
        if let Some(done) = commit_batch(&mut connection, &mut state, &mut batch) {
            let _ = done.send(());
            return;
        }
    }
    // Every sender is gone: write what is still held, then stop.
    deferred.take_all(&mut batch);
    if !batch.is_empty() {
        commit_batch(&mut connection, &mut state, &mut batch);
    }
}

enum Wake {
    Op(WriteOp),
    /// The oldest held insert is due.
    Deadline,
    Closed,
}

/// Places one incoming operation: held for its ack, matched against held
/// inserts, or queued behind everything it must see.
fn route(op: WriteOp, deferred: &mut Deferred, batch: &mut Vec<WriteOp>) {
    if deferred.wants(&op) {
        return deferred.hold(op);
    }
    match op {
        WriteOp::Ack {
            device_id,
            mut message_ids,
            mut removed_in_batch,
            reply,
        } => {
            message_ids.retain(|message_id| {
                let cancelled = deferred.cancel(&device_id, message_id);
                removed_in_batch += u64::from(cancelled);
                !cancelled
            });
            batch.push(WriteOp::Ack {
                device_id,
                message_ids,
                removed_in_batch,
                reply,
            });
        }
        // These must see every earlier insert: a topic replacement, a removed
        // subscription, a sweep, and shutdown.
        WriteOp::Enqueue { ref message, .. } if message.topic.is_some() => {
            deferred.take_all(batch);
            batch.push(op);
        }
        op @ (WriteOp::DeleteSubscription { .. }
        | WriteOp::PurgeExpired { .. }
        | WriteOp::Close(_)) => {
            deferred.take_all(batch);
            batch.push(op);
        }
        op => batch.push(op),
    }
}

/// A reply waiting for the commit, type-erased so one batch can hold all kinds.
type Finish = Box<dyn FnOnce(Option<StoreError>) + Send>;

fn finish<T: Send + 'static>(reply: Reply<T>, result: StoreResult<T>) -> Finish {
    Box::new(move |commit_error| {
        let _ = reply.send(match commit_error {
            Some(error) => Err(error),
            None => result,
        });
    })
}

fn commit_batch(
    connection: &mut Connection,
    state: &mut WriterState,
    batch: &mut Vec<WriteOp>,
) -> Option<oneshot::Sender<()>> {
    let started = Instant::now();
    let ops_count = batch.len();
    coalesce(batch);
    let mut finishers: Vec<Finish> = Vec::with_capacity(ops_count);
    let mut closing = None;
    let commit_error = match connection.transaction() {
        Err(error) => Some(backend(error)),
        Ok(mut transaction) => {
            for op in batch.drain(..) {
                match op {
                    WriteOp::Close(done) => closing = Some(done),
                    op => finishers.push(apply(&mut transaction, state, op)),
                }
            }
            transaction.commit().err().map(backend)
        }
    };
    if let Some(error) = &commit_error {
        tracing::error!(%error, ops = ops_count, "sqlite commit failed; the batch was refused");
        state.forget_usage();
    }
    // Anything left in `batch` (a failed BEGIN) is refused the same way.
    for op in batch.drain(..) {
        if let WriteOp::Close(done) = op {
            closing = Some(done);
        } else {
            refuse(op, commit_error.clone().unwrap_or_else(closed));
        }
    }
    for finisher in finishers {
        finisher(commit_error.clone());
    }
    metrics::histogram!("pushd_store_commit_seconds").record(started.elapsed().as_secs_f64());
    metrics::histogram!("pushd_store_batch_ops").record(ops_count as f64);
    closing
}

fn apply(
    transaction: &mut rusqlite::Transaction<'_>,
    state: &mut WriterState,
    op: WriteOp,
) -> Finish {
    match op {
        // Single statements are atomic on their own; only multi-statement
        // operations pay for a savepoint.
        WriteOp::CreateDevice(device, reply) => {
            finish(reply, ops::create_device(transaction, &device))
        }
        WriteOp::CreateSubscription(subscription, reply) => {
            finish(reply, ops::create_subscription(transaction, &subscription))
        }
        WriteOp::DeleteSubscription {
            device_id,
            subscription_id,
            reply,
        } => {
            let result = ops::isolated(transaction, |tx| {
                ops::delete_subscription(tx, &device_id, &subscription_id)
            });
            state.forget_device(&device_id);
            finish(reply, result)
        }
        WriteOp::Enqueue {
            acked_in_batch: true,
            reply,
            ..
        } => finish(
            reply,
            Ok(Enqueued {
                replaced: None,
                already_acked: true,
            }),
        ),
        WriteOp::Enqueue {
            message,
            admission,
            reply,
            ..
        } => {
            let device_id = message.device_id.clone();
            // Without a topic the only write is the insert (an expired-message
            // sweep before it is harmless to keep), so no savepoint is needed.
            let result = if message.topic.is_some() {
                ops::isolated(transaction, |tx| state.enqueue(tx, message, admission))
            } else {
                state.enqueue(transaction, message, admission)
            };
            if result.is_err() {
                state.forget_device(&device_id);
            }
            finish(reply, result)
        }
        WriteOp::Ack {
            device_id,
            message_ids,
            removed_in_batch,
            reply,
        } => {
            // Each delete stands alone: a failure part way still removes only acked ids.
            let result = state
                .ack(transaction, &device_id, &message_ids)
                .map(|removed| removed + removed_in_batch);
            if result.is_err() {
                state.forget_device(&device_id);
            }
            finish(reply, result)
        }
        WriteOp::PurgeExpired { now, reply } => {
            let result = ops::purge_expired(transaction, now);
            state.forget_usage();
            finish(reply, result)
        }
        WriteOp::Close(_) => unreachable!("close is handled by the batch loop"),
    }
}

fn refuse(op: WriteOp, error: StoreError) {
    match op {
        WriteOp::CreateDevice(_, reply) | WriteOp::CreateSubscription(_, reply) => {
            drop(reply.send(Err(error)))
        }
        WriteOp::DeleteSubscription { reply, .. } => drop(reply.send(Err(error))),
        WriteOp::Enqueue { reply, .. } => drop(reply.send(Err(error))),
        WriteOp::Ack { reply, .. } | WriteOp::PurgeExpired { reply, .. } => {
            drop(reply.send(Err(error)))
        }
        WriteOp::Close(done) => drop(done.send(())),
    }
}
