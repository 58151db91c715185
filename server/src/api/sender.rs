//! `push.v1.Sender` over the sender service ([`crate::submit`]), and
//! `WatchReceipts` over [`crate::receipts`]: a sender key's receipt events,
//! from a cursor, then live. The stream only ever reads the verified key's
//! own log. Watchers are bounded (`max_receipt_watchers`); each holds a small
//! channel and reads the store at most once a second while nothing happens.

use std::pin::Pin;
use std::time::Duration;

use push_proto::v1::{self as pb, sender_server};
use tokio::sync::mpsc;
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use super::{SenderApi, authorization, convert};
use crate::auth::VerifiedSender;
use crate::domain::Urgency;
use crate::error::ApiError;
use crate::submit::{Front, Outcome, Submission};

/// How long a watcher waits for news before reading the store again (other
/// nodes' events reach it this way).
const POLL: Duration = Duration::from_secs(1);

pub(crate) type EventStream = Pin<Box<dyn Stream<Item = Result<pb::ReceiptEvent, Status>> + Send>>;

#[tonic::async_trait]
impl sender_server::Sender for SenderApi {
    async fn submit_message(
        &self,
        request: Request<pb::SubmitMessageRequest>,
    ) -> Result<Response<pb::SubmitMessageResponse>, Status> {
        let sender = self.sender_of(&request)?;
        let submitted = request.into_inner();
        let urgency = Urgency::from_i32(submitted.urgency).ok_or_else(|| {
            ApiError::Invalid(format!(
                "urgency {} is not a known value",
                submitted.urgency
            ))
        })?;
        let submission = Submission {
            endpoint: submitted.endpoint,
            payload: submitted.payload,
            ttl_seconds: submitted.ttl_seconds,
            urgency,
            topic: Some(submitted.topic),
            receipt: submitted.receipt,
        };
        let accepted = self
            .submitter
            .submit(&sender, submission, Front::Grpc)
            .await?;
        let outcome = match accepted.outcome {
            Outcome::Delivered => pb::Outcome::Delivered,
            Outcome::Stored => pb::Outcome::Stored,
            Outcome::NotDelivered => pb::Outcome::NotDelivered,
        };
        Ok(Response::new(pb::SubmitMessageResponse {
            message_id: accepted.message_id,
            outcome: outcome as i32,
            ttl_seconds: accepted.ttl_seconds,
            devices: accepted.devices,
            devices_full: accepted.devices_full,
            location: accepted.location,
        }))
    }

    type WatchReceiptsStream = EventStream;

    async fn watch_receipts(
        &self,
        request: Request<pb::WatchReceiptsRequest>,
    ) -> Result<Response<EventStream>, Status> {
        let sender = self.sender_of(&request)?;
        let receipts = self.submitter.receipts().clone();
        let permit = receipts.watch_permit().ok_or(ApiError::TooManyWatchers)?;
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
                        let _ = events.send(Err(error.into())).await;
                        return;
                    }
                };
                for event in page {
                    after = Some(event.cursor.clone());
                    if events
                        .send(Ok(convert::receipt_event(event)))
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(stream))))
    }
}

impl SenderApi {
    /// The caller of a `Sender` call: the sender gate verified it already;
    /// without the gate, it is verified here.
    fn sender_of<T>(&self, request: &Request<T>) -> Result<VerifiedSender, Status> {
        match request.extensions().get::<VerifiedSender>() {
            Some(sender) => Ok(sender.clone()),
            None => Ok(self.submitter.identify(authorization(request))?),
        }
    }
}
