//! RFC 8292 VAPID: the application server's P-256 identity key and the ES256 JWTs that prove
//! a message comes from it.
//!
//! This module owns key generation and PEM persistence ([`VapidKey`]), token signing, the
//! `authorization` value pushd expects (`vapid t=<jwt>, k=<key>`), and deriving a token's
//! audience from an endpoint. Caching tokens is the sender's business, not this module's.
use openssl::bn::BigNumContext;
use openssl::ec::{EcKey, PointConversionForm};
use openssl::ecdsa::EcdsaSig;
use openssl::pkey::{PKey, Private};
use serde::Serialize;

use crate::b64;
use crate::crypto::p256;

/// The JOSE header every VAPID token carries; RFC 8292 §2 fixes it to ES256.
const JWT_HEADER: &str = r#"{"typ":"JWT","alg":"ES256"}"#;
/// Width of each of `r` and `s` in a JWS ES256 signature (RFC 7518 §3.4).
const SCALAR_LEN: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum VapidError {
    #[error("openssl: {0}")]
    OpenSsl(#[from] openssl::error::ErrorStack),
    #[error("not a P-256 private key: {0}")]
    WrongKeyType(String),
    #[error("invalid endpoint url {endpoint:?}: {reason}")]
    InvalidEndpoint { endpoint: String, reason: String },
}

/// An application server's signing key (ECDSA P-256).
#[derive(Clone)]
pub struct VapidKey {
    key: EcKey<Private>,
    /// Uncompressed public point, computed once: it goes into every `authorization` value.
    public_key_raw: Vec<u8>,
}

// Hand-written so the private key never lands in logs.
impl std::fmt::Debug for VapidKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VapidKey")
            .field("public_key", &self.public_key_b64())
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct Claims<'a> {
    aud: &'a str,
    exp: u64,
    sub: &'a str,
}

impl VapidKey {
    pub fn generate() -> Result<Self, VapidError> {
        let group = p256()?;
        Self::from_ec_key(EcKey::generate(&group)?)
    }

    fn from_ec_key(key: EcKey<Private>) -> Result<Self, VapidError> {
        let mut ctx = BigNumContext::new()?;
        let public_key_raw =
            key.public_key()
                .to_bytes(key.group(), PointConversionForm::UNCOMPRESSED, &mut ctx)?;
        Ok(VapidKey {
            key,
            public_key_raw,
        })
    }

    /// Loads a PKCS#8 (`BEGIN PRIVATE KEY`) or SEC1 (`BEGIN EC PRIVATE KEY`) PEM; rejects any
    /// key that is not on P-256, since ES256 is the only algorithm VAPID allows.
    pub fn from_pem(pem: &str) -> Result<Self, VapidError> {
        let pkey = PKey::private_key_from_pem(pem.as_bytes())?;
        let key = pkey
            .ec_key()
            .map_err(|_| VapidError::WrongKeyType(format!("{:?} key", pkey.id())))?;
        let curve = key.group().curve_name();
        if curve != Some(openssl::nid::Nid::X9_62_PRIME256V1) {
            return Err(VapidError::WrongKeyType(format!("curve {curve:?}")));
        }
        key.check_key()?;
        Self::from_ec_key(key)
    }

    /// PKCS#8 PEM of the private key.
    pub fn to_pem(&self) -> String {
        // PKey::from_ec_key and PEM encoding of a key we hold cannot fail short of allocation
        // failure; an empty string would be caught the moment it is reloaded.
        PKey::from_ec_key(self.key.clone())
            .and_then(|pkey| pkey.private_key_to_pem_pkcs8())
            .ok()
            .and_then(|pem| String::from_utf8(pem).ok())
            .unwrap_or_default()
    }

    /// The 65-byte uncompressed public point: what subscriptions pin as `app_server_key`.
    pub fn public_key_raw(&self) -> Vec<u8> {
        self.public_key_raw.clone()
    }

    /// [`Self::public_key_raw`] as base64url without padding (the `k=` parameter).
    pub fn public_key_b64(&self) -> String {
        b64::encode(&self.public_key_raw())
    }

    /// Signs a VAPID JWT for `audience` (an origin, see [`audience_for`]) that expires at
    /// `expires_at_unix`. `subject` is the operator contact (`mailto:` or `https:`).
    pub fn sign(
        &self,
        audience: &str,
        subject: &str,
        expires_at_unix: u64,
    ) -> Result<String, VapidError> {
        let claims = Claims {
            aud: audience,
            exp: expires_at_unix,
            sub: subject,
        };
        // Serializing three plain fields cannot fail.
        let claims_json = serde_json::to_vec(&claims).unwrap_or_default();
        let signing_input = format!(
            "{}.{}",
            b64::encode(JWT_HEADER.as_bytes()),
            b64::encode(&claims_json)
        );
        let digest = openssl::sha::sha256(signing_input.as_bytes());
        let signature = EcdsaSig::sign(&digest, &self.key)?;
        // JWS wants fixed-width r || s, not openssl's DER; pad each half to 32 bytes.
        let mut raw = signature.r().to_vec_padded(SCALAR_LEN as i32)?;
        raw.extend(signature.s().to_vec_padded(SCALAR_LEN as i32)?);
        Ok(format!("{signing_input}.{}", b64::encode(&raw)))
    }

    /// The `authorization` metadata value for `jwt`: `vapid t=<jwt>, k=<public key>`.
    pub fn authorization_header(&self, jwt: &str) -> String {
        format!("vapid t={jwt}, k={}", self.public_key_b64())
    }
}

/// The origin (`scheme://host[:port]`, default port omitted) of an endpoint URL: the `aud`
/// claim RFC 8292 §2 requires.
pub fn audience_for(endpoint: &str) -> Result<String, VapidError> {
    let invalid = |reason: String| VapidError::InvalidEndpoint {
        endpoint: endpoint.to_owned(),
        reason,
    };
    let url = url::Url::parse(endpoint).map_err(|e| invalid(e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(format!("scheme {:?} is not http(s)", url.scheme())));
    }
    let origin = url.origin();
    if !origin.is_tuple() {
        return Err(invalid("url has no host".into()));
    }
    Ok(origin.ascii_serialization())
}
