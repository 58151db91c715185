//! Reuse of VAPID tokens across sends.
//!
//! Signing is cheap, but push services (pushd included) may cache verified tokens, and a new
//! token per message defeats that. One token per audience is kept until less than
//! [`MIN_REMAINING`] of its life is left.
use std::collections::HashMap;
use std::sync::Mutex;

use crate::vapid::{VapidError, VapidKey};

/// Lifetime written into each token. RFC 8292 §2 caps `exp` at 24 h ahead; staying at half
/// that leaves room for a receiving server whose clock runs behind ours.
pub(crate) const TOKEN_LIFETIME_SECS: u64 = 12 * 3600;
/// A cached token is replaced once it has less than this left, so that it cannot expire in
/// flight or on a slightly fast server clock.
pub(crate) const MIN_REMAINING_SECS: u64 = 3600;

struct CachedToken {
    jwt: String,
    expires_at_unix: u64,
}

/// Tokens by audience. A std `Mutex` is enough: the lock is held only for a map lookup or an
/// insert (signing happens outside it), never across an `.await`.
#[derive(Default)]
pub(crate) struct TokenCache {
    tokens: Mutex<HashMap<String, CachedToken>>,
}

impl TokenCache {
    /// A token for `audience` valid for at least [`MIN_REMAINING_SECS`] after `now_unix`.
    pub(crate) fn token(
        &self,
        key: &VapidKey,
        audience: &str,
        subject: &str,
        now_unix: u64,
    ) -> Result<String, VapidError> {
        if let Some(jwt) = self.cached(audience, now_unix) {
            return Ok(jwt);
        }
        let expires_at_unix = now_unix + TOKEN_LIFETIME_SECS;
        let jwt = key.sign(audience, subject, expires_at_unix)?;
        let mut tokens = self
            .tokens
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        tokens.insert(
            audience.to_owned(),
            CachedToken {
                jwt: jwt.clone(),
                expires_at_unix,
            },
        );
        Ok(jwt)
    }

    fn cached(&self, audience: &str, now_unix: u64) -> Option<String> {
        let tokens = self
            .tokens
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let cached = tokens.get(audience)?;
        (cached.expires_at_unix >= now_unix + MIN_REMAINING_SECS).then(|| cached.jwt.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reuses_until_an_hour_is_left() {
        let key = VapidKey::generate().unwrap();
        let cache = TokenCache::default();
        let start = 1_700_000_000;
        let first = cache.token(&key, "https://a", "mailto:x@y", start).unwrap();
        let later = start + TOKEN_LIFETIME_SECS - MIN_REMAINING_SECS;
        assert_eq!(
            cache.token(&key, "https://a", "mailto:x@y", later).unwrap(),
            first
        );
        let other_audience = cache.token(&key, "https://b", "mailto:x@y", start).unwrap();
        assert_ne!(other_audience, first);
        let renewed = cache
            .token(&key, "https://a", "mailto:x@y", later + 1)
            .unwrap();
        assert_ne!(renewed, first);
    }
}
