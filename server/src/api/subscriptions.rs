//! `push.v1.Device` Subscribe / Unsubscribe / ListSubscriptions.
//!
//! A subscription is the device's own, or (`for_account`) its account's:
//! then any approved device of the account sees it and may remove it.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use push_proto::v1 as pb;
use tonic::{Request, Response, Status};

use super::endpoint::endpoint_url;
use super::{PushApi, status};
use crate::domain::{SubscriptionRecord, is_token, new_subscription_id, now_millis};

impl PushApi {
    fn to_proto(&self, record: SubscriptionRecord) -> pb::Subscription {
        pb::Subscription {
            endpoint: self.endpoint_of(&record.id),
            for_account: record.account_id.is_some(),
            id: record.id,
            app_server_key: record.app_server_key.unwrap_or_default(),
            created_at_unix_ms: record.created_at,
        }
    }

    /// The endpoint URL senders get for a subscription.
    pub(super) fn endpoint_of(&self, subscription_id: &str) -> String {
        let token = self.inner.endpoint_tokens.seal(subscription_id);
        endpoint_url(
            &self.inner.public_url,
            token.as_deref().unwrap_or(subscription_id),
        )
    }

    pub(super) async fn subscribe_for(
        &self,
        request: Request<pb::SubscribeRequest>,
    ) -> Result<Response<pb::SubscribeResponse>, Status> {
        let device = self.authenticate(&request).await?;
        let account_id = if request.get_ref().for_account {
            Some(
                self.approved_membership(&device.device_id)
                    .await?
                    .account_id,
            )
        } else {
            None
        };
        let wanted = request.into_inner();
        check_b64_key("p256dh", &wanted.p256dh, 65)?;
        check_b64_key("auth", &wanted.auth, 16)?;
        let app_server_key = (!wanted.app_server_key.is_empty()).then_some(wanted.app_server_key);
        let record = SubscriptionRecord {
            id: new_subscription_id(),
            device_id: device.device_id,
            app_server_key,
            created_at: now_millis(),
            account_id,
        };
        self.add_subscription(&record).await?;
        let subscription = self.to_proto(record);
        let subscription_json = serde_json::json!({
            "endpoint": subscription.endpoint,
            "keys": { "p256dh": wanted.p256dh, "auth": wanted.auth },
        })
        .to_string();
        Ok(Response::new(pb::SubscribeResponse {
            subscription: Some(subscription),
            subscription_json,
        }))
    }

    /// Stores a new subscription after the checks every front makes: the
    /// holder's quota, a sender key that is a P-256 point and not blocked.
    pub(super) async fn add_subscription(&self, record: &SubscriptionRecord) -> Result<(), Status> {
        self.check_subscription_quota(&record.device_id, record.account_id.as_deref())
            .await?;
        if let Some(key) = &record.app_server_key {
            crate::auth::check_p256_key(key).map_err(|problem| {
                Status::invalid_argument(format!("app_server_key: {problem}"))
            })?;
            self.check_not_blocked(&record.device_id, key).await?;
        }
        self.inner
            .store
            .create_subscription(record)
            .await
            .map_err(status::from_store)
    }

    /// A device (or, for account subscriptions, an account) holds at most
    /// `max_subscriptions_per_device`; checked by a read, so two concurrent
    /// calls may overshoot by one.
    async fn check_subscription_quota(
        &self,
        device_id: &str,
        account_id: Option<&str>,
    ) -> Result<(), Status> {
        let store = &self.inner.store;
        let held = match account_id {
            Some(account_id) => store.account_subscriptions(account_id).await,
            None => store.subscriptions_of(device_id).await,
        }
        .map_err(status::from_store)?
        .len();
        let limit = self.inner.limits.max_subscriptions_per_device;
        if held >= limit {
            let whose = if account_id.is_some() {
                "the account"
            } else {
                "this device"
            };
            return Err(Status::resource_exhausted(format!(
                "{whose} has {held} subscriptions (limit {limit}); unsubscribe one first"
            )));
        }
        Ok(())
    }

    pub(super) async fn unsubscribe_for(
        &self,
        request: Request<pb::UnsubscribeRequest>,
    ) -> Result<Response<pb::UnsubscribeResponse>, Status> {
        let device = self.authenticate(&request).await?;
        let id = request.get_ref().subscription_id.clone();
        if !is_token(&id) {
            return Err(Status::invalid_argument(
                "subscription_id is not a subscription id (a 22-character token)",
            ));
        }
        let store = &self.inner.store;
        let found = store.subscription(&id).await.map_err(status::from_store)?;
        // An account's subscription is removed by any approved member; the
        // store knows it by the device that created it.
        let creator = match found {
            Some(record) if record.account_id.is_some() => {
                let caller = self.approved_membership(&device.device_id).await?;
                if record.account_id.as_deref() != Some(caller.account_id.as_str()) {
                    return Err(Status::not_found("this device has no such subscription"));
                }
                record.device_id
            }
            _ => device.device_id,
        };
        let removed = store
            .delete_subscription(&creator, &id)
            .await
            .map_err(status::from_store)?;
        self.inner.subscriptions.invalidate(&id);
        if !removed {
            return Err(Status::not_found("this device has no such subscription"));
        }
        Ok(Response::new(pb::UnsubscribeResponse {}))
    }

    /// The device's own subscriptions, then its account's (approved members).
    pub(super) async fn list_subscriptions_for(
        &self,
        request: Request<pb::ListSubscriptionsRequest>,
    ) -> Result<Response<pb::ListSubscriptionsResponse>, Status> {
        let device = self.authenticate(&request).await?;
        let subscriptions = self
            .reach(&device.device_id)
            .await?
            .subscriptions
            .into_iter()
            .map(|record| self.to_proto(record))
            .collect();
        Ok(Response::new(pb::ListSubscriptionsResponse {
            subscriptions,
        }))
    }
}

fn check_b64_key(field: &str, value: &str, expected_len: usize) -> Result<(), Status> {
    if value.is_empty() {
        return Err(Status::invalid_argument(format!(
            "{field} is required: the base64url key the device generated for this subscription"
        )));
    }
    match URL_SAFE_NO_PAD.decode(value.trim_end_matches('=')) {
        Ok(bytes) if bytes.len() == expected_len => Ok(()),
        Ok(bytes) => Err(Status::invalid_argument(format!(
            "{field} must decode to {expected_len} bytes, got {}",
            bytes.len()
        ))),
        Err(_) => Err(Status::invalid_argument(format!(
            "{field} is not base64url"
        ))),
    }
}
