//! VAPID (RFC 8292) sender identification for `SubmitMessage`.
//!
//! Senders reuse one token for up to 24 hours, so a verified token is cached
//! by its exact header value: the ECDSA check runs once per token, not once
//! per message. A cached entry still expires with the token's `exp`.

use std::collections::HashMap;
use std::sync::Mutex;

use base64::Engine as _;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};

use super::jwt;

/// RFC 8292 section 2: `exp` must be no more than 24 hours ahead.
const MAX_LIFETIME_SECS: u64 = 24 * 3600;
/// Tolerated difference between the sender's clock and ours.
const CLOCK_SKEW_SECS: u64 = 60;
/// Bounds memory; senders beyond this many live tokens are verified again.
const MAX_CACHED_TOKENS: usize = 50_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedSender {
    /// The sender's raw uncompressed P-256 public key.
    pub public_key: Vec<u8>,
    pub subject: String,
    pub expires_at: u64,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VapidError {
    #[error(
        "missing VAPID authorization: send metadata `authorization: vapid t=<JWT>, k=<public key>` (RFC 8292)"
    )]
    Missing,
    #[error("malformed VAPID authorization: {0}")]
    Malformed(String),
    #[error("invalid VAPID token: {0}")]
    Invalid(String),
    #[error("VAPID token expired at {expired_at} (now {now}); sign a new one")]
    Expired { expired_at: u64, now: u64 },
}

pub struct VapidVerifier {
    audience: String,
    cache: Mutex<HashMap<String, VerifiedSender>>,
}

impl VapidVerifier {
    /// `audience` is this service's origin, e.g. `https://push.example.com`.
    pub fn new(audience: impl Into<String>) -> Self {
        Self {
            audience: audience.into(),
            cache: Mutex::new(HashMap::new()),
        }
    }

    pub fn verify(
        &self,
        authorization: Option<&str>,
        now: u64,
    ) -> Result<VerifiedSender, VapidError> {
        let header = authorization.ok_or(VapidError::Missing)?;
        if let Some(cached) = self.cached(header) {
            return check_not_expired(cached, now);
        }
        let verified = self.verify_uncached(header, now)?;
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() >= MAX_CACHED_TOKENS {
                cache.retain(|_, sender| sender.expires_at + CLOCK_SKEW_SECS > now);
                if cache.len() >= MAX_CACHED_TOKENS {
                    cache.clear();
                }
            }
            cache.insert(header.to_owned(), verified.clone());
        }
        Ok(verified)
    }

    fn cached(&self, header: &str) -> Option<VerifiedSender> {
        self.cache.lock().ok()?.get(header).cloned()
    }

    fn verify_uncached(&self, header: &str, now: u64) -> Result<VerifiedSender, VapidError> {
        let (token, key) = parse_header(header)?;
        let public_key = decode_key(key)?;
        let ec_key = jwt::p256_public_key(&public_key)
            .map_err(|error| VapidError::Malformed(format!("k= {error}")))?;
        let claims = jwt::verify_es256(token, &ec_key).map_err(VapidError::Invalid)?;
        match claims.aud.as_deref() {
            Some(aud) if aud.trim_end_matches('/') == self.audience => {}
            Some(aud) => {
                return Err(VapidError::Invalid(format!(
                    "aud is {aud:?}; it must be this service's origin {:?}",
                    self.audience
                )));
            }
            None => return Err(VapidError::Invalid("claims have no aud".into())),
        }
        let expires_at = claims
            .exp
            .ok_or_else(|| VapidError::Invalid("claims have no exp".into()))?;
        if expires_at > now + MAX_LIFETIME_SECS + CLOCK_SKEW_SECS {
            return Err(VapidError::Invalid(format!(
                "exp is {} s ahead; RFC 8292 allows at most 24 hours",
                expires_at.saturating_sub(now)
            )));
        }
        let subject = claims.sub.unwrap_or_default();
        if !is_contact(&subject) {
            return Err(VapidError::Invalid(
                "sub must be a contact for the sender: mailto:<address> or https://<host>…".into(),
            ));
        }
        check_not_expired(
            VerifiedSender {
                public_key,
                subject,
                expires_at,
            },
            now,
        )
    }
}

/// RFC 8292 §2.1: `sub` is how the push service reaches the sender, so a
/// bare scheme (`https:`, `mailto:`) is no contact at all.
fn is_contact(subject: &str) -> bool {
    if let Some(address) = subject.strip_prefix("mailto:") {
        return address
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty());
    }
    subject
        .strip_prefix("https://")
        .and_then(|rest| rest.split(['/', '?', '#']).next())
        .is_some_and(|host| !host.is_empty())
}

fn check_not_expired(sender: VerifiedSender, now: u64) -> Result<VerifiedSender, VapidError> {
    if sender.expires_at + CLOCK_SKEW_SECS <= now {
        return Err(VapidError::Expired {
            expired_at: sender.expires_at,
            now,
        });
    }
    Ok(sender)
}

/// Splits `vapid t=<jwt>, k=<key>` (parameters in either order).
fn parse_header(header: &str) -> Result<(&str, &str), VapidError> {
    let (scheme, params) = header
        .trim()
        .split_once(' ')
        .ok_or_else(|| VapidError::Malformed("expected `vapid t=..., k=...`".into()))?;
    if !scheme.eq_ignore_ascii_case("vapid") {
        return Err(VapidError::Malformed(format!(
            "scheme is {scheme:?}; expected `vapid`"
        )));
    }
    let (mut token, mut key) = (None, None);
    for param in params.split(',') {
        match param.trim().split_once('=') {
            Some(("t", value)) => token = Some(value.trim()),
            Some(("k", value)) => key = Some(value.trim()),
            _ => {}
        }
    }
    match (token, key) {
        (Some(token), Some(key)) if !token.is_empty() && !key.is_empty() => Ok((token, key)),
        _ => Err(VapidError::Malformed(
            "both t= (the JWT) and k= (the public key) are required".into(),
        )),
    }
}

fn decode_key(key: &str) -> Result<Vec<u8>, VapidError> {
    // Some senders pad their base64url; accept both.
    URL_SAFE_NO_PAD
        .decode(key)
        .or_else(|_| URL_SAFE.decode(key))
        .map_err(|_| VapidError::Malformed("k= is not base64url".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_parsing_names_the_problem() {
        assert_eq!(parse_header("vapid t=a.b.c, k=XYZ"), Ok(("a.b.c", "XYZ")));
        assert_eq!(parse_header("vapid k=XYZ,t=a.b.c"), Ok(("a.b.c", "XYZ")));
        assert!(matches!(
            parse_header("Bearer abc"),
            Err(VapidError::Malformed(_))
        ));
        assert!(matches!(
            parse_header("vapid t=a.b.c"),
            Err(VapidError::Malformed(_))
        ));
    }

    #[test]
    fn a_token_is_verified_once_and_still_expires_from_the_cache() {
        let key = push_sdk::vapid::VapidKey::generate().expect("key");
        let now = 1_800_000_000;
        let jwt = key
            .sign(
                "http://127.0.0.1:8070",
                "mailto:ops@example.com",
                now + 3600,
            )
            .expect("sign");
        let header = key.authorization_header(&jwt);
        let verifier = VapidVerifier::new("http://127.0.0.1:8070");
        let first = verifier.verify(Some(&header), now).expect("valid token");
        assert_eq!(first.public_key, key.public_key_raw());
        assert_eq!(
            verifier.cache.lock().expect("cache").len(),
            1,
            "verified tokens are cached"
        );
        assert_eq!(verifier.verify(Some(&header), now + 600), Ok(first));
        let expired = verifier.verify(Some(&header), now + 3600 + CLOCK_SKEW_SECS);
        assert!(
            matches!(expired, Err(VapidError::Expired { .. })),
            "{expired:?}"
        );
    }

    #[test]
    fn the_subject_must_be_a_contact() {
        for contact in [
            "mailto:ops@example.com",
            "mailto:loadtest@localhost",
            "https://example.com",
            "https://example.com/contact",
        ] {
            assert!(is_contact(contact), "{contact}");
        }
        for not_one in [
            "https:",
            "https://",
            "https:///path",
            "mailto:",
            "mailto:@example.com",
            "mailto:ops@",
            "mailto:ops",
            "http://example.com",
            "",
        ] {
            assert!(!is_contact(not_one), "{not_one}");
        }
        let key = push_sdk::vapid::VapidKey::generate().expect("key");
        let now = 1_800_000_000;
        let jwt = key
            .sign("http://127.0.0.1:8070", "https:", now + 3600)
            .expect("sign");
        let verifier = VapidVerifier::new("http://127.0.0.1:8070");
        let refused = verifier.verify(Some(&key.authorization_header(&jwt)), now);
        assert!(
            matches!(&refused, Err(VapidError::Invalid(reason)) if reason.contains("contact")),
            "{refused:?}"
        );
    }

    #[test]
    fn missing_and_garbage_are_refused() {
        let verifier = VapidVerifier::new("http://127.0.0.1:8070");
        assert_eq!(verifier.verify(None, 0), Err(VapidError::Missing));
        assert!(matches!(
            verifier.verify(Some("vapid t=x.y.z, k=AAAA"), 0),
            Err(VapidError::Malformed(_))
        ));
    }
}
