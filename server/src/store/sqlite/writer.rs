//! The single writer thread and its group commit.
//!
//! A dedicated OS thread (not a tokio task) owns the write connection: SQLite
//! calls block, and an fsync can take milliseconds. Each loop takes every
//! operation that queued up, applies them in one transaction ([`super::commit`]),
//! commits once, and only then replies: an OK always means "on disk" (or, for
//! a held live insert, "acked" — see [`super::deferred`]).

use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

use super::commit::commit_batch;
use super::deferred::Deferred;
use super::op::{Reply, WriteOp, closed};
use super::ops::WriterState;
use super::{backend, schema};
use crate::store::{StoreError, StoreResult};

/// Upper bound on operations per transaction, so one commit never holds
/// replies back for long under a flood.
const MAX_BATCH: usize = 4096;
const QUEUE_DEPTH: usize = 65_536;
/// Longest nap while only held inserts and their acks are coming in.
const GATHER: Duration = Duration::from_micros(500);

pub(crate) struct WriterHandle {
    queue: mpsc::Sender<WriteOp>,
}

impl WriterHandle {
    pub(crate) fn start(path: &Path, synchronous_full: bool, hold: Duration) -> StoreResult<Self> {
        let mut connection = Connection::open(path).map_err(backend)?;
        schema::configure(&connection, synchronous_full).map_err(backend)?;
        schema::migrate(&mut connection).map_err(|error| StoreError::Backend(error.to_string()))?;
        let (queue, receiver) = mpsc::channel(QUEUE_DEPTH);
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || run(connection, receiver, hold))
            .map_err(|error| StoreError::Backend(format!("starting the writer thread: {error}")))?;
        Ok(Self { queue })
    }

    /// Queues one operation and waits for its committed result.
    pub(crate) async fn call<T>(&self, make: impl FnOnce(Reply<T>) -> WriteOp) -> StoreResult<T> {
        let (reply, result) = oneshot::channel();
        self.queue.send(make(reply)).await.map_err(|_| closed())?;
        result.await.map_err(|_| closed())?
    }

    /// False once the writer thread has stopped (closed, or gone).
    pub(crate) fn is_running(&self) -> bool {
        !self.queue.is_closed()
    }

    pub(crate) async fn close(&self) {
        let (done, finished) = oneshot::channel();
        if self.queue.send(WriteOp::Close(done)).await.is_ok() {
            let _ = finished.await;
        }
    }
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
                std::thread::sleep(
                    deadline
                        .saturating_duration_since(Instant::now())
                        .min(GATHER),
                );
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
