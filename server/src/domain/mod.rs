//! Domain types shared by every layer: what a queued message, a device and a
//! subscription are, and the validation of what senders hand us. Nothing here
//! knows about gRPC or a storage engine.

mod account;
mod aes128gcm;
mod blocks;
mod bridge;
mod ids;
mod receipt;
mod topic;
mod urgency;

pub(crate) use account::{AccountDevice, MAX_SEALED_BYTES, SealedKeys, check_device_name};
pub use aes128gcm::check_aes128gcm;
pub(crate) use aes128gcm::{HeaderError, MAX_PAYLOAD_BYTES};
pub(crate) use blocks::BlockOwner;
pub use bridge::Bridge;
pub(crate) use bridge::WakeUp;
pub(crate) use ids::{MAX_MESSAGE_IDS, is_message_id, is_token, new_account_id, new_secret};
pub use ids::{check_message_ids, new_device_id, new_message_id, new_subscription_id};
pub(crate) use receipt::{
    Receipt, ReceiptCopy, ReceiptEvent, ReceiptState, copies_from_text, copies_to_text,
    receipt_key_hash,
};
pub(crate) use topic::{TopicError, check_topic};
pub use urgency::{Presence, Urgency};

/// Milliseconds since the Unix epoch; every stored timestamp uses it.
pub type UnixMillis = i64;

/// Now, as stored timestamps count it.
pub fn now_millis() -> UnixMillis {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}

/// Now in microseconds, as CQL write timestamps and route claims count it.
pub fn now_micros() -> i64 {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since_epoch.as_micros()).unwrap_or(i64::MAX)
}

/// A registered device. The credential's secret is kept only as a SHA-256 hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRecord {
    pub id: String,
    pub secret_hash: Vec<u8>,
    pub created_at: UnixMillis,
}

/// A push subscription. Its id is the opaque token at the end of the endpoint URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionRecord {
    pub id: String,
    pub device_id: String,
    /// Raw uncompressed P-256 VAPID key; when set only that sender may send.
    pub app_server_key: Option<Vec<u8>>,
    pub created_at: UnixMillis,
    /// Set for an account subscription: every approved device of the account
    /// gets its messages (`device_id` is then the device that created it).
    pub account_id: Option<String>,
}

/// A message accepted for a device and kept until acked or expired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedMessage {
    /// A UUIDv7 string: sorting ids sorts messages by arrival.
    pub id: String,
    pub device_id: String,
    pub subscription_id: String,
    pub topic: Option<String>,
    pub urgency: Urgency,
    /// aes128gcm ciphertext, never opened here.
    pub payload: Vec<u8>,
    pub received_at: UnixMillis,
    pub expires_at: UnixMillis,
}
