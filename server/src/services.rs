//! The transport-free services every front shares, built once: the sender
//! service ([`Submitter`]), the device services ([`Devices`],
//! [`Subscriptions`]), [`Accounts`] and [`SenderBlocks`]. Each holds only
//! what it uses; the fronts (gRPC in [`crate::api`], RFC 8030 HTTP in
//! [`crate::http`], WebSocket in [`crate::websocket`]) hold the ones they call.

use std::sync::Arc;
use std::time::Duration;

use crate::account::Accounts;
use crate::auth::{
    CredentialAuthenticator, EndpointTokens, MessageHandles, OidcAuthenticator, ServiceBlocks,
    VapidVerifier,
};
use crate::delivery::{Session, Unacked};
use crate::device::{self, Devices, Endpoints, Subscriptions, origin_of};
use crate::limits::{AddressRate, RateLimits, RateSettings};
use crate::receipts::Receipts;
use crate::senders::SenderBlocks;
use crate::store::{RetentionLimits, Store, SubscriptionCache};
use crate::submit::{Router, Submitter, SubmitterParts};

/// How long a subscription read stays in the cache: another node's removal
/// goes unseen here at most this long.
const SUBSCRIPTION_CACHE_TTL: Duration = Duration::from_secs(30);

/// The limits the services enforce on what callers send.
#[derive(Debug, Clone)]
pub(crate) struct ServiceLimits {
    pub(crate) max_ttl_seconds: u32,
    pub(crate) retention: RetentionLimits,
    pub(crate) handshake_timeout: Duration,
    /// Members (approved or pending) one account may have.
    pub(crate) max_account_devices: usize,
    pub(crate) max_subscriptions_per_device: usize,
    pub(crate) rates: RateSettings,
    pub(crate) receipt_retention: Duration,
    pub(crate) max_receipt_watchers: usize,
    /// Unacked bytes delivery sessions may hold, each and all together.
    pub(crate) unacked: Unacked,
    /// Bytes of verified VAPID tokens kept.
    pub(crate) vapid_cache_bytes: usize,
}

/// What the services are built from besides the limits.
pub(crate) struct Foundations {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) router: Arc<Router>,
    pub(crate) public_url: String,
    pub(crate) service_blocks: Arc<ServiceBlocks>,
    pub(crate) oidc: Option<Arc<OidcAuthenticator>>,
    /// The stored secret endpoint tokens and message handles derive from.
    pub(crate) token_master: Vec<u8>,
}

#[derive(Clone)]
pub(crate) struct Services {
    pub(crate) sender: Submitter,
    pub(crate) devices: Devices,
    pub(crate) subscriptions: Subscriptions,
    pub(crate) senders: SenderBlocks,
    pub(crate) accounts: Accounts,
}

impl Services {
    pub(crate) fn build(base: Foundations, limits: ServiceLimits) -> Self {
        let Foundations {
            store,
            router,
            public_url,
            service_blocks,
            oidc,
            token_master,
        } = base;
        let cache = Arc::new(SubscriptionCache::new(
            store.clone(),
            SUBSCRIPTION_CACHE_TTL,
        ));
        let endpoint_tokens = Arc::new(EndpointTokens::new(&token_master));
        let senders = SenderBlocks::new(store.clone(), cache.clone(), service_blocks.clone());
        let sender = Submitter::new(SubmitterParts {
            store: store.clone(),
            subscriptions: cache.clone(),
            vapid: Arc::new(VapidVerifier::new(
                origin_of(&public_url),
                limits.vapid_cache_bytes,
            )),
            rates: RateLimits::new(limits.rates),
            service_blocks,
            endpoint_tokens: endpoint_tokens.clone(),
            handles: Arc::new(MessageHandles::new(&token_master)),
            router: router.clone(),
            receipts: Receipts::start(
                store.clone(),
                limits.receipt_retention,
                limits.max_receipt_watchers,
            ),
            max_ttl_seconds: limits.max_ttl_seconds,
            public_url: public_url.clone(),
        });
        let devices = Devices::new(device::Inner {
            store: store.clone(),
            registrar: Arc::new(CredentialAuthenticator::new(store.clone())),
            oidc,
            registrations: AddressRate::new(limits.rates.register),
            bridges: router.bridges.clone(),
            session: Session {
                hub: router.hub.clone(),
                store: store.clone(),
                routes: router
                    .cluster
                    .as_ref()
                    .map(crate::cluster::Cluster::stream_routes),
                handshake_timeout: limits.handshake_timeout,
                max_in_flight: usize::try_from(limits.retention.max_messages).unwrap_or(usize::MAX),
                unacked: limits.unacked,
            },
        });
        let subscriptions = Subscriptions::new(
            store.clone(),
            cache.clone(),
            Endpoints {
                tokens: endpoint_tokens,
                public_url,
            },
            senders.clone(),
            limits.max_subscriptions_per_device,
        );
        let accounts = Accounts::new(
            store,
            cache,
            router.hub.clone(),
            router.cluster.clone(),
            limits.max_account_devices,
        );
        Self {
            sender,
            devices,
            subscriptions,
            senders,
            accounts,
        }
    }
}
