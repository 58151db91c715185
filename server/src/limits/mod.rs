//! Limits on what callers may spend: message rates per sender key,
//! subscription and device, and the time a gRPC call may take to be
//! answered. Connection-level limits sit on the listener
//! ([`crate::transport`]).

mod deadline;
mod rate;

pub(crate) use deadline::RequestDeadlineLayer;
pub(crate) use rate::{AddressRate, Rate, RateLimits, RateSettings};
