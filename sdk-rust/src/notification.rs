//! [`Notification`]: one decrypted message, as listening, a bridge wake-up or the local inbox
//! hands it out. A module of its own because both `device` (which opens messages) and `store`
//! (which keeps them) need it, and the store must not depend on the device client.
use push_proto::v1::Urgency;

/// One decrypted message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub message_id: String,
    pub subscription_id: String,
    pub payload: Vec<u8>,
    pub urgency: Urgency,
    pub topic: Option<String>,
    /// When the server accepted the message from the sender.
    pub received_at_unix_ms: i64,
}
