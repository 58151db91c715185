//! `push.v1.Device` PutSealedKeys / FetchSealedKeys: relaying an account
//! subscription's keys between the account's devices.
//!
//! The server checks who may send what to whom; it cannot open a bundle
//! (aes128gcm to the recipient's device key) and never needs to.

use push_proto::v1 as pb;
use tonic::{Request, Response, Status};

use super::{PushApi, status};
use crate::domain::{MAX_SEALED_BYTES, SealedKeys, check_aes128gcm, now_millis};

/// Most sealed bundles one PutSealedKeys may carry.
const MAX_BUNDLES_PER_CALL: usize = 256;

impl PushApi {
    pub(super) async fn put_sealed_keys_for(
        &self,
        request: Request<pb::PutSealedKeysRequest>,
    ) -> Result<Response<pb::PutSealedKeysResponse>, Status> {
        let caller = self.approved_member(&request).await?;
        let bundles = request.into_inner().keys;
        if bundles.is_empty() || bundles.len() > MAX_BUNDLES_PER_CALL {
            return Err(Status::invalid_argument(format!(
                "send 1 to {MAX_BUNDLES_PER_CALL} sealed bundles per call, got {}",
                bundles.len()
            )));
        }
        let members = self.members(&caller.account_id).await?;
        let subscriptions = self
            .inner
            .store
            .account_subscriptions(&caller.account_id)
            .await
            .map_err(status::from_store)?;
        let now = now_millis();
        let mut checked = Vec::with_capacity(bundles.len());
        for bundle in bundles {
            match members
                .iter()
                .find(|member| member.device_id == bundle.recipient_device_id)
            {
                Some(member) if member.approved => {}
                Some(_) => {
                    return Err(Status::failed_precondition(format!(
                        "device {} is not approved yet; approve it before sealing keys to it",
                        bundle.recipient_device_id
                    )));
                }
                None => {
                    return Err(Status::not_found(format!(
                        "recipient {:?} is not a device of your account",
                        bundle.recipient_device_id
                    )));
                }
            }
            if !subscriptions
                .iter()
                .any(|subscription| subscription.id == bundle.subscription_id)
            {
                return Err(Status::not_found(format!(
                    "subscription {:?} is not an account subscription of your account",
                    bundle.subscription_id
                )));
            }
            if bundle.sealed.len() > MAX_SEALED_BYTES {
                return Err(Status::invalid_argument(format!(
                    "sealed is {} bytes; at most {MAX_SEALED_BYTES}",
                    bundle.sealed.len()
                )));
            }
            check_aes128gcm(&bundle.sealed)
                .map_err(|error| Status::invalid_argument(format!("sealed: {error}")))?;
            checked.push(SealedKeys {
                recipient_device_id: bundle.recipient_device_id,
                subscription_id: bundle.subscription_id,
                sender_device_id: caller.device_id.clone(),
                sealed: bundle.sealed,
                created_at: now,
            });
        }
        self.inner
            .store
            .put_sealed_keys(&checked)
            .await
            .map_err(status::from_store)?;
        Ok(Response::new(pb::PutSealedKeysResponse {}))
    }

    pub(super) async fn fetch_sealed_keys_for(
        &self,
        request: Request<pb::FetchSealedKeysRequest>,
    ) -> Result<Response<pb::FetchSealedKeysResponse>, Status> {
        let caller = self.member(&request).await?;
        let keys = if caller.approved {
            self.inner
                .store
                .sealed_keys_for(&caller.device_id)
                .await
                .map_err(status::from_store)?
                .into_iter()
                .map(|bundle| pb::SealedKeys {
                    subscription_id: bundle.subscription_id,
                    recipient_device_id: bundle.recipient_device_id,
                    sender_device_id: bundle.sender_device_id,
                    sealed: bundle.sealed,
                    created_at_unix_ms: bundle.created_at,
                })
                .collect()
        } else {
            Vec::new()
        };
        Ok(Response::new(pb::FetchSealedKeysResponse {
            approved: caller.approved,
            keys,
        }))
    }
}
