//! `push.v1.Sender/SubmitMessage`.

use push_proto::v1::{self as pb, sender_server};
use tonic::{Request, Response, Status};

use super::endpoint::token_of;
use super::{PushApi, authorization, status};
use crate::delivery::{LiveConnection, Offer};
use crate::domain::{
    QueuedMessage, Urgency, check_aes128gcm, check_topic, new_message_id, now_millis,
};
use crate::store::Admission;

#[tonic::async_trait]
impl sender_server::Sender for PushApi {
    async fn submit_message(
        &self,
        request: Request<pb::SubmitMessageRequest>,
    ) -> Result<Response<pb::SubmitMessageResponse>, Status> {
        let api = &self.inner;
        let now = now_millis();
        // Identify the sender before saying anything about the subscription.
        let sender = api
            .vapid
            .verify(authorization(&request), (now / 1000) as u64)
            .map_err(status::from_vapid)?;
        let submitted = request.into_inner();
        let token = token_of(&submitted.endpoint)?;
        check_aes128gcm(&submitted.payload).map_err(status::from_payload)?;
        let urgency = Urgency::from_i32(submitted.urgency).ok_or_else(|| {
            Status::invalid_argument(format!(
                "urgency {} is not a known value",
                submitted.urgency
            ))
        })?;
        let topic = Some(submitted.topic).filter(|topic| !topic.is_empty());
        if let Some(topic) = &topic {
            check_topic(topic).map_err(status::from_topic)?;
        }
        let subscription = api
            .subscriptions
            .get(api.store.as_ref(), token)
            .await
            .map_err(status::from_store)?
            .ok_or_else(|| {
                Status::not_found(
                    "no such subscription: it was removed or never existed; stop sending to it",
                )
            })?;
        if subscription
            .app_server_key
            .as_ref()
            .is_some_and(|key| *key != sender.public_key)
        {
            return Err(Status::permission_denied(
                "this subscription accepts only the application server key it was created with",
            ));
        }
        let ttl_seconds = submitted.ttl_seconds.min(api.limits.max_ttl_seconds);
        let message = QueuedMessage {
            id: new_message_id(),
            device_id: subscription.device_id,
            subscription_id: subscription.id,
            topic,
            urgency,
            payload: submitted.payload,
            received_at: now,
            expires_at: now + i64::from(ttl_seconds) * 1000,
        };
        let outcome = if ttl_seconds == 0 {
            self.deliver_now_or_never(&message).await
        } else {
            self.store_and_deliver(message.clone()).await?
        };
        if outcome != pb::Outcome::NotDelivered {
            metrics::counter!("pushd_messages_accepted_total").increment(1);
        }
        Ok(Response::new(pb::SubmitMessageResponse {
            message_id: message.id,
            outcome: outcome as i32,
            ttl_seconds,
        }))
    }
}

impl PushApi {
    /// TTL 0: RFC 8030 says deliver immediately or not at all, and never store.
    async fn deliver_now_or_never(&self, message: &QueuedMessage) -> pb::Outcome {
        let sent = match self.inner.hub.get(&message.device_id) {
            Some(live) => live.offer(message) == Offer::Sent,
            None => self.forward(message, false).await,
        };
        if sent {
            pb::Outcome::Delivered
        } else {
            pb::Outcome::NotDelivered
        }
    }

    /// Hands the message to the node streaming its device, in a cluster.
    async fn forward(&self, message: &QueuedMessage, stored: bool) -> bool {
        match &self.inner.cluster {
            Some(cluster) => cluster.forward(message, stored).await,
            None => false,
        }
    }

    /// Offers the message to a live stream first (latency), then waits for
    /// the durable write (the OK). A device that connected in between, or
    /// whose buffer was full, is caught after the write, when a replay is
    /// sure to find the message.
    async fn store_and_deliver(&self, message: QueuedMessage) -> Result<pb::Outcome, Status> {
        let api = &self.inner;
        let first = api.hub.get(&message.device_id).map(|live| {
            let offer = live.offer(&message);
            (live, offer)
        });
        let admission = match first {
            Some((_, Offer::Sent)) => Admission::DeliveredLive,
            _ => Admission::Queue(api.limits.retention),
        };
        let enqueued = api
            .store
            .enqueue(message.clone(), admission)
            .await
            .map_err(status::from_store)?;
        metrics::counter!("pushd_messages_stored_total")
            .increment(u64::from(!enqueued.already_acked));
        let mut delivered = enqueued.already_acked || matches!(first, Some((_, Offer::Sent)));
        if let Some((live, Offer::Full)) = &first {
            live.request_resync();
        }
        // The device may have (re)connected while the write was in flight: its
        // backlog read could have missed this message, so offer it to the new
        // stream (a stream that already holds it ignores the offer).
        if !enqueued.already_acked {
            let first_id = first.as_ref().map(|(live, _)| live.id);
            match api.hub.get(&message.device_id) {
                Some(live) if Some(live.id) != first_id => delivered |= offer_late(&live, &message),
                Some(_) => {}
                // Not streaming here: another node of the cluster may hold it.
                None => delivered |= self.forward(&message, true).await,
            }
        }
        Ok(if delivered {
            pb::Outcome::Delivered
        } else {
            pb::Outcome::Stored
        })
    }
}

fn offer_late(live: &LiveConnection, message: &QueuedMessage) -> bool {
    match live.offer(message) {
        Offer::Sent => true,
        Offer::Full => {
            live.request_resync();
            false
        }
        Offer::BelowThreshold | Offer::Closed => false,
    }
}
