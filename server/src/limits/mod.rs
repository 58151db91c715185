//! Limits on what callers may spend: message rates per sender key,
//! subscription and device. Connection-level limits sit on the listener
//! ([`crate::transport`]).

mod rate;

pub use rate::{Rate, RateLimits, RateSettings};
