//! Why a delivery session ended a stream, in delivery's own terms; each
//! front says it its way (a gRPC status on `Listen`, a WebSocket close).

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub(crate) enum StreamError {
    #[error("no Hello frame within {0} s; send Hello first")]
    NoHello(u64),
    #[error("the first frame on a stream must be Hello")]
    HelloFirst,
    #[error("Hello carries an unknown urgency or presence value")]
    BadHello,
    #[error("malformed client frame, stream closed: {0}")]
    Malformed(String),
    #[error("recording this stream failed: {0}; reconnect")]
    Route(StoreError),
    #[error("reading stored messages failed: {0}; reconnect")]
    Replay(StoreError),
}
