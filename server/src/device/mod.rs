//! The device services, whichever front a device comes through (gRPC
//! `push.v1.Device`, the WebSocket push protocol): [`Devices`] registers and
//! authenticates devices, keeps their bridges, serves stored messages and
//! opens delivery sessions; [`Subscriptions`] keeps their subscriptions.

mod endpoint;
mod messages;
mod subscriptions;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

pub(crate) use endpoint::Endpoints;
pub use endpoint::origin_of;
pub(crate) use subscriptions::{NewSubscription, Subscriptions};

use crate::auth::{
    AuthenticatedDevice, CredentialAuthenticator, DeviceAuthError, DeviceAuthenticator,
    IssuedCredential, OidcAuthenticator, Presented,
};
use crate::bridges::Bridges;
use crate::delivery::{Inbound, OUTBOUND_CAPACITY, OutboundStream, Session};
use crate::error::ApiError;
use crate::limits::AddressRate;
use crate::store::Store;
use crate::telemetry::LogGate;

/// Cheap to clone: every front holds one.
#[derive(Clone)]
pub(crate) struct Devices {
    inner: Arc<Inner>,
}

/// What [`Devices`] is built from.
pub(crate) struct Inner {
    pub store: Arc<dyn Store>,
    /// Issues credentials of ours (and checks them when there is no OIDC).
    pub registrar: Arc<CredentialAuthenticator>,
    /// Set when devices authenticate with an identity provider's tokens.
    pub oidc: Option<Arc<OidcAuthenticator>>,
    /// Registration needs no credential, so its cost is bounded per address.
    pub registrations: Arc<AddressRate>,
    pub bridges: Arc<Bridges>,
    /// The template every delivery session is cloned from.
    pub session: Session,
}

impl Devices {
    pub(crate) fn new(parts: Inner) -> Self {
        Self {
            inner: Arc::new(parts),
        }
    }

    fn authenticator(&self) -> &dyn DeviceAuthenticator {
        match &self.inner.oidc {
            Some(oidc) => oidc.as_ref(),
            None => self.inner.registrar.as_ref(),
        }
    }

    /// A new device, registered by the configured authenticator: with an
    /// identity provider, the provider vouches for the user (`authorization`
    /// bears its token) and the device gets no credential of ours;
    /// otherwise it gets one.
    pub(crate) async fn register(
        &self,
        peer: Option<IpAddr>,
        authorization: Option<&str>,
    ) -> Result<IssuedCredential, ApiError> {
        self.admit_registration(peer)?;
        Ok(registered(
            self.authenticator().register(authorization).await?,
        ))
    }

    /// A new device with a credential of ours (which a WebSocket client
    /// uses as its `uaid`).
    pub(crate) async fn register_with_credential(
        &self,
        peer: Option<IpAddr>,
    ) -> Result<IssuedCredential, ApiError> {
        self.admit_registration(peer)?;
        Ok(registered(self.inner.registrar.issue().await?))
    }

    fn admit_registration(&self, peer: Option<IpAddr>) -> Result<(), ApiError> {
        match peer {
            Some(peer) => self
                .inner
                .registrations
                .take(peer)
                .map_err(ApiError::TooManyRegistrations),
            None => Ok(()),
        }
    }

    /// The device presenting these credentials; failures that are the
    /// caller's doing are counted against `peer`.
    pub(crate) async fn authenticate(
        &self,
        presented: &Presented<'_>,
        peer: Option<SocketAddr>,
    ) -> Result<AuthenticatedDevice, ApiError> {
        self.authenticator()
            .authenticate(presented)
            .await
            .map_err(|error| {
                // Not our store's or the provider's failures.
                if !matches!(
                    error,
                    DeviceAuthError::Store(_) | DeviceAuthError::ProviderUnavailable
                ) {
                    failed_authentication(peer, &error);
                }
                ApiError::Auth(error)
            })
    }

    /// The device a credential (a returning WebSocket client's `uaid`) names.
    pub(crate) async fn device_of(&self, credential: &str) -> Result<String, ApiError> {
        let authorization = format!("Bearer {credential}");
        let presented = Presented {
            authorization: Some(&authorization),
            device_id: None,
        };
        let device = self.authenticator().authenticate(&presented).await?;
        Ok(device.device_id)
    }

    /// The device's delivery session, fed by `inbound` (which must start
    /// with `Hello`). Whether to open one while this node drains
    /// ([`Self::draining`]) is the front's call: each tells its clients its
    /// own way.
    pub(crate) fn open_session(&self, device_id: String, inbound: Inbound) -> OutboundStream {
        let (outbound, stream) = OutboundStream::channel(OUTBOUND_CAPACITY);
        let session = self.inner.session.clone();
        tokio::spawn(session.run(device_id, inbound, outbound));
        stream
    }

    pub(crate) fn draining(&self) -> bool {
        self.inner.session.hub.is_draining()
    }
}

/// Per call, so at debug: registrations are counted by the metric.
fn registered(issued: IssuedCredential) -> IssuedCredential {
    metrics::counter!("pushd_devices_registered_total").increment(1);
    tracing::debug!(device_id = %issued.device_id, "device registered");
    issued
}

/// Counted, and logged at most every 10 s: someone guessing secrets shows
/// up without filling the log.
fn failed_authentication(peer: Option<SocketAddr>, error: &DeviceAuthError) {
    static GATE: LogGate = LogGate::new(std::time::Duration::from_secs(10));
    metrics::counter!("pushd_auth_failures_total", "kind" => "device").increment(1);
    if GATE.open() {
        let peer = peer.map_or("unknown".to_string(), |peer| peer.ip().to_string());
        tracing::warn!(%peer, %error, "device authentication failed (logged at most every 10 s; pushd_auth_failures_total counts all)");
    }
}
