//! Where an accepted message goes: a stream on this node (offered before
//! the write, for latency), a stream on another node, or the device's mobile
//! bridge (after the write) — one of them, never two (see
//! [`crate::bridges::policy`]). The OK always waits for the durable write.
//! [`Router`] is the one owner of that decision for every front.

use std::sync::Arc;

use tracing::Instrument as _;

use crate::bridges::Bridges;
use crate::cluster::{Cluster, Forwarded};
use crate::delivery::{Hub, Offer};
use crate::domain::{Bridge, QueuedMessage};
use crate::store::{Admission, RetentionLimits, Store, StoreResult};

/// What became of one copy of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Durable and handed to the device's live stream.
    Delivered,
    /// Durable; the device gets it when it connects (or through its bridge).
    Stored,
    /// TTL 0 and the device was not reachable: dropped, as the sender asked.
    NotDelivered,
}

impl Outcome {
    /// As the HTTP front and `pushctl send` print it.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Outcome::Delivered => "delivered",
            Outcome::Stored => "stored",
            Outcome::NotDelivered => "not_delivered",
        }
    }
}

/// The ways to a device: streams on this node, other nodes, push services.
pub(crate) struct Router {
    store: Arc<dyn Store>,
    pub(crate) hub: Arc<Hub>,
    pub(crate) cluster: Option<Arc<Cluster>>,
    pub(crate) bridges: Arc<Bridges>,
    retention: RetentionLimits,
}

impl Router {
    pub(crate) fn new(
        store: Arc<dyn Store>,
        hub: Arc<Hub>,
        cluster: Option<Arc<Cluster>>,
        bridges: Arc<Bridges>,
        retention: RetentionLimits,
    ) -> Self {
        Self {
            store,
            hub,
            cluster,
            bridges,
            retention,
        }
    }

    /// TTL 0: RFC 8030 says deliver immediately or not at all, and never
    /// store; so never bridged either (a wake-up would find nothing).
    pub(crate) async fn deliver_now_or_never(&self, message: &QueuedMessage) -> Outcome {
        let sent = match self.hub.get(&message.device_id) {
            Some(live) => live.offer(message) == Offer::Sent,
            None => self.forward(message, false, false).await == Forwarded::Sent,
        };
        if sent {
            Outcome::Delivered
        } else {
            Outcome::NotDelivered
        }
    }

    pub(crate) async fn store_and_deliver(&self, message: QueuedMessage) -> StoreResult<Outcome> {
        let local = self.hub.get(&message.device_id);
        let streaming_here = local
            .as_ref()
            .is_some_and(|live| self.bridges.policy.streams_to(live.presence()));
        let bridge = if streaming_here {
            None
        } else {
            self.bridges.usable_bridge(&message.device_id).await
        };
        match bridge {
            Some(bridge) => {
                self.store_and_bridge(message, bridge, local.is_none())
                    .await
            }
            None => self.store_and_stream(message).await,
        }
    }

    /// Hands the message to the node streaming its device, in a cluster.
    async fn forward(
        &self,
        message: &QueuedMessage,
        stored: bool,
        bridge_available: bool,
    ) -> Forwarded {
        match &self.cluster {
            Some(cluster) => cluster.forward(message, stored, bridge_available).await,
            None => Forwarded::NotSent,
        }
    }

    /// The device is away (or has no stream here) and has a bridge: store,
    /// let a node where it streams actively take it, else bridge it.
    async fn store_and_bridge(
        &self,
        message: QueuedMessage,
        bridge: Bridge,
        may_stream_elsewhere: bool,
    ) -> StoreResult<Outcome> {
        let admission = Admission::Queue(self.retention);
        self.store
            .enqueue(message.clone(), admission)
            .instrument(store_span())
            .await?;
        metrics::counter!("pushd_messages_stored_total").increment(1);
        if may_stream_elsewhere {
            match self.forward(&message, true, true).await {
                Forwarded::Sent => return Ok(Outcome::Delivered),
                Forwarded::Queued => return Ok(Outcome::Stored),
                Forwarded::Away | Forwarded::NotSent => {}
            }
        }
        self.bridges.dispatch(&message, bridge).await;
        Ok(Outcome::Stored)
    }

    /// Offers the message to a live stream first (latency), then waits for
    /// the durable write (the OK). A device that connected in between, or
    /// whose buffer was full, is caught after the write, when a replay is
    /// sure to find the message.
    async fn store_and_stream(&self, message: QueuedMessage) -> StoreResult<Outcome> {
        let first = self.hub.get(&message.device_id).map(|live| {
            let offer = live.offer(&message);
            (live, offer)
        });
        let admission = match first {
            Some((_, Offer::Sent)) => Admission::DeliveredLive,
            _ => Admission::Queue(self.retention),
        };
        let enqueued = self
            .store
            .enqueue(message.clone(), admission)
            .instrument(store_span())
            .await?;
        metrics::counter!("pushd_messages_stored_total")
            .increment(u64::from(!enqueued.already_acked));
        let mut delivered = enqueued.already_acked || matches!(first, Some((_, Offer::Sent)));
        if let Some((live, Offer::Full)) = &first {
            // Offered before the write; the replay must come after it.
            live.request_resync();
        }
        // The device may have (re)connected while the write was in flight: its
        // backlog read could have missed this message, so offer it to the new
        // stream (a stream that already holds it ignores the offer).
        if !enqueued.already_acked {
            let first_id = first.as_ref().map(|(live, _)| live.id);
            match self.hub.get(&message.device_id) {
                Some(live) if Some(live.id) != first_id => {
                    delivered |= live.offer_written(&message) == Offer::Sent;
                }
                Some(_) => {}
                // Not streaming here: another node of the cluster may hold it.
                None => delivered |= self.forward(&message, true, false).await == Forwarded::Sent,
            }
        }
        Ok(if delivered {
            Outcome::Delivered
        } else {
            Outcome::Stored
        })
    }
}

/// The durable write, within the message's `route` span.
fn store_span() -> tracing::Span {
    tracing::info_span!(target: crate::tracing_export::TARGET, "store")
}
