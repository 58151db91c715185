//! `push.v1.Device` over the device, account and sender-block services.

use std::pin::Pin;
use std::task::{Context, Poll};

use push_proto::v1::{self as pb, device_server};
use tonic::{Request, Response, Status, Streaming};

use super::{DeviceApi, authorization, convert, status};
use crate::delivery::{OutboundStream, push_message};
use crate::device::NewSubscription;
use crate::error::ApiError;

type Reply<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl device_server::Device for DeviceApi {
    async fn register(&self, request: Request<pb::RegisterRequest>) -> Reply<pb::RegisterResponse> {
        let peer = request.remote_addr().map(|peer| peer.ip());
        let issued = self.devices.register(peer, authorization(&request)).await?;
        Ok(Response::new(pb::RegisterResponse {
            device_id: issued.device_id,
            credential: issued.credential,
        }))
    }

    async fn subscribe(
        &self,
        request: Request<pb::SubscribeRequest>,
    ) -> Reply<pb::SubscribeResponse> {
        let device_id = self.device_id(&request).await?;
        let wanted = request.into_inner();
        let subscribed = self
            .subscriptions
            .subscribe(NewSubscription {
                device_id,
                for_account: wanted.for_account,
                p256dh: wanted.p256dh,
                auth: wanted.auth,
                app_server_key: Some(wanted.app_server_key).filter(|key| !key.is_empty()),
            })
            .await?;
        Ok(Response::new(pb::SubscribeResponse {
            subscription: Some(convert::subscription(
                &self.subscriptions,
                subscribed.record,
            )),
            subscription_json: subscribed.subscription_json,
        }))
    }

    async fn unsubscribe(
        &self,
        request: Request<pb::UnsubscribeRequest>,
    ) -> Reply<pb::UnsubscribeResponse> {
        let device_id = self.device_id(&request).await?;
        let id = request.into_inner().subscription_id;
        self.subscriptions.unsubscribe(&device_id, &id).await?;
        Ok(Response::new(pb::UnsubscribeResponse {}))
    }

    async fn list_subscriptions(
        &self,
        request: Request<pb::ListSubscriptionsRequest>,
    ) -> Reply<pb::ListSubscriptionsResponse> {
        let device_id = self.device_id(&request).await?;
        let subscriptions = self
            .subscriptions
            .list(&device_id)
            .await?
            .into_iter()
            .map(|record| convert::subscription(&self.subscriptions, record))
            .collect();
        Ok(Response::new(pb::ListSubscriptionsResponse {
            subscriptions,
        }))
    }

    async fn set_bridge(
        &self,
        request: Request<pb::SetBridgeRequest>,
    ) -> Reply<pb::SetBridgeResponse> {
        let device_id = self.device_id(&request).await?;
        let bridge = convert::bridge(request.into_inner().bridge).ok_or_else(|| {
            ApiError::Invalid("set one of apns or fcm (RemoveBridge removes it)".into())
        })?;
        self.devices.set_bridge(&device_id, bridge).await?;
        Ok(Response::new(pb::SetBridgeResponse {}))
    }

    async fn remove_bridge(
        &self,
        request: Request<pb::RemoveBridgeRequest>,
    ) -> Reply<pb::RemoveBridgeResponse> {
        let device_id = self.device_id(&request).await?;
        self.devices.remove_bridge(&device_id).await?;
        Ok(Response::new(pb::RemoveBridgeResponse {}))
    }

    async fn fetch_messages(
        &self,
        request: Request<pb::FetchMessagesRequest>,
    ) -> Reply<pb::FetchMessagesResponse> {
        let device_id = self.device_id(&request).await?;
        let wanted = request.into_inner();
        let limit = usize::try_from(wanted.limit).unwrap_or(usize::MAX);
        let fetched = self
            .devices
            .fetch(device_id, wanted.message_ids, wanted.after, limit)
            .await?;
        Ok(Response::new(pb::FetchMessagesResponse {
            messages: fetched.messages.iter().map(push_message).collect(),
            more: fetched.more,
        }))
    }

    async fn ack_messages(
        &self,
        request: Request<pb::AckMessagesRequest>,
    ) -> Reply<pb::AckMessagesResponse> {
        let device_id = self.device_id(&request).await?;
        let ids = request.into_inner().message_ids;
        let removed = self.devices.ack(&device_id, &ids).await?;
        Ok(Response::new(pb::AckMessagesResponse { removed }))
    }

    async fn create_account(
        &self,
        request: Request<pb::CreateAccountRequest>,
    ) -> Reply<pb::CreateAccountResponse> {
        let device_id = self.device_id(&request).await?;
        let wanted = request.into_inner();
        let key = convert::device_key(wanted.device_key);
        let account_id = self
            .accounts
            .create(device_id, key, wanted.device_name)
            .await?;
        Ok(Response::new(pb::CreateAccountResponse { account_id }))
    }

    async fn join_account(
        &self,
        request: Request<pb::JoinAccountRequest>,
    ) -> Reply<pb::JoinAccountResponse> {
        let device_id = self.device_id(&request).await?;
        let wanted = request.into_inner();
        let key = convert::device_key(wanted.device_key);
        self.accounts
            .join(device_id, wanted.account_id, key, wanted.device_name)
            .await?;
        Ok(Response::new(pb::JoinAccountResponse {}))
    }

    async fn list_account_devices(
        &self,
        request: Request<pb::ListAccountDevicesRequest>,
    ) -> Reply<pb::ListAccountDevicesResponse> {
        let device_id = self.device_id(&request).await?;
        let (caller, members) = self.accounts.list(&device_id).await?;
        let devices = members
            .into_iter()
            .map(|member| convert::account_device(member, &caller.device_id))
            .collect();
        Ok(Response::new(pb::ListAccountDevicesResponse {
            account_id: caller.account_id,
            devices,
        }))
    }

    async fn approve_device(
        &self,
        request: Request<pb::ApproveDeviceRequest>,
    ) -> Reply<pb::ApproveDeviceResponse> {
        let device_id = self.device_id(&request).await?;
        let target = request.into_inner().device_id;
        let (caller, member) = self.accounts.approve(&device_id, &target).await?;
        Ok(Response::new(pb::ApproveDeviceResponse {
            device: Some(convert::account_device(member, &caller.device_id)),
        }))
    }

    async fn remove_device(
        &self,
        request: Request<pb::RemoveDeviceRequest>,
    ) -> Reply<pb::RemoveDeviceResponse> {
        let device_id = self.device_id(&request).await?;
        let target = request.into_inner().device_id;
        self.accounts.remove(&device_id, &target).await?;
        Ok(Response::new(pb::RemoveDeviceResponse {}))
    }

    async fn put_sealed_keys(
        &self,
        request: Request<pb::PutSealedKeysRequest>,
    ) -> Reply<pb::PutSealedKeysResponse> {
        let device_id = self.device_id(&request).await?;
        let bundles = request.into_inner().keys;
        let bundles = bundles.into_iter().map(convert::sealed_bundle).collect();
        self.accounts.put_sealed_keys(&device_id, bundles).await?;
        Ok(Response::new(pb::PutSealedKeysResponse {}))
    }

    async fn fetch_sealed_keys(
        &self,
        request: Request<pb::FetchSealedKeysRequest>,
    ) -> Reply<pb::FetchSealedKeysResponse> {
        let device_id = self.device_id(&request).await?;
        let (approved, keys) = self.accounts.fetch_sealed_keys(&device_id).await?;
        Ok(Response::new(pb::FetchSealedKeysResponse {
            approved,
            keys: keys.into_iter().map(convert::sealed_keys).collect(),
        }))
    }

    async fn list_senders(
        &self,
        request: Request<pb::ListSendersRequest>,
    ) -> Reply<pb::ListSendersResponse> {
        let device_id = self.device_id(&request).await?;
        let senders = self.senders.list(&device_id).await?;
        let approved = senders.approved.into_iter();
        Ok(Response::new(pb::ListSendersResponse {
            approved: approved
                .map(|(app_server_key, subscription_ids)| pb::ApprovedSender {
                    app_server_key,
                    subscription_ids,
                })
                .collect(),
            blocked: senders.blocked,
        }))
    }

    async fn revoke_sender(
        &self,
        request: Request<pb::RevokeSenderRequest>,
    ) -> Reply<pb::RevokeSenderResponse> {
        let device_id = self.device_id(&request).await?;
        let wanted = request.into_inner();
        let removed_subscriptions = self
            .senders
            .revoke(&device_id, &wanted.app_server_key, wanted.block)
            .await?;
        Ok(Response::new(pb::RevokeSenderResponse {
            removed_subscriptions,
        }))
    }

    async fn unblock_sender(
        &self,
        request: Request<pb::UnblockSenderRequest>,
    ) -> Reply<pb::UnblockSenderResponse> {
        let device_id = self.device_id(&request).await?;
        let key = request.into_inner().app_server_key;
        self.senders.unblock(&device_id, &key).await?;
        Ok(Response::new(pb::UnblockSenderResponse {}))
    }

    type ListenStream = ListenStream;

    async fn listen(
        &self,
        request: Request<Streaming<pb::ClientFrame>>,
    ) -> Reply<Self::ListenStream> {
        let device_id = self.device_id(&request).await?;
        // A gRPC client is refused outright: it retries on UNAVAILABLE.
        if self.devices.draining() {
            return Err(ApiError::Draining.into());
        }
        let inbound = Box::pin(request.into_inner());
        Ok(Response::new(ListenStream(
            self.devices.open_session(device_id, inbound),
        )))
    }
}

/// `Listen`'s response: the session's frames, and its error as a status.
pub(crate) struct ListenStream(OutboundStream);

impl tokio_stream::Stream for ListenStream {
    type Item = Result<pb::ServerFrame, Status>;

    fn poll_next(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.0)
            .poll_next(context)
            .map(|item| item.map(|frame| frame.map_err(|error| status::status_of(&error))))
    }
}
