//! `push.v1.Device/RemoveDevice`: taking a device out of its account.
//!
//! Removal is revocation: the device's credential, queue and sealed keys are
//! deleted and its open stream is closed, wherever in the cluster it is, so
//! nothing more reaches it from the moment the call returns.

use push_proto::v1 as pb;
use tonic::{Request, Response, Status};

use super::{PushApi, status};
use crate::domain::is_token;

impl PushApi {
    pub(super) async fn remove_device_for(
        &self,
        request: Request<pb::RemoveDeviceRequest>,
    ) -> Result<Response<pb::RemoveDeviceResponse>, Status> {
        let caller = self.member(&request).await?;
        let target = request.into_inner().device_id;
        // A pending device may withdraw itself, and nothing else.
        if target != caller.device_id && !caller.approved {
            return Err(Status::permission_denied(
                "this device is waiting for approval; it may only remove itself",
            ));
        }
        let members = self.members(&caller.account_id).await?;
        if !is_token(&target) || !members.iter().any(|member| member.device_id == target) {
            return Err(Status::not_found(
                "no device with this id is in your account",
            ));
        }
        let api = &self.inner;
        api.store
            .remove_device(&target)
            .await
            .map_err(status::from_store)?;
        api.hub.revoke(&target);
        if let Some(cluster) = &api.cluster {
            cluster.revoke(&target).await;
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
        Ok(Response::new(pb::RemoveDeviceResponse {}))
    }

    async fn forget_account_subscriptions(&self, account_id: &str) -> Result<(), Status> {
        let api = &self.inner;
        let subscriptions = api
            .store
            .account_subscriptions(account_id)
            .await
            .map_err(status::from_store)?;
        for subscription in subscriptions {
            api.store
                .delete_subscription(&subscription.device_id, &subscription.id)
                .await
                .map_err(status::from_store)?;
            api.subscriptions.invalidate(&subscription.id);
        }
        Ok(())
    }
}
