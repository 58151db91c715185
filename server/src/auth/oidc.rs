//! Devices authenticated by an existing identity provider: OAuth2 / OpenID
//! Connect bearer JWTs (as Firefox Accounts issues them), checked against
//! the provider's JWKS with issuer, audience and expiry.
//!
//! A JWT names a user, not a device, so a device also sends its id
//! (`push-device` metadata). `Register` binds a new device to the token's
//! subject, and later calls must come with a token for that same subject:
//! pushd keeps only a hash of `iss` and `sub` (in the device record's hash
//! column), never a token.

use async_trait::async_trait;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use std::sync::Arc;

use super::credential::{AuthenticatedDevice, DeviceAuthError, Presented};
use super::jwks::{JwksCache, JwksError, KeyError};
use crate::domain::{DeviceRecord, is_token, new_device_id, now_millis};
use crate::store::Store;

#[derive(Debug, Clone)]
pub(crate) struct OidcSettings {
    pub issuer: String,
    pub audience: String,
    /// Where the keys are when set (`oidc_jwks_url`); else the issuer's
    /// discovery document says.
    pub jwks_url: Option<String>,
}

/// Tolerated difference between the provider's clock and ours.
const LEEWAY_SECS: u64 = 60;

#[derive(Deserialize)]
struct Claims {
    iss: String,
    sub: String,
}

pub(crate) struct OidcAuthenticator {
    settings: OidcSettings,
    keys: JwksCache,
    store: Arc<dyn Store>,
}

impl OidcAuthenticator {
    pub(crate) async fn start(
        settings: OidcSettings,
        store: Arc<dyn Store>,
    ) -> Result<Self, JwksError> {
        let keys = match &settings.jwks_url {
            Some(url) => JwksCache::load(url).await?,
            None => JwksCache::discover(&settings.issuer).await?,
        };
        tracing::info!(issuer = %settings.issuer, jwks_url = %keys.url(), "identity provider's keys loaded");
        Ok(Self {
            settings,
            keys,
            store,
        })
    }

    /// The hash a device registered by this user carries.
    async fn subject_hash(&self, authorization: Option<&str>) -> Result<Vec<u8>, DeviceAuthError> {
        let token = bearer(authorization)?;
        let header = jsonwebtoken::decode_header(token).map_err(|_| DeviceAuthError::Malformed)?;
        if !matches!(
            header.alg,
            Algorithm::RS256
                | Algorithm::RS384
                | Algorithm::RS512
                | Algorithm::PS256
                | Algorithm::PS384
                | Algorithm::PS512
                | Algorithm::ES256
                | Algorithm::ES384
        ) {
            return Err(DeviceAuthError::Invalid(format!(
                "identity token signed with {:?}; only the provider's public-key algorithms are accepted",
                header.alg
            )));
        }
        let kid = header.kid.ok_or_else(|| {
            DeviceAuthError::Invalid("identity token without a key id (kid)".into())
        })?;
        let jwk = self.keys.key(&kid).await.map_err(|error| match error {
            KeyError::Unknown => DeviceAuthError::Invalid(
                "identity token signed by a key the provider does not publish".into(),
            ),
            KeyError::Unavailable => DeviceAuthError::ProviderUnavailable,
        })?;
        if let Some(algorithm) = jwk.common.key_algorithm
            && algorithm.to_string().parse::<Algorithm>().ok() != Some(header.alg)
        {
            return Err(DeviceAuthError::Invalid(
                "identity token's algorithm does not match its key".into(),
            ));
        }
        let key = DecodingKey::from_jwk(&jwk)
            .map_err(|_| DeviceAuthError::Invalid("the provider's key is unusable".into()))?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.settings.issuer]);
        validation.set_audience(&[&self.settings.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = LEEWAY_SECS;
        let claims = jsonwebtoken::decode::<Claims>(token, &key, &validation)
            .map_err(|error| DeviceAuthError::Invalid(format!("identity token refused: {error}")))?
            .claims;
        let identity = format!("oidc\n{}\n{}", claims.iss, claims.sub);
        Ok(openssl::sha::sha256(identity.as_bytes()).to_vec())
    }

    /// Creates a device for the token's user. It has no pushd credential: it
    /// authenticates with its user's token and its device id.
    async fn register_user_device(
        &self,
        authorization: Option<&str>,
    ) -> Result<String, DeviceAuthError> {
        let subject = self.subject_hash(authorization).await?;
        let device_id = new_device_id();
        let record = DeviceRecord {
            id: device_id.clone(),
            secret_hash: subject,
            created_at: now_millis(),
        };
        self.store
            .create_device(&record)
            .await
            .map_err(DeviceAuthError::Store)?;
        Ok(device_id)
    }
}

fn bearer(authorization: Option<&str>) -> Result<&str, DeviceAuthError> {
    let value = authorization.ok_or(DeviceAuthError::MissingToken)?;
    let (scheme, token) = value.split_once(' ').ok_or(DeviceAuthError::Malformed)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(DeviceAuthError::Malformed);
    }
    Ok(token.trim())
}

#[async_trait]
impl super::DeviceAuthenticator for OidcAuthenticator {
    async fn authenticate(
        &self,
        presented: &Presented<'_>,
    ) -> Result<AuthenticatedDevice, DeviceAuthError> {
        let subject = self.subject_hash(presented.authorization).await?;
        let device_id = presented
            .device_id
            .filter(|id| is_token(id))
            .ok_or(DeviceAuthError::MissingDeviceId)?;
        let device = self
            .store
            .device(device_id)
            .await
            .map_err(DeviceAuthError::Store)?
            .ok_or(DeviceAuthError::Rejected)?;
        // Constant time; a device of another user is as unknown as none.
        if device.secret_hash.len() != subject.len()
            || !openssl::memcmp::eq(&device.secret_hash, &subject)
        {
            return Err(DeviceAuthError::Rejected);
        }
        Ok(AuthenticatedDevice {
            device_id: device.id,
        })
    }

    async fn register(
        &self,
        authorization: Option<&str>,
    ) -> Result<super::IssuedCredential, DeviceAuthError> {
        Ok(super::IssuedCredential {
            device_id: self.register_user_device(authorization).await?,
            credential: String::new(),
        })
    }
}
