//! RFC 8291 Web Push message encryption (`aes128gcm`, RFC 8188) and the device-side key
//! material it needs.
//!
//! This module owns [`SubscriptionKeys`] — the P-256 key pair and auth secret a device creates
//! per subscription — and the two operations on a message body. The record layer itself is the
//! `ece` crate's; what lives here is input validation, so that bad keys or oversized payloads
//! become [`CryptoError`]s instead of reaching `ece` (whose `decrypt` panics on a key pair that
//! does not import).
use std::fmt;

use openssl::bn::{BigNum, BigNumContext};
use openssl::ec::{EcGroup, EcKey, EcPoint, PointConversionForm};
use openssl::nid::Nid;

/// Length of an uncompressed P-256 point (`0x04 || x || y`).
pub const PUBLIC_KEY_LEN: usize = 65;
/// Length of a P-256 private scalar.
pub const PRIVATE_KEY_LEN: usize = 32;
/// Length of the RFC 8291 auth secret.
pub const AUTH_SECRET_LEN: usize = 16;
/// Largest plaintext that still fits one 4096-byte record: `ece` pads to a multiple of 128
/// bytes, and the body (86-byte header + padded plaintext + 16-byte tag) must stay within the
/// 4096 bytes push services accept (RFC 8291 §4).
pub const MAX_PLAINTEXT_LEN: usize = 3967;
/// Length of [`SubscriptionKeys::to_bytes`]: private scalar, public point, auth secret.
pub const SERIALIZED_KEYS_LEN: usize = PRIVATE_KEY_LEN + PUBLIC_KEY_LEN + AUTH_SECRET_LEN;

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("invalid P-256 public key: {0}")]
    InvalidPublicKey(String),
    #[error("invalid P-256 private key: {0}")]
    InvalidPrivateKey(String),
    #[error("auth secret must be {AUTH_SECRET_LEN} bytes, got {0}")]
    InvalidAuthSecret(usize),
    #[error("serialized subscription keys must be {SERIALIZED_KEYS_LEN} bytes, got {0}")]
    InvalidSerializedKeys(usize),
    #[error("plaintext is {0} bytes; at most {MAX_PLAINTEXT_LEN} fit in one push message")]
    PlaintextTooLong(usize),
    #[error("plaintext is empty; aes128gcm cannot carry an empty message")]
    EmptyPlaintext,
    #[error("encryption failed: {0}")]
    Encrypt(#[source] ece::Error),
    #[error("decryption failed: {0}")]
    Decrypt(#[source] ece::Error),
    #[error("key generation failed: {0}")]
    KeyGeneration(String),
}

/// A device's keys for one subscription: the P-256 key pair whose public half is the
/// subscription's `p256dh`, and the 16-byte `auth` secret. Only the device ever holds these.
#[derive(Clone, PartialEq, Eq)]
pub struct SubscriptionKeys {
    private_key: [u8; PRIVATE_KEY_LEN],
    public_key: [u8; PUBLIC_KEY_LEN],
    auth_secret: [u8; AUTH_SECRET_LEN],
}

// Hand-written so the private key never lands in logs.
impl fmt::Debug for SubscriptionKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SubscriptionKeys")
            .field("public_key", &crate::b64::encode(&self.public_key))
            .field("private_key", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl SubscriptionKeys {
    /// Builds keys from their raw parts, checking that the public point really is the private
    /// scalar times the generator (a mismatched pair would decrypt nothing).
    pub fn from_parts(
        private_key: &[u8],
        public_key: &[u8],
        auth_secret: &[u8],
    ) -> Result<Self, CryptoError> {
        let auth_secret: [u8; AUTH_SECRET_LEN] = auth_secret
            .try_into()
            .map_err(|_| CryptoError::InvalidAuthSecret(auth_secret.len()))?;
        let derived = public_point_of(private_key)?;
        if derived != public_key {
            return Err(CryptoError::InvalidPrivateKey(
                "public key does not belong to the private key".into(),
            ));
        }
        let mut keys = SubscriptionKeys {
            private_key: [0; PRIVATE_KEY_LEN],
            public_key: [0; PUBLIC_KEY_LEN],
            auth_secret,
        };
        // `public_point_of` accepted the scalar, so it is at most 32 bytes; left-pad it.
        keys.private_key[PRIVATE_KEY_LEN - private_key.len()..].copy_from_slice(private_key);
        keys.public_key.copy_from_slice(&derived);
        Ok(keys)
    }

    /// The uncompressed public point (`p256dh`).
    pub fn public_key(&self) -> &[u8] {
        &self.public_key
    }

    /// The 16-byte auth secret (`auth`).
    pub fn auth_secret(&self) -> &[u8] {
        &self.auth_secret
    }

    /// The raw 32-byte private scalar.
    pub fn private_key(&self) -> &[u8] {
        &self.private_key
    }

    /// Fixed-layout persistence form: private scalar (32) || public point (65) || auth (16).
    pub fn to_bytes(&self) -> Vec<u8> {
        [&self.private_key[..], &self.public_key, &self.auth_secret].concat()
    }

    /// Reverses [`Self::to_bytes`], re-validating the key pair.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        if bytes.len() != SERIALIZED_KEYS_LEN {
            return Err(CryptoError::InvalidSerializedKeys(bytes.len()));
        }
        let (private_key, rest) = bytes.split_at(PRIVATE_KEY_LEN);
        let (public_key, auth_secret) = rest.split_at(PUBLIC_KEY_LEN);
        Self::from_parts(private_key, public_key, auth_secret)
    }
}

/// Creates a fresh key pair and auth secret for a new subscription.
pub fn generate_subscription_keys() -> Result<SubscriptionKeys, CryptoError> {
    let keygen = |e: openssl::error::ErrorStack| CryptoError::KeyGeneration(e.to_string());
    let group = p256().map_err(keygen)?;
    let key = EcKey::generate(&group).map_err(keygen)?;
    let private_key = key
        .private_key()
        .to_vec_padded(PRIVATE_KEY_LEN as i32)
        .map_err(keygen)?;
    let mut auth_secret = [0u8; AUTH_SECRET_LEN];
    openssl::rand::rand_bytes(&mut auth_secret).map_err(keygen)?;
    let public_key = public_point_of(&private_key)?;
    SubscriptionKeys::from_parts(&private_key, &public_key, &auth_secret)
}

/// Encrypts `plaintext` for the subscription with public key `p256dh` and secret
/// `auth_secret`, producing an `aes128gcm` body (header + one record) with a fresh ephemeral
/// key and salt.
pub fn encrypt(
    p256dh: &[u8],
    auth_secret: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    validate_public_key(p256dh)?;
    if auth_secret.len() != AUTH_SECRET_LEN {
        return Err(CryptoError::InvalidAuthSecret(auth_secret.len()));
    }
    if plaintext.is_empty() {
        return Err(CryptoError::EmptyPlaintext);
    }
    if plaintext.len() > MAX_PLAINTEXT_LEN {
        return Err(CryptoError::PlaintextTooLong(plaintext.len()));
    }
    ece::encrypt(p256dh, auth_secret, plaintext).map_err(CryptoError::Encrypt)
}

/// Decrypts an `aes128gcm` body addressed to `keys`. Fails (never panics) on a truncated,
/// tampered or misaddressed body.
pub fn decrypt(keys: &SubscriptionKeys, body: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let components = ece::EcKeyComponents::new(keys.private_key.to_vec(), keys.public_key.to_vec());
    ece::decrypt(&components, &keys.auth_secret, body).map_err(CryptoError::Decrypt)
}

/// Checks that `bytes` is an uncompressed point on P-256.
pub(crate) fn validate_public_key(bytes: &[u8]) -> Result<(), CryptoError> {
    if bytes.len() != PUBLIC_KEY_LEN || bytes[0] != 0x04 {
        return Err(CryptoError::InvalidPublicKey(format!(
            "expected {PUBLIC_KEY_LEN} bytes starting with 0x04, got {} bytes",
            bytes.len()
        )));
    }
    let invalid = |e: openssl::error::ErrorStack| CryptoError::InvalidPublicKey(e.to_string());
    let group = p256().map_err(invalid)?;
    let mut ctx = BigNumContext::new().map_err(invalid)?;
    EcPoint::from_bytes(&group, bytes, &mut ctx).map_err(invalid)?;
    Ok(())
}

/// The uncompressed public point `d·G` for private scalar `d`.
fn public_point_of(private_key: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let invalid = |e: openssl::error::ErrorStack| CryptoError::InvalidPrivateKey(e.to_string());
    if private_key.is_empty() || private_key.len() > PRIVATE_KEY_LEN {
        return Err(CryptoError::InvalidPrivateKey(format!(
            "expected {PRIVATE_KEY_LEN} bytes, got {}",
            private_key.len()
        )));
    }
    let group = p256().map_err(invalid)?;
    let mut ctx = BigNumContext::new().map_err(invalid)?;
    let scalar = BigNum::from_slice(private_key).map_err(invalid)?;
    let mut order = BigNum::new().map_err(invalid)?;
    group.order(&mut order, &mut ctx).map_err(invalid)?;
    if scalar.num_bits() == 0 || scalar >= order {
        return Err(CryptoError::InvalidPrivateKey("scalar out of range".into()));
    }
    let mut point = EcPoint::new(&group).map_err(invalid)?;
    point
        .mul_generator2(&group, &scalar, &mut ctx)
        .map_err(invalid)?;
    point
        .to_bytes(&group, PointConversionForm::UNCOMPRESSED, &mut ctx)
        .map_err(invalid)
}

pub(crate) fn p256() -> Result<EcGroup, openssl::error::ErrorStack> {
    EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)
}
