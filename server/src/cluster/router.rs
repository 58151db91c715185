//! This node's side of routing: claiming streams, forwarding messages to
//! the node that holds a device, and asking a node to close a stream a
//! device replaced elsewhere.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::RwLock;
use push_proto::internal as node_pb;
use tracing::Instrument as _;

use super::peers::{ClusterError, Peers};
use super::{Directory, NodeRecord, Route};
use crate::delivery::{Hub, RouteGuard, StreamRoutes};
use crate::domain::QueuedMessage;
use crate::store::StoreResult;

/// A route to a node this node has not heard of triggers a re-read of the
/// live nodes (a node may have just joined), at most this often.
const REFRESH_AT_MOST_EVERY: Duration = Duration::from_secs(1);

pub(crate) struct Cluster {
    node: NodeRecord,
    hub: Arc<Hub>,
    directory: Arc<dyn Directory>,
    live: RwLock<HashSet<String>>,
    /// When a route to an unknown node last caused a re-read.
    refreshed: tokio::sync::Mutex<Option<Instant>>,
    peers: Peers,
}

impl Cluster {
    pub(crate) fn new(
        node: NodeRecord,
        hub: Arc<Hub>,
        directory: Arc<dyn Directory>,
        secret: &str,
    ) -> Result<Self, ClusterError> {
        Ok(Self {
            node,
            hub,
            directory,
            live: RwLock::new(HashSet::new()),
            refreshed: tokio::sync::Mutex::new(None),
            peers: Peers::new(secret)?,
        })
    }

    pub(crate) fn node(&self) -> &NodeRecord {
        &self.node
    }

    pub(super) fn directory(&self) -> &dyn Directory {
        self.directory.as_ref()
    }

    /// Re-reads which nodes are alive.
    pub(super) async fn refresh_live(&self) -> StoreResult<()> {
        let nodes = self.directory.live_nodes().await?;
        let addresses: Vec<String> = nodes.iter().map(|node| node.address.clone()).collect();
        self.peers.retain(&addresses);
        *self.live.write() = nodes.into_iter().map(|node| node.node_id).collect();
        metrics::gauge!("pushd_cluster_nodes").set(addresses.len() as f64);
        Ok(())
    }

    fn knows_live(&self, node_id: &str) -> bool {
        self.live.read().contains(node_id)
    }

    async fn is_live(&self, node_id: &str) -> bool {
        if self.knows_live(node_id) {
            return true;
        }
        let mut refreshed = self.refreshed.lock().await;
        if refreshed.is_none_or(|last| last.elapsed() >= REFRESH_AT_MOST_EVERY) {
            *refreshed = Some(Instant::now());
            if let Err(error) = self.refresh_live().await {
                tracing::warn!(%error, "reading the cluster's live nodes failed");
            }
        }
        self.knows_live(node_id)
    }

    /// Records that this node holds the device's stream (opened at
    /// `claimed_at_micros`), and asks the node that held it before, if any,
    /// to close its older stream. The route lasts until the claim is dropped.
    pub(crate) async fn claim(
        self: &Arc<Self>,
        device_id: &str,
        claimed_at_micros: i64,
    ) -> StoreResult<RouteClaim> {
        let route = Route {
            device_id: device_id.to_string(),
            node_id: self.node.node_id.clone(),
            address: self.node.address.clone(),
            claimed_at_micros,
        };
        let previous = self.directory.claim(&route).await?;
        if let Some(previous) = previous.filter(|previous| previous.node_id != self.node.node_id) {
            let cluster = self.clone();
            tokio::spawn(async move { cluster.evict(previous, claimed_at_micros).await });
        }
        Ok(RouteClaim {
            cluster: self.clone(),
            route: Some(route),
        })
    }

    async fn evict(&self, previous: Route, claimed_at_micros: i64) {
        if !self.is_live(&previous.node_id).await {
            return;
        }
        let request = node_pb::EvictRequest {
            device_id: previous.device_id.clone(),
            claimed_at_micros,
            revoked: false,
        };
        let result = match self.peers.client(&previous.address) {
            Ok(mut client) => client
                .evict(self.peers.request(request))
                .await
                .map(tonic::Response::into_inner)
                .map_err(|status| status.message().to_string()),
            Err(error) => Err(error.to_string()),
        };
        match result {
            Ok(evicted) if evicted.unacked > 0 => {
                // The old stream took messages this stream's backlog read may
                // have missed (written just after it): read the backlog again.
                if let Some(live) = self
                    .hub
                    .get(&previous.device_id)
                    .filter(|live| live.opened_at_micros == claimed_at_micros)
                {
                    live.request_resync();
                }
            }
            Ok(_) => {}
            Err(error) => {
                tracing::debug!(%error, node = %previous.node_id, "could not ask a node to close a replaced stream");
            }
        }
    }

    /// Closes a removed device's stream on whichever node holds it.
    pub(crate) async fn revoke(&self, device_id: &str) {
        let route = match self.directory.route(device_id).await {
            Ok(Some(route)) if route.node_id != self.node.node_id => route,
            Ok(_) => return,
            Err(error) => {
                // Its credential is already gone, so the stream gets no new
                // messages: its device has no queue left to read.
                tracing::warn!(%error, "reading a removed device's route failed");
                return;
            }
        };
        let request = node_pb::EvictRequest {
            device_id: device_id.to_owned(),
            claimed_at_micros: i64::MAX,
            revoked: true,
        };
        if let Ok(mut client) = self.peers.client(&route.address)
            && let Err(status) = client.evict(self.peers.request(request)).await
        {
            tracing::warn!(%status, node = %route.node_id, "could not close a removed device's stream");
        }
    }

    /// Hands `message` to the node streaming its device, if that is another
    /// live node. `stored` says whether the store has it (false for TTL 0);
    /// with `bridge_available`, a device that is away is left to its bridge.
    pub(crate) async fn forward(
        &self,
        message: &QueuedMessage,
        stored: bool,
        bridge_available: bool,
    ) -> Forwarded {
        let route = match self.directory.route(&message.device_id).await {
            Ok(Some(route)) if route.node_id != self.node.node_id => route,
            Ok(_) => return Forwarded::NotSent,
            Err(error) => {
                tracing::warn!(%error, "reading a device's route failed; the message waits in the store");
                return Forwarded::NotSent;
            }
        };
        if !self.is_live(&route.node_id).await {
            return Forwarded::NotSent;
        }
        let request = node_pb::DeliverRequest {
            message: Some(forwarded(message)),
            stored,
            bridge_available,
        };
        let span = tracing::info_span!(
            target: crate::tracing_export::TARGET,
            "forward",
            otel.kind = "client",
            peer_node = %route.node_id,
        );
        let mut request = self.peers.request(request);
        crate::tracing_export::propagation::inject(&span, request.metadata_mut());
        let outcome = match self.peers.client(&route.address) {
            Ok(mut client) => match client.deliver(request).instrument(span).await {
                Ok(response) => response.into_inner().outcome(),
                Err(status) => {
                    tracing::debug!(node = %route.node_id, %status, "forwarding failed; the message waits in the store");
                    metrics::counter!("pushd_forwarded_total", "outcome" => "failed").increment(1);
                    return Forwarded::NotSent;
                }
            },
            Err(error) => {
                tracing::warn!(%error, "no client for a peer");
                return Forwarded::NotSent;
            }
        };
        metrics::counter!("pushd_forwarded_total", "outcome" => outcome.as_str_name().to_ascii_lowercase())
            .increment(1);
        match outcome {
            node_pb::DeliverOutcome::Sent => Forwarded::Sent,
            node_pb::DeliverOutcome::Away => Forwarded::Away,
            node_pb::DeliverOutcome::BelowThreshold | node_pb::DeliverOutcome::BufferFull => {
                Forwarded::Queued
            }
            _ => Forwarded::NotSent,
        }
    }
}

/// What became of a forwarded message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Forwarded {
    Sent,
    /// The device streams there but is away: use its bridge.
    Away,
    /// The device streams there and gets it from the store (its buffer was
    /// full, or the message is below its urgency threshold).
    Queued,
    /// Not delivered (not connected anywhere known, unreachable, full):
    /// it waits in the store.
    NotSent,
}

fn forwarded(message: &QueuedMessage) -> node_pb::ForwardedMessage {
    node_pb::ForwardedMessage {
        id: message.id.clone(),
        device_id: message.device_id.clone(),
        subscription_id: message.subscription_id.clone(),
        topic: message.topic.clone().unwrap_or_default(),
        urgency: message.urgency.to_proto() as i32,
        payload: message.payload.clone(),
        received_at: message.received_at,
        expires_at: message.expires_at,
    }
}

/// The cluster as live delivery sees it: where streams claim their routes.
struct ClusterRoutes(Arc<Cluster>);

#[async_trait::async_trait]
impl StreamRoutes for ClusterRoutes {
    async fn claim(&self, device_id: &str, opened_at_micros: i64) -> StoreResult<RouteGuard> {
        Ok(Box::new(self.0.claim(device_id, opened_at_micros).await?))
    }
}

impl Cluster {
    /// This cluster as the route keeper of this node's streams.
    pub(crate) fn stream_routes(self: &Arc<Self>) -> Arc<dyn StreamRoutes> {
        Arc::new(ClusterRoutes(self.clone()))
    }
}

/// A stream's claim on its device's route; dropping it releases the route.
pub(crate) struct RouteClaim {
    cluster: Arc<Cluster>,
    route: Option<Route>,
}

impl Drop for RouteClaim {
    fn drop(&mut self) {
        let (Some(route), Ok(runtime)) = (self.route.take(), tokio::runtime::Handle::try_current())
        else {
            return;
        };
        let cluster = self.cluster.clone();
        runtime.spawn(async move {
            if let Err(error) = cluster.directory.release(&route).await {
                // Harmless: routes to a node that is gone, or to a stream that
                // ended, are ignored by senders until a new claim replaces them.
                tracing::debug!(%error, device_id = %route.device_id, "releasing a route failed");
            }
        });
    }
}
