//! Token buckets: per sender key, per subscription, per device, and
//! registrations per IP address. A refusal
//! carries how long to wait, which each front tells the caller (gRPC
//! `retry-after` metadata, HTTP `Retry-After`).

use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Messages per second a bucket refills with, and how many it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rate {
    pub(crate) per_second: u32,
    pub(crate) burst: u32,
}

/// The budgets; a `per_second` of 0 turns one off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RateSettings {
    pub(crate) sender: Rate,
    pub(crate) subscription: Rate,
    pub(crate) device: Rate,
    /// Devices registered per IP address.
    pub(crate) register: Rate,
}

struct Bucket<K: Hash + Eq + Clone> {
    limiter: DefaultKeyedRateLimiter<K>,
}

impl<K: Hash + Eq + Clone> Bucket<K> {
    fn new(rate: Rate) -> Option<Self> {
        let per_second = NonZeroU32::new(rate.per_second)?;
        let burst = NonZeroU32::new(rate.burst.max(rate.per_second)).unwrap_or(per_second);
        Some(Self {
            limiter: RateLimiter::keyed(Quota::per_second(per_second).allow_burst(burst)),
        })
    }

    fn take(&self, key: &K) -> Result<(), Duration> {
        self.limiter
            .check_key(key)
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }
}

pub(crate) struct RateLimits {
    sender: Option<Bucket<Vec<u8>>>,
    subscription: Option<Bucket<String>>,
    device: Option<Bucket<String>>,
}

impl RateLimits {
    pub(crate) fn new(settings: RateSettings) -> Arc<Self> {
        let limits = Arc::new(Self {
            sender: Bucket::new(settings.sender),
            subscription: Bucket::new(settings.subscription),
            device: Bucket::new(settings.device),
        });
        // Full buckets are forgotten once a minute, so memory follows the active keys.
        crate::periodic::every(
            Duration::from_secs(60),
            Arc::downgrade(&limits),
            |limits| async move { limits.trim() },
        );
        limits
    }

    pub(crate) fn sender(&self, key: &[u8]) -> Result<(), Duration> {
        self.sender
            .as_ref()
            .map_or(Ok(()), |bucket| bucket.take(&key.to_vec()))
    }

    pub(crate) fn subscription(&self, id: &str) -> Result<(), Duration> {
        self.subscription
            .as_ref()
            .map_or(Ok(()), |bucket| bucket.take(&id.to_owned()))
    }

    pub(crate) fn device(&self, id: &str) -> Result<(), Duration> {
        self.device
            .as_ref()
            .map_or(Ok(()), |bucket| bucket.take(&id.to_owned()))
    }

    fn trim(&self) {
        if let Some(bucket) = &self.sender {
            bucket.limiter.retain_recent();
        }
        if let Some(bucket) = &self.subscription {
            bucket.limiter.retain_recent();
        }
        if let Some(bucket) = &self.device {
            bucket.limiter.retain_recent();
        }
    }
}

/// A budget per IP address, for what a client may do without a credential:
/// register devices (`register_rate_per_ip`), open connections
/// (`connection_rate_per_ip`). A `per_second` of 0 admits all.
pub(crate) struct AddressRate {
    bucket: Option<Bucket<IpAddr>>,
}

impl AddressRate {
    pub(crate) fn new(rate: Rate) -> Arc<Self> {
        let limits = Arc::new(Self {
            bucket: Bucket::new(rate),
        });
        crate::periodic::every(
            Duration::from_secs(60),
            Arc::downgrade(&limits),
            |limits| async move {
                if let Some(bucket) = &limits.bucket {
                    bucket.limiter.retain_recent();
                }
            },
        );
        limits
    }

    pub(crate) fn take(&self, ip: IpAddr) -> Result<(), Duration> {
        self.bucket
            .as_ref()
            .map_or(Ok(()), |bucket| bucket.take(&ip))
    }
}
