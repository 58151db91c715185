//! `push.v1.Sender`: the gRPC front over [`crate::submit`] (and
//! [`crate::receipts`] for `WatchReceipts`).

use push_proto::v1::{self as pb, sender_server};
use tonic::{Request, Response, Status};

use super::{PushApi, authorization, status};
use crate::auth::VerifiedSender;
use crate::domain::Urgency;
use crate::submit::{Front, Outcome, Submission};

#[tonic::async_trait]
impl sender_server::Sender for PushApi {
    async fn submit_message(
        &self,
        request: Request<pb::SubmitMessageRequest>,
    ) -> Result<Response<pb::SubmitMessageResponse>, Status> {
        let submitter = &self.inner.submitter;
        let sender = self.sender_of(&request)?;
        let submitted = request.into_inner();
        let urgency = Urgency::from_i32(submitted.urgency).ok_or_else(|| {
            Status::invalid_argument(format!(
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
        let accepted = submitter
            .submit(&sender, submission, Front::Grpc)
            .await
            .map_err(status::from_submit)?;
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

    type WatchReceiptsStream = super::receipts::EventStream;

    async fn watch_receipts(
        &self,
        request: Request<pb::WatchReceiptsRequest>,
    ) -> Result<Response<Self::WatchReceiptsStream>, Status> {
        self.watch_receipts_for(request).await
    }
}

impl PushApi {
    /// The caller of a `Sender` call: the sender gate verified it already;
    /// without the gate, it is verified here.
    pub(super) fn sender_of<T>(&self, request: &Request<T>) -> Result<VerifiedSender, Status> {
        match request.extensions().get::<VerifiedSender>() {
            Some(sender) => Ok(sender.clone()),
            None => self
                .inner
                .submitter
                .identify(authorization(request))
                .map_err(status::from_submit),
        }
    }
}
