//! This node in the directory: joined before it serves, refreshed by a
//! heartbeat, removed when it shuts down (so senders stop forwarding to it
//! at once instead of waiting for its heartbeat to lapse).

use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{Cluster, HEARTBEAT_INTERVAL, NODE_TTL};
use crate::store::StoreResult;

impl Cluster {
    /// Writes the first heartbeat and reads the other nodes.
    pub(crate) async fn join(&self) -> StoreResult<()> {
        self.directory().heartbeat(self.node(), NODE_TTL).await?;
        self.refresh_live().await
    }

    async fn beat(&self) {
        if let Err(error) = self.directory().heartbeat(self.node(), NODE_TTL).await {
            tracing::warn!(%error, "cluster heartbeat failed; other nodes may stop forwarding here");
        }
        if let Err(error) = self.refresh_live().await {
            tracing::warn!(%error, "reading the cluster's live nodes failed");
        }
    }
}

/// Heartbeats until `leave` turns true, then removes this node.
pub(crate) fn spawn_membership(
    cluster: Arc<Cluster>,
    mut leave: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(HEARTBEAT_INTERVAL);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticks.tick() => cluster.beat().await,
                changed = leave.changed() => {
                    if changed.is_err() || *leave.borrow() {
                        break;
                    }
                }
            }
        }
        match cluster
            .directory()
            .remove_node(&cluster.node().node_id)
            .await
        {
            Ok(()) => tracing::info!(node_id = %cluster.node().node_id, "left the cluster"),
            Err(error) => {
                tracing::warn!(%error, "could not remove this node from the directory; it expires with its heartbeat");
            }
        }
    })
}
