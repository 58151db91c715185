//! VAPID (RFC 8292) sender identification for `SubmitMessage` and HTTP
//! pushes: [`header`] takes the `authorization` value apart, [`super::jwt`]
//! checks the ES256 signature and the claims here say who is sending.
//!
//! Senders reuse one token for up to 24 hours, so [`cache`] keeps verified
//! tokens, within a byte budget: the ECDSA check runs once per token, not
//! once per message. An entry is filed under the key and the signed content,
//! not under the header's spelling, and still expires with the token's `exp`.

mod cache;
mod header;
#[cfg(test)]
mod tests;

use parking_lot::{Mutex, MutexGuard};

pub use cache::CacheUsage;
use cache::{TokenCache, TokenKey};
use header::{Presented, Signature};

use super::jwt;

/// RFC 8292 section 2: `exp` must be no more than 24 hours ahead.
const MAX_LIFETIME_SECS: u64 = 24 * 3600;
/// Tolerated difference between the sender's clock and ours.
const CLOCK_SKEW_SECS: u64 = 60;

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
    #[error(
        "VAPID authorization is {bytes} bytes, over the limit of {limit}; a real one is under 500: sign a token with just the aud, exp and sub claims"
    )]
    TooLarge { bytes: usize, limit: usize },
    #[error("malformed VAPID authorization: {0}")]
    Malformed(String),
    #[error("invalid VAPID token: {0}")]
    Invalid(String),
    #[error("VAPID token expired at {expired_at} (now {now}); sign a new one")]
    Expired { expired_at: u64, now: u64 },
}

pub struct VapidVerifier {
    audience: String,
    cache: Mutex<TokenCache>,
}

impl VapidVerifier {
    /// `audience` is this service's origin, e.g. `https://push.example.com`;
    /// verified tokens are kept in at most `cache_bytes` (0: none).
    pub fn new(audience: impl Into<String>, cache_bytes: usize) -> Self {
        Self {
            audience: audience.into(),
            cache: Mutex::new(TokenCache::new(cache_bytes)),
        }
    }

    pub fn verify(
        &self,
        authorization: Option<&str>,
        now: u64,
    ) -> Result<VerifiedSender, VapidError> {
        let presented = header::parse(authorization.ok_or(VapidError::Missing)?)?;
        let key = presented.cache_key();
        // A statement of its own, so the lock is released before the match.
        let cached = self.cache().get(&key, &presented.signature);
        if let Some(cached) = cached {
            return check_not_expired(cached, now).inspect_err(|_| {
                let mut cache = self.cache();
                cache.remove(&key);
                publish(cache.usage());
            });
        }
        let verified = self.verify_uncached(&presented, now)?;
        self.remember(key, presented.signature, verified.clone());
        Ok(verified)
    }

    /// How full the token cache is.
    pub fn cache_usage(&self) -> CacheUsage {
        self.cache().usage()
    }

    fn cache(&self) -> MutexGuard<'_, TokenCache> {
        self.cache.lock()
    }

    fn remember(&self, key: TokenKey, signature: Signature, sender: VerifiedSender) {
        let mut cache = self.cache();
        cache.insert(key, signature, sender);
        publish(cache.usage());
    }

    fn verify_uncached(
        &self,
        presented: &Presented<'_>,
        now: u64,
    ) -> Result<VerifiedSender, VapidError> {
        let ec_key = jwt::p256_public_key(&presented.public_key)
            .map_err(|error| VapidError::Malformed(format!("k= {error}")))?;
        let claims = jwt::verify_es256(presented.token, &ec_key)
            .map_err(|error| VapidError::Invalid(error.to_string()))?;
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
                public_key: presented.public_key.clone(),
                subject,
                expires_at,
            },
            now,
        )
    }
}

/// The cache's size as gauges, for operators sizing `vapid_cache_bytes`.
fn publish(usage: CacheUsage) {
    metrics::gauge!("pushd_vapid_cache_bytes").set(usage.bytes as f64);
    metrics::gauge!("pushd_vapid_cache_entries").set(usage.entries as f64);
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
