//! Running bridged deliveries: in the background (a provider may take
//! seconds, with retries), after the message is durable, so nothing a
//! provider does can lose it. Low-urgency messages wait for the device and
//! are bridged only when their TTL would otherwise run out (see [`policy`]).
//!
//! [`policy`]: super::policy

use std::sync::Arc;
use std::time::Duration;

use super::policy::{BridgeTiming, RoutingPolicy};
use super::{Notice, Provider, ProviderError};
use crate::delivery::Hub;
use crate::domain::{Bridge, QueuedMessage, now_millis};
use crate::store::Store;

pub struct Bridges {
    store: Arc<dyn Store>,
    hub: Arc<Hub>,
    providers: Vec<Arc<dyn Provider>>,
    pub policy: RoutingPolicy,
}

impl Bridges {
    pub fn new(
        store: Arc<dyn Store>,
        hub: Arc<Hub>,
        providers: Vec<Arc<dyn Provider>>,
        policy: RoutingPolicy,
    ) -> Self {
        Self {
            store,
            hub,
            providers,
            policy,
        }
    }

    /// True when at least one push service is configured.
    pub fn is_enabled(&self) -> bool {
        !self.providers.is_empty()
    }

    /// True if a configured push service can reach this kind of bridge.
    pub fn can_serve(&self, bridge: &Bridge) -> bool {
        self.provider(bridge).is_some()
    }

    fn provider(&self, bridge: &Bridge) -> Option<&Arc<dyn Provider>> {
        self.providers
            .iter()
            .find(|provider| provider.kind() == bridge.kind())
    }

    /// The device's bridge, if it has one a configured service can reach.
    /// A failed read counts as none: the message stays stored regardless.
    pub async fn usable_bridge(&self, device_id: &str) -> Option<Bridge> {
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

    /// Sends a stored message through `bridge`, now or when the policy says.
    pub fn dispatch(self: &Arc<Self>, message: QueuedMessage, bridge: Bridge) {
        let timing = self
            .policy
            .bridge_timing(message.urgency, message.expires_at, now_millis());
        let bridges = self.clone();
        tokio::spawn(async move {
            if let BridgeTiming::At(at) = timing {
                let wait = u64::try_from(at - now_millis()).unwrap_or(0);
                metrics::gauge!("pushd_bridge_waiting").increment(1.0);
                tokio::time::sleep(Duration::from_millis(wait)).await;
                metrics::gauge!("pushd_bridge_waiting").decrement(1.0);
                match bridges.still_needed(&message).await {
                    Some(current) => bridges.send(&message, &current).await,
                    None => count(bridge.kind(), "not_needed"),
                }
            } else {
                bridges.send(&message, &bridge).await;
            }
        });
    }

    /// After a wait: the bridge to use if the message is still queued and
    /// the device did not come back to an active stream here.
    async fn still_needed(&self, message: &QueuedMessage) -> Option<Bridge> {
        let ids = [message.id.clone()];
        let queued = self
            .store
            .messages(&message.device_id, &ids, now_millis())
            .await
            .ok()?;
        let back = self
            .hub
            .get(&message.device_id)
            .is_some_and(|live| self.policy.streams_to(live.presence()));
        if queued.is_empty() || back {
            return None;
        }
        self.usable_bridge(&message.device_id).await
    }

    async fn send(&self, message: &QueuedMessage, bridge: &Bridge) {
        let Some(provider) = self.provider(bridge) else {
            return count(bridge.kind(), "no_provider");
        };
        let outcome = provider.send(bridge, &Notice::from_message(message)).await;
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

fn count(provider: &'static str, outcome: &'static str) {
    metrics::counter!("pushd_bridge_sends_total", "provider" => provider, "outcome" => outcome)
        .increment(1);
}
