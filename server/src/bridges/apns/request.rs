//! An APNs request as Apple documents it ("Sending notification requests to
//! APNs", "Generating a remote notification"): headers and the JSON body.

use serde_json::{Map, Value, json};

use crate::bridges::{Notice, PROVIDER_PAYLOAD_LIMIT};
use crate::domain::UnixMillis;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    /// 10: deliver now.
    Immediate,
    /// 5: when it suits the phone's power use.
    Conserve,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApnsRequest {
    pub(crate) device_token: String,
    pub sandbox: bool,
    /// `apns-topic`: the app's bundle id.
    pub topic: String,
    /// `apns-id`: the message id (a UUID), so Apple's logs match ours.
    pub apns_id: String,
    pub priority: Priority,
    /// `apns-expiration`: Unix seconds after which Apple stops trying.
    pub expiration: u64,
    /// `apns-collapse-id`: the Web Push topic, so a newer one replaces it.
    pub collapse_id: Option<String>,
    /// `aps.alert.title`, replaced by the app's Notification Service Extension.
    pub(crate) alert_title: String,
    /// The `push` dictionary the app's SDK reads.
    pub(crate) fields: Vec<(&'static str, String)>,
}

impl ApnsRequest {
    pub fn new(
        device_token: &str,
        topic: &str,
        sandbox: bool,
        notice: &Notice,
        alert_title: &str,
        now: UnixMillis,
    ) -> Self {
        let mut request = Self {
            device_token: device_token.to_string(),
            sandbox,
            topic: topic.to_string(),
            apns_id: notice.message_id.clone(),
            priority: if notice.is_urgent() {
                Priority::Immediate
            } else {
                Priority::Conserve
            },
            // The message's own expiry, so every retry says the same; Apple
            // reads 0 (or the past) as "do not store", so at least a second ahead.
            expiration: u64::try_from((notice.expires_at / 1000).max(now / 1000 + 1)).unwrap_or(0),
            collapse_id: notice.topic.clone(),
            alert_title: alert_title.to_string(),
            fields: notice.fields(),
        };
        if request.body().len() > PROVIDER_PAYLOAD_LIMIT {
            request.fields = notice.wake_up().fields();
        }
        request
    }

    /// The JSON body: `mutable-content` so the app's Notification Service
    /// Extension runs and decrypts before anything is shown.
    pub fn payload(&self) -> Value {
        let push: Map<String, Value> = self
            .fields
            .iter()
            .map(|(key, value)| (key.to_string(), Value::String(value.clone())))
            .collect();
        json!({
            "aps": {
                "alert": { "title": self.alert_title },
                "mutable-content": 1,
            },
            "push": push,
        })
    }

    pub fn body(&self) -> String {
        self.payload().to_string()
    }
}
