//! Device credentials: `<device id>.<secret>`, issued once at registration.
//! Only SHA-256 of the secret is stored, so a copy of the database does not
//! let anyone act as a device.

use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::domain::{DeviceRecord, is_token, new_device_id, new_secret, now_millis};
use crate::store::{Store, StoreError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AuthenticatedDevice {
    pub device_id: String,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum DeviceAuthError {
    #[error(
        "missing device credential: send metadata `authorization: Bearer <credential from Register>`"
    )]
    Missing,
    #[error(
        "malformed device credential: expected `Bearer <device id>.<secret>` as returned by Register"
    )]
    Malformed,
    #[error("unknown or revoked device credential; register again")]
    Rejected,
    #[error(
        "missing identity token: send metadata `authorization: Bearer <token from your identity provider>`"
    )]
    MissingToken,
    #[error(
        "missing device id: send metadata `push-device: <device id from Register>` with the identity token"
    )]
    MissingDeviceId,
    #[error("{0}")]
    Invalid(String),
    /// Not the caller's fault: the token may well be good.
    #[error(
        "the identity provider's signing keys cannot be fetched right now; retry in a few seconds"
    )]
    ProviderUnavailable,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a device call presents: its `authorization` metadata and, with an
/// identity provider's token, its `push-device` id.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Presented<'a> {
    pub authorization: Option<&'a str>,
    pub device_id: Option<&'a str>,
}

/// The boundary between the API and how devices prove who they are:
/// credentials pushd issued ([`CredentialAuthenticator`]) or an existing
/// identity provider ([`super::OidcAuthenticator`]).
#[async_trait]
pub(crate) trait DeviceAuthenticator: Send + Sync + 'static {
    async fn authenticate(
        &self,
        presented: &Presented<'_>,
    ) -> Result<AuthenticatedDevice, DeviceAuthError>;

    /// Creates a device. `authorization` is what the caller presented: an
    /// identity provider's token, or nothing when pushd issues the
    /// credential (returned once; empty when the provider vouches instead).
    async fn register(
        &self,
        authorization: Option<&str>,
    ) -> Result<IssuedCredential, DeviceAuthError>;
}

/// A freshly registered device and the one copy of its credential.
pub(crate) struct IssuedCredential {
    pub device_id: String,
    pub credential: String,
}

/// Authenticates devices against credentials `pushd` issued and stored.
pub(crate) struct CredentialAuthenticator {
    store: Arc<dyn Store>,
}

impl CredentialAuthenticator {
    pub(crate) fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }

    /// Creates a device and returns its credential.
    pub(crate) async fn issue(&self) -> Result<IssuedCredential, StoreError> {
        let device_id = new_device_id();
        let secret = new_secret();
        let record = DeviceRecord {
            id: device_id.clone(),
            secret_hash: hash(&secret),
            created_at: now_millis(),
        };
        self.store.create_device(&record).await?;
        Ok(IssuedCredential {
            credential: format!("{device_id}.{secret}"),
            device_id,
        })
    }
}

fn hash(secret: &str) -> Vec<u8> {
    openssl::sha::sha256(secret.as_bytes()).to_vec()
}

#[async_trait]
impl DeviceAuthenticator for CredentialAuthenticator {
    async fn authenticate(
        &self,
        presented: &Presented<'_>,
    ) -> Result<AuthenticatedDevice, DeviceAuthError> {
        let value = presented.authorization.ok_or(DeviceAuthError::Missing)?;
        let (scheme, credential) = value.split_once(' ').ok_or(DeviceAuthError::Malformed)?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(DeviceAuthError::Malformed);
        }
        let (device_id, secret) = credential
            .trim()
            .split_once('.')
            .ok_or(DeviceAuthError::Malformed)?;
        let secret_is_well_formed = URL_SAFE_NO_PAD
            .decode(secret)
            .is_ok_and(|bytes| bytes.len() == 32);
        if !is_token(device_id) || !secret_is_well_formed {
            return Err(DeviceAuthError::Malformed);
        }
        let device = self
            .store
            .device(device_id)
            .await?
            .ok_or(DeviceAuthError::Rejected)?;
        // Constant-time, so response timing tells nothing about the stored hash.
        let presented = hash(secret);
        if device.secret_hash.len() != presented.len()
            || !openssl::memcmp::eq(&device.secret_hash, &presented)
        {
            return Err(DeviceAuthError::Rejected);
        }
        Ok(AuthenticatedDevice {
            device_id: device.id,
        })
    }

    async fn register(
        &self,
        _authorization: Option<&str>,
    ) -> Result<IssuedCredential, DeviceAuthError> {
        Ok(self.issue().await?)
    }
}
