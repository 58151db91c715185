//! `push.v1.Device`: registration and the live stream here; every other
//! call is routed to the module that owns it.

use std::net::IpAddr;

use push_proto::v1::{self as pb, device_server};
use tonic::{Request, Response, Status, Streaming};

use super::{PushApi, authorization, status};
use crate::auth::{AuthenticatedDevice, DeviceAuthError, IssuedCredential, Presented};
use crate::delivery::OutboundStream;
use crate::telemetry::LogGate;

impl PushApi {
    /// A new device with a credential of ours (which a WebSocket client
    /// uses as its `uaid`).
    pub async fn register_device(&self, peer: Option<IpAddr>) -> Result<IssuedCredential, Status> {
        self.admit_registration(peer)?;
        let issued = self
            .inner
            .registrar
            .register()
            .await
            .map_err(status::from_store)?;
        Ok(registered(issued))
    }

    /// Registration needs no credential, so its cost is bounded per address.
    fn admit_registration(&self, peer: Option<IpAddr>) -> Result<(), Status> {
        match peer {
            Some(peer) => self
                .inner
                .registrations
                .take(peer)
                .map_err(status::too_many_registrations),
            None => Ok(()),
        }
    }

    pub(super) async fn authenticate<T>(
        &self,
        request: &Request<T>,
    ) -> Result<AuthenticatedDevice, Status> {
        let presented = Presented {
            authorization: authorization(request),
            device_id: request
                .metadata()
                .get("push-device")
                .and_then(|value| value.to_str().ok()),
        };
        self.inner
            .authenticator
            .authenticate(&presented)
            .await
            .map_err(|error| {
                // The caller's doing only: not our store's or the provider's failures.
                if !matches!(
                    error,
                    DeviceAuthError::Store(_) | DeviceAuthError::ProviderUnavailable
                ) {
                    failed_authentication(request.remote_addr(), &error);
                }
                status::from_device_auth(error)
            })
    }
}

/// Per call, so at debug: registrations are counted by the metric.
fn registered(issued: IssuedCredential) -> IssuedCredential {
    metrics::counter!("pushd_devices_registered_total").increment(1);
    tracing::debug!(device_id = %issued.device_id, "device registered");
    issued
}

/// Counted, and logged at most every 10 s: someone guessing secrets shows
/// up without filling the log.
fn failed_authentication(peer: Option<std::net::SocketAddr>, error: &DeviceAuthError) {
    static GATE: LogGate = LogGate::new(std::time::Duration::from_secs(10));
    metrics::counter!("pushd_auth_failures_total", "kind" => "device").increment(1);
    if GATE.open() {
        let peer = peer.map_or("unknown".to_string(), |peer| peer.ip().to_string());
        tracing::warn!(%peer, %error, "device authentication failed (logged at most every 10 s; pushd_auth_failures_total counts all)");
    }
}

#[tonic::async_trait]
impl device_server::Device for PushApi {
    async fn register(
        &self,
        request: Request<pb::RegisterRequest>,
    ) -> Result<Response<pb::RegisterResponse>, Status> {
        let peer = request.remote_addr().map(|peer| peer.ip());
        let issued = match &self.inner.oidc {
            // The identity provider vouches for the user; the device gets no
            // credential of ours and keeps presenting the user's token.
            Some(oidc) => {
                self.admit_registration(peer)?;
                let device_id = oidc
                    .register(authorization(&request))
                    .await
                    .map_err(status::from_device_auth)?;
                registered(IssuedCredential {
                    device_id,
                    credential: String::new(),
                })
            }
            None => self.register_device(peer).await?,
        };
        Ok(Response::new(pb::RegisterResponse {
            device_id: issued.device_id,
            credential: issued.credential,
        }))
    }

    async fn subscribe(
        &self,
        request: Request<pb::SubscribeRequest>,
    ) -> Result<Response<pb::SubscribeResponse>, Status> {
        self.subscribe_for(request).await
    }

    async fn unsubscribe(
        &self,
        request: Request<pb::UnsubscribeRequest>,
    ) -> Result<Response<pb::UnsubscribeResponse>, Status> {
        self.unsubscribe_for(request).await
    }

    async fn list_subscriptions(
        &self,
        request: Request<pb::ListSubscriptionsRequest>,
    ) -> Result<Response<pb::ListSubscriptionsResponse>, Status> {
        self.list_subscriptions_for(request).await
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

    async fn create_account(
        &self,
        request: Request<pb::CreateAccountRequest>,
    ) -> Result<Response<pb::CreateAccountResponse>, Status> {
        self.create_account_for(request).await
    }

    async fn join_account(
        &self,
        request: Request<pb::JoinAccountRequest>,
    ) -> Result<Response<pb::JoinAccountResponse>, Status> {
        self.join_account_for(request).await
    }

    async fn list_account_devices(
        &self,
        request: Request<pb::ListAccountDevicesRequest>,
    ) -> Result<Response<pb::ListAccountDevicesResponse>, Status> {
        self.list_account_devices_for(request).await
    }

    async fn approve_device(
        &self,
        request: Request<pb::ApproveDeviceRequest>,
    ) -> Result<Response<pb::ApproveDeviceResponse>, Status> {
        self.approve_device_for(request).await
    }

    async fn remove_device(
        &self,
        request: Request<pb::RemoveDeviceRequest>,
    ) -> Result<Response<pb::RemoveDeviceResponse>, Status> {
        self.remove_device_for(request).await
    }

    async fn put_sealed_keys(
        &self,
        request: Request<pb::PutSealedKeysRequest>,
    ) -> Result<Response<pb::PutSealedKeysResponse>, Status> {
        self.put_sealed_keys_for(request).await
    }

    async fn fetch_sealed_keys(
        &self,
        request: Request<pb::FetchSealedKeysRequest>,
    ) -> Result<Response<pb::FetchSealedKeysResponse>, Status> {
        self.fetch_sealed_keys_for(request).await
    }

    async fn list_senders(
        &self,
        request: Request<pb::ListSendersRequest>,
    ) -> Result<Response<pb::ListSendersResponse>, Status> {
        self.list_senders_for(request).await
    }

    async fn revoke_sender(
        &self,
        request: Request<pb::RevokeSenderRequest>,
    ) -> Result<Response<pb::RevokeSenderResponse>, Status> {
        self.revoke_sender_for(request).await
    }

    async fn unblock_sender(
        &self,
        request: Request<pb::UnblockSenderRequest>,
    ) -> Result<Response<pb::UnblockSenderResponse>, Status> {
        self.unblock_sender_for(request).await
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
        let inbound = Box::pin(request.into_inner());
        Ok(Response::new(self.open_session(device.device_id, inbound)))
    }
}
