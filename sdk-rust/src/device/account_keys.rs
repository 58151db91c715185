//! Account subscriptions: made on one device, opened on all. Each is sealed to every other
//! approved device when it is made (and to a device when it is approved); each device opens
//! what was sealed to it with [`DeviceClient::sync_account_keys`].
use push_proto::v1::{self as pb};

use super::DeviceClient;
use super::account::{AccountMember, AccountSync};
use crate::store::StoredSubscription;
use crate::subscription::SubscriptionInfo;
use crate::{SdkError, sealing};

impl DeviceClient {
    /// Creates an account subscription: every approved device of the account gets its
    /// messages and, sealed, its keys.
    pub async fn subscribe_for_account(
        &self,
        scope: Option<&str>,
        app_server_key: Option<&[u8]>,
    ) -> Result<SubscriptionInfo, SdkError> {
        let (id, info) = self.create_subscription(app_server_key, true).await?;
        if let Some(scope) = scope {
            self.store.set_scope(scope, &id)?;
        }
        let created = self
            .store
            .subscription(&id)?
            .ok_or_else(|| SdkError::Protocol("subscription vanished from the keystore".into()))?;
        let others: Vec<AccountMember> = self
            .account_devices()
            .await?
            .into_iter()
            .filter(|member| member.approved && !member.this_device)
            .collect();
        self.share(&[created], &others).await?;
        Ok(info)
    }

    /// Opens the keys other devices sealed to this one and keeps the new ones.
    pub async fn sync_account_keys(&self) -> Result<AccountSync, SdkError> {
        if self.account_id()?.is_none() {
            return Ok(AccountSync::default());
        }
        let request = self.request(pb::FetchSealedKeysRequest {})?;
        let reply = self
            .grpc
            .clone()
            .fetch_sealed_keys(request)
            .await?
            .into_inner();
        let device_key = self.store.device_key()?.keys;
        let mut added = Vec::new();
        for bundle in reply.keys {
            if self.store.subscription(&bundle.subscription_id)?.is_some() {
                continue;
            }
            let opened = sealing::open(&device_key, &bundle.sealed, &bundle.subscription_id)?;
            self.store.insert_subscription(&opened.subscription)?;
            if let Some(scope) = &opened.scope {
                self.store.set_scope(scope, &opened.subscription.id)?;
            }
            added.push(opened.subscription.id);
        }
        Ok(AccountSync {
            approved: reply.approved,
            added,
        })
    }

    pub(super) fn account_subscriptions(&self) -> Result<Vec<StoredSubscription>, SdkError> {
        Ok(self
            .store
            .subscriptions()?
            .into_iter()
            .filter(|subscription| subscription.for_account)
            .collect())
    }

    /// Seals each subscription to each device and hands the bundles to the server.
    pub(super) async fn share(
        &self,
        subscriptions: &[StoredSubscription],
        devices: &[AccountMember],
    ) -> Result<(), SdkError> {
        let mut keys = Vec::new();
        for device in devices {
            for subscription in subscriptions {
                let scope = self.store.scope_of(&subscription.id)?;
                let sealed = sealing::seal(
                    subscription,
                    scope.as_deref(),
                    &device.public_key,
                    &device.auth_secret,
                )?;
                keys.push(pb::SealedKeys {
                    subscription_id: subscription.id.clone(),
                    recipient_device_id: device.device_id.clone(),
                    sealed,
                    ..pb::SealedKeys::default()
                });
            }
        }
        // The server takes at most 256 per call.
        for chunk in keys.chunks(256) {
            let request = pb::PutSealedKeysRequest {
                keys: chunk.to_vec(),
            };
            self.grpc
                .clone()
                .put_sealed_keys(self.request(request)?)
                .await?;
        }
        Ok(())
    }
}
