//! One device's live stream, as the rest of the server sees it.

use std::sync::atomic::{AtomicU8, Ordering};

use parking_lot::Mutex;
use push_proto::v1::{self as pb, server_frame::Frame};
use tokio::sync::{Notify, mpsc, watch};

use super::error::StreamError;
use super::in_flight::{InFlight, Mark, Unacked};
use super::outbound::Outbound;

use crate::domain::{Presence, QueuedMessage, Urgency};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CloseReason {
    /// This node is shutting down.
    Draining,
    /// A newer stream for the same device took over.
    Replaced,
    /// The device was removed from its account; its credential is revoked.
    Revoked,
    /// The device went away or broke the protocol.
    Ended,
}

/// What happened when a message was offered to a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Offer {
    Sent,
    /// Below the device's urgency threshold: it waits in the store.
    BelowThreshold,
    /// The stream's buffer is full; the message must come from a replay.
    Full,
    Closed,
}

/// What became of a replayed message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Replayed {
    /// Sent now, or already on this stream.
    Sent,
    /// No room for more unacked bytes: the replay stops until acks free some.
    NoRoom,
    Closed,
}

pub(crate) struct LiveConnection {
    pub id: u64,
    pub device_id: String,
    /// Unix microseconds, unique on this node: the stream's route claim, so
    /// of two streams for one device (on any nodes) the newer wins.
    pub opened_at_micros: i64,
    outbound: Outbound,
    min_urgency: AtomicU8,
    presence: AtomicU8,
    /// Sent on this stream and not yet acked, so a replay does not send them again.
    in_flight: Mutex<InFlight>,
    /// Live offers stop at this many unacked messages. Messages taken live skip
    /// the retention maximum (the device has them), so this keeps a connected
    /// device that never acks from growing its queue without bound.
    max_in_flight: usize,
    resync: Notify,
    close: watch::Sender<Option<CloseReason>>,
}

impl LiveConnection {
    pub(crate) fn new(
        (id, opened_at_micros): (u64, i64),
        device_id: String,
        outbound: Outbound,
        min_urgency: Urgency,
        presence: Presence,
        (max_in_flight, unacked): (usize, Unacked),
    ) -> Self {
        Self {
            id,
            device_id,
            opened_at_micros,
            outbound,
            min_urgency: AtomicU8::new(min_urgency.as_u8()),
            presence: AtomicU8::new(presence as u8),
            in_flight: Mutex::new(InFlight::new(unacked)),
            max_in_flight,
            resync: Notify::new(),
            close: watch::Sender::new(None),
        }
    }

    /// Messages sent on this stream and not acked yet.
    pub(crate) fn unacked(&self) -> usize {
        self.in_flight.lock().len()
    }

    pub(crate) fn min_urgency(&self) -> Urgency {
        Urgency::from_u8(self.min_urgency.load(Ordering::Acquire)).unwrap_or(Urgency::VeryLow)
    }

    /// Sets the threshold; returns true if it went down (stored messages may now be due).
    pub(crate) fn set_min_urgency(&self, urgency: Urgency) -> bool {
        let previous = self.min_urgency.swap(urgency.as_u8(), Ordering::AcqRel);
        urgency.as_u8() < previous
    }

    /// Sets the presence; returns the one before.
    pub(crate) fn set_presence(&self, presence: Presence) -> Presence {
        Presence::from_u8(self.presence.swap(presence as u8, Ordering::AcqRel))
    }

    pub(crate) fn presence(&self) -> Presence {
        Presence::from_u8(self.presence.load(Ordering::Acquire))
    }

    /// Offers a message that is already in the store: if the stream is
    /// full, it replays it from there once it has room. Whoever routes a
    /// written message (this node's router, a forward from another node)
    /// offers it this way.
    pub(crate) fn offer_written(&self, message: &QueuedMessage) -> Offer {
        let offer = self.offer(message);
        if offer == Offer::Full {
            self.request_resync();
        }
        offer
    }

    /// Tries to hand a message to the stream without waiting.
    pub(crate) fn offer(&self, message: &QueuedMessage) -> Offer {
        if message.urgency < self.min_urgency() {
            return Offer::BelowThreshold;
        }
        if !self.has_room() {
            return Offer::Full;
        }
        // A child of the routing that offers it: this node's `route`, or the
        // forwarded call's `node.deliver`. It ends at the ack.
        let delivering = tracing::info_span!(
            target: crate::tracing_export::TARGET,
            "deliver",
            message_id = %message.id,
        );
        match self.mark_in_flight(message, delivering) {
            Mark::New => {}
            Mark::Already => return Offer::Sent,
            Mark::NoRoom => return Offer::Full,
        }
        match self.outbound.try_send(Ok(Box::new(frame(message)))) {
            Ok(()) => {
                metrics::counter!("pushd_messages_delivered_total").increment(1);
                Offer::Sent
            }
            Err(error) => {
                self.unmark_in_flight(&message.id);
                match error {
                    mpsc::error::TrySendError::Full(_) => Offer::Full,
                    mpsc::error::TrySendError::Closed(_) => Offer::Closed,
                }
            }
        }
    }

    /// Sends a replayed message, waiting for room in the stream's queue.
    /// With the stream's unacked bytes used up it stops: the device's next
    /// ack asks for the replay to go on.
    pub(crate) async fn send_replayed(&self, message: &QueuedMessage) -> Replayed {
        // Read back from the store, the message has no trace to join.
        match self.mark_in_flight(message, tracing::Span::none()) {
            Mark::New => {}
            Mark::Already => return Replayed::Sent,
            Mark::NoRoom => return Replayed::NoRoom,
        }
        let sent = self
            .outbound
            .send(Ok(Box::new(frame(message))))
            .await
            .is_ok();
        if !sent {
            return Replayed::Closed;
        }
        metrics::counter!("pushd_messages_delivered_total").increment(1);
        Replayed::Sent
    }

    pub(crate) async fn send_frame(&self, frame: Frame) -> bool {
        self.outbound
            .send(Ok(Box::new(pb::ServerFrame { frame: Some(frame) })))
            .await
            .is_ok()
    }

    /// Ends the stream with an error.
    pub(crate) async fn fail(&self, error: StreamError) {
        let _ = self.outbound.send(Err(Box::new(error))).await;
    }

    /// Of the ids in an ack frame, those this stream sent: only these are
    /// removed from the store; call [`LiveConnection::ack_written`] after.
    /// With them, the `deliver` spans of the traced ones.
    pub(crate) fn take_acked(&self, message_ids: &[String]) -> (Vec<String>, Vec<tracing::Span>) {
        let mut in_flight = self.in_flight.lock();
        let (taken, traced) = in_flight.take_acked_traced(message_ids);
        let restart = !taken.is_empty() && in_flight.room_freed();
        drop(in_flight);
        // A replay stopped for room goes on now that the device acks.
        if restart {
            self.resync.notify_one();
        }
        (taken, traced)
    }

    pub(crate) fn ack_written(&self, message_ids: &[String]) {
        self.in_flight.lock().ack_written(message_ids);
    }

    /// Brackets a replay, so a message acked while it runs is not sent again.
    pub(crate) fn replay_started(&self) {
        self.in_flight.lock().replay_started();
    }

    pub(crate) fn replay_finished(&self) {
        self.in_flight.lock().replay_finished();
    }

    /// Asks the session to replay stored messages (after a full buffer or a lowered threshold).
    pub(crate) fn request_resync(&self) {
        // A device that stopped reading must not make every message sent to
        // it cost a read of its queue.
        if self.in_flight.lock().waiting_for_acks() {
            return;
        }
        self.resync.notify_one();
    }

    pub(crate) async fn resync_requested(&self) {
        self.resync.notified().await;
    }

    pub(crate) fn close(&self, reason: CloseReason) {
        self.close.send_if_modified(|current| {
            if current.is_some() {
                return false;
            }
            *current = Some(reason);
            true
        });
    }

    /// Resolves with the reason once the stream is told to close.
    pub(crate) async fn closed(&self) -> CloseReason {
        let mut receiver = self.close.subscribe();
        match receiver.wait_for(Option::is_some).await {
            Ok(reason) => reason.unwrap_or(CloseReason::Ended),
            Err(_) => CloseReason::Ended,
        }
    }

    pub(crate) async fn wait_outbound_closed(&self) {
        self.outbound.closed().await;
    }

    fn has_room(&self) -> bool {
        self.in_flight.lock().len() < self.max_in_flight
    }

    fn mark_in_flight(&self, message: &QueuedMessage, delivering: tracing::Span) -> Mark {
        // What the frame weighs, near enough: payload, id, and framing.
        let bytes = message.payload.len() + message.id.len() + 64;
        self.in_flight.lock().mark_sent_in(
            &message.id,
            u32::try_from(bytes).unwrap_or(u32::MAX),
            delivering,
        )
    }

    fn unmark_in_flight(&self, message_id: &str) {
        self.in_flight.lock().unmark(message_id);
    }
}

fn frame(message: &QueuedMessage) -> pb::ServerFrame {
    pb::ServerFrame {
        frame: Some(Frame::Message(push_message(message))),
    }
}

/// A stored message as devices receive it, on a stream or fetched.
pub(crate) fn push_message(message: &QueuedMessage) -> pb::PushMessage {
    pb::PushMessage {
        message_id: message.id.clone(),
        subscription_id: message.subscription_id.clone(),
        payload: message.payload.clone(),
        urgency: message.urgency.to_proto() as i32,
        topic: message.topic.clone().unwrap_or_default(),
        received_at_unix_ms: message.received_at,
        expires_at_unix_ms: message.expires_at,
    }
}
