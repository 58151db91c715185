//! Bridged deliveries, after the message is durable, so nothing a provider
//! does can lose it. Each is first recorded in the store as a wake-up
//! (before the sender hears STORED), so a restart resumes it; one due now
//! goes out at once if a worker is free, and everything else (low urgency
//! waiting for its device, see [`policy`], or work beyond the pool) waits
//! in the store for [`schedule`] to send when due.
//!
//! [`policy`]: super::policy
//! [`schedule`]: super::schedule

use std::sync::Arc;

use tokio::sync::Semaphore;

use super::policy::{BridgeTiming, RoutingPolicy};
use super::schedule::{WorkerPool, count};
use super::{Notice, Provider, ProviderError};
use crate::delivery::Hub;
use crate::domain::{Bridge, QueuedMessage, WakeUp, now_millis};
use crate::store::Store;

pub struct Bridges {
    pub(super) store: Arc<dyn Store>,
    pub(super) hub: Arc<Hub>,
    providers: Vec<Arc<dyn Provider>>,
    pub(crate) policy: RoutingPolicy,
    pub(super) pool: WorkerPool,
    /// One permit per provider call in flight.
    pub(super) workers: Arc<Semaphore>,
}

impl Bridges {
    pub fn new(
        store: Arc<dyn Store>,
        hub: Arc<Hub>,
        providers: Vec<Arc<dyn Provider>>,
        policy: RoutingPolicy,
        pool: WorkerPool,
    ) -> Self {
        Self {
            store,
            hub,
            providers,
            policy,
            pool,
            workers: Arc::new(Semaphore::new(pool.workers.max(1))),
        }
    }

    /// True when at least one push service is configured.
    pub(crate) fn is_enabled(&self) -> bool {
        !self.providers.is_empty()
    }

    /// True if a configured push service can reach this kind of bridge.
    pub(crate) fn can_serve(&self, bridge: &Bridge) -> bool {
        self.provider(bridge).is_some()
    }

    fn provider(&self, bridge: &Bridge) -> Option<&Arc<dyn Provider>> {
        self.providers
            .iter()
            .find(|provider| provider.kind() == bridge.kind())
    }

    /// The device's bridge, if it has one a configured service can reach.
    /// A failed read counts as none: the message stays stored regardless.
    pub(crate) async fn usable_bridge(&self, device_id: &str) -> Option<Bridge> {
        if !self.is_enabled() {
            return None;
        }
        match self.store.bridge(device_id).await {
            Ok(bridge) => bridge.filter(|bridge| self.provider(bridge).is_some()),
            Err(error) => {
                tracing::warn!(%error, "reading a device's bridge failed; the message waits in the store");
                None
            }
        }
    }

    /// Schedules a stored message's bridged delivery (durably; returns once
    /// the wake-up is recorded) and sends it now if it is due and a worker
    /// is free.
    pub async fn dispatch(self: &Arc<Self>, message: &QueuedMessage, bridge: Bridge) {
        let now = now_millis();
        let timing = self
            .policy
            .bridge_timing(message.urgency, message.expires_at, now);
        let permit = match timing {
            BridgeTiming::Now => self.workers.clone().try_acquire_owned().ok(),
            BridgeTiming::At(_) => None,
        };
        // One sent here is leased to this node: the scheduler leaves it
        // alone unless this node dies before finishing it.
        let due_at = match (timing, &permit) {
            (_, Some(_)) => now.saturating_add(self.pool.lease_millis()),
            (BridgeTiming::Now, None) => now,
            (BridgeTiming::At(at), None) => at,
        };
        let wake_up = WakeUp {
            device_id: message.device_id.clone(),
            message_id: message.id.clone(),
            due_at,
        };
        if let Err(error) = self.store.schedule_wake_up(&wake_up).await {
            tracing::warn!(%error, device_id = %message.device_id, "recording a wake-up failed; the message waits for the device");
            if permit.is_none() {
                return count(bridge.kind(), "not_scheduled");
            }
        }
        let Some(permit) = permit else { return };
        let (bridges, message) = (self.clone(), message.clone());
        tokio::spawn(async move {
            bridges.send(&message, &bridge).await;
            bridges.finish(&wake_up).await;
            drop(permit);
        });
    }

    pub(super) async fn finish(&self, wake_up: &WakeUp) {
        if let Err(error) = self.store.finish_wake_up(wake_up).await {
            // It comes due again when its lease ends: sent twice, not lost.
            tracing::warn!(%error, "removing a sent wake-up failed");
        }
    }

    pub(super) async fn send(&self, message: &QueuedMessage, bridge: &Bridge) {
        let Some(provider) = self.provider(bridge) else {
            return count(bridge.kind(), "no_provider");
        };
        metrics::gauge!("pushd_bridge_in_flight").increment(1.0);
        let outcome = provider.send(bridge, &Notice::from_message(message)).await;
        metrics::gauge!("pushd_bridge_in_flight").decrement(1.0);
        let device_id = &message.device_id;
        match &outcome {
            Ok(()) => tracing::debug!(%device_id, message_id = %message.id, "bridged"),
            Err(ProviderError::TokenGone(detail)) => {
                tracing::info!(%device_id, %detail, "push service says the token is gone; forgetting it (the message stays stored)");
                if let Err(error) = self
                    .store
                    .forget_bridge_token(device_id, bridge.token())
                    .await
                {
                    tracing::warn!(%error, "forgetting a bridge token failed");
                }
            }
            Err(ProviderError::Auth(detail)) => {
                tracing::error!(provider = provider.kind(), %detail, "push service refused our credentials: check the bridge configuration (the message stays stored)");
            }
            Err(error) => {
                tracing::warn!(provider = provider.kind(), %device_id, %error, "bridging failed (the message stays stored)");
            }
        }
        count(
            provider.kind(),
            outcome
                .as_ref()
                .map_or_else(ProviderError::label, |_| "sent"),
        );
    }
}
