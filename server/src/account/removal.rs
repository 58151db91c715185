//! Taking a device out of its account.
//!
//! Removal is revocation: the device's credential, queue and sealed keys are
//! deleted and its open stream is closed, wherever in the cluster it is, so
//! nothing more reaches it from the moment the call returns.

use super::{Accounts, not_in_account};
use crate::domain::is_token;
use crate::error::ApiError;

impl Accounts {
    /// `device_id` removes `target` (itself, or, when approved, another
    /// device of its account).
    pub(crate) async fn remove(&self, device_id: &str, target: &str) -> Result<(), ApiError> {
        let caller = self.membership.of(device_id).await?;
        // A pending device may withdraw itself, and nothing else.
        if target != caller.device_id && !caller.approved {
            return Err(ApiError::PendingMayOnlyRemoveItself);
        }
        let members = self.membership.members(&caller.account_id).await?;
        if !is_token(target) || !members.iter().any(|member| member.device_id == target) {
            return Err(not_in_account());
        }
        self.store.remove_device(target).await?;
        self.hub.revoke(target);
        if let Some(cluster) = &self.cluster {
            cluster.revoke(target).await;
        }
        metrics::counter!("pushd_devices_removed_total").increment(1);
        tracing::info!(account_id = %caller.account_id, device_id = %target, by = %caller.device_id, "device removed");
        let approved_left = members
            .iter()
            .any(|member| member.approved && member.device_id != target);
        if !approved_left {
            // Nobody is left to read them: senders should hear NOT_FOUND.
            self.forget_account_subscriptions(&caller.account_id)
                .await?;
        }
        Ok(())
    }

    async fn forget_account_subscriptions(&self, account_id: &str) -> Result<(), ApiError> {
        for subscription in self.store.account_subscriptions(account_id).await? {
            self.subscriptions
                .delete(&subscription.device_id, &subscription.id)
                .await?;
        }
        Ok(())
    }
}
