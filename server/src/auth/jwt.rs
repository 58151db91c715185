//! Just enough JWS (RFC 7515) for VAPID: compact ES256 tokens.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey, EcPoint};
use openssl::ecdsa::EcdsaSig;
use openssl::error::ErrorStack;
use openssl::nid::Nid;
use openssl::pkey::Public;
use serde::Deserialize;

#[derive(Deserialize)]
struct Header {
    alg: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Claims {
    pub(crate) aud: Option<String>,
    pub(crate) exp: Option<u64>,
    pub(crate) sub: Option<String>,
}

/// Why bytes are not an application-server (P-256) public key.
#[derive(Debug, thiserror::Error)]
pub(crate) enum P256KeyError {
    #[error("expected a 65-byte uncompressed P-256 point, got {0} bytes")]
    NotUncompressed(usize),
    #[error("not a point on P-256")]
    NotOnCurve,
    #[error("not a valid P-256 public key")]
    Invalid,
    #[error(transparent)]
    Crypto(#[from] ErrorStack),
}

/// Why a VAPID token's JWS was refused.
#[derive(Debug, thiserror::Error)]
pub(crate) enum JwsError {
    #[error("a JWT has three dot-separated parts")]
    NotThreeParts,
    #[error("JWT alg is {0:?}; VAPID requires ES256")]
    Algorithm(String),
    #[error("JWT signature is not base64url")]
    SignatureNotBase64,
    #[error("ES256 signature must be 64 bytes (r||s), got {0}")]
    SignatureLength(usize),
    #[error("JWT signature does not match the key in k=")]
    SignatureMismatch,
    #[error("JWT {0} is not base64url")]
    SegmentNotBase64(&'static str),
    #[error("JWT {what} is not the expected JSON: {source}")]
    SegmentNotJson {
        what: &'static str,
        source: serde_json::Error,
    },
    #[error(transparent)]
    Crypto(#[from] ErrorStack),
}

/// Parses a raw uncompressed P-256 public key (65 bytes), checking it is on the curve.
pub(crate) fn p256_public_key(raw: &[u8]) -> Result<EcKey<Public>, P256KeyError> {
    if raw.len() != 65 || raw[0] != 0x04 {
        return Err(P256KeyError::NotUncompressed(raw.len()));
    }
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?;
    let mut context = openssl::bn::BigNumContext::new()?;
    let point =
        EcPoint::from_bytes(&group, raw, &mut context).map_err(|_| P256KeyError::NotOnCurve)?;
    let key = EcKey::from_public_key(&group, &point)?;
    key.check_key().map_err(|_| P256KeyError::Invalid)?;
    Ok(key)
}

/// Verifies an ES256 compact JWS with `key` and returns its claims.
pub(crate) fn verify_es256(token: &str, key: &EcKey<Public>) -> Result<Claims, JwsError> {
    let mut segments = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) = (
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
    ) else {
        return Err(JwsError::NotThreeParts);
    };
    let header: Header = decode_json(header, "header")?;
    if header.alg != "ES256" {
        return Err(JwsError::Algorithm(header.alg));
    }
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| JwsError::SignatureNotBase64)?;
    if signature.len() != 64 {
        return Err(JwsError::SignatureLength(signature.len()));
    }
    let r = BigNum::from_slice(&signature[..32])?;
    let s = BigNum::from_slice(&signature[32..])?;
    let signature = EcdsaSig::from_private_components(r, s)?;
    let signed = &token[..header_and_payload_len(token)];
    let digest = openssl::sha::sha256(signed.as_bytes());
    if !signature.verify(&digest, key)? {
        return Err(JwsError::SignatureMismatch);
    }
    decode_json(payload, "claims")
}

fn header_and_payload_len(token: &str) -> usize {
    token.rfind('.').unwrap_or(token.len())
}

fn decode_json<T: for<'de> Deserialize<'de>>(
    segment: &str,
    what: &'static str,
) -> Result<T, JwsError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| JwsError::SegmentNotBase64(what))?;
    serde_json::from_slice(&bytes).map_err(|source| JwsError::SegmentNotJson { what, source })
}
