//! The `authorization: vapid t=<JWT>, k=<key>` value taken apart, strictly
//! and before any crypto: a size cap, only the two parameters RFC 8292
//! defines (each once), no padding in the JWT. What comes out is what the
//! token cache files entries under, so two spellings of one token (params
//! reordered, spacing, a padded key, a malleated signature) are one entry.

use base64::Engine as _;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};

use super::VapidError;
use super::cache::TokenKey;

/// Largest `authorization` value taken. A real VAPID header is 250-450
/// bytes: a 36-character JWT header, aud/exp/sub claims, an 86-character
/// signature and an 87-character key. 2 KiB leaves room for a long `sub`
/// URL and a long origin; past that, a token costs us memory and hashing
/// for nothing a sender needs.
pub(crate) const MAX_HEADER_BYTES: usize = 2048;

/// An ES256 signature, r || s, 32 bytes each (RFC 7518 §3.4).
pub(crate) type Signature = [u8; 64];

/// base64url characters of a 64-byte signature, unpadded.
const SIGNATURE_CHARS: usize = 86;
/// Bytes of an uncompressed P-256 public key (0x04 || x || y).
const PUBLIC_KEY_BYTES: usize = 65;
/// The order n of the P-256 group, big-endian.
const P256_ORDER: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];

/// One header, parsed.
#[derive(Debug)]
pub(crate) struct Presented<'a> {
    /// The whole JWT, for the full check.
    pub(crate) token: &'a str,
    /// `<header>.<claims>`: what the signature covers.
    pub(crate) signing_input: &'a str,
    /// The signature in low-s form ([`low_s`]).
    pub(crate) signature: Signature,
    /// The `k=` key, decoded: 65 bytes, not yet checked to be on the curve.
    pub(crate) public_key: Vec<u8>,
}

impl Presented<'_> {
    /// SHA-256 of key and signing input. The key is always 65 bytes, so the
    /// concatenation splits one way only: equal digests mean the same
    /// content under the same key.
    pub(crate) fn cache_key(&self) -> TokenKey {
        let mut hasher = openssl::sha::Sha256::new();
        hasher.update(&self.public_key);
        hasher.update(self.signing_input.as_bytes());
        hasher.finish()
    }
}

pub(crate) fn parse(header: &str) -> Result<Presented<'_>, VapidError> {
    if header.len() > MAX_HEADER_BYTES {
        return Err(VapidError::TooLarge {
            bytes: header.len(),
            limit: MAX_HEADER_BYTES,
        });
    }
    let (token, key) = split_params(header)?;
    if token.contains('=') {
        return Err(VapidError::Invalid(
            "JWT parts are base64url without `=` padding (RFC 7515 §2)".into(),
        ));
    }
    let (signing_input, signature) = token
        .rsplit_once('.')
        .filter(|(signing_input, _)| signing_input.matches('.').count() == 1)
        .ok_or_else(|| VapidError::Invalid("a JWT has three dot-separated parts".into()))?;
    Ok(Presented {
        token,
        signing_input,
        signature: low_s(decode_signature(signature)?),
        public_key: decode_key(key)?,
    })
}

/// Splits `vapid t=<jwt>, k=<key>`: parameters in either order, names in
/// any case, empty list elements skipped (RFC 9110 §5.6.1); nothing else.
fn split_params(header: &str) -> Result<(&str, &str), VapidError> {
    let (scheme, params) = header
        .trim()
        .split_once(' ')
        .ok_or_else(|| VapidError::Malformed("expected `vapid t=..., k=...`".into()))?;
    if !scheme.eq_ignore_ascii_case("vapid") {
        return Err(VapidError::Malformed(format!(
            "scheme is {:?}; expected `vapid`",
            shortened(scheme)
        )));
    }
    let (mut token, mut key) = (None, None);
    for param in params.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, value) = param.split_once('=').ok_or_else(|| {
            VapidError::Malformed(format!("{:?} is not name=value", shortened(param)))
        })?;
        let name = name.trim();
        let slot = if name.eq_ignore_ascii_case("t") {
            &mut token
        } else if name.eq_ignore_ascii_case("k") {
            &mut key
        } else {
            return Err(VapidError::Malformed(format!(
                "unknown parameter {:?}; a VAPID header has only t= (the JWT) and k= (the public key), RFC 8292 §3",
                shortened(name)
            )));
        };
        if slot.replace(value.trim()).is_some() {
            return Err(VapidError::Malformed(format!(
                "{name}= appears twice; send it once"
            )));
        }
    }
    match (token, key) {
        (Some(token), Some(key)) if !token.is_empty() && !key.is_empty() => Ok((token, key)),
        _ => Err(VapidError::Malformed(
            "both t= (the JWT) and k= (the public key) are required".into(),
        )),
    }
}

/// At most 32 characters of what a sender sent, for an error message.
fn shortened(text: &str) -> String {
    text.chars().take(32).collect()
}

fn decode_signature(text: &str) -> Result<Signature, VapidError> {
    let wrong = || {
        VapidError::Invalid(format!(
            "an ES256 signature is 64 bytes, {SIGNATURE_CHARS} base64url characters; got {} characters",
            text.len()
        ))
    };
    if text.len() != SIGNATURE_CHARS {
        return Err(wrong());
    }
    let raw = URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| VapidError::Invalid("JWT signature is not base64url".into()))?;
    Signature::try_from(raw.as_slice()).map_err(|_| wrong())
}

fn decode_key(key: &str) -> Result<Vec<u8>, VapidError> {
    // Some senders pad their base64url; both decode to the same key.
    let raw = URL_SAFE_NO_PAD
        .decode(key)
        .or_else(|_| URL_SAFE.decode(key))
        .map_err(|_| VapidError::Malformed("k= is not base64url".into()))?;
    if raw.len() != PUBLIC_KEY_BYTES {
        return Err(VapidError::Malformed(format!(
            "k= is {} bytes; expected the {PUBLIC_KEY_BYTES}-byte uncompressed P-256 public key",
            raw.len()
        )));
    }
    Ok(raw)
}

/// ECDSA's (r, s) and (r, n - s) both verify; the smaller s stands for
/// both, so a sender (or anyone who saw its token) flipping s gets the same
/// cache entry. An s >= n is no valid signature and is left as is.
pub(crate) fn low_s(mut signature: Signature) -> Signature {
    let mut s = [0; 32];
    s.copy_from_slice(&signature[32..]);
    if s >= P256_ORDER {
        return signature;
    }
    let negated = order_minus(&s);
    if negated < s {
        signature[32..].copy_from_slice(&negated);
    }
    signature
}

/// n - s for s < n, big-endian.
fn order_minus(s: &[u8; 32]) -> [u8; 32] {
    let mut out = [0; 32];
    let mut borrow = 0;
    for i in (0..32).rev() {
        let difference = i16::from(P256_ORDER[i]) - i16::from(s[i]) - borrow;
        borrow = i16::from(difference < 0);
        out[i] = (difference + 256 * borrow) as u8;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(header: &str) -> Result<(&str, &str), VapidError> {
        split_params(header)
    }

    #[test]
    fn parameters_are_t_and_k_once_each_in_any_order() {
        assert_eq!(params("vapid t=a.b.c, k=XYZ"), Ok(("a.b.c", "XYZ")));
        assert_eq!(params("VAPID k=XYZ,t=a.b.c,"), Ok(("a.b.c", "XYZ")));
        assert_eq!(params("vapid  t = a.b.c ,, K=XYZ "), Ok(("a.b.c", "XYZ")));
        let refused = |header: &str, says: &str| match params(header) {
            Err(VapidError::Malformed(reason)) => assert!(reason.contains(says), "{reason}"),
            other => panic!("{header}: {other:?}"),
        };
        refused("Bearer abc", "scheme");
        refused("vapid t=a.b.c", "required");
        refused(
            "vapid t=a.b.c, k=XYZ, pad=0000",
            "unknown parameter \"pad\"",
        );
        refused("vapid t=a.b.c, t=a.b.c, k=XYZ", "t= appears twice");
        refused("vapid t=a.b.c, k=XYZ, junk", "not name=value");
    }

    #[test]
    fn size_padding_and_shape_are_checked_first() {
        let long = format!("vapid t={}, k=XYZ", "a".repeat(MAX_HEADER_BYTES));
        assert_eq!(
            parse(&long).map(|_| ()),
            Err(VapidError::TooLarge {
                bytes: long.len(),
                limit: MAX_HEADER_BYTES
            })
        );
        let key = URL_SAFE_NO_PAD.encode([4; 65]);
        let signature = URL_SAFE_NO_PAD.encode([1; 64]);
        let good = format!("vapid t=aGVhZA.Ym9keQ.{signature}, k={key}");
        let parsed = parse(&good).expect("well formed");
        assert_eq!(parsed.signing_input, "aGVhZA.Ym9keQ");
        assert_eq!(parsed.public_key, vec![4; 65]);
        for bad in [
            format!("vapid t=aGVhZA.Ym9keQ==.{signature}, k={key}"),
            format!("vapid t=aGVhZA.{signature}, k={key}"),
            format!("vapid t=a.b.c.{signature}, k={key}"),
            format!("vapid t=aGVhZA.Ym9keQ.{signature}AA, k={key}"),
            format!("vapid t=aGVhZA.Ym9keQ.{signature}, k=BAQE"),
        ] {
            assert!(parse(&bad).is_err(), "{bad}");
        }
        let padded_key = format!("vapid t=aGVhZA.Ym9keQ.{signature}, k={key}=");
        let padded = parse(&padded_key).expect("a padded key is the same key");
        assert_eq!(padded.cache_key(), parsed.cache_key());
    }

    #[test]
    fn a_signature_and_its_twin_normalise_alike() {
        let mut high = [0u8; 64];
        high[32..].copy_from_slice(&P256_ORDER);
        high[63] -= 1; // s = n - 1, whose twin is 1
        let low = low_s(high);
        assert_eq!(low[32..63], [0; 31]);
        assert_eq!(low[63], 1);
        assert_eq!(low_s(low), low, "low-s is a fixed point");
        let mut invalid = [0xff; 64];
        invalid[..32].fill(7);
        assert_eq!(low_s(invalid), invalid, "s >= n is left alone");
    }
}
