//! What the WebSocket push protocol front (`crate::websocket`) asks of the
//! device API: the same registration, authentication, subscription rules
//! and delivery session as gRPC devices, without gRPC requests. Errors stay
//! `Status`, the API's one error model; the front maps them to its codes.

use tonic::Status;

use super::{PushApi, status};
use crate::auth::Presented;
use crate::delivery::{Inbound, OUTBOUND_CAPACITY, OutboundStream, Session};
use crate::domain::{SubscriptionRecord, now_millis};

impl PushApi {
    /// The device a credential (a returning client's `uaid`) names.
    pub async fn device_of(&self, credential: &str) -> Result<String, Status> {
        let authorization = format!("Bearer {credential}");
        let presented = Presented {
            authorization: Some(&authorization),
            device_id: None,
        };
        self.inner
            .authenticator
            .authenticate(&presented)
            .await
            .map(|device| device.device_id)
            .map_err(status::from_device_auth)
    }

    /// Creates the device's subscription `id` for a sender key (the same
    /// checks as `Subscribe`), or finds it if it is already the device's;
    /// returns its endpoint URL.
    pub async fn subscribe_as(
        &self,
        device_id: &str,
        id: &str,
        app_server_key: Option<Vec<u8>>,
    ) -> Result<String, Status> {
        if let Some(existing) = self
            .inner
            .store
            .subscription(id)
            .await
            .map_err(status::from_store)?
        {
            return match existing.device_id == device_id {
                true => Ok(self.endpoint_of(id)),
                false => Err(Status::already_exists("this channel id is taken")),
            };
        }
        let record = SubscriptionRecord {
            id: id.to_owned(),
            device_id: device_id.to_owned(),
            app_server_key,
            created_at: now_millis(),
            account_id: None,
        };
        match self.add_subscription(&record).await {
            Ok(()) => Ok(self.endpoint_of(id)),
            Err(status) if status.code() == tonic::Code::AlreadyExists => {
                Err(Status::already_exists("this channel id is taken"))
            }
            Err(status) => Err(status),
        }
    }

    /// Removes the device's subscription `id`; false if it had none.
    pub async fn unsubscribe_as(&self, device_id: &str, id: &str) -> Result<bool, Status> {
        let removed = self
            .inner
            .store
            .delete_subscription(device_id, id)
            .await
            .map_err(status::from_store)?;
        self.inner.subscriptions.invalidate(id);
        Ok(removed)
    }

    /// The device's delivery session, fed by `inbound` (which must start
    /// with `Hello`), as gRPC `Listen` runs it.
    pub fn open_session(&self, device_id: String, inbound: Inbound) -> OutboundStream {
        let (outbound, stream) = OutboundStream::channel(OUTBOUND_CAPACITY);
        tokio::spawn(self.session().run(device_id, inbound, outbound));
        stream
    }

    pub(super) fn session(&self) -> Session {
        Session {
            hub: self.inner.hub.clone(),
            store: self.inner.store.clone(),
            cluster: self.inner.cluster.clone(),
            handshake_timeout: self.inner.limits.handshake_timeout,
            max_in_flight: usize::try_from(self.inner.limits.retention.max_messages)
                .unwrap_or(usize::MAX),
            unacked: self.inner.limits.unacked.clone(),
        }
    }

    pub fn draining(&self) -> bool {
        self.inner.hub.is_draining()
    }
}
