//! The device calls that work without a stream: keeping a mobile push
//! bridge, and fetching and acking stored messages (the bridge wake-up path).

use super::Devices;
use crate::domain::{Bridge, QueuedMessage, Urgency, check_message_ids, is_message_id, now_millis};
use crate::error::ApiError;
use crate::store::PendingQuery;

/// Page size (and cap) of a fetch without ids.
const MAX_PAGE: usize = 256;

/// A page of stored messages, and whether more follow.
pub(crate) struct Fetched {
    pub(crate) messages: Vec<QueuedMessage>,
    pub(crate) more: bool,
}

impl Devices {
    pub(crate) async fn set_bridge(&self, device_id: &str, bridge: Bridge) -> Result<(), ApiError> {
        bridge
            .check()
            .map_err(|problem| ApiError::Invalid(problem.to_string()))?;
        if !self.inner.bridges.can_serve(&bridge) {
            return Err(ApiError::NoBridgeCredentials(bridge.kind()));
        }
        self.inner
            .store
            .set_bridge(device_id, Some(&bridge))
            .await?;
        tracing::debug!(%device_id, kind = bridge.kind(), "bridge set");
        Ok(())
    }

    pub(crate) async fn remove_bridge(&self, device_id: &str) -> Result<(), ApiError> {
        Ok(self.inner.store.set_bridge(device_id, None).await?)
    }

    /// The messages `ids` or, without ids, the next page after `after` (at
    /// most `limit`, 0 for a full page).
    pub(crate) async fn fetch(
        &self,
        device_id: String,
        ids: Vec<String>,
        after: String,
        limit: usize,
    ) -> Result<Fetched, ApiError> {
        let store = &self.inner.store;
        if !ids.is_empty() {
            check_ids(&ids)?;
            let messages = store.messages(&device_id, &ids, now_millis()).await?;
            return Ok(Fetched {
                messages,
                more: false,
            });
        }
        if !after.is_empty() && !is_message_id(&after) {
            return Err(ApiError::Invalid("after is not a message id".into()));
        }
        let limit = match limit {
            0 => MAX_PAGE,
            limit => limit.min(MAX_PAGE),
        };
        let query = PendingQuery {
            device_id,
            now: now_millis(),
            min_urgency: Urgency::VeryLow,
            after: Some(after).filter(|after| !after.is_empty()),
            // One more than asked, to say whether more follow.
            limit: limit + 1,
        };
        let mut messages = store.pending(query).await?;
        let more = messages.len() > limit;
        messages.truncate(limit);
        Ok(Fetched { messages, more })
    }

    /// Removes acked messages; returns how many there were.
    pub(crate) async fn ack(&self, device_id: &str, ids: &[String]) -> Result<u64, ApiError> {
        check_ids(ids)?;
        let removed = self.inner.store.ack(device_id, ids).await?;
        metrics::counter!("pushd_messages_acked_total").increment(removed);
        Ok(removed)
    }
}

fn check_ids(ids: &[String]) -> Result<(), ApiError> {
    check_message_ids(ids).map_err(|problem| ApiError::Invalid(problem.to_string()))
}
