//! One user, several devices: creating or joining an account, approving and removing
//! devices, and keeping every approved device's keys for the account's subscriptions.
//!
//! Keys move only as [`crate::sealing`] bundles: this device seals each account
//! subscription to every other approved device's key, and opens what others sealed to it.
use push_proto::v1::{self as pb};

use super::DeviceClient;
use crate::store::StoredSubscription;
use crate::subscription::SubscriptionInfo;
use crate::{SdkError, sealing};

/// A device of this device's account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountMember {
    pub device_id: String,
    pub name: String,
    /// [`sealing::fingerprint`] of its device key: compare it with the one the device
    /// shows before approving it.
    pub fingerprint: String,
    pub approved: bool,
    pub this_device: bool,
    public_key: Vec<u8>,
    auth_secret: Vec<u8>,
}

/// What [`DeviceClient::sync_account_keys`] found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AccountSync {
    /// False while this device waits for another device of the account to approve it.
    pub approved: bool,
    /// Account subscriptions whose keys this device did not have before.
    pub added: Vec<String>,
}

impl DeviceClient {
    /// Starts an account with this device as its first, approved device; returns the id the
    /// user's other devices join with.
    pub async fn create_account(&self, device_name: &str) -> Result<String, SdkError> {
        let request = pb::CreateAccountRequest {
            device_key: Some(self.device_key_proto()?),
            device_name: device_name.to_owned(),
        };
        let reply = self
            .grpc
            .clone()
            .create_account(self.request(request)?)
            .await?
            .into_inner();
        self.store.set_account(&reply.account_id)?;
        Ok(reply.account_id)
    }

    /// Asks to join `account_id`. Nothing reaches this device until a device of the account
    /// approves it (after comparing [`DeviceClient::device_fingerprint`]).
    pub async fn join_account(&self, account_id: &str, device_name: &str) -> Result<(), SdkError> {
        let request = pb::JoinAccountRequest {
            account_id: account_id.to_owned(),
            device_key: Some(self.device_key_proto()?),
            device_name: device_name.to_owned(),
        };
        self.grpc
            .clone()
            .join_account(self.request(request)?)
            .await?;
        self.store.set_account(account_id)?;
        Ok(())
    }

    /// The account this device created or joined, if any.
    pub fn account_id(&self) -> Result<Option<String>, SdkError> {
        Ok(self.store.device_key()?.account_id)
    }

    /// This device's key fingerprint, to show the user while another device approves it.
    pub fn device_fingerprint(&self) -> Result<String, SdkError> {
        let key = self.store.device_key()?;
        Ok(sealing::fingerprint(key.keys.public_key())?)
    }

    /// Every device of the account (only an approved device may ask).
    pub async fn account_devices(&self) -> Result<Vec<AccountMember>, SdkError> {
        let request = self.request(pb::ListAccountDevicesRequest {})?;
        let reply = self.grpc.clone().list_account_devices(request).await?;
        reply.into_inner().devices.into_iter().map(member).collect()
    }

    /// Approves a waiting device, then seals every account subscription's keys to it.
    pub async fn approve_device(&self, device_id: &str) -> Result<AccountMember, SdkError> {
        // Keys another device sealed to this one may not be here yet: pass them on too.
        self.sync_account_keys().await?;
        let request = pb::ApproveDeviceRequest {
            device_id: device_id.to_owned(),
        };
        let reply = self.grpc.clone().approve_device(self.request(request)?).await?;
        let approved = reply
            .into_inner()
            .device
            .ok_or_else(|| SdkError::Protocol("ApproveDeviceResponse without a device".into()))
            .and_then(member)?;
        let subscriptions = self.account_subscriptions()?;
        self.share(&subscriptions, std::slice::from_ref(&approved))
            .await?;
        Ok(approved)
    }

    /// Removes a device of the account (or this one); its stream closes and its credential
    /// stops working at once.
    pub async fn remove_device(&self, device_id: &str) -> Result<(), SdkError> {
        let request = pb::RemoveDeviceRequest {
            device_id: device_id.to_owned(),
        };
        self.grpc.clone().remove_device(self.request(request)?).await?;
        Ok(())
    }

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
        let reply = self.grpc.clone().fetch_sealed_keys(request).await?.into_inner();
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

    fn account_subscriptions(&self) -> Result<Vec<StoredSubscription>, SdkError> {
        Ok(self
            .store
            .subscriptions()?
            .into_iter()
            .filter(|subscription| subscription.for_account)
            .collect())
    }

    /// Seals each subscription to each device and hands the bundles to the server.
    async fn share(
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
            self.grpc.clone().put_sealed_keys(self.request(request)?).await?;
        }
        Ok(())
    }

    fn device_key_proto(&self) -> Result<pb::DeviceKey, SdkError> {
        let key = self.store.device_key()?.keys;
        Ok(pb::DeviceKey {
            public_key: key.public_key().to_vec(),
            auth_secret: key.auth_secret().to_vec(),
        })
    }
}

fn member(device: pb::AccountDevice) -> Result<AccountMember, SdkError> {
    let key = device
        .device_key
        .ok_or_else(|| SdkError::Protocol("AccountDevice without a device key".into()))?;
    Ok(AccountMember {
        fingerprint: sealing::fingerprint(&key.public_key)?,
        device_id: device.device_id,
        name: device.name,
        approved: device.approved,
        this_device: device.this_device,
        public_key: key.public_key,
        auth_secret: key.auth_secret,
    })
}
