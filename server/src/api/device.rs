//! `push.v1.Device`: registration, subscriptions and the live stream.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use push_proto::v1::{self as pb, device_server};
use tonic::{Request, Response, Status, Streaming};

use super::endpoint::endpoint_url;
use super::{PushApi, authorization, status};
use crate::auth::AuthenticatedDevice;
use crate::delivery::{OUTBOUND_CAPACITY, OutboundStream, Session};
use crate::domain::{SubscriptionRecord, is_token, new_subscription_id, now_millis};

impl PushApi {
    pub(super) async fn authenticate<T>(
        &self,
        request: &Request<T>,
    ) -> Result<AuthenticatedDevice, Status> {
        self.inner
            .authenticator
            .authenticate(authorization(request))
            .await
            .map_err(status::from_device_auth)
    }

    fn to_proto(&self, record: SubscriptionRecord) -> pb::Subscription {
        pb::Subscription {
            endpoint: endpoint_url(&self.inner.public_url, &record.id),
            id: record.id,
            app_server_key: record.app_server_key.unwrap_or_default(),
            created_at_unix_ms: record.created_at,
        }
    }
}

#[tonic::async_trait]
impl device_server::Device for PushApi {
    async fn register(
        &self,
        _request: Request<pb::RegisterRequest>,
    ) -> Result<Response<pb::RegisterResponse>, Status> {
        let issued = self
            .inner
            .registrar
            .register()
            .await
            .map_err(status::from_store)?;
        tracing::info!(device_id = %issued.device_id, "device registered");
        Ok(Response::new(pb::RegisterResponse {
            device_id: issued.device_id,
            credential: issued.credential,
        }))
    }

    async fn subscribe(
        &self,
        request: Request<pb::SubscribeRequest>,
    ) -> Result<Response<pb::SubscribeResponse>, Status> {
        let device = self.authenticate(&request).await?;
        let wanted = request.into_inner();
        let app_server_key = if wanted.app_server_key.is_empty() {
            None
        } else {
            crate::auth::check_p256_key(&wanted.app_server_key).map_err(|problem| {
                Status::invalid_argument(format!("app_server_key: {problem}"))
            })?;
            Some(wanted.app_server_key)
        };
        check_b64_key("p256dh", &wanted.p256dh, 65)?;
        check_b64_key("auth", &wanted.auth, 16)?;
        let record = SubscriptionRecord {
            id: new_subscription_id(),
            device_id: device.device_id,
            app_server_key,
            created_at: now_millis(),
        };
        self.inner
            .store
            .create_subscription(&record)
            .await
            .map_err(status::from_store)?;
        let subscription = self.to_proto(record);
        let subscription_json = serde_json::json!({
            "endpoint": subscription.endpoint,
            "keys": { "p256dh": wanted.p256dh, "auth": wanted.auth },
        })
        .to_string();
        Ok(Response::new(pb::SubscribeResponse {
            subscription: Some(subscription),
            subscription_json,
        }))
    }

    async fn unsubscribe(
        &self,
        request: Request<pb::UnsubscribeRequest>,
    ) -> Result<Response<pb::UnsubscribeResponse>, Status> {
        let device = self.authenticate(&request).await?;
        let id = request.into_inner().subscription_id;
        if !is_token(&id) {
            return Err(Status::invalid_argument(
                "subscription_id is not a subscription id (a 22-character token)",
            ));
        }
        let removed = self
            .inner
            .store
            .delete_subscription(&device.device_id, &id)
            .await
            .map_err(status::from_store)?;
        self.inner.subscriptions.invalidate(&id);
        if !removed {
            return Err(Status::not_found("this device has no such subscription"));
        }
        Ok(Response::new(pb::UnsubscribeResponse {}))
    }

    async fn list_subscriptions(
        &self,
        request: Request<pb::ListSubscriptionsRequest>,
    ) -> Result<Response<pb::ListSubscriptionsResponse>, Status> {
        let device = self.authenticate(&request).await?;
        let records = self
            .inner
            .store
            .subscriptions_of(&device.device_id)
            .await
            .map_err(status::from_store)?;
        let subscriptions = records
            .into_iter()
            .map(|record| self.to_proto(record))
            .collect();
        Ok(Response::new(pb::ListSubscriptionsResponse {
            subscriptions,
        }))
    }

    async fn set_bridge(
        &self,
        request: Request<pb::SetBridgeRequest>,
    ) -> Result<Response<pb::SetBridgeResponse>, Status> {
        self.set_bridge_for(request).await
    }

    async fn remove_bridge(
        &self,
        request: Request<pb::RemoveBridgeRequest>,
    ) -> Result<Response<pb::RemoveBridgeResponse>, Status> {
        self.remove_bridge_for(request).await
    }

    async fn fetch_messages(
        &self,
        request: Request<pb::FetchMessagesRequest>,
    ) -> Result<Response<pb::FetchMessagesResponse>, Status> {
        self.fetch_for(request).await
    }

    async fn ack_messages(
        &self,
        request: Request<pb::AckMessagesRequest>,
    ) -> Result<Response<pb::AckMessagesResponse>, Status> {
        self.ack_for(request).await
    }

    type ListenStream = OutboundStream;

    async fn listen(
        &self,
        request: Request<Streaming<pb::ClientFrame>>,
    ) -> Result<Response<Self::ListenStream>, Status> {
        let device = self.authenticate(&request).await?;
        if self.inner.hub.is_draining() {
            return Err(Status::unavailable("server is shutting down; reconnect"));
        }
        let (outbound, stream) = OutboundStream::channel(OUTBOUND_CAPACITY);
        let session = Session {
            hub: self.inner.hub.clone(),
            store: self.inner.store.clone(),
            cluster: self.inner.cluster.clone(),
            handshake_timeout: self.inner.limits.handshake_timeout,
            max_in_flight: usize::try_from(self.inner.limits.retention.max_messages)
                .unwrap_or(usize::MAX),
        };
        tokio::spawn(session.run(device.device_id, request.into_inner(), outbound));
        Ok(Response::new(stream))
    }
}

fn check_b64_key(field: &str, value: &str, expected_len: usize) -> Result<(), Status> {
    if value.is_empty() {
        return Err(Status::invalid_argument(format!(
            "{field} is required: the base64url key the device generated for this subscription"
        )));
    }
    match URL_SAFE_NO_PAD.decode(value.trim_end_matches('=')) {
        Ok(bytes) if bytes.len() == expected_len => Ok(()),
        Ok(bytes) => Err(Status::invalid_argument(format!(
            "{field} must decode to {expected_len} bytes, got {}",
            bytes.len()
        ))),
        Err(_) => Err(Status::invalid_argument(format!(
            "{field} is not base64url"
        ))),
    }
}
