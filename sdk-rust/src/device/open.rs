//! Opening one message, however it arrived (stream, fetch, or a mobile
//! bridge): skip it if seen, find its subscription's keys, decrypt.

use push_proto::v1::{PushMessage, Urgency};
use tracing::{debug, warn};

use super::DeviceClient;
use crate::store::StoreError;
use crate::{Notification, SdkError, crypto};

impl DeviceClient {
    /// The decrypted notification, or None when it was seen before or cannot be opened
    /// (no keys for its subscription, or not decryptable); the caller acks it either way.
    /// Recording it as seen is the caller's, once the app has it.
    ///
    /// A message for an account subscription can arrive before its sealed keys were fetched:
    /// an account device without the keys fetches them first.
    pub(super) async fn open_message(
        &self,
        message: PushMessage,
    ) -> Result<Option<Notification>, SdkError> {
        let missing = self.store.subscription(&message.subscription_id)?.is_none();
        if missing
            && self.account_id()?.is_some()
            && let Err(error) = self.sync_account_keys().await
        {
            warn!(%error, "fetching account keys failed");
        }
        self.open_with_keys(message)
    }

    fn open_with_keys(&self, message: PushMessage) -> Result<Option<Notification>, SdkError> {
        let message_id = message.message_id;
        let subscription_id = message.subscription_id;
        if self.store.is_seen(&message_id)? {
            debug!(%message_id, "duplicate message; acking again");
            return Ok(None);
        }
        let keys = match self.store.subscription(&subscription_id) {
            Ok(Some(subscription)) => subscription.keys,
            Ok(None) => {
                warn!(%message_id, %subscription_id, "message for a subscription this device has no keys for; dropping");
                return Ok(None);
            }
            Err(err @ StoreError::CorruptKeys { .. }) => {
                warn!(%message_id, error = %err, "cannot load subscription keys; dropping message");
                return Ok(None);
            }
            Err(err) => return Err(err.into()),
        };
        let payload = match crypto::decrypt(&keys, &message.payload) {
            Ok(payload) => payload,
            Err(err) => {
                // Never log the payload: it is someone's private message, even if mangled.
                warn!(%message_id, %subscription_id, error = %err, "cannot decrypt message; dropping");
                return Ok(None);
            }
        };
        Ok(Some(Notification {
            message_id,
            subscription_id,
            payload,
            urgency: Urgency::try_from(message.urgency).unwrap_or(Urgency::Normal),
            topic: Some(message.topic).filter(|topic| !topic.is_empty()),
            received_at_unix_ms: message.received_at_unix_ms,
        }))
    }
}
