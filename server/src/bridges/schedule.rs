//! Sending the wake-ups that come due: one task polls the store and hands
//! what is due to at most `bridge_workers` provider calls at once. It
//! claims only as many as there are free workers, so work beyond the pool
//! waits in the store, not in memory. Each wake-up is sent from the queued
//! message as it is then: one acked or expired meanwhile sends nothing.

use std::sync::Arc;
use std::time::Duration;

use super::Bridges;
use super::retry::RetryPolicy;
use crate::domain::{QueuedMessage, WakeUp, now_millis};
use crate::store::{StoreError, StoreResult};

/// How often the store is asked for due wake-ups when the last poll found
/// fewer than the free workers. Low-urgency wake-ups are due
/// `low_urgency_margin` (minutes) before their message expires, so a second
/// late costs nothing; overflow from a full pool is picked up as soon as a
/// worker frees (the poll waits for one) or within this.
pub(crate) const POLL_INTERVAL: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy)]
pub struct WorkerPool {
    /// Provider calls in flight at most (`bridge_workers`).
    pub workers: usize,
    /// The deadline of each provider call (`bridge_call_timeout_seconds`).
    pub call_timeout: Duration,
    pub retry: RetryPolicy,
}

impl WorkerPool {
    /// How long a claimed wake-up stays with the node that took it: longer
    /// than a send with every retry can take, so only a node that died
    /// leaves one to be sent again.
    pub(crate) fn lease_millis(&self) -> i64 {
        let attempt = self.call_timeout + self.retry.max_backoff;
        let longest = attempt.saturating_mul(self.retry.max_attempts) + Duration::from_secs(60);
        i64::try_from(longest.as_millis()).unwrap_or(i64::MAX)
    }
}

impl Bridges {
    /// Starts the task that sends due wake-ups; it runs as long as the process.
    pub(crate) fn start_scheduler(self: &Arc<Self>) {
        if self.is_enabled() {
            tokio::spawn(self.clone().poll());
        }
    }

    async fn poll(self: Arc<Self>) {
        loop {
            // Take nothing until a worker is free.
            let Ok(first) = self.workers.clone().acquire_owned().await else {
                return;
            };
            let mut permits = vec![first];
            while let Ok(permit) = self.workers.clone().try_acquire_owned() {
                permits.push(permit);
            }
            let now = now_millis();
            let lease_until = now.saturating_add(self.pool.lease_millis());
            let claimed = match self
                .store
                .claim_wake_ups(now, lease_until, permits.len())
                .await
            {
                Ok(claimed) => claimed,
                Err(error) => {
                    tracing::warn!(%error, "reading due wake-ups failed; trying again");
                    Vec::new()
                }
            };
            let idle = claimed.len() < permits.len();
            for (wake_up, permit) in claimed.into_iter().zip(permits.drain(..)) {
                let bridges = self.clone();
                tokio::spawn(async move {
                    bridges.deliver(&wake_up).await;
                    drop(permit);
                });
            }
            drop(permits);
            if idle {
                tokio::time::sleep(POLL_INTERVAL).await;
            }
        }
    }

    /// Sends one due wake-up if its message still waits for an absent
    /// device with a usable bridge, then removes it. A failed read leaves
    /// it for when its lease ends.
    async fn deliver(&self, wake_up: &WakeUp) {
        let bridge = match self.store.bridge(&wake_up.device_id).await {
            Ok(bridge) => bridge.filter(|bridge| self.can_serve(bridge)),
            Err(error) => return retry_later(&error),
        };
        if let Some(bridge) = bridge {
            match self.still_queued(wake_up).await {
                Ok(Some(message)) => self.send(&message, &bridge).await,
                Ok(None) => count(bridge.kind(), "not_needed"),
                Err(error) => return retry_later(&error),
            }
        }
        self.finish(wake_up).await;
    }

    /// The message, if it is still queued and its device did not come back
    /// to an active stream here.
    async fn still_queued(&self, wake_up: &WakeUp) -> StoreResult<Option<QueuedMessage>> {
        let ids = [wake_up.message_id.clone()];
        let queued = self
            .store
            .messages(&wake_up.device_id, &ids, now_millis())
            .await?;
        let back = self
            .hub
            .get(&wake_up.device_id)
            .is_some_and(|live| self.policy.streams_to(live.presence()));
        Ok(queued.into_iter().next().filter(|_| !back))
    }
}

fn retry_later(error: &StoreError) {
    tracing::warn!(%error, "reading a due wake-up's message failed; it is tried again when its lease ends");
}

pub(super) fn count(provider: &'static str, outcome: &'static str) {
    metrics::counter!("pushd_bridge_sends_total", "provider" => provider, "outcome" => outcome)
        .increment(1);
}
