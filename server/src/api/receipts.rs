//! `push.v1.Sender/WatchReceipts`: a sender key's receipt events, from a
//! cursor, then live. The stream only ever reads the verified key's own log.
//! Watchers are bounded (`max_receipt_watchers`); each holds a small channel
//! and reads the store at most once a second while nothing happens.

use std::pin::Pin;
use std::time::Duration;

use push_proto::v1 as pb;
use tokio::sync::mpsc;
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use super::{PushApi, status};
use crate::domain::{ReceiptEvent, ReceiptState};

/// How long a watcher waits for news before reading the store again (other
/// nodes' events reach it this way).
const POLL: Duration = Duration::from_secs(1);

pub type EventStream = Pin<Box<dyn Stream<Item = Result<pb::ReceiptEvent, Status>> + Send>>;

impl PushApi {
    pub(super) async fn watch_receipts_for(
        &self,
        request: Request<pb::WatchReceiptsRequest>,
    ) -> Result<Response<EventStream>, Status> {
        let submitter = &self.inner.submitter;
        let sender = self.sender_of(&request)?;
        let receipts = submitter.receipts().clone();
        let Some(permit) = receipts.watch_permit() else {
            return Err(Status::resource_exhausted(
                "too many receipt streams on this node (max_receipt_watchers); retry later",
            ));
        };
        let mut after = Some(request.into_inner().after).filter(|after| !after.is_empty());
        let (events, stream) = mpsc::channel(16);
        tokio::spawn(async move {
            let _permit = permit;
            loop {
                let page = tokio::select! {
                    _ = events.closed() => return,
                    page = receipts.next_events(&sender.public_key, after.as_deref(), POLL) => page,
                };
                let page = match page {
                    Ok(page) => page,
                    Err(error) => {
                        let _ = events.send(Err(status::from_store(error))).await;
                        return;
                    }
                };
                for event in page {
                    after = Some(event.cursor.clone());
                    if events.send(Ok(to_proto(event))).await.is_err() {
                        return;
                    }
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(stream))))
    }
}

fn to_proto(event: ReceiptEvent) -> pb::ReceiptEvent {
    let state = match event.state {
        ReceiptState::Accepted => pb::ReceiptState::Accepted,
        ReceiptState::Delivered => pb::ReceiptState::Delivered,
        ReceiptState::Acked => pb::ReceiptState::Acked,
        ReceiptState::Expired => pb::ReceiptState::Expired,
        ReceiptState::Cancelled => pb::ReceiptState::Cancelled,
        ReceiptState::Dropped => pb::ReceiptState::Dropped,
    };
    pb::ReceiptEvent {
        cursor: event.cursor,
        message_id: event.message_id,
        state: state as i32,
        at_unix_ms: event.at,
    }
}
