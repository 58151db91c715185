//! Records and enums crossing the FFI boundary.

use push_sdk::{DeviceClient, Notification};

/// Which mobile push service wakes this app when it has no stream.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum BridgeKind {
    /// No bridge: messages arrive only while the app listens.
    None,
    Apns {
        bundle_id: String,
        sandbox: bool,
    },
    Fcm {
        project_id: String,
    },
}

/// What the app hands to the sender (a site backend) for one scope.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SubscriptionInfo {
    pub scope: String,
    pub endpoint: String,
    /// The subscription's public key, base64url (the `p256dh` of the W3C JSON).
    pub p256dh: String,
    /// The auth secret, base64url.
    pub auth: String,
    /// The W3C PushSubscription JSON with all of the above.
    pub json: String,
}

/// One decrypted message.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct DecryptedMessage {
    pub message_id: String,
    /// The scope the message was sent to; empty for a subscription made
    /// outside this SDK.
    pub scope: String,
    pub payload: Vec<u8>,
}

impl DecryptedMessage {
    /// `notification` tagged with the scope the app gave its subscription (looked up in the
    /// device's keystore): how the manager's calls and the listener's callback both hand
    /// messages out.
    pub(crate) fn with_scope(client: &DeviceClient, notification: Notification) -> Self {
        let scope = client
            .store()
            .scope_of(&notification.subscription_id)
            .ok()
            .flatten()
            .unwrap_or_default();
        Self {
            message_id: notification.message_id,
            scope,
            payload: notification.payload,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Presence {
    Active,
    Idle,
    Away,
}

impl From<Presence> for push_sdk::Presence {
    fn from(presence: Presence) -> Self {
        match presence {
            Presence::Active => Self::Active,
            Presence::Idle => Self::Idle,
            Presence::Away => Self::Away,
        }
    }
}

/// A device of this device's account.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct AccountDevice {
    pub device_id: String,
    pub name: String,
    /// Compare with what the device itself shows before approving it.
    pub fingerprint: String,
    pub approved: bool,
    pub this_device: bool,
}

impl From<push_sdk::AccountMember> for AccountDevice {
    fn from(member: push_sdk::AccountMember) -> Self {
        Self {
            device_id: member.device_id,
            name: member.name,
            fingerprint: member.fingerprint,
            approved: member.approved,
            this_device: member.this_device,
        }
    }
}

/// What `sync_account_keys` found.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct AccountSync {
    /// False while this device waits for approval.
    pub approved: bool,
    /// Scopes of account subscriptions this device has keys for now.
    pub added_scopes: Vec<String>,
}
