//! `push.v1.Device` account calls: creating and joining an account,
//! approving and removing devices, and relaying sealed subscription keys.
//!
//! The rule every call keeps: only an approved member acts on the account.
//! A pending device may only learn whether it was approved, or withdraw.

use push_proto::v1 as pb;
use tonic::{Request, Response, Status};

use super::{PushApi, status};
use crate::domain::{AccountDevice, check_device_name, is_token, new_account_id, now_millis};

impl PushApi {
    /// The caller's membership, which must be approved.
    pub(super) async fn approved_member<T>(
        &self,
        request: &Request<T>,
    ) -> Result<AccountDevice, Status> {
        let device = self.authenticate(request).await?;
        self.approved_membership(&device.device_id).await
    }

    pub(super) async fn member<T>(&self, request: &Request<T>) -> Result<AccountDevice, Status> {
        let device = self.authenticate(request).await?;
        self.membership(&device.device_id).await
    }

    /// An already authenticated device's approved membership.
    pub(super) async fn approved_membership(
        &self,
        device_id: &str,
    ) -> Result<AccountDevice, Status> {
        let member = self.membership(device_id).await?;
        if !member.approved {
            return Err(Status::permission_denied(
                "this device is waiting for another device of the account to approve it",
            ));
        }
        Ok(member)
    }

    async fn membership(&self, device_id: &str) -> Result<AccountDevice, Status> {
        self.inner
            .store
            .account_of(device_id)
            .await
            .map_err(status::from_store)?
            .ok_or_else(|| {
                Status::failed_precondition(
                    "this device belongs to no account: call CreateAccount or JoinAccount first",
                )
            })
    }

    pub(super) async fn create_account_for(
        &self,
        request: Request<pb::CreateAccountRequest>,
    ) -> Result<Response<pb::CreateAccountResponse>, Status> {
        let device = self.authenticate(&request).await?;
        let wanted = request.into_inner();
        let (public_key, auth_secret) = device_key(wanted.device_key)?;
        check_device_name(&wanted.device_name)
            .map_err(|error| Status::invalid_argument(error.to_string()))?;
        let member = AccountDevice {
            account_id: new_account_id(),
            device_id: device.device_id,
            name: wanted.device_name,
            public_key,
            auth_secret,
            approved: true,
            added_at: now_millis(),
        };
        self.add_member(&member).await?;
        tracing::info!(account_id = %member.account_id, device_id = %member.device_id, "account created");
        Ok(Response::new(pb::CreateAccountResponse {
            account_id: member.account_id,
        }))
    }

    pub(super) async fn join_account_for(
        &self,
        request: Request<pb::JoinAccountRequest>,
    ) -> Result<Response<pb::JoinAccountResponse>, Status> {
        let device = self.authenticate(&request).await?;
        let wanted = request.into_inner();
        if !is_token(&wanted.account_id) {
            return Err(Status::invalid_argument(
                "account_id is not an account id (the 22-character token CreateAccount returned)",
            ));
        }
        let (public_key, auth_secret) = device_key(wanted.device_key)?;
        check_device_name(&wanted.device_name)
            .map_err(|error| Status::invalid_argument(error.to_string()))?;
        let members = self.members(&wanted.account_id).await?;
        if !members.iter().any(|member| member.approved) {
            return Err(Status::not_found("no such account"));
        }
        let limit = self.inner.limits.max_account_devices;
        if members.len() >= limit {
            return Err(Status::resource_exhausted(format!(
                "the account has {} devices (limit {limit}); remove one first",
                members.len()
            )));
        }
        let member = AccountDevice {
            account_id: wanted.account_id,
            device_id: device.device_id,
            name: wanted.device_name,
            public_key,
            auth_secret,
            approved: false,
            added_at: now_millis(),
        };
        self.add_member(&member).await?;
        Ok(Response::new(pb::JoinAccountResponse {}))
    }

    pub(super) async fn list_account_devices_for(
        &self,
        request: Request<pb::ListAccountDevicesRequest>,
    ) -> Result<Response<pb::ListAccountDevicesResponse>, Status> {
        let caller = self.approved_member(&request).await?;
        let devices = self
            .members(&caller.account_id)
            .await?
            .into_iter()
            .map(|member| to_proto(member, &caller.device_id))
            .collect();
        Ok(Response::new(pb::ListAccountDevicesResponse {
            account_id: caller.account_id,
            devices,
        }))
    }

    pub(super) async fn approve_device_for(
        &self,
        request: Request<pb::ApproveDeviceRequest>,
    ) -> Result<Response<pb::ApproveDeviceResponse>, Status> {
        let caller = self.approved_member(&request).await?;
        let target = request.into_inner().device_id;
        let approved = is_token(&target)
            && self
                .inner
                .store
                .approve_account_device(&caller.account_id, &target)
                .await
                .map_err(status::from_store)?;
        let member = self
            .members(&caller.account_id)
            .await?
            .into_iter()
            .find(|member| approved && member.device_id == target)
            .ok_or_else(|| Status::not_found("no device with this id is in your account"))?;
        tracing::info!(account_id = %caller.account_id, device_id = %target, "device approved");
        Ok(Response::new(pb::ApproveDeviceResponse {
            device: Some(to_proto(member, &caller.device_id)),
        }))
    }

    pub(super) async fn members(&self, account_id: &str) -> Result<Vec<AccountDevice>, Status> {
        self.inner
            .store
            .account_devices(account_id)
            .await
            .map_err(status::from_store)
    }

    async fn add_member(&self, member: &AccountDevice) -> Result<(), Status> {
        self.inner
            .store
            .add_account_device(member)
            .await
            .map_err(|error| match error {
                crate::store::StoreError::AlreadyExists(_) => Status::failed_precondition(
                    "this device already belongs to an account; remove it from that one first",
                ),
                other => status::from_store(other),
            })
    }
}

/// The device key's public point and auth secret, checked.
fn device_key(key: Option<pb::DeviceKey>) -> Result<(Vec<u8>, Vec<u8>), Status> {
    let key = key.ok_or_else(|| {
        Status::invalid_argument(
            "device_key is required: the device's own P-256 public key and 16-byte auth secret",
        )
    })?;
    crate::auth::check_p256_key(&key.public_key)
        .map_err(|problem| Status::invalid_argument(format!("device_key.public_key: {problem}")))?;
    if key.auth_secret.len() != 16 {
        return Err(Status::invalid_argument(format!(
            "device_key.auth_secret must be 16 bytes, got {}",
            key.auth_secret.len()
        )));
    }
    Ok((key.public_key, key.auth_secret))
}

fn to_proto(member: AccountDevice, caller: &str) -> pb::AccountDevice {
    pb::AccountDevice {
        this_device: member.device_id == caller,
        device_id: member.device_id,
        name: member.name,
        device_key: Some(pb::DeviceKey {
            public_key: member.public_key,
            auth_secret: member.auth_secret,
        }),
        approved: member.approved,
        added_at_unix_ms: member.added_at,
    }
}
