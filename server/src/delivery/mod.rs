//! Live delivery: which devices hold a stream on this node, and the work of
//! each stream (backlog replay, live messages, acks, presence, urgency).
//!
//! The store is the source of truth; a stream is an optimisation over it. A
//! message is always written before it counts as accepted, and anything a
//! stream could not take is replayed from the store, so a slow or vanished
//! stream can delay a message but never lose it.

mod connection;
mod error;
mod hub;
mod in_flight;
mod outbound;
mod routes;
mod session;

pub(crate) use connection::{LiveConnection, Offer, push_message};
pub(crate) use error::StreamError;
pub use hub::Hub;
pub(crate) use in_flight::Unacked;
pub(crate) use outbound::OutboundStream;
pub(crate) use routes::{RouteGuard, StreamRoutes};
pub(crate) use session::{Inbound, OUTBOUND_CAPACITY, Session};
