//! The device calls that work without a stream: registering a mobile push
//! bridge, and fetching and acking stored messages (the bridge wake-up path).

use push_proto::v1 as pb;
use tonic::{Request, Response, Status};

use super::{PushApi, status};
use crate::delivery::push_message;
use crate::domain::{Bridge, Urgency, check_message_ids, is_message_id, now_millis};
use crate::store::PendingQuery;

/// Page size (and cap) of a fetch without ids.
const MAX_PAGE: usize = 256;

impl PushApi {
    pub(super) async fn set_bridge_for(
        &self,
        request: Request<pb::SetBridgeRequest>,
    ) -> Result<Response<pb::SetBridgeResponse>, Status> {
        let device = self.authenticate(&request).await?;
        let bridge = match request.into_inner().bridge {
            Some(pb::set_bridge_request::Bridge::Apns(apns)) => Bridge::Apns {
                device_token: apns.device_token.to_ascii_lowercase(),
                topic: apns.topic,
                sandbox: apns.sandbox,
            },
            Some(pb::set_bridge_request::Bridge::Fcm(fcm)) => Bridge::Fcm {
                registration_token: fcm.registration_token,
                project_id: fcm.project_id,
            },
            None => {
                return Err(Status::invalid_argument(
                    "set one of apns or fcm (RemoveBridge removes it)",
                ));
            }
        };
        bridge
            .check()
            .map_err(|error| Status::invalid_argument(error.to_string()))?;
        if !self.inner.bridges.can_serve(&bridge) {
            return Err(Status::failed_precondition(format!(
                "this server has no {} credentials configured, so it cannot use this bridge",
                bridge.kind()
            )));
        }
        self.inner
            .store
            .set_bridge(&device.device_id, Some(&bridge))
            .await
            .map_err(status::from_store)?;
        tracing::debug!(device_id = %device.device_id, kind = bridge.kind(), "bridge set");
        Ok(Response::new(pb::SetBridgeResponse {}))
    }

    pub(super) async fn remove_bridge_for(
        &self,
        request: Request<pb::RemoveBridgeRequest>,
    ) -> Result<Response<pb::RemoveBridgeResponse>, Status> {
        let device = self.authenticate(&request).await?;
        self.inner
            .store
            .set_bridge(&device.device_id, None)
            .await
            .map_err(status::from_store)?;
        Ok(Response::new(pb::RemoveBridgeResponse {}))
    }

    pub(super) async fn fetch_for(
        &self,
        request: Request<pb::FetchMessagesRequest>,
    ) -> Result<Response<pb::FetchMessagesResponse>, Status> {
        let device = self.authenticate(&request).await?;
        let wanted = request.into_inner();
        let store = &self.inner.store;
        let (messages, more) = if wanted.message_ids.is_empty() {
            if !wanted.after.is_empty() && !is_message_id(&wanted.after) {
                return Err(Status::invalid_argument("after is not a message id"));
            }
            let limit = match wanted.limit as usize {
                0 => MAX_PAGE,
                limit => limit.min(MAX_PAGE),
            };
            let query = PendingQuery {
                device_id: device.device_id,
                now: now_millis(),
                min_urgency: Urgency::VeryLow,
                after: Some(wanted.after).filter(|after| !after.is_empty()),
                // One more than asked, to say whether more follow.
                limit: limit + 1,
            };
            let mut page = store.pending(query).await.map_err(status::from_store)?;
            let more = page.len() > limit;
            page.truncate(limit);
            (page, more)
        } else {
            let ids = checked_ids(wanted.message_ids)?;
            let found = store
                .messages(&device.device_id, &ids, now_millis())
                .await
                .map_err(status::from_store)?;
            (found, false)
        };
        Ok(Response::new(pb::FetchMessagesResponse {
            messages: messages.iter().map(push_message).collect(),
            more,
        }))
    }

    pub(super) async fn ack_for(
        &self,
        request: Request<pb::AckMessagesRequest>,
    ) -> Result<Response<pb::AckMessagesResponse>, Status> {
        let device = self.authenticate(&request).await?;
        let ids = checked_ids(request.into_inner().message_ids)?;
        let removed = self
            .inner
            .store
            .ack(&device.device_id, &ids)
            .await
            .map_err(status::from_store)?;
        metrics::counter!("pushd_messages_acked_total").increment(removed);
        Ok(Response::new(pb::AckMessagesResponse { removed }))
    }
}

fn checked_ids(ids: Vec<String>) -> Result<Vec<String>, Status> {
    check_message_ids(&ids).map_err(|error| Status::invalid_argument(error.to_string()))?;
    Ok(ids)
}
