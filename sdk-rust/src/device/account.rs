//! One user, several devices: creating or joining an account, approving and removing
//! devices, and keeping every approved device's keys for the account's subscriptions.
//!
//! Keys move only as [`crate::sealing`] bundles (see `account_keys.rs`).
use push_proto::v1::{self as pb};

use super::DeviceClient;
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
    pub(super) public_key: Vec<u8>,
    pub(super) auth_secret: Vec<u8>,
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
        let reply = self
            .grpc
            .clone()
            .approve_device(self.request(request)?)
            .await?;
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
        self.grpc
            .clone()
            .remove_device(self.request(request)?)
            .await?;
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
