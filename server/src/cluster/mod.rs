//! Routing between the `pushd` nodes of a cluster that share one distributed
//! store: a backend may submit to any node, the device may stream from any
//! other.
//!
//! - [`Directory`] (kept by the distributed store): which nodes are alive and
//!   which node holds each streaming device;
//! - [`membership`]: this node's heartbeat, its view of the live nodes, and
//!   its removal on shutdown;
//! - [`Cluster`]: claims a route for each stream and forwards messages to the
//!   node that holds the device;
//! - [`service`]: the internal `push.internal.v1.Node` service, on its own
//!   listener, behind the shared cluster secret.
//!
//! Why a stream claims its route *before* reading its backlog: the sender
//! writes the message and then reads the route. With quorum reads and writes
//! at least one of the two sees the other's write, so every message is either
//! in the backlog the stream reads or forwarded to it.

// Test code: built only for the integration tests (the `conformance` feature).
#[cfg(feature = "conformance")]
pub mod conformance;
mod membership;
mod node;
mod peers;
mod router;
pub(crate) mod service;

use std::time::Duration;

use async_trait::async_trait;

use crate::store::StoreResult;

pub(crate) use membership::spawn_membership;
pub(crate) use node::{ClusterNode, ClusterSettings};
pub(crate) use router::{Cluster, Forwarded};

/// A node heartbeats this often; the directory forgets it after [`NODE_TTL`].
pub(crate) const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(5);
pub(crate) const NODE_TTL: Duration = Duration::from_secs(15);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRecord {
    pub node_id: String,
    /// `host:port` of the node's cluster listener.
    pub(crate) address: String,
}

/// "This node holds this device's stream", stamped so a newer claim wins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub(crate) device_id: String,
    pub(crate) node_id: String,
    pub(crate) address: String,
    /// Unix microseconds when the stream opened; unique per node.
    pub(crate) claimed_at_micros: i64,
}

#[async_trait]
pub trait Directory: Send + Sync + 'static {
    /// Records or refreshes a node; it is forgotten `ttl` after its last heartbeat.
    async fn heartbeat(&self, node: &NodeRecord, ttl: Duration) -> StoreResult<()>;
    async fn remove_node(&self, node_id: &str) -> StoreResult<()>;
    async fn live_nodes(&self) -> StoreResult<Vec<NodeRecord>>;
    /// Points the device at `route.node_id`, unless a newer claim is already
    /// recorded (then this one loses). Returns the route recorded before.
    async fn claim(&self, route: &Route) -> StoreResult<Option<Route>>;
    /// Removes the device's route if it is still this claim (a newer claim stays).
    async fn release(&self, route: &Route) -> StoreResult<()>;
    async fn route(&self, device_id: &str) -> StoreResult<Option<Route>>;
}
