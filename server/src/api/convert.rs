//! Domain records in their `push.v1` form.

use push_proto::v1 as pb;

use crate::account::{DeviceKey, SealedBundle};
use crate::device::Subscriptions;
use crate::domain::{
    AccountDevice, Bridge, ReceiptEvent, ReceiptState, SealedKeys, SubscriptionRecord,
};

pub(crate) fn subscription(
    subscriptions: &Subscriptions,
    record: SubscriptionRecord,
) -> pb::Subscription {
    pb::Subscription {
        endpoint: subscriptions.endpoint_of(&record.id),
        for_account: record.account_id.is_some(),
        id: record.id,
        app_server_key: record.app_server_key.unwrap_or_default(),
        created_at_unix_ms: record.created_at,
    }
}

/// The bridge a `SetBridge` names, if it names one. APNs device tokens are
/// hex, compared in lower case.
pub(crate) fn bridge(bridge: Option<pb::set_bridge_request::Bridge>) -> Option<Bridge> {
    match bridge? {
        pb::set_bridge_request::Bridge::Apns(apns) => Some(Bridge::Apns {
            device_token: apns.device_token.to_ascii_lowercase(),
            topic: apns.topic,
            sandbox: apns.sandbox,
        }),
        pb::set_bridge_request::Bridge::Fcm(fcm) => Some(Bridge::Fcm {
            registration_token: fcm.registration_token,
            project_id: fcm.project_id,
        }),
    }
}

pub(crate) fn account_device(member: AccountDevice, caller: &str) -> pb::AccountDevice {
    pb::AccountDevice {
        this_device: member.device_id == caller,
        device_id: member.device_id,
        name: member.name,
        device_key: Some(pb::DeviceKey {
            public_key: member.public_key,
            auth_secret: member.auth_secret,
        }),
        approved: member.approved,
        added_at_unix_ms: member.added_at,
    }
}

pub(crate) fn device_key(key: Option<pb::DeviceKey>) -> Option<DeviceKey> {
    key.map(|key| DeviceKey {
        public_key: key.public_key,
        auth_secret: key.auth_secret,
    })
}

pub(crate) fn sealed_bundle(bundle: pb::SealedKeys) -> SealedBundle {
    SealedBundle {
        recipient_device_id: bundle.recipient_device_id,
        subscription_id: bundle.subscription_id,
        sealed: bundle.sealed,
    }
}

pub(crate) fn sealed_keys(bundle: SealedKeys) -> pb::SealedKeys {
    pb::SealedKeys {
        subscription_id: bundle.subscription_id,
        recipient_device_id: bundle.recipient_device_id,
        sender_device_id: bundle.sender_device_id,
        sealed: bundle.sealed,
        created_at_unix_ms: bundle.created_at,
    }
}

pub(crate) fn receipt_event(event: ReceiptEvent) -> pb::ReceiptEvent {
    let state = match event.state {
        ReceiptState::Accepted => pb::ReceiptState::Accepted,
        ReceiptState::Delivered => pb::ReceiptState::Delivered,
        ReceiptState::Acked => pb::ReceiptState::Acked,
        ReceiptState::Expired => pb::ReceiptState::Expired,
        ReceiptState::Cancelled => pb::ReceiptState::Cancelled,
        ReceiptState::Dropped => pb::ReceiptState::Dropped,
    };
    pb::ReceiptEvent {
        cursor: event.cursor,
        message_id: event.message_id,
        state: state as i32,
        at_unix_ms: event.at,
    }
}
