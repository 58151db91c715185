//! The cluster [`Directory`] in CQL: `nodes` rows expire by `USING TTL`
//! unless heartbeats refresh them; `device_routes` rows carry their claim
//! stamp as the write timestamp, so the newest claim wins however the writes
//! interleave, and a release (a delete at the same stamp) removes only its
//! own claim: at equal timestamps CQL lets the delete win.

use std::time::Duration;

use async_trait::async_trait;
use scylla::statement::prepared::PreparedStatement;
use tokio_stream::StreamExt as _;

use super::ScyllaStore;
use super::schema::{backend, unavailable};
use super::statements::Preparer;
use crate::domain::now_millis;
use crate::store::StoreResult;
use crate::store::{Directory, NodeRecord, Route};

pub(crate) struct DirectoryStatements {
    heartbeat: PreparedStatement,
    remove_node: PreparedStatement,
    live_nodes: PreparedStatement,
    select_route: PreparedStatement,
    insert_route: PreparedStatement,
    delete_route: PreparedStatement,
}

impl DirectoryStatements {
    pub(crate) async fn prepare(p: &Preparer<'_>) -> StoreResult<Self> {
        Ok(Self {
            heartbeat: p.cql(
                "INSERT INTO {ks}.nodes (node_id, address, heartbeat_at) VALUES (?, ?, ?) USING TTL ?",
            )
            .await?,
            remove_node: p.cql("DELETE FROM {ks}.nodes WHERE node_id = ?").await?,
            live_nodes: p.cql("SELECT node_id, address FROM {ks}.nodes").await?,
            select_route: p.cql(
                "SELECT node_id, address, claimed_at FROM {ks}.device_routes WHERE device_id = ?",
            )
            .await?,
            insert_route: p.cql(
                "INSERT INTO {ks}.device_routes (device_id, node_id, address, claimed_at)
                 VALUES (?, ?, ?, ?) USING TIMESTAMP ?",
            )
            .await?,
            delete_route: p.cql(
                "DELETE FROM {ks}.device_routes USING TIMESTAMP ? WHERE device_id = ?",
            )
            .await?,
        })
    }
}

#[async_trait]
impl Directory for ScyllaStore {
    async fn heartbeat(&self, node: &NodeRecord, ttl: Duration) -> StoreResult<()> {
        let ttl_seconds = i32::try_from(ttl.as_secs().max(1)).unwrap_or(i32::MAX);
        let values = (&node.node_id, &node.address, now_millis(), ttl_seconds);
        self.execute(&self.directory.heartbeat, values).await?;
        Ok(())
    }

    async fn remove_node(&self, node_id: &str) -> StoreResult<()> {
        self.execute(&self.directory.remove_node, (node_id,))
            .await?;
        Ok(())
    }

    async fn live_nodes(&self) -> StoreResult<Vec<NodeRecord>> {
        let pager = self
            .session
            .execute_iter(self.directory.live_nodes.clone(), ())
            .await
            .map_err(unavailable)?;
        let mut rows = pager.rows_stream::<(String, String)>().map_err(backend)?;
        let mut nodes = Vec::new();
        while let Some(row) = rows.next().await {
            let (node_id, address) = row.map_err(unavailable)?;
            nodes.push(NodeRecord { node_id, address });
        }
        Ok(nodes)
    }

    async fn claim(&self, route: &Route) -> StoreResult<Option<Route>> {
        let previous = self.route(&route.device_id).await?;
        let values = (
            &route.device_id,
            &route.node_id,
            &route.address,
            route.claimed_at_micros,
            route.claimed_at_micros,
        );
        self.execute(&self.directory.insert_route, values).await?;
        Ok(previous)
    }

    async fn release(&self, route: &Route) -> StoreResult<()> {
        let values = (route.claimed_at_micros, &route.device_id);
        self.execute(&self.directory.delete_route, values).await?;
        Ok(())
    }

    async fn route(&self, device_id: &str) -> StoreResult<Option<Route>> {
        let result = self
            .execute(&self.directory.select_route, (device_id,))
            .await?;
        let rows = result.into_rows_result().map_err(backend)?;
        let row = rows
            .maybe_first_row::<(String, String, i64)>()
            .map_err(backend)?;
        Ok(row.map(|(node_id, address, claimed_at_micros)| Route {
            device_id: device_id.to_string(),
            node_id,
            address,
            claimed_at_micros,
        }))
    }
}
