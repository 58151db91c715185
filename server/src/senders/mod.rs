//! The sender-block service: a device's say over who may send to it.
//!
//! A device approves a sender by subscribing with its application-server
//! key. Revoking removes every subscription bound to that key, so the sender
//! hears NOT_FOUND (gRPC) or 410 (HTTP) and drops the endpoint. A block
//! makes subscribing refuse the key afterwards. An approved account member's
//! blocks go on the account's list, which covers every device of it.
//! Subscriptions made without a key accept any identified sender and are
//! outside this: a device that wants a say uses keys.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::account::Membership;
use crate::auth::ServiceBlocks;
use crate::domain::{BlockOwner, SubscriptionRecord};
use crate::error::ApiError;
use crate::store::{Store, SubscriptionCache};

/// Whom a device's decisions cover: itself, and its account when approved.
pub(crate) struct Reach {
    /// The device's own block list, then its account's (the one a new
    /// block goes on).
    pub(crate) owners: Vec<BlockOwner>,
    pub(crate) subscriptions: Vec<SubscriptionRecord>,
}

/// The senders a device deals with.
pub(crate) struct Senders {
    /// Each approved key with the subscriptions bound to it.
    pub(crate) approved: BTreeMap<Vec<u8>, Vec<String>>,
    pub(crate) blocked: Vec<Vec<u8>>,
}

#[derive(Clone)]
pub(crate) struct SenderBlocks {
    store: Arc<dyn Store>,
    subscriptions: Arc<SubscriptionCache>,
    service_blocks: Arc<ServiceBlocks>,
    membership: Membership,
}

impl SenderBlocks {
    pub(crate) fn new(
        store: Arc<dyn Store>,
        subscriptions: Arc<SubscriptionCache>,
        service_blocks: Arc<ServiceBlocks>,
    ) -> Self {
        Self {
            membership: Membership::new(store.clone()),
            store,
            subscriptions,
            service_blocks,
        }
    }

    /// The device's own subscriptions and, once approved, its account's:
    /// everything its decisions cover.
    pub(crate) async fn reach(&self, device_id: &str) -> Result<Reach, ApiError> {
        let account = self.membership.approved_account(device_id).await?;
        let mut subscriptions = self.store.subscriptions_of(device_id).await?;
        if let Some(account_id) = &account {
            subscriptions.extend(self.store.account_subscriptions(account_id).await?);
        }
        Ok(Reach {
            owners: block_owners(device_id, account),
            subscriptions,
        })
    }

    /// Refuses a key the device, its account or the operator blocked.
    pub(crate) async fn check_not_blocked(
        &self,
        device_id: &str,
        key: &[u8],
    ) -> Result<(), ApiError> {
        if self.service_blocks.key_blocked(key) {
            return Err(ApiError::KeyBlockedByService);
        }
        let account = self.membership.approved_account(device_id).await?;
        for owner in block_owners(device_id, account) {
            let blocked = self.store.blocked_senders(&owner.key()).await?;
            if blocked.iter().any(|blocked| blocked == key) {
                return Err(ApiError::SenderBlockedByDevice);
            }
        }
        Ok(())
    }

    pub(crate) async fn list(&self, device_id: &str) -> Result<Senders, ApiError> {
        let reach = self.reach(device_id).await?;
        let mut approved: BTreeMap<Vec<u8>, Vec<String>> = BTreeMap::new();
        for subscription in reach.subscriptions {
            if let Some(key) = subscription.app_server_key {
                approved.entry(key).or_default().push(subscription.id);
            }
        }
        let mut blocked = Vec::new();
        for owner in &reach.owners {
            blocked.extend(self.store.blocked_senders(&owner.key()).await?);
        }
        blocked.sort();
        blocked.dedup();
        Ok(Senders { approved, blocked })
    }

    /// Removes the subscriptions bound to `key` and, with `block`, refuses
    /// it from now on; returns how many subscriptions went.
    pub(crate) async fn revoke(
        &self,
        device_id: &str,
        key: &[u8],
        block: bool,
    ) -> Result<u32, ApiError> {
        check_key(key)?;
        let reach = self.reach(device_id).await?;
        let mut removed = 0;
        for subscription in reach.subscriptions {
            if subscription.app_server_key.as_deref() != Some(key) {
                continue;
            }
            // Stored under the device that created it (an account's may be another's).
            if self
                .subscriptions
                .delete(&subscription.device_id, &subscription.id)
                .await?
            {
                removed += 1;
            }
        }
        if block {
            let owner = reach.owners.last().map(BlockOwner::key).unwrap_or_default();
            self.store.block_sender(&owner, key).await?;
        } else if removed == 0 {
            return Err(ApiError::NoSubscriptionForKey);
        }
        Ok(removed)
    }

    pub(crate) async fn unblock(&self, device_id: &str, key: &[u8]) -> Result<(), ApiError> {
        check_key(key)?;
        let mut lifted = false;
        for owner in self.reach(device_id).await?.owners {
            lifted |= self.store.unblock_sender(&owner.key(), key).await?;
        }
        if !lifted {
            return Err(ApiError::NotBlocked);
        }
        Ok(())
    }
}

/// The block lists covering a device: its own, then its account's.
fn block_owners(device_id: &str, approved_account: Option<String>) -> Vec<BlockOwner> {
    let mut owners = vec![BlockOwner::Device(device_id.to_owned())];
    owners.extend(approved_account.map(BlockOwner::Account));
    owners
}

/// An application-server key: a P-256 public point.
pub(crate) fn check_key(key: &[u8]) -> Result<(), ApiError> {
    crate::auth::check_p256_key(key).map_err(|problem| ApiError::field("app_server_key", problem))
}
