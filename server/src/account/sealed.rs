//! Relaying an account subscription's keys between the account's devices.
//!
//! The server checks who may send what to whom; it cannot open a bundle
//! (aes128gcm to the recipient's device key) and never needs to.

use super::Accounts;
use crate::domain::{MAX_SEALED_BYTES, SealedKeys, check_aes128gcm, now_millis};
use crate::error::ApiError;

/// Most sealed bundles one call may carry.
const MAX_BUNDLES_PER_CALL: usize = 256;

/// One subscription's keys, sealed by the caller to one recipient device.
pub(crate) struct SealedBundle {
    pub(crate) recipient_device_id: String,
    pub(crate) subscription_id: String,
    pub(crate) sealed: Vec<u8>,
}

impl Accounts {
    pub(crate) async fn put_sealed_keys(
        &self,
        device_id: &str,
        bundles: Vec<SealedBundle>,
    ) -> Result<(), ApiError> {
        let caller = self.membership.approved(device_id).await?;
        if bundles.is_empty() || bundles.len() > MAX_BUNDLES_PER_CALL {
            return Err(ApiError::Invalid(format!(
                "send 1 to {MAX_BUNDLES_PER_CALL} sealed bundles per call, got {}",
                bundles.len()
            )));
        }
        let members = self.membership.members(&caller.account_id).await?;
        let subscriptions = self.store.account_subscriptions(&caller.account_id).await?;
        let now = now_millis();
        let mut checked = Vec::with_capacity(bundles.len());
        for bundle in bundles {
            match members
                .iter()
                .find(|member| member.device_id == bundle.recipient_device_id)
            {
                Some(member) if member.approved => {}
                Some(_) => return Err(ApiError::RecipientNotApproved(bundle.recipient_device_id)),
                None => {
                    return Err(ApiError::NotFound(format!(
                        "recipient {:?} is not a device of your account",
                        bundle.recipient_device_id
                    )));
                }
            }
            if !subscriptions
                .iter()
                .any(|subscription| subscription.id == bundle.subscription_id)
            {
                return Err(ApiError::NotFound(format!(
                    "subscription {:?} is not an account subscription of your account",
                    bundle.subscription_id
                )));
            }
            if bundle.sealed.len() > MAX_SEALED_BYTES {
                return Err(ApiError::Invalid(format!(
                    "sealed is {} bytes; at most {MAX_SEALED_BYTES}",
                    bundle.sealed.len()
                )));
            }
            check_aes128gcm(&bundle.sealed).map_err(|error| ApiError::field("sealed", error))?;
            checked.push(SealedKeys {
                recipient_device_id: bundle.recipient_device_id,
                subscription_id: bundle.subscription_id,
                sender_device_id: caller.device_id.clone(),
                sealed: bundle.sealed,
                created_at: now,
            });
        }
        Ok(self.store.put_sealed_keys(&checked).await?)
    }

    /// Whether the caller is approved yet, and, once it is, the bundles
    /// sealed to it.
    pub(crate) async fn fetch_sealed_keys(
        &self,
        device_id: &str,
    ) -> Result<(bool, Vec<SealedKeys>), ApiError> {
        let caller = self.membership.of(device_id).await?;
        if !caller.approved {
            return Ok((false, Vec::new()));
        }
        Ok((true, self.store.sealed_keys_for(&caller.device_id).await?))
    }
}
