//! `push.v1.Sender/SubmitMessage`.

use push_proto::v1::{self as pb, sender_server};
use tonic::{Request, Response, Status};

use super::endpoint::token_of;
use super::rate::too_fast;
use super::{PushApi, authorization, status};
use crate::auth::VerifiedSender;
use crate::domain::{QueuedMessage, Urgency, check_aes128gcm, check_topic, is_token, now_millis};

#[tonic::async_trait]
impl sender_server::Sender for PushApi {
    async fn submit_message(
        &self,
        request: Request<pb::SubmitMessageRequest>,
    ) -> Result<Response<pb::SubmitMessageResponse>, Status> {
        let api = &self.inner;
        let now = now_millis();
        // Identify the sender before saying anything about the subscription.
        // The sender gate verified it already; without the gate, verify here.
        let sender = match request.extensions().get::<VerifiedSender>() {
            Some(sender) => sender.clone(),
            None => api
                .vapid
                .verify(authorization(&request), (now / 1000) as u64)
                .map_err(status::from_vapid)?,
        };
        if api.service_blocks.key_blocked(&sender.public_key)
            || api.service_blocks.contact_blocked(&sender.subject)
        {
            return Err(Status::permission_denied(
                "this sender is blocked on this push service; ask its operator why",
            ));
        }
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
        // A sealed token that does not open was never ours: refused before any store read.
        let subscription_id = if is_token(token) {
            Some(token.to_owned())
        } else {
            api.endpoint_tokens.open(token)
        };
        let found = match &subscription_id {
            Some(id) => api
                .subscriptions
                .get(api.store.as_ref(), id)
                .await
                .map_err(status::from_store)?,
            None => None,
        };
        let subscription = found.ok_or_else(|| {
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
        api.rates
            .subscription(&subscription.id)
            .map_err(|wait| too_fast("subscription", wait))?;
        let ttl_seconds = submitted.ttl_seconds.min(api.limits.max_ttl_seconds);
        let devices = self.recipients(&subscription).await?;
        let message = QueuedMessage {
            id: String::new(),
            device_id: String::new(),
            subscription_id: subscription.id,
            topic,
            urgency,
            payload: submitted.payload,
            received_at: now,
            expires_at: now + i64::from(ttl_seconds) * 1000,
        };
        let fanout = self.fan_out(message, devices, ttl_seconds == 0).await?;
        if fanout.outcome != pb::Outcome::NotDelivered {
            metrics::counter!("pushd_messages_accepted_total").increment(1);
        }
        Ok(Response::new(pb::SubmitMessageResponse {
            message_id: fanout.first_id,
            outcome: fanout.outcome as i32,
            ttl_seconds,
            devices: fanout.devices,
            devices_full: fanout.devices_full,
        }))
    }
}
