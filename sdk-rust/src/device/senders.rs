//! The device's say over its senders: which application servers it approved (by subscribing
//! with their key), revoking one, and blocking it so no page can approve it again quietly.
use push_proto::v1::{self as pb};

use super::DeviceClient;
use crate::SdkError;

/// One approved sender and the subscriptions bound to its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovedSender {
    pub app_server_key: Vec<u8>,
    pub subscription_ids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Senders {
    pub approved: Vec<ApprovedSender>,
    /// Keys the server refuses for this device (and its account).
    pub blocked: Vec<Vec<u8>>,
}

impl DeviceClient {
    pub async fn senders(&self) -> Result<Senders, SdkError> {
        let request = self.request(pb::ListSendersRequest {})?;
        let reply = self.grpc.clone().list_senders(request).await?.into_inner();
        Ok(Senders {
            approved: reply
                .approved
                .into_iter()
                .map(|sender| ApprovedSender {
                    app_server_key: sender.app_server_key,
                    subscription_ids: sender.subscription_ids,
                })
                .collect(),
            blocked: reply.blocked,
        })
    }

    /// Removes every subscription bound to `app_server_key` (the sender then gets NOT_FOUND)
    /// and their keys here; with `block`, the server refuses the key from now on. Returns how
    /// many subscriptions went.
    pub async fn revoke_sender(&self, app_server_key: &[u8], block: bool) -> Result<u32, SdkError> {
        let request = pb::RevokeSenderRequest {
            app_server_key: app_server_key.to_vec(),
            block,
        };
        let reply = self
            .grpc
            .clone()
            .revoke_sender(self.request(request)?)
            .await?
            .into_inner();
        for subscription in self.store.subscriptions()? {
            if subscription.app_server_key.as_deref() == Some(app_server_key) {
                self.store.remove_subscription(&subscription.id)?;
            }
        }
        Ok(reply.removed_subscriptions)
    }

    pub async fn unblock_sender(&self, app_server_key: &[u8]) -> Result<(), SdkError> {
        let request = pb::UnblockSenderRequest {
            app_server_key: app_server_key.to_vec(),
        };
        self.grpc
            .clone()
            .unblock_sender(self.request(request)?)
            .await?;
        Ok(())
    }
}
