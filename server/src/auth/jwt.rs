//! Just enough JWS (RFC 7515) for VAPID: compact ES256 tokens.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey, EcPoint};
use openssl::ecdsa::EcdsaSig;
use openssl::nid::Nid;
use openssl::pkey::Public;
use serde::Deserialize;

#[derive(Deserialize)]
struct Header {
    alg: String,
}

#[derive(Debug, Deserialize)]
pub struct Claims {
    pub aud: Option<String>,
    pub exp: Option<u64>,
    pub sub: Option<String>,
}

/// Parses a raw uncompressed P-256 public key (65 bytes), checking it is on the curve.
pub fn p256_public_key(raw: &[u8]) -> Result<EcKey<Public>, String> {
    if raw.len() != 65 || raw[0] != 0x04 {
        return Err(format!(
            "expected a 65-byte uncompressed P-256 point, got {} bytes",
            raw.len()
        ));
    }
    let group =
        EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).map_err(|error| error.to_string())?;
    let mut context = openssl::bn::BigNumContext::new().map_err(|error| error.to_string())?;
    let point = EcPoint::from_bytes(&group, raw, &mut context)
        .map_err(|_| "not a point on P-256".to_string())?;
    let key = EcKey::from_public_key(&group, &point).map_err(|error| error.to_string())?;
    key.check_key()
        .map_err(|_| "not a valid P-256 public key".to_string())?;
    Ok(key)
}

/// Verifies an ES256 compact JWS with `key` and returns its claims.
pub fn verify_es256(token: &str, key: &EcKey<Public>) -> Result<Claims, String> {
    let mut segments = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) = (
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
    ) else {
        return Err("a JWT has three dot-separated parts".into());
    };
    let header: Header = decode_json(header, "header")?;
    if header.alg != "ES256" {
        return Err(format!("JWT alg is {:?}; VAPID requires ES256", header.alg));
    }
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| "JWT signature is not base64url".to_string())?;
    if signature.len() != 64 {
        return Err(format!(
            "ES256 signature must be 64 bytes (r||s), got {}",
            signature.len()
        ));
    }
    let r = BigNum::from_slice(&signature[..32]).map_err(|error| error.to_string())?;
    let s = BigNum::from_slice(&signature[32..]).map_err(|error| error.to_string())?;
    let signature = EcdsaSig::from_private_components(r, s).map_err(|error| error.to_string())?;
    let signed = &token[..header_and_payload_len(token)];
    let digest = openssl::sha::sha256(signed.as_bytes());
    if !signature
        .verify(&digest, key)
        .map_err(|error| error.to_string())?
    {
        return Err("JWT signature does not match the key in k=".into());
    }
    decode_json(payload, "claims")
}

fn header_and_payload_len(token: &str) -> usize {
    token.rfind('.').unwrap_or(token.len())
}

fn decode_json<T: for<'de> Deserialize<'de>>(segment: &str, what: &str) -> Result<T, String> {
    let bytes = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| format!("JWT {what} is not base64url"))?;
    serde_json::from_slice(&bytes)
        .map_err(|error| format!("JWT {what} is not the expected JSON: {error}"))
}
