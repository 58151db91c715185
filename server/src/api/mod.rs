//! The public gRPC API: `push.v1.Sender` for site backends and
//! `push.v1.Device` for devices. Handlers validate input, call the domain
//! services, and map every error to a gRPC status in one place ([`status`]).

mod account;
mod admin;
mod device;
mod endpoint;
mod fanout;
mod gate;
mod offline;
mod rate;
mod removal;
mod routing;
mod sealed;
mod sender;
mod senders;
mod status;
mod subscription_cache;
mod subscriptions;

use std::sync::Arc;
use std::time::Duration;

use crate::auth::{
    CredentialAuthenticator, DeviceAuthenticator, EndpointTokens, OidcAuthenticator, ServiceBlocks,
    VapidVerifier,
};
use crate::bridges::Bridges;
use crate::cluster::Cluster;
use crate::delivery::Hub;
use crate::store::{RetentionLimits, Store};

pub use admin::{GuardedAdmin, admin_service};
pub use endpoint::{endpoint_url, origin_of};
pub use gate::{SenderGate, SenderGateLayer};
pub use rate::{Rate, RateLimits, RateSettings};
pub use subscription_cache::SubscriptionCache;

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
}

/// The ways to a device: streams on this node, other nodes, push services.
pub struct Routes {
    pub hub: Arc<Hub>,
    pub cluster: Option<Arc<Cluster>>,
    pub bridges: Arc<Bridges>,
}

/// Shared by every handler; cheap to clone.
#[derive(Clone)]
pub struct PushApi {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    subscriptions: SubscriptionCache,
    registrar: Arc<CredentialAuthenticator>,
    /// Set when devices authenticate with an identity provider's tokens.
    oidc: Option<Arc<OidcAuthenticator>>,
    authenticator: Arc<dyn DeviceAuthenticator>,
    vapid: Arc<VapidVerifier>,
    rates: Arc<RateLimits>,
    hub: Arc<Hub>,
    cluster: Option<Arc<Cluster>>,
    bridges: Arc<Bridges>,
    limits: ApiLimits,
    public_url: String,
    service_blocks: Arc<ServiceBlocks>,
    endpoint_tokens: EndpointTokens,
}

impl PushApi {
    pub fn new(
        store: Arc<dyn Store>,
        routes: Routes,
        public_url: String,
        limits: ApiLimits,
        service_blocks: Arc<ServiceBlocks>,
        oidc: Option<Arc<OidcAuthenticator>>,
        endpoint_tokens: EndpointTokens,
    ) -> Self {
        let registrar = Arc::new(CredentialAuthenticator::new(store.clone()));
        let authenticator: Arc<dyn DeviceAuthenticator> = match &oidc {
            Some(oidc) => oidc.clone(),
            None => registrar.clone(),
        };
        let vapid = Arc::new(VapidVerifier::new(origin_of(&public_url)));
        Self {
            inner: Arc::new(Inner {
                subscriptions: SubscriptionCache::new(Duration::from_secs(30)),
                authenticator,
                registrar,
                oidc,
                store,
                vapid,
                rates: RateLimits::new(limits.rates),
                hub: routes.hub,
                cluster: routes.cluster,
                bridges: routes.bridges,
                limits,
                public_url,
                service_blocks,
                endpoint_tokens,
            }),
        }
    }
}

impl PushApi {
    /// The layer to put in front of the `Sender` service.
    pub fn sender_gate(&self) -> SenderGateLayer {
        SenderGateLayer {
            vapid: self.inner.vapid.clone(),
            limits: self.inner.rates.clone(),
        }
    }
}

fn authorization<T>(request: &tonic::Request<T>) -> Option<&str> {
    request
        .metadata()
        .get("authorization")
        .and_then(|value| value.to_str().ok())
}
