//! How a device proves who it is on each call: the credential pushd issued at
//! registration, or (when pushd trusts an identity provider) the user's
//! provider token, fetched fresh for every call, with this device's id.
use std::path::Path;
use std::sync::Arc;

use push_proto::v1::RegisterRequest;
use tonic::metadata::MetadataValue;

use super::{DeviceClient, connect, same_server};
use crate::channel::{self, UNARY_TIMEOUT};
use crate::store::{DeviceRecord, KeyStore};
use crate::{IdentityTokenError, SdkError};

/// Returns a current ID token from the app's identity provider (refreshing it as the app
/// does); an `Err` says why none is available.
pub type TokenSource = Arc<dyn Fn() -> Result<String, IdentityTokenError> + Send + Sync>;

#[derive(Clone)]
pub(crate) enum Identity {
    /// `Bearer <credential>`.
    Credential(Arc<str>),
    Provider {
        token: TokenSource,
        device_id: Arc<str>,
    },
}

impl Identity {
    /// `message` with this identity's metadata.
    pub(crate) fn authorize<T>(&self, message: T) -> Result<tonic::Request<T>, SdkError> {
        match self {
            Identity::Credential(authorization) => channel::authorized(message, authorization),
            Identity::Provider { token, device_id } => {
                let token = token()?;
                let mut request = channel::authorized(message, &format!("Bearer {token}"))?;
                if !device_id.is_empty() {
                    let value: MetadataValue<_> = device_id.parse().map_err(|_| {
                        SdkError::Protocol("device id is not valid ASCII metadata".into())
                    })?;
                    request.metadata_mut().insert("push-device", value);
                }
                Ok(request)
            }
        }
    }
}

impl DeviceClient {
    /// Like [`DeviceClient::open`], for a pushd that authenticates devices with an identity
    /// provider's tokens (its `oidc_*` settings): `token` supplies the signed-in user's ID
    /// token. A fresh keystore registers the device to that user.
    pub async fn open_with_identity(
        server_url: &str,
        db_path: impl AsRef<Path>,
        token: TokenSource,
    ) -> Result<Self, SdkError> {
        let store = KeyStore::open(db_path)?;
        let mut grpc = connect(server_url)?;
        let device = match store.device()? {
            Some(device) if !same_server(&device.server_url, server_url) => {
                return Err(SdkError::ServerMismatch {
                    stored: device.server_url,
                    requested: server_url.to_owned(),
                });
            }
            Some(device) => device,
            None => {
                let registering = Identity::Provider {
                    token: token.clone(),
                    device_id: "".into(),
                };
                let mut request = registering.authorize(RegisterRequest {})?;
                request.set_timeout(UNARY_TIMEOUT);
                let reply = grpc.register(request).await?.into_inner();
                if reply.device_id.is_empty() {
                    return Err(SdkError::Protocol(
                        "RegisterResponse without a device id".into(),
                    ));
                }
                let device = DeviceRecord {
                    server_url: server_url.to_owned(),
                    device_id: reply.device_id,
                    // None: the provider's token is the proof.
                    credential: String::new(),
                };
                store.set_device(&device)?;
                device
            }
        };
        let identity = Identity::Provider {
            token,
            device_id: device.device_id.as_str().into(),
        };
        Ok(Self::with_identity(grpc, store, device, identity))
    }
}
