//! Where delivery meets routing between nodes, seen from delivery: a stream
//! claims its device's route before it reads the backlog, and holds the
//! claim while it lives. Defined here and implemented by the cluster, so
//! live delivery does not depend on how nodes find each other.

use async_trait::async_trait;

use crate::store::StoreResult;

/// A held route; dropping it releases the route.
pub(crate) type RouteGuard = Box<dyn Send + Sync>;

#[async_trait]
pub(crate) trait StreamRoutes: Send + Sync {
    /// Records that this node holds the device's stream, opened at
    /// `opened_at_micros`, and closes any older stream elsewhere.
    async fn claim(&self, device_id: &str, opened_at_micros: i64) -> StoreResult<RouteGuard>;
}
