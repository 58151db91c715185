//! The server-to-device half of a stream: a bounded queue whose receiving
//! end a front reads (the gRPC response body, a WebSocket session).
//!
//! Frames travel boxed: a queue allocates its slots in blocks, and with tens
//! of thousands of idle streams a block of 8-byte pointers instead of
//! 120-byte frames is a measurable share of the memory per device.

use std::pin::Pin;
use std::task::{Context, Poll};

use super::error::StreamError;
use push_proto::v1 as pb;
use tokio::sync::mpsc;

/// Both sides boxed: a slot is two words whatever a frame or an error weighs.
pub(super) type Outgoing = Result<Box<pb::ServerFrame>, Box<StreamError>>;
pub(super) type Outbound = mpsc::Sender<Outgoing>;

/// The frames of one stream, as its front reads them.
pub(crate) struct OutboundStream {
    receiver: mpsc::Receiver<Outgoing>,
}

impl OutboundStream {
    pub(crate) fn channel(capacity: usize) -> (Outbound, Self) {
        let (sender, receiver) = mpsc::channel(capacity);
        (sender, Self { receiver })
    }
}

impl tokio_stream::Stream for OutboundStream {
    type Item = Result<pb::ServerFrame, StreamError>;

    fn poll_next(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.receiver
            .poll_recv(context)
            .map(|item| item.map(|frame| frame.map(|boxed| *boxed).map_err(|boxed| *boxed)))
    }
}

#[cfg(test)]
mod tests {
    /// Every idle stream's queue holds blocks of slots: a wider slot is
    /// paid per device (an unboxed error once cost 1.3 kB each).
    #[test]
    fn a_queue_slot_is_two_words() {
        assert_eq!(std::mem::size_of::<super::Outgoing>(), 16);
    }
}
