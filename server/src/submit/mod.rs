//! Submitting a message, whichever front it came through (gRPC
//! `SubmitMessage`, RFC 8030 `POST /push/<token>`): one transport-free
//! service, one place for every check, in this order —
//! VAPID identity and the sender's rate ([`Submitter::identify`]), the
//! operator's block list, the endpoint, the payload and topic, the
//! subscription and the key it is bound to, the subscription's rate, the
//! devices it reaches (fan-out, each device's rate), and where each copy goes
//! ([`Router`]). Refusals are a [`SubmitError`]; each front maps them to its
//! own wire once.
//!
//! Cancelling a message (RFC 8030 `DELETE <Location>`) lives here too: the
//! message handle in the `Location` names every copy and the key that sent it.

mod cancel;
mod error;
mod fanout;
mod routing;
mod service;

pub(crate) use error::{SubmitError, retry_after_seconds};
pub(crate) use routing::{Outcome, Router};
#[cfg(test)]
pub(crate) use service::token_of;
pub(crate) use service::{Front, Submission, Submitter, SubmitterParts};
