//! Limits on what callers may spend, as tower layers where they guard a
//! service: message rates per sender key, subscription and device, new
//! registrations and connections per address ([`AddressRate`]), the sender
//! gate that meters a sender before its request is read, and the time a
//! gRPC call may take to be answered. Connection-level limits sit on the
//! listener ([`crate::transport`]), which uses [`AddressRate`] too.

mod deadline;
mod gate;
mod rate;

pub(crate) use deadline::RequestDeadlineLayer;
pub(crate) use gate::SenderGateLayer;
pub(crate) use rate::{AddressRate, Rate, RateLimits, RateSettings};
