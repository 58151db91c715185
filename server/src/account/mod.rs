//! The account service: creating and joining an account, approving and
//! removing its devices, and relaying sealed subscription keys between them.
//!
//! The rule every call keeps ([`Membership`]): only an approved member acts
//! on the account. A pending device may only learn whether it was approved,
//! or withdraw.

mod membership;
mod removal;
mod sealed;

use std::sync::Arc;

pub(crate) use membership::Membership;
pub(crate) use sealed::SealedBundle;

use crate::cluster::Cluster;
use crate::delivery::Hub;
use crate::domain::{AccountDevice, check_device_name, is_token, new_account_id, now_millis};
use crate::error::ApiError;
use crate::store::{Store, StoreError, SubscriptionCache};

/// A device's own P-256 public key and auth secret, which other devices of
/// the account seal subscription keys to.
pub(crate) struct DeviceKey {
    pub(crate) public_key: Vec<u8>,
    pub(crate) auth_secret: Vec<u8>,
}

#[derive(Clone)]
pub(crate) struct Accounts {
    store: Arc<dyn Store>,
    membership: Membership,
    /// Removing a device's account subscriptions goes through the cache.
    subscriptions: Arc<SubscriptionCache>,
    /// A removed device's stream is closed here and on every node.
    hub: Arc<Hub>,
    cluster: Option<Arc<Cluster>>,
    max_devices: usize,
}

impl Accounts {
    pub(crate) fn new(
        store: Arc<dyn Store>,
        subscriptions: Arc<SubscriptionCache>,
        hub: Arc<Hub>,
        cluster: Option<Arc<Cluster>>,
        max_devices: usize,
    ) -> Self {
        Self {
            membership: Membership::new(store.clone()),
            store,
            subscriptions,
            hub,
            cluster,
            max_devices,
        }
    }

    /// A new account with the device as its first, approved member.
    pub(crate) async fn create(
        &self,
        device_id: String,
        key: Option<DeviceKey>,
        name: String,
    ) -> Result<String, ApiError> {
        let member = new_member(new_account_id(), device_id, key, name, true)?;
        self.add_member(&member).await?;
        tracing::info!(account_id = %member.account_id, device_id = %member.device_id, "account created");
        Ok(member.account_id)
    }

    /// Asks to join `account_id`; an approved member must approve.
    pub(crate) async fn join(
        &self,
        device_id: String,
        account_id: String,
        key: Option<DeviceKey>,
        name: String,
    ) -> Result<(), ApiError> {
        if !is_token(&account_id) {
            return Err(ApiError::Invalid(
                "account_id is not an account id (the 22-character token CreateAccount returned)"
                    .into(),
            ));
        }
        let member = new_member(account_id, device_id, key, name, false)?;
        let members = self.membership.members(&member.account_id).await?;
        if !members.iter().any(|member| member.approved) {
            return Err(ApiError::NotFound("no such account".into()));
        }
        if members.len() >= self.max_devices {
            return Err(ApiError::AccountFull {
                devices: members.len(),
                limit: self.max_devices,
            });
        }
        self.add_member(&member).await
    }

    /// The caller's (approved) membership and every member of its account.
    pub(crate) async fn list(
        &self,
        device_id: &str,
    ) -> Result<(AccountDevice, Vec<AccountDevice>), ApiError> {
        let caller = self.membership.approved(device_id).await?;
        let members = self.membership.members(&caller.account_id).await?;
        Ok((caller, members))
    }

    /// Approves a pending device of the caller's account; returns the caller
    /// and the approved member.
    pub(crate) async fn approve(
        &self,
        device_id: &str,
        target: &str,
    ) -> Result<(AccountDevice, AccountDevice), ApiError> {
        let caller = self.membership.approved(device_id).await?;
        let approved = is_token(target)
            && self
                .store
                .approve_account_device(&caller.account_id, target)
                .await?;
        let member = self
            .membership
            .members(&caller.account_id)
            .await?
            .into_iter()
            .find(|member| approved && member.device_id == target)
            .ok_or_else(not_in_account)?;
        tracing::info!(account_id = %caller.account_id, device_id = %target, "device approved");
        Ok((caller, member))
    }

    async fn add_member(&self, member: &AccountDevice) -> Result<(), ApiError> {
        self.store
            .add_account_device(member)
            .await
            .map_err(|error| match error {
                StoreError::AlreadyExists(_) => ApiError::AlreadyInAccount,
                other => ApiError::Store(other),
            })
    }
}

fn new_member(
    account_id: String,
    device_id: String,
    key: Option<DeviceKey>,
    name: String,
    approved: bool,
) -> Result<AccountDevice, ApiError> {
    let key = checked_key(key)?;
    check_device_name(&name).map_err(|problem| ApiError::Invalid(problem.to_string()))?;
    Ok(AccountDevice {
        account_id,
        device_id,
        name,
        public_key: key.public_key,
        auth_secret: key.auth_secret,
        approved,
        added_at: now_millis(),
    })
}

fn checked_key(key: Option<DeviceKey>) -> Result<DeviceKey, ApiError> {
    let key = key.ok_or_else(|| {
        ApiError::Invalid(
            "device_key is required: the device's own P-256 public key and 16-byte auth secret"
                .into(),
        )
    })?;
    crate::auth::check_p256_key(&key.public_key)
        .map_err(|problem| ApiError::field("device_key.public_key", problem))?;
    if key.auth_secret.len() != 16 {
        return Err(ApiError::Invalid(format!(
            "device_key.auth_secret must be 16 bytes, got {}",
            key.auth_secret.len()
        )));
    }
    Ok(key)
}

fn not_in_account() -> ApiError {
    ApiError::NotFound("no device with this id is in your account".into())
}
