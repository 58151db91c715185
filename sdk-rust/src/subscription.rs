//! The W3C `PushSubscription` JSON (`{"endpoint":..,"keys":{"p256dh":..,"auth":..}}`): what a
//! device hands to a site backend and what the backend hands back to [`crate::Sender`].
//!
//! This module owns parsing it strictly enough that a bad copy-paste fails here, with the field
//! named, rather than as an opaque decryption failure on the device.
use serde::{Deserialize, Serialize};

use crate::b64;
use crate::crypto::{self, AUTH_SECRET_LEN, PUBLIC_KEY_LEN};

#[derive(Debug, thiserror::Error)]
pub enum SubscriptionError {
    #[error(
        "subscription is not valid JSON of the form {{\"endpoint\":..,\"keys\":{{\"p256dh\":..,\"auth\":..}}}}: {0}"
    )]
    Json(#[from] serde_json::Error),
    #[error("subscription endpoint {endpoint:?} is not an http(s) URL")]
    BadEndpoint { endpoint: String },
    #[error("subscription keys.{field} is not base64url: {source}")]
    BadBase64 {
        field: &'static str,
        #[source]
        source: base64::DecodeError,
    },
    #[error("subscription keys.{field} must decode to {expected} bytes, got {actual}")]
    WrongKeyLength {
        field: &'static str,
        expected: usize,
        actual: usize,
    },
    #[error("subscription keys.p256dh is not a P-256 public key: {0}")]
    BadPublicKey(#[source] crypto::CryptoError),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionInfo {
    pub endpoint: String,
    pub keys: SubscriptionKeysJson,
}

/// The `keys` object: base64url (no padding) public key and auth secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionKeysJson {
    pub p256dh: String,
    pub auth: String,
}

impl SubscriptionInfo {
    /// Builds the JSON object from raw key bytes.
    pub fn new(endpoint: impl Into<String>, p256dh: &[u8], auth: &[u8]) -> Self {
        SubscriptionInfo {
            endpoint: endpoint.into(),
            keys: SubscriptionKeysJson {
                p256dh: b64::encode(p256dh),
                auth: b64::encode(auth),
            },
        }
    }

    /// Parses and validates: the endpoint must be an http(s) URL, `p256dh` a 65-byte P-256
    /// point and `auth` 16 bytes, both base64url.
    pub fn from_json(json: &str) -> Result<Self, SubscriptionError> {
        let info: SubscriptionInfo = serde_json::from_str(json.trim())?;
        info.validate()?;
        Ok(info)
    }

    /// Single-line JSON.
    pub fn to_json(&self) -> String {
        // Two string fields in a fixed shape always serialize.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Checks every field; [`Self::from_json`] calls this, callers who build the struct by
    /// hand may too.
    pub fn validate(&self) -> Result<(), SubscriptionError> {
        let endpoint_ok = url::Url::parse(&self.endpoint)
            .is_ok_and(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some());
        if !endpoint_ok {
            return Err(SubscriptionError::BadEndpoint {
                endpoint: self.endpoint.clone(),
            });
        }
        let p256dh = self.p256dh_bytes()?;
        crypto::validate_public_key(&p256dh).map_err(SubscriptionError::BadPublicKey)?;
        self.auth_bytes()?;
        Ok(())
    }

    /// The decoded 65-byte public key.
    pub fn p256dh_bytes(&self) -> Result<Vec<u8>, SubscriptionError> {
        decode_field("p256dh", &self.keys.p256dh, PUBLIC_KEY_LEN)
    }

    /// The decoded 16-byte auth secret.
    pub fn auth_bytes(&self) -> Result<Vec<u8>, SubscriptionError> {
        decode_field("auth", &self.keys.auth, AUTH_SECRET_LEN)
    }
}

fn decode_field(
    field: &'static str,
    text: &str,
    expected: usize,
) -> Result<Vec<u8>, SubscriptionError> {
    let bytes =
        b64::decode(text).map_err(|source| SubscriptionError::BadBase64 { field, source })?;
    if bytes.len() != expected {
        return Err(SubscriptionError::WrongKeyLength {
            field,
            expected,
            actual: bytes.len(),
        });
    }
    Ok(bytes)
}
