//! The verified-token cache: owns the memory VAPID verification may keep,
//! counted in bytes and bounded by `vapid_cache_bytes`, least recently used
//! first out. A sender can sign as many distinct tokens as it likes, so a
//! count bound would let long tokens buy a lot of memory; bytes cannot.

use hashlink::LruCache;

use super::VerifiedSender;
use super::header::Signature;

/// What a cache entry is filed under: SHA-256 of the sender's public key and
/// the JWT's signing input ([`super::header::Presented::cache_key`]).
pub(crate) type TokenKey = [u8; 32];

/// Per entry beyond its own fields: the linked map's node links and hash,
/// its table slot, and allocator rounding of the two heap buffers, rounded
/// up so the budget errs on the side of holding less.
const NODE_OVERHEAD_BYTES: usize = 96;

struct Entry {
    sender: VerifiedSender,
    /// The verified signature, low-s form: a different signature over the
    /// same content is checked by ECDSA, not waved through.
    signature: Signature,
}

impl Entry {
    fn weight(&self) -> usize {
        std::mem::size_of::<(TokenKey, Entry)>()
            + self.sender.public_key.len()
            + self.sender.subject.len()
            + NODE_OVERHEAD_BYTES
    }
}

/// How full the cache is; exported as gauges and read by tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheUsage {
    pub(crate) entries: usize,
    pub bytes: usize,
    pub(crate) capacity_bytes: usize,
}

pub(crate) struct TokenCache {
    entries: LruCache<TokenKey, Entry>,
    bytes: usize,
    capacity_bytes: usize,
}

impl TokenCache {
    /// A cache holding at most `capacity_bytes`; 0 keeps nothing.
    pub(crate) fn new(capacity_bytes: usize) -> Self {
        Self {
            entries: LruCache::new_unbounded(),
            bytes: 0,
            capacity_bytes,
        }
    }

    /// The sender verified under `key`, if `signature` is the one verified
    /// then (up to ECDSA's (r, s) / (r, n - s) twin); marks it recently used.
    pub(crate) fn get(&mut self, key: &TokenKey, signature: &Signature) -> Option<VerifiedSender> {
        let entry = self.entries.get(key)?;
        (entry.signature == *signature).then(|| entry.sender.clone())
    }

    /// Files `sender` under `key`, evicting the least recently used entries
    /// until it fits. An entry larger than the whole budget is not kept.
    pub(crate) fn insert(&mut self, key: TokenKey, signature: Signature, sender: VerifiedSender) {
        self.remove(&key);
        let entry = Entry { sender, signature };
        let weight = entry.weight();
        if weight > self.capacity_bytes {
            return;
        }
        while self.bytes + weight > self.capacity_bytes {
            let Some((_, evicted)) = self.entries.remove_lru() else {
                break;
            };
            self.bytes -= evicted.weight();
            metrics::counter!("pushd_vapid_cache_evictions_total").increment(1);
        }
        self.entries.insert(key, entry);
        self.bytes += weight;
    }

    pub(crate) fn remove(&mut self, key: &TokenKey) {
        if let Some(entry) = self.entries.remove(key) {
            self.bytes -= entry.weight();
        }
    }

    pub(crate) fn usage(&self) -> CacheUsage {
        CacheUsage {
            entries: self.entries.len(),
            bytes: self.bytes,
            capacity_bytes: self.capacity_bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sender(subject_len: usize) -> VerifiedSender {
        VerifiedSender {
            public_key: vec![4; 65],
            subject: "s".repeat(subject_len),
            expires_at: 0,
        }
    }

    fn weight_of(subject_len: usize) -> usize {
        Entry {
            sender: sender(subject_len),
            signature: [0; 64],
        }
        .weight()
    }

    #[test]
    fn bytes_stay_within_the_budget_and_the_oldest_go_first() {
        let capacity = 3 * weight_of(100);
        let mut cache = TokenCache::new(capacity);
        for n in 0..3u8 {
            cache.insert([n; 32], [n; 64], sender(100));
        }
        assert_eq!(cache.usage().entries, 3);
        assert_eq!(cache.usage().bytes, capacity);
        // Using entry 0 makes entry 1 the least recently used.
        assert!(cache.get(&[0; 32], &[0; 64]).is_some());
        cache.insert([3; 32], [3; 64], sender(100));
        assert!(cache.get(&[1; 32], &[1; 64]).is_none(), "1 was evicted");
        for kept in [0u8, 2, 3] {
            assert!(cache.get(&[kept; 32], &[kept; 64]).is_some(), "{kept}");
        }
        // A bigger entry evicts as many as it needs, and no more.
        cache.insert([4; 32], [4; 64], sender(100 + weight_of(100)));
        let usage = cache.usage();
        assert!(usage.bytes <= capacity, "{usage:?}");
        assert_eq!(usage.entries, 2);
    }

    #[test]
    fn replacing_and_removing_keep_the_count_exact() {
        let mut cache = TokenCache::new(10 * weight_of(10));
        cache.insert([1; 32], [1; 64], sender(10));
        cache.insert([1; 32], [2; 64], sender(50));
        assert_eq!(cache.usage().entries, 1);
        assert_eq!(cache.usage().bytes, weight_of(50));
        assert!(
            cache.get(&[1; 32], &[1; 64]).is_none(),
            "only the newest signature matches"
        );
        assert_eq!(cache.get(&[1; 32], &[2; 64]), Some(sender(50)));
        cache.remove(&[1; 32]);
        cache.remove(&[1; 32]);
        assert_eq!(cache.usage().bytes, 0);
    }

    #[test]
    fn what_does_not_fit_is_not_kept() {
        let mut cache = TokenCache::new(weight_of(10));
        cache.insert([1; 32], [1; 64], sender(10));
        cache.insert([2; 32], [2; 64], sender(11));
        assert_eq!(cache.usage().entries, 1, "too big for the whole budget");
        assert!(
            cache.get(&[1; 32], &[1; 64]).is_some(),
            "and evicted nothing"
        );
        let mut off = TokenCache::new(0);
        off.insert([1; 32], [1; 64], sender(0));
        assert_eq!(off.usage().entries, 0);
    }
}
