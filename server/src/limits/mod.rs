//! Limits on what callers may spend: message rates per sender key,
//! subscription and device, and the time a gRPC call may take to be
//! answered. Connection-level limits sit on the listener
//! ([`crate::transport`]).

mod deadline;
mod rate;

pub use deadline::RequestDeadlineLayer;
pub use rate::{AddressRate, Rate, RateLimits, RateSettings};
