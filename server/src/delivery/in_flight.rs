//! What one stream has sent and not yet seen acked, and what it has seen
//! acked but not yet removed from the store.
//!
//! Three rules live here. A stream holds at most `max_stream_unacked_bytes`
//! of messages its device has not acked, and all streams of the node at
//! most `max_unacked_bytes_total`: whatever buffers them on the way (the
//! stream's queue, HTTP/2, the socket), a device that stops reading holds
//! that much and no more, and the rest waits in the store. Only ids this stream sent reach the store as acks:
//! an ack frame of ids never issued costs a set lookup each, not a write on
//! the store's single writer and a tombstone. And an acked message is never
//! sent again by a replay that read the store before the ack was written
//! (a device that acks and at once lowers its urgency threshold).
//!
//! A message offered live carries its `deliver` span here until the ack, so
//! the ack's span joins the message's trace (see [`crate::tracing_export`]);
//! without an exporter that span is disabled and holds nothing.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The unacked bytes streams may hold, each and all together; cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct Unacked {
    per_stream: u32,
    total: Arc<Semaphore>,
}

impl Unacked {
    pub(crate) fn new(per_stream: u32, total: u32) -> Self {
        Self {
            per_stream: per_stream.max(1),
            total: Arc::new(Semaphore::new(total.max(1) as usize)),
        }
    }
}

/// What [`InFlight::mark_sent`] found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Mark {
    /// Marked: send it.
    New,
    /// Already on this stream (or just acked): nothing to send.
    Already,
    /// The stream's or the node's unacked bytes are used up.
    NoRoom,
}

struct Held {
    bytes: u32,
    _share: Option<OwnedSemaphorePermit>,
    /// Open from the send to the ack.
    delivering: tracing::Span,
}

pub(crate) struct InFlight {
    sent: HashMap<String, Held>,
    bytes: u32,
    budget: Unacked,
    /// Acked ids; `true` while the store write is pending. Written ones are
    /// kept only while a replay that may have read them is running.
    acked: HashMap<String, bool>,
    replaying: bool,
    /// A replay stopped for want of room; the next ack should restart it.
    waiting: bool,
}

impl InFlight {
    pub(crate) fn new(budget: Unacked) -> Self {
        Self {
            sent: HashMap::new(),
            bytes: 0,
            budget,
            acked: HashMap::new(),
            replaying: false,
            waiting: false,
        }
    }

    /// Sent and unacked.
    pub(crate) fn len(&self) -> usize {
        self.sent.len()
    }

    #[cfg(test)]
    pub(crate) fn mark_sent(&mut self, message_id: &str, bytes: u32) -> Mark {
        self.mark_sent_in(message_id, bytes, tracing::Span::none())
    }

    /// Marks a message of `bytes` as sent, if the budgets have room, with
    /// the span that lasts until its ack. One message always fits an empty
    /// stream, however big, so none is stuck.
    pub(crate) fn mark_sent_in(
        &mut self,
        message_id: &str,
        bytes: u32,
        delivering: tracing::Span,
    ) -> Mark {
        if self.acked.contains_key(message_id) || self.sent.contains_key(message_id) {
            return Mark::Already;
        }
        let bytes = bytes.min(self.budget.per_stream);
        if !self.sent.is_empty() && self.bytes + bytes > self.budget.per_stream {
            self.waiting = true;
            return Mark::NoRoom;
        }
        let Ok(share) = self.budget.total.clone().try_acquire_many_owned(bytes) else {
            self.waiting = true;
            return Mark::NoRoom;
        };
        self.bytes += bytes;
        let held = Held {
            bytes,
            _share: Some(share),
            delivering,
        };
        self.sent.insert(message_id.to_owned(), held);
        Mark::New
    }

    /// Undoes [`InFlight::mark_sent`] for a message that could not be sent.
    pub(crate) fn unmark(&mut self, message_id: &str) {
        self.forget(message_id);
    }

    fn forget(&mut self, message_id: &str) -> Option<tracing::Span> {
        let held = self.sent.remove(message_id)?;
        self.bytes -= held.bytes;
        Some(held.delivering)
    }

    /// Something waits for this stream's acks to free room: a replay now
    /// would stop at once, and the next ack starts one anyway.
    pub(crate) fn waiting_for_acks(&self) -> bool {
        self.waiting && !self.sent.is_empty()
    }

    /// True (once) when acks freed room a stopped replay was waiting for.
    pub(crate) fn room_freed(&mut self) -> bool {
        std::mem::take(&mut self.waiting)
    }

    #[cfg(test)]
    pub(crate) fn take_acked(&mut self, message_ids: &[String]) -> Vec<String> {
        self.take_acked_traced(message_ids).0
    }

    /// Of `message_ids`, the ones this stream sent and had not seen acked:
    /// only these are written to the store. With them, the `deliver` spans
    /// of those that were traced.
    pub(crate) fn take_acked_traced(
        &mut self,
        message_ids: &[String],
    ) -> (Vec<String>, Vec<tracing::Span>) {
        let mut taken = Vec::new();
        let mut traced = Vec::new();
        for id in message_ids {
            if let Some(delivering) = self.forget(id) {
                self.acked.insert(id.clone(), true);
                taken.push(id.clone());
                if !delivering.is_disabled() {
                    traced.push(delivering);
                }
            }
        }
        (taken, traced)
    }

    /// The store removed (or failed to remove) these acked messages.
    pub(crate) fn ack_written(&mut self, message_ids: &[String]) {
        for id in message_ids {
            if self.replaying {
                if let Some(pending) = self.acked.get_mut(id) {
                    *pending = false;
                }
            } else {
                self.acked.remove(id);
            }
        }
    }

    /// A replay is about to read the store.
    pub(crate) fn replay_started(&mut self) {
        self.replaying = true;
    }

    /// The replay is over: the next one reads after every finished write.
    pub(crate) fn replay_finished(&mut self) {
        self.replaying = false;
        self.acked.retain(|_, pending| *pending);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn in_flight() -> InFlight {
        InFlight::new(Unacked::new(1000, 1500))
    }

    fn ids(values: &[&str]) -> Vec<String> {
        values.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn only_ids_this_stream_sent_are_taken_and_only_once() {
        let mut in_flight = in_flight();
        assert_eq!(in_flight.mark_sent("a", 10), Mark::New);
        assert_eq!(in_flight.mark_sent("b", 10), Mark::New);
        assert_eq!(
            in_flight.take_acked(&ids(&["a", "never-sent", "a"])),
            ids(&["a"])
        );
        assert_eq!(in_flight.len(), 1);
    }

    #[test]
    fn an_acked_message_is_not_sent_again_by_a_replay_that_read_it_before_the_write() {
        let mut in_flight = in_flight();
        in_flight.mark_sent("a", 10);
        in_flight.replay_started();
        let taken = in_flight.take_acked(&ids(&["a"]));
        let pending = in_flight.mark_sent("a", 10);
        assert_eq!(pending, Mark::Already, "the write is pending");
        in_flight.ack_written(&taken);
        let written = in_flight.mark_sent("a", 10);
        assert_eq!(written, Mark::Already, "this replay may have read it first");
        in_flight.replay_finished();
        let later = in_flight.mark_sent("a", 10);
        assert_eq!(later, Mark::New, "a later replay reads after the write");
    }

    #[test]
    fn acked_ids_are_forgotten_once_written_outside_a_replay() {
        let mut in_flight = in_flight();
        in_flight.mark_sent("a", 10);
        let taken = in_flight.take_acked(&ids(&["a"]));
        in_flight.ack_written(&taken);
        assert!(in_flight.acked.is_empty());
    }

    #[test]
    fn unacked_bytes_are_bounded_per_stream_and_in_all() {
        let budget = Unacked::new(1000, 1500);
        let mut first = InFlight::new(budget.clone());
        let mut second = InFlight::new(budget);
        assert_eq!(first.mark_sent("a", 600), Mark::New);
        assert_eq!(
            first.mark_sent("b", 600),
            Mark::NoRoom,
            "over the stream's 1000"
        );
        assert_eq!(second.mark_sent("c", 800), Mark::New);
        assert_eq!(
            second.mark_sent("d", 150),
            Mark::NoRoom,
            "over the node's 1500"
        );
        first.take_acked(&ids(&["a"]));
        assert_eq!(second.mark_sent("d", 150), Mark::New, "an ack frees both");
        let mut big = InFlight::new(Unacked::new(1000, 5000));
        assert_eq!(big.mark_sent("huge", 4000), Mark::New, "one always fits");
    }
}
