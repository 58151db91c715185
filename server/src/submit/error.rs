//! Why a submission (or a cancel) was refused, in the service's own terms.
//! Each front maps these once: gRPC to a status code
//! ([`crate::api`]), RFC 8030 HTTP to a status code and a JSON body
//! ([`crate::http`]). The messages say what the sender should change.

use std::time::Duration;

use crate::auth::VapidError;
use crate::domain::{HeaderError, TopicError};
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub(crate) enum SubmitError {
    #[error(transparent)]
    Vapid(#[from] VapidError),
    #[error("this sender is blocked on this push service; ask its operator why")]
    SenderBlocked,
    #[error("endpoint is required: the subscription's endpoint URL")]
    MissingEndpoint,
    #[error(
        "endpoint is not a subscription endpoint of this service (expected <public url>/push/<token>)"
    )]
    NotAnEndpoint,
    #[error("payload: {0}")]
    Payload(#[from] HeaderError),
    #[error("topic: {0}")]
    Topic(#[from] TopicError),
    /// Not a subscription this service knows: a token it never made, or an
    /// id with no record.
    #[error("no such subscription: it was removed or never existed; stop sending to it")]
    UnknownSubscription,
    /// A subscription this service made, since removed (or its account emptied).
    #[error("{0}")]
    Gone(&'static str),
    #[error("this subscription accepts only the application server key it was created with")]
    WrongKey,
    #[error("too many messages for this {what}; retry after {} s", retry_after_seconds(*.wait))]
    TooFast { what: &'static str, wait: Duration },
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error(
        "no such message: it was acked, expired or cancelled already, or this service never sent it"
    )]
    UnknownMessage,
    #[error(
        "this message was sent with another application server key; only its sender may cancel it or read its receipt"
    )]
    NotYourMessage,
    #[error(
        "no receipt is kept for this message: ask for one when sending (HTTP `Prefer: respond-async`, gRPC `receipt`), or it is past its keeping"
    )]
    NoReceipt,
}

impl SubmitError {
    /// A refusal by a rate limit, counted by which limit it was.
    pub(crate) fn too_fast(what: &'static str, wait: Duration) -> Self {
        metrics::counter!("pushd_rate_limited_total", "limit" => what).increment(1);
        Self::TooFast { what, wait }
    }
}

/// Whole seconds to wait, at least 1 (what `retry-after` carries).
pub(crate) fn retry_after_seconds(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}
