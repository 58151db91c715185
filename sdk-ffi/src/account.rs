//! [`PushManager`]'s account calls: one user's phones, tablets and desktops
//! sharing subscriptions, with keys that move between them only sealed.
//!
//! The flow an app shows: the first device calls `create_account` and shows
//! the id (e.g. as a QR code); the next device calls `join_account` and shows
//! its `device_fingerprint`; the first lists `account_devices`, the user
//! compares fingerprints, and it calls `approve_device`. From then on,
//! `subscribe_for_account` reaches both, and `sync_account_keys` (also run by
//! itself when a message needs it) brings the keys.

use crate::error::PushError;
use crate::manager::{PushManager, check_scope, storage};
use crate::types::{AccountDevice, AccountSync, SubscriptionInfo};

#[uniffi::export]
impl PushManager {
    /// Starts an account with this device as its first, approved device;
    /// returns the id the user's other devices join with.
    pub fn create_account(&self, device_name: String) -> Result<String, PushError> {
        Ok(self
            .runtime
            .block_on(self.client.create_account(&device_name))?)
    }

    /// Asks to join an account; nothing reaches this device until one of the
    /// account's devices approves it.
    pub fn join_account(&self, account_id: String, device_name: String) -> Result<(), PushError> {
        Ok(self
            .runtime
            .block_on(self.client.join_account(&account_id, &device_name))?)
    }

    /// This device's id, as `account_devices` lists it.
    pub fn device_id(&self) -> String {
        self.client.device_id().to_owned()
    }

    /// The account this device created or joined, if any.
    pub fn account_id(&self) -> Result<Option<String>, PushError> {
        Ok(self.client.account_id()?)
    }

    /// Show this while another device approves this one; the user checks
    /// that both screens show the same.
    pub fn device_fingerprint(&self) -> Result<String, PushError> {
        Ok(self.client.device_fingerprint()?)
    }

    /// The account's devices (this device must be approved).
    pub fn account_devices(&self) -> Result<Vec<AccountDevice>, PushError> {
        let members = self.runtime.block_on(self.client.account_devices())?;
        Ok(members.into_iter().map(AccountDevice::from).collect())
    }

    /// Approves a waiting device and hands it the account's keys, sealed.
    pub fn approve_device(&self, device_id: String) -> Result<AccountDevice, PushError> {
        let approved = self
            .runtime
            .block_on(self.client.approve_device(&device_id))?;
        Ok(approved.into())
    }

    /// Removes a device (or this one) from the account: it stops receiving at once.
    pub fn remove_device(&self, device_id: String) -> Result<(), PushError> {
        Ok(self
            .runtime
            .block_on(self.client.remove_device(&device_id))?)
    }

    /// Like `subscribe`, for every approved device of the account.
    pub fn subscribe_for_account(
        &self,
        scope: String,
        app_server_key: Option<Vec<u8>>,
    ) -> Result<SubscriptionInfo, PushError> {
        check_scope(&scope)?;
        self.runtime.block_on(
            self.client
                .subscribe_for_account(Some(&scope), app_server_key.as_deref()),
        )?;
        self.created(&scope)
    }

    /// Fetches and opens the keys other devices sealed to this one.
    pub fn sync_account_keys(&self) -> Result<AccountSync, PushError> {
        let synced = self.runtime.block_on(self.client.sync_account_keys())?;
        let store = self.client.store();
        let mut added_scopes = Vec::new();
        for id in &synced.added {
            if let Some(scope) = store.scope_of(id).map_err(storage)? {
                added_scopes.push(scope);
            }
        }
        Ok(AccountSync {
            approved: synced.approved,
            added_scopes,
        })
    }
}
