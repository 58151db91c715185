//! What a bridged notification carries. The ciphertext travels as it came
//! from the sender: Apple and Google see only opaque bytes, and the app
//! decrypts with the SDK. Where it does not fit the service's size limit, a
//! wake-up carries only the message id and the app fetches it over gRPC.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::domain::{QueuedMessage, UnixMillis, Urgency};

/// APNs allows 4096 bytes of JSON per notification; FCM 4096 bytes of data.
pub(crate) const PROVIDER_PAYLOAD_LIMIT: usize = 4096;

/// A message as a bridge sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub(crate) message_id: String,
    pub(crate) subscription_id: String,
    pub(crate) urgency: Urgency,
    pub(crate) topic: Option<String>,
    pub(crate) expires_at: UnixMillis,
    pub(crate) body: NoticeBody,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NoticeBody {
    /// The aes128gcm ciphertext, base64url without padding.
    Encrypted(String),
    /// Too big for the service: the app fetches the message by id.
    WakeUp,
}

impl Notice {
    /// The notice carrying the whole ciphertext; a provider whose encoding of
    /// it is over its limit sends [`NoticeBody::WakeUp`] instead.
    pub fn from_message(message: &QueuedMessage) -> Self {
        Self {
            message_id: message.id.clone(),
            subscription_id: message.subscription_id.clone(),
            urgency: message.urgency,
            topic: message.topic.clone(),
            expires_at: message.expires_at,
            body: NoticeBody::Encrypted(URL_SAFE_NO_PAD.encode(&message.payload)),
        }
    }

    pub(crate) fn wake_up(&self) -> Self {
        Self {
            body: NoticeBody::WakeUp,
            ..self.clone()
        }
    }

    /// The fields the app's SDK reads, the same for every service: `v`
    /// (format version), `id`, `sub`, and `enc` (ciphertext) or `fetch`.
    pub(crate) fn fields(&self) -> Vec<(&'static str, String)> {
        let mut fields = vec![
            ("v", "1".to_string()),
            ("id", self.message_id.clone()),
            ("sub", self.subscription_id.clone()),
        ];
        match &self.body {
            NoticeBody::Encrypted(encrypted) => fields.push(("enc", encrypted.clone())),
            NoticeBody::WakeUp => fields.push(("fetch", "1".to_string())),
        }
        fields
    }

    /// Whole seconds left before the message expires (at least 0).
    pub(crate) fn ttl_seconds(&self, now: UnixMillis) -> u64 {
        u64::try_from((self.expires_at - now).max(0) / 1000).unwrap_or(0)
    }

    /// Low and very-low urgency may be delivered when convenient.
    pub(crate) fn is_urgent(&self) -> bool {
        self.urgency >= Urgency::Normal
    }
}
