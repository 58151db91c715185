//! Bridges and message lookups by id in CQL.

use scylla::statement::prepared::PreparedStatement;

use super::ScyllaStore;
use super::rows::{self, PendingRow, require_applied};
use super::schema::backend;
use super::statements::Preparer;
use crate::domain::{Bridge, QueuedMessage, UnixMillis, Urgency, now_millis};
use crate::store::{PendingQuery, StoreError, StoreResult};

pub(crate) struct BridgeStatements {
    upsert: PreparedStatement,
    delete: PreparedStatement,
    forget: PreparedStatement,
    select: PreparedStatement,
    messages: PreparedStatement,
}

impl BridgeStatements {
    pub(crate) async fn prepare(p: &Preparer<'_>) -> StoreResult<Self> {
        Ok(Self {
            upsert: p.cql(
                "INSERT INTO {ks}.bridges (device_id, kind, provider_token, scope, sandbox, updated_at)
                 VALUES (?, ?, ?, ?, ?, ?)",
            )
            .await?,
            delete: p.cql("DELETE FROM {ks}.bridges WHERE device_id = ?").await?,
            // A lightweight transaction: a token the app replaced meanwhile stays.
            forget: p.cql("DELETE FROM {ks}.bridges WHERE device_id = ? IF provider_token = ?").await?,
            select: p.cql(
                "SELECT kind, provider_token, scope, sandbox FROM {ks}.bridges WHERE device_id = ?",
            )
            .await?,
            messages: p.cql(
                "SELECT id, subscription_id, topic, urgency, payload, received_at, expires_at
                 FROM {ks}.messages WHERE device_id = ? AND id IN ?",
            )
            .await?,
        })
    }
}

impl ScyllaStore {
    pub(super) async fn write_bridge(
        &self,
        device_id: &str,
        bridge: Option<&Bridge>,
    ) -> StoreResult<()> {
        match bridge {
            Some(bridge) => {
                let (kind, token, scope, sandbox) = bridge.parts();
                let values = (device_id, kind, token, scope, sandbox, now_millis());
                self.execute(&self.bridges.upsert, values).await?;
            }
            None => {
                self.execute(&self.bridges.delete, (device_id,)).await?;
            }
        }
        Ok(())
    }

    pub(super) async fn read_bridge(&self, device_id: &str) -> StoreResult<Option<Bridge>> {
        let result = self.execute(&self.bridges.select, (device_id,)).await?;
        let rows = result.into_rows_result().map_err(backend)?;
        let row = rows
            .maybe_first_row::<(String, String, String, bool)>()
            .map_err(backend)?;
        Ok(row.and_then(|(kind, token, scope, sandbox)| {
            Bridge::from_parts(&kind, token, scope, sandbox)
        }))
    }

    pub(super) async fn forget_token(&self, device_id: &str, token: &str) -> StoreResult<bool> {
        let result = self
            .execute(&self.bridges.forget, (device_id, token))
            .await?;
        match require_applied(result, "bridge") {
            Ok(()) => Ok(true),
            // "Not applied": no bridge, or a different token now.
            Err(StoreError::AlreadyExists(_)) => Ok(false),
            Err(error) => Err(error),
        }
    }

    pub(super) async fn messages_by_id(
        &self,
        device_id: &str,
        message_ids: &[String],
        now: UnixMillis,
    ) -> StoreResult<Vec<QueuedMessage>> {
        if message_ids.is_empty() {
            return Ok(Vec::new());
        }
        let result = self
            .execute(&self.bridges.messages, (device_id, message_ids.to_vec()))
            .await?;
        let rows = result.into_rows_result().map_err(backend)?;
        let query = PendingQuery {
            device_id: device_id.to_string(),
            now,
            min_urgency: Urgency::VeryLow,
            after: None,
            limit: message_ids.len(),
        };
        let mut found = Vec::new();
        for row in rows.rows::<PendingRow>().map_err(backend)? {
            if let Some(message) = rows::pending_message(row.map_err(backend)?, &query) {
                found.push(message);
            }
        }
        Ok(found)
    }
}
