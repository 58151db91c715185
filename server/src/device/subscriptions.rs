//! The subscription service: creating, listing and removing a device's
//! subscriptions, whichever front asks (gRPC `Subscribe`, a WebSocket
//! `register`). A subscription is the device's own, or (`for_account`) its
//! account's: then any approved device of the account sees it and may
//! remove it.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::Endpoints;
use crate::account::Membership;
use crate::domain::{SubscriptionRecord, is_token, new_subscription_id, now_millis};
use crate::error::ApiError;
use crate::senders::SenderBlocks;
use crate::store::{Store, StoreError, SubscriptionCache};

/// What a device asks for when it subscribes.
pub(crate) struct NewSubscription {
    pub(crate) device_id: String,
    pub(crate) for_account: bool,
    /// The device's own keys for this subscription (base64url), checked
    /// and handed back in the subscription JSON; the server keeps neither.
    pub(crate) p256dh: String,
    pub(crate) auth: String,
    pub(crate) app_server_key: Option<Vec<u8>>,
}

/// A new subscription and the `PushSubscription` JSON (its endpoint and keys)
/// a site backend takes.
pub(crate) struct Subscribed {
    pub(crate) record: SubscriptionRecord,
    pub(crate) subscription_json: String,
}

#[derive(Clone)]
pub(crate) struct Subscriptions {
    store: Arc<dyn Store>,
    cache: Arc<SubscriptionCache>,
    endpoints: Endpoints,
    membership: Membership,
    senders: SenderBlocks,
    max_per_device: usize,
}

impl Subscriptions {
    pub(crate) fn new(
        store: Arc<dyn Store>,
        cache: Arc<SubscriptionCache>,
        endpoints: Endpoints,
        senders: SenderBlocks,
        max_per_device: usize,
    ) -> Self {
        Self {
            membership: Membership::new(store.clone()),
            store,
            cache,
            endpoints,
            senders,
            max_per_device,
        }
    }

    /// The endpoint URL senders get for a subscription.
    pub(crate) fn endpoint_of(&self, subscription_id: &str) -> String {
        self.endpoints.of(subscription_id)
    }

    pub(crate) async fn subscribe(&self, wanted: NewSubscription) -> Result<Subscribed, ApiError> {
        let account_id = match wanted.for_account {
            true => Some(
                self.membership
                    .approved(&wanted.device_id)
                    .await?
                    .account_id,
            ),
            false => None,
        };
        check_b64_key("p256dh", &wanted.p256dh, 65)?;
        check_b64_key("auth", &wanted.auth, 16)?;
        let record = SubscriptionRecord {
            id: new_subscription_id(),
            device_id: wanted.device_id,
            app_server_key: wanted.app_server_key,
            created_at: now_millis(),
            account_id,
        };
        self.add(&record).await?;
        let subscription_json = serde_json::json!({
            "endpoint": self.endpoint_of(&record.id),
            "keys": { "p256dh": wanted.p256dh, "auth": wanted.auth },
        })
        .to_string();
        Ok(Subscribed {
            record,
            subscription_json,
        })
    }

    /// Creates the device's subscription `id` (a WebSocket channel) with the
    /// same checks as [`Self::subscribe`], or finds it if it is already the
    /// device's; returns its endpoint URL.
    pub(crate) async fn subscribe_channel(
        &self,
        device_id: &str,
        id: &str,
        app_server_key: Option<Vec<u8>>,
    ) -> Result<String, ApiError> {
        if let Some(existing) = self.store.subscription(id).await? {
            return match existing.device_id == device_id {
                true => Ok(self.endpoint_of(id)),
                false => Err(ApiError::ChannelTaken),
            };
        }
        let record = SubscriptionRecord {
            id: id.to_owned(),
            device_id: device_id.to_owned(),
            app_server_key,
            created_at: now_millis(),
            account_id: None,
        };
        match self.add(&record).await {
            Ok(()) => Ok(self.endpoint_of(id)),
            Err(ApiError::Store(StoreError::AlreadyExists(_))) => Err(ApiError::ChannelTaken),
            Err(error) => Err(error),
        }
    }

    /// Stores a new subscription after the checks every front makes: the
    /// holder's quota, a sender key that is a P-256 point and not blocked.
    async fn add(&self, record: &SubscriptionRecord) -> Result<(), ApiError> {
        self.check_quota(&record.device_id, record.account_id.as_deref())
            .await?;
        if let Some(key) = &record.app_server_key {
            crate::senders::check_key(key)?;
            self.senders
                .check_not_blocked(&record.device_id, key)
                .await?;
        }
        Ok(self.store.create_subscription(record).await?)
    }

    /// A device (or, for account subscriptions, an account) holds at most
    /// `max_subscriptions_per_device`; checked by a read, so two concurrent
    /// calls may overshoot by one.
    async fn check_quota(&self, device_id: &str, account_id: Option<&str>) -> Result<(), ApiError> {
        let held = match account_id {
            Some(account_id) => self.store.account_subscriptions(account_id).await,
            None => self.store.subscriptions_of(device_id).await,
        }?
        .len();
        if held >= self.max_per_device {
            return Err(ApiError::SubscriptionQuota {
                whose: if account_id.is_some() {
                    "the account"
                } else {
                    "this device"
                },
                held,
                limit: self.max_per_device,
            });
        }
        Ok(())
    }

    /// Removes subscription `id` of the device or, for an account
    /// subscription, of the device's account.
    pub(crate) async fn unsubscribe(&self, device_id: &str, id: &str) -> Result<(), ApiError> {
        if !is_token(id) {
            return Err(ApiError::Invalid(
                "subscription_id is not a subscription id (a 22-character token)".into(),
            ));
        }
        // An account's subscription is removed by any approved member; the
        // store knows it by the device that created it.
        let creator = match self.store.subscription(id).await? {
            Some(record) if record.account_id.is_some() => {
                let caller = self.membership.approved(device_id).await?;
                if record.account_id.as_deref() != Some(caller.account_id.as_str()) {
                    return Err(ApiError::NoSuchSubscription);
                }
                record.device_id
            }
            _ => device_id.to_owned(),
        };
        match self.cache.delete(&creator, id).await? {
            true => Ok(()),
            false => Err(ApiError::NoSuchSubscription),
        }
    }

    /// Removes the device's own subscription `id` (a WebSocket channel);
    /// false if it had none.
    pub(crate) async fn unsubscribe_channel(
        &self,
        device_id: &str,
        id: &str,
    ) -> Result<bool, ApiError> {
        Ok(self.cache.delete(device_id, id).await?)
    }

    /// The device's own subscriptions, then its account's (approved members).
    pub(crate) async fn list(&self, device_id: &str) -> Result<Vec<SubscriptionRecord>, ApiError> {
        Ok(self.senders.reach(device_id).await?.subscriptions)
    }
}

fn check_b64_key(field: &str, value: &str, expected_len: usize) -> Result<(), ApiError> {
    if value.is_empty() {
        return Err(ApiError::Invalid(format!(
            "{field} is required: the base64url key the device generated for this subscription"
        )));
    }
    match URL_SAFE_NO_PAD.decode(value.trim_end_matches('=')) {
        Ok(bytes) if bytes.len() == expected_len => Ok(()),
        Ok(bytes) => Err(ApiError::Invalid(format!(
            "{field} must decode to {expected_len} bytes, got {}",
            bytes.len()
        ))),
        Err(_) => Err(ApiError::Invalid(format!("{field} is not base64url"))),
    }
}
