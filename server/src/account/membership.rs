//! Who belongs to which account, read from the store: the one place the
//! rule "only an approved member acts on the account" is checked.

use std::sync::Arc;

use crate::domain::AccountDevice;
use crate::error::ApiError;
use crate::store::Store;

#[derive(Clone)]
pub(crate) struct Membership {
    store: Arc<dyn Store>,
}

impl Membership {
    pub(crate) fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }

    /// The device's membership, approved or pending.
    pub(crate) async fn of(&self, device_id: &str) -> Result<AccountDevice, ApiError> {
        self.store
            .account_of(device_id)
            .await?
            .ok_or(ApiError::NoAccount)
    }

    /// The device's membership, which must be approved.
    pub(crate) async fn approved(&self, device_id: &str) -> Result<AccountDevice, ApiError> {
        let member = self.of(device_id).await?;
        if !member.approved {
            return Err(ApiError::AwaitingApproval);
        }
        Ok(member)
    }

    /// The account the device is an approved member of, if any.
    pub(crate) async fn approved_account(
        &self,
        device_id: &str,
    ) -> Result<Option<String>, ApiError> {
        let member = self.store.account_of(device_id).await?;
        Ok(member
            .filter(|member| member.approved)
            .map(|member| member.account_id))
    }

    pub(crate) async fn members(&self, account_id: &str) -> Result<Vec<AccountDevice>, ApiError> {
        Ok(self.store.account_devices(account_id).await?)
    }
}
