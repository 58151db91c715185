//! Live-delivered inserts held back briefly, waiting for their ack.
//!
//! A message a live stream took is usually acked within a few milliseconds.
//! Holding its insert that long lets the ack cancel it: no insert, no delete,
//! and the sender's OK comes with the ack (the message is done) instead of
//! after an fsync. If the ack does not come in time the insert simply joins
//! the next batch, so the OK still means "durable or acked".

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use super::op::WriteOp;
use crate::store::Enqueued;

struct Held {
    deadline: Instant,
    /// None once an ack cancelled it.
    op: Option<WriteOp>,
}

pub(crate) struct Deferred {
    hold: Duration,
    /// Arrival order, which is also deadline order (the hold is constant).
    entries: VecDeque<Held>,
    /// (device id, message id) to the entry's sequence number.
    by_key: HashMap<(String, String), u64>,
    /// Sequence number of `entries.front()`.
    front_sequence: u64,
}

impl Deferred {
    pub(crate) fn new(hold: Duration) -> Self {
        Self {
            hold,
            entries: VecDeque::new(),
            by_key: HashMap::new(),
            front_sequence: 0,
        }
    }

    /// True if this insert should wait for its ack rather than go straight in.
    pub(crate) fn wants(&self, op: &WriteOp) -> bool {
        !self.hold.is_zero()
            && matches!(op, WriteOp::Enqueue { message, admission: crate::store::Admission::DeliveredLive, .. } if message.topic.is_none())
    }

    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.entries.front().map(|held| held.deadline)
    }

    pub(crate) fn hold(&mut self, op: WriteOp) {
        if let WriteOp::Enqueue { message, .. } = &op {
            let sequence = self.front_sequence + self.entries.len() as u64;
            self.by_key
                .insert((message.device_id.clone(), message.id.clone()), sequence);
        }
        self.entries.push_back(Held {
            deadline: Instant::now() + self.hold,
            op: Some(op),
        });
    }

    /// Answers a held insert of this message "already acked"; true if there was one.
    pub(crate) fn cancel(&mut self, device_id: &str, message_id: &str) -> bool {
        let Some(sequence) = self
            .by_key
            .remove(&(device_id.to_owned(), message_id.to_owned()))
        else {
            return false;
        };
        let index = (sequence - self.front_sequence) as usize;
        match self.entries.get_mut(index).and_then(|held| held.op.take()) {
            Some(WriteOp::Enqueue { reply, .. }) => {
                let _ = reply.send(Ok(Enqueued {
                    replaced: None,
                    already_acked: true,
                }));
                metrics::counter!("pushd_store_writes_skipped_total").increment(1);
                true
            }
            _ => false,
        }
    }

    /// Moves inserts whose hold ran out into `batch`, oldest first.
    pub(crate) fn take_due(&mut self, now: Instant, batch: &mut Vec<WriteOp>) {
        while self
            .entries
            .front()
            .is_some_and(|held| held.deadline <= now)
        {
            self.pop_into(batch);
        }
    }

    /// Moves every held insert into `batch` (before anything that must see them).
    pub(crate) fn take_all(&mut self, batch: &mut Vec<WriteOp>) {
        while !self.entries.is_empty() {
            self.pop_into(batch);
        }
    }

    fn pop_into(&mut self, batch: &mut Vec<WriteOp>) {
        let Some(held) = self.entries.pop_front() else {
            return;
        };
        self.front_sequence += 1;
        if let Some(op) = held.op {
            if let WriteOp::Enqueue { message, .. } = &op {
                self.by_key
                    .remove(&(message.device_id.clone(), message.id.clone()));
            }
            batch.push(op);
        }
    }
}
