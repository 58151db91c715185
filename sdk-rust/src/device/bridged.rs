//! The mobile side of bridges: telling pushd where to wake this device
//! (APNs or FCM), and opening what arrives that way. A bridged notification
//! carries the fields `v`, `id`, `sub` and either `enc` (the ciphertext,
//! base64url) or `fetch` (too big for the push service: fetch it by id).
//! Opened messages are recorded as seen and acked, so the same message
//! arriving later on a stream is not shown twice.

use std::collections::HashMap;

use push_proto::v1::{
    AckMessagesRequest, ApnsBridge, FcmBridge, FetchMessagesRequest, PushMessage,
    RemoveBridgeRequest, SetBridgeRequest, Urgency, set_bridge_request,
};
use tracing::warn;

use super::DeviceClient;
use super::listen::unix_now_ms;
use crate::{Notification, SdkError, b64};

/// Where the server should wake this device while it holds no stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MobileBridge {
    Apns {
        device_token: String,
        bundle_id: String,
        sandbox: bool,
    },
    Fcm {
        registration_token: String,
        project_id: String,
    },
}

impl DeviceClient {
    pub async fn set_bridge(&self, bridge: &MobileBridge) -> Result<(), SdkError> {
        let bridge = match bridge.clone() {
            MobileBridge::Apns {
                device_token,
                bundle_id,
                sandbox,
            } => set_bridge_request::Bridge::Apns(ApnsBridge {
                device_token,
                topic: bundle_id,
                sandbox,
            }),
            MobileBridge::Fcm {
                registration_token,
                project_id,
            } => set_bridge_request::Bridge::Fcm(FcmBridge {
                registration_token,
                project_id,
            }),
        };
        let request = self.request(SetBridgeRequest {
            bridge: Some(bridge),
        })?;
        self.grpc.clone().set_bridge(request).await?;
        Ok(())
    }

    pub async fn remove_bridge(&self) -> Result<(), SdkError> {
        let request = self.request(RemoveBridgeRequest {})?;
        self.grpc.clone().remove_bridge(request).await?;
        Ok(())
    }

    /// Opens a bridged notification's fields (the APNs `push` dictionary or
    /// the FCM data map). None when it was already seen, or is gone from the
    /// server (acked from elsewhere, or expired).
    pub async fn open_bridged(
        &self,
        fields: &HashMap<String, String>,
    ) -> Result<Option<Notification>, SdkError> {
        let field = |name: &str| {
            fields
                .get(name)
                .cloned()
                .ok_or_else(|| SdkError::Protocol(format!("bridged notification without {name:?}")))
        };
        if field("v")? != "1" {
            return Err(SdkError::Protocol(
                "bridged notification of an unknown version".into(),
            ));
        }
        let message_id = field("id")?;
        let message = match fields.get("enc") {
            Some(encrypted) => PushMessage {
                message_id: message_id.clone(),
                subscription_id: field("sub")?,
                payload: b64::decode(encrypted).map_err(|_| {
                    SdkError::Protocol("bridged ciphertext is not base64url".into())
                })?,
                urgency: Urgency::Normal as i32,
                ..PushMessage::default()
            },
            None => match self.fetch(vec![message_id.clone()]).await?.pop() {
                Some(message) => message,
                None => return Ok(None),
            },
        };
        let opened = self.open_message(message).await?;
        if opened.is_some() {
            self.store.mark_seen(&message_id, unix_now_ms())?;
        }
        self.ack_quietly(vec![message_id]).await;
        Ok(opened)
    }

    /// Every stored message not seen yet, decrypted, recorded and acked: for
    /// an app woken without a stream.
    pub async fn fetch_pending(&self) -> Result<Vec<Notification>, SdkError> {
        let messages = self.fetch(Vec::new()).await?;
        let ids: Vec<String> = messages.iter().map(|m| m.message_id.clone()).collect();
        let mut opened = Vec::new();
        for message in messages {
            if let Some(notification) = self.open_message(message).await? {
                self.store
                    .mark_seen(&notification.message_id, unix_now_ms())?;
                opened.push(notification);
            }
        }
        if !ids.is_empty() {
            self.ack_quietly(ids).await;
        }
        Ok(opened)
    }

    async fn fetch(&self, message_ids: Vec<String>) -> Result<Vec<PushMessage>, SdkError> {
        let request = self.request(FetchMessagesRequest {
            message_ids,
            ..FetchMessagesRequest::default()
        })?;
        Ok(self
            .grpc
            .clone()
            .fetch_messages(request)
            .await?
            .into_inner()
            .messages)
    }

    /// An ack that fails only means the message comes again, and is then
    /// recognised as seen.
    async fn ack_quietly(&self, message_ids: Vec<String>) {
        let result = match self.request(AckMessagesRequest { message_ids }) {
            Ok(request) => self.grpc.clone().ack_messages(request).await.map(|_| ()),
            Err(error) => return warn!(%error, "could not build an ack"),
        };
        if let Err(status) = result {
            warn!(%status, "ack failed; the message will come again and be skipped as seen");
        }
    }
}
