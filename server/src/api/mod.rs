//! The public gRPC API: `push.v1.Sender` for site backends (a thin front
//! over [`crate::submit`]) and `push.v1.Device` for devices. Handlers
//! validate input, call the domain services, and map every error to a gRPC
//! status in one place ([`status`]).

mod account;
mod admin;
mod device;
mod endpoint;
mod gate;
mod offline;
mod receipts;
mod removal;
mod sealed;
mod sender;
mod senders;
mod status;
mod subscriptions;
mod websocket;

use std::sync::Arc;
use std::time::Duration;

use crate::auth::{
    CredentialAuthenticator, DeviceAuthenticator, EndpointTokens, MessageHandles,
    OidcAuthenticator, ServiceBlocks, VapidVerifier,
};
use crate::bridges::Bridges;
use crate::cluster::Cluster;
use crate::delivery::{Hub, Unacked};
use crate::limits::{AddressRate, RateLimits, RateSettings};
use crate::receipts::Receipts;
use crate::store::{RetentionLimits, Store, SubscriptionCache};
use crate::submit::{Router, Submitter, SubmitterParts};

pub use admin::{GuardedAdmin, admin_service};
pub use endpoint::{endpoint_url, origin_of};
pub use gate::{SenderGate, SenderGateLayer};

/// Limits the API enforces on what callers send.
#[derive(Debug, Clone)]
pub struct ApiLimits {
    pub max_ttl_seconds: u32,
    pub retention: RetentionLimits,
    pub handshake_timeout: Duration,
    /// Members (approved or pending) one account may have.
    pub max_account_devices: usize,
    pub max_subscriptions_per_device: usize,
    pub rates: RateSettings,
    pub receipt_retention: Duration,
    pub max_receipt_watchers: usize,
    /// Unacked bytes `Listen` streams may hold, each and all together.
    pub unacked: Unacked,
    /// Bytes of verified VAPID tokens kept.
    pub vapid_cache_bytes: usize,
}

/// Shared by every handler; cheap to clone.
#[derive(Clone)]
pub struct PushApi {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    subscriptions: Arc<SubscriptionCache>,
    submitter: Submitter,
    registrar: Arc<CredentialAuthenticator>,
    /// Set when devices authenticate with an identity provider's tokens.
    oidc: Option<Arc<OidcAuthenticator>>,
    authenticator: Arc<dyn DeviceAuthenticator>,
    hub: Arc<Hub>,
    cluster: Option<Arc<Cluster>>,
    bridges: Arc<Bridges>,
    limits: ApiLimits,
    public_url: String,
    service_blocks: Arc<ServiceBlocks>,
    endpoint_tokens: Arc<EndpointTokens>,
    registrations: Arc<AddressRate>,
}

impl PushApi {
    /// `token_master` is the stored secret endpoint tokens and message
    /// handles are derived from.
    pub fn new(
        store: Arc<dyn Store>,
        router: Arc<Router>,
        public_url: String,
        limits: ApiLimits,
        service_blocks: Arc<ServiceBlocks>,
        oidc: Option<Arc<OidcAuthenticator>>,
        token_master: &[u8],
    ) -> Self {
        let registrar = Arc::new(CredentialAuthenticator::new(store.clone()));
        let authenticator: Arc<dyn DeviceAuthenticator> = match &oidc {
            Some(oidc) => oidc.clone(),
            None => registrar.clone(),
        };
        let subscriptions = Arc::new(SubscriptionCache::new(Duration::from_secs(30)));
        let endpoint_tokens = Arc::new(EndpointTokens::new(token_master));
        let submitter = Submitter::new(SubmitterParts {
            store: store.clone(),
            subscriptions: subscriptions.clone(),
            vapid: Arc::new(VapidVerifier::new(
                origin_of(&public_url),
                limits.vapid_cache_bytes,
            )),
            rates: RateLimits::new(limits.rates),
            service_blocks: service_blocks.clone(),
            endpoint_tokens: endpoint_tokens.clone(),
            handles: Arc::new(MessageHandles::new(token_master)),
            router: router.clone(),
            receipts: Receipts::start(
                store.clone(),
                limits.receipt_retention,
                limits.max_receipt_watchers,
            ),
            max_ttl_seconds: limits.max_ttl_seconds,
            public_url: public_url.clone(),
        });
        let registrations = AddressRate::new(limits.rates.register);
        Self {
            inner: Arc::new(Inner {
                subscriptions,
                submitter,
                authenticator,
                registrar,
                oidc,
                store,
                hub: router.hub.clone(),
                cluster: router.cluster.clone(),
                bridges: router.bridges.clone(),
                limits,
                public_url,
                service_blocks,
                endpoint_tokens,
                registrations,
            }),
        }
    }
}

impl PushApi {
    /// The layer to put in front of the `Sender` service.
    pub fn sender_gate(&self) -> SenderGateLayer {
        SenderGateLayer {
            submitter: self.inner.submitter.clone(),
        }
    }

    /// The submit service, shared with the other fronts.
    pub fn submitter(&self) -> &Submitter {
        &self.inner.submitter
    }
}

fn authorization<T>(request: &tonic::Request<T>) -> Option<&str> {
    request
        .metadata()
        .get("authorization")
        .and_then(|value| value.to_str().ok())
}
