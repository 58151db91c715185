//! The cluster directory: which nodes are alive and which node holds each
//! streaming device. A store the nodes share keeps it (see
//! [`crate::cluster`] for how routing uses it); every implementation passes
//! the cluster's conformance suite.

use std::time::Duration;

use async_trait::async_trait;

use super::StoreResult;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRecord {
    pub node_id: String,
    /// `host:port` of the node's cluster listener.
    pub address: String,
}

/// "This node holds this device's stream", stamped so a newer claim wins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub device_id: String,
    pub node_id: String,
    pub address: String,
    /// Unix microseconds when the stream opened; unique per node.
    pub claimed_at_micros: i64,
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
