//! What one stream has sent and not yet seen acked, and what it has seen
//! acked but not yet removed from the store.
//!
//! Two rules live here. Only ids this stream sent reach the store as acks:
//! an ack frame of ids never issued costs a set lookup each, not a write on
//! the store's single writer and a tombstone. And an acked message is never
//! sent again by a replay that read the store before the ack was written
//! (a device that acks and at once lowers its urgency threshold).

use std::collections::{HashMap, HashSet};

#[derive(Default)]
pub struct InFlight {
    sent: HashSet<String>,
    /// Acked ids; `true` while the store write is pending. Written ones are
    /// kept only while a replay that may have read them is running.
    acked: HashMap<String, bool>,
    replaying: bool,
}

impl InFlight {
    /// Sent and unacked.
    pub fn len(&self) -> usize {
        self.sent.len()
    }

    /// Marks a message as sent; false if this stream already carries it or
    /// it was just acked.
    pub fn mark_sent(&mut self, message_id: &str) -> bool {
        if self.acked.contains_key(message_id) {
            return false;
        }
        self.sent.insert(message_id.to_owned())
    }

    /// Undoes [`InFlight::mark_sent`] for a message that could not be sent.
    pub fn unmark(&mut self, message_id: &str) {
        self.sent.remove(message_id);
    }

    /// Of `message_ids`, the ones this stream sent and had not seen acked:
    /// only these are written to the store.
    pub fn take_acked(&mut self, message_ids: &[String]) -> Vec<String> {
        let mut taken = Vec::new();
        for id in message_ids {
            if self.sent.remove(id) {
                self.acked.insert(id.clone(), true);
                taken.push(id.clone());
            }
        }
        taken
    }

    /// The store removed (or failed to remove) these acked messages.
    pub fn ack_written(&mut self, message_ids: &[String]) {
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
    pub fn replay_started(&mut self) {
        self.replaying = true;
    }

    /// The replay is over: the next one reads after every finished write.
    pub fn replay_finished(&mut self) {
        self.replaying = false;
        self.acked.retain(|_, pending| *pending);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(values: &[&str]) -> Vec<String> {
        values.iter().map(|value| value.to_string()).collect()
    }

    #[test]
    fn only_ids_this_stream_sent_are_taken_and_only_once() {
        let mut in_flight = InFlight::default();
        assert!(in_flight.mark_sent("a"));
        assert!(in_flight.mark_sent("b"));
        assert_eq!(
            in_flight.take_acked(&ids(&["a", "never-sent", "a"])),
            ids(&["a"])
        );
        assert_eq!(in_flight.len(), 1);
    }

    #[test]
    fn an_acked_message_is_not_sent_again_by_a_replay_that_read_it_before_the_write() {
        let mut in_flight = InFlight::default();
        in_flight.mark_sent("a");
        in_flight.replay_started();
        let taken = in_flight.take_acked(&ids(&["a"]));
        assert!(!in_flight.mark_sent("a"), "the write is pending");
        in_flight.ack_written(&taken);
        assert!(
            !in_flight.mark_sent("a"),
            "this replay may have read it before"
        );
        in_flight.replay_finished();
        assert!(
            in_flight.mark_sent("a"),
            "a later replay reads after the write"
        );
    }

    #[test]
    fn acked_ids_are_forgotten_once_written_outside_a_replay() {
        let mut in_flight = InFlight::default();
        in_flight.mark_sent("a");
        let taken = in_flight.take_acked(&ids(&["a"]));
        in_flight.ack_written(&taken);
        assert!(in_flight.acked.is_empty());
    }
}
