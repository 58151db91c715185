//! Applying one batch in one transaction, then answering every caller.
//!
//! Each operation runs on its own (single statements) or in a savepoint
//! (several statements), so one failing operation does not undo the others;
//! the replies wait for the commit, and a failed commit fails them all.

use std::time::Instant;

use rusqlite::Connection;
use tokio::sync::oneshot;

use super::accounts::{self, AccountChange};
use super::coalesce::coalesce;
use super::op::{Reply, WriteOp, closed};
use super::ops::{self, WriterState};
use super::receipts;
use super::wake_ups;
use super::{backend, bridges};
use crate::store::{Enqueued, StoreError, StoreResult};

/// Answers what [`coalesce`] left with nothing to write (an insert cancelled
/// by its ack, an ack whose every id cancelled an insert), so a batch of only
/// those opens no transaction at all.
fn answer_without_writing(batch: &mut Vec<WriteOp>) {
    let ops = std::mem::take(batch);
    for op in ops {
        match op {
            WriteOp::Enqueue {
                acked_in_batch: true,
                reply,
                ..
            } => {
                let _ = reply.send(Ok(Enqueued {
                    replaced: None,
                    already_acked: true,
                }));
            }
            WriteOp::Ack {
                message_ids,
                removed_in_batch,
                reply,
                ..
            } if message_ids.is_empty() => {
                let _ = reply.send(Ok(removed_in_batch));
            }
            op => batch.push(op),
        }
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

pub(crate) fn commit_batch(
    connection: &mut Connection,
    state: &mut WriterState,
    batch: &mut Vec<WriteOp>,
) -> Option<oneshot::Sender<()>> {
    let started = Instant::now();
    let ops_count = batch.len();
    coalesce(batch);
    answer_without_writing(batch);
    if batch.is_empty() {
        return None;
    }
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
            // An account subscription had copies in several devices' queues.
            state.forget_usage();
            finish(reply, result)
        }
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
        WriteOp::Bridge {
            device_id,
            change,
            reply,
        } => finish(
            reply,
            bridges::apply(transaction, &device_id, &change).map_err(backend),
        ),
        WriteOp::Account { change, reply } => {
            let result = ops::isolated(transaction, |tx| accounts::apply(tx, &change));
            if let AccountChange::RemoveDevice(device_id) = &change {
                state.forget_device(device_id);
            }
            finish(reply, result)
        }
        WriteOp::Receipt { change, reply } => finish(
            reply,
            ops::isolated(transaction, |tx| receipts::apply(tx, &change)),
        ),
        WriteOp::PurgeReceipts { now, reply } => finish(
            reply,
            ops::isolated(transaction, |tx| receipts::purge(tx, now)),
        ),
        WriteOp::WakeUps { change, reply } => finish(
            reply,
            ops::isolated(transaction, |tx| {
                wake_ups::apply(tx, &change).map_err(backend)
            }),
        ),
        WriteOp::Close(_) => unreachable!("close is handled by the batch loop"),
    }
}

fn refuse(op: WriteOp, error: StoreError) {
    match op {
        WriteOp::CreateDevice(_, reply) | WriteOp::CreateSubscription(_, reply) => {
            drop(reply.send(Err(error)));
        }
        WriteOp::DeleteSubscription { reply, .. }
        | WriteOp::Bridge { reply, .. }
        | WriteOp::Account { reply, .. } => drop(reply.send(Err(error))),
        WriteOp::Enqueue { reply, .. } => drop(reply.send(Err(error))),
        WriteOp::Ack { reply, .. }
        | WriteOp::PurgeExpired { reply, .. }
        | WriteOp::PurgeReceipts { reply, .. } => drop(reply.send(Err(error))),
        WriteOp::Receipt { reply, .. } => drop(reply.send(Err(error))),
        WriteOp::WakeUps { reply, .. } => drop(reply.send(Err(error))),
        WriteOp::Close(done) => drop(done.send(())),
    }
}
