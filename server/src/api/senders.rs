//! `push.v1.Device` ListSenders / RevokeSender / UnblockSender: the device's
//! say over who may send to it.
//!
//! A device approves a sender by subscribing with its application-server
//! key. Revoking removes every subscription bound to that key, so the sender
//! gets NOT_FOUND (the gRPC twin of HTTP 410) and drops the endpoint. A block
//! makes Subscribe refuse the key afterwards. An approved account member's
//! blocks go on the account's list, which covers every device of it.
//! Subscriptions made without a key accept any identified sender and are
//! outside this: a device that wants a say uses keys.

use std::collections::BTreeMap;

use push_proto::v1 as pb;
use tonic::{Request, Response, Status};

use super::{PushApi, status};
use crate::domain::{BlockOwner, SubscriptionRecord};

/// Whom a device's decisions cover: itself, and its account when approved.
pub(super) struct Reach {
    pub owners: Vec<BlockOwner>,
    pub subscriptions: Vec<SubscriptionRecord>,
}

/// The block lists covering a device: its own, then its account's (the one
/// a new block goes on).
fn block_owners(device_id: &str, approved_account: Option<String>) -> Vec<BlockOwner> {
    let mut owners = vec![BlockOwner::Device(device_id.to_owned())];
    owners.extend(approved_account.map(BlockOwner::Account));
    owners
}

impl PushApi {
    /// The account the device is an approved member of, if any.
    async fn approved_account(&self, device_id: &str) -> Result<Option<String>, Status> {
        let member = self
            .inner
            .store
            .account_of(device_id)
            .await
            .map_err(status::from_store)?;
        Ok(member
            .filter(|member| member.approved)
            .map(|member| member.account_id))
    }

    /// The device's own subscriptions and, once approved, its account's:
    /// everything its decisions cover.
    pub(super) async fn reach(&self, device_id: &str) -> Result<Reach, Status> {
        let store = &self.inner.store;
        let account = self.approved_account(device_id).await?;
        let mut subscriptions = store
            .subscriptions_of(device_id)
            .await
            .map_err(status::from_store)?;
        if let Some(account_id) = &account {
            subscriptions.extend(
                store
                    .account_subscriptions(account_id)
                    .await
                    .map_err(status::from_store)?,
            );
        }
        Ok(Reach {
            owners: block_owners(device_id, account),
            subscriptions,
        })
    }

    /// Refuses a key the device, its account or the operator blocked.
    pub(super) async fn check_not_blocked(
        &self,
        device_id: &str,
        key: &[u8],
    ) -> Result<(), Status> {
        if self.inner.service_blocks.key_blocked(key) {
            return Err(Status::permission_denied(
                "this application server key is blocked on this push service",
            ));
        }
        let account = self.approved_account(device_id).await?;
        for owner in block_owners(device_id, account) {
            let blocked = self
                .inner
                .store
                .blocked_senders(&owner.key())
                .await
                .map_err(status::from_store)?;
            if blocked.iter().any(|blocked| blocked == key) {
                return Err(Status::permission_denied(
                    "this device blocked this sender; call UnblockSender first if that was a mistake",
                ));
            }
        }
        Ok(())
    }

    pub(super) async fn list_senders_for(
        &self,
        request: Request<pb::ListSendersRequest>,
    ) -> Result<Response<pb::ListSendersResponse>, Status> {
        let device = self.authenticate(&request).await?;
        let reach = self.reach(&device.device_id).await?;
        let mut approved: BTreeMap<Vec<u8>, Vec<String>> = BTreeMap::new();
        for subscription in reach.subscriptions {
            if let Some(key) = subscription.app_server_key {
                approved.entry(key).or_default().push(subscription.id);
            }
        }
        let mut blocked = Vec::new();
        for owner in &reach.owners {
            blocked.extend(
                self.inner
                    .store
                    .blocked_senders(&owner.key())
                    .await
                    .map_err(status::from_store)?,
            );
        }
        blocked.sort();
        blocked.dedup();
        Ok(Response::new(pb::ListSendersResponse {
            approved: approved
                .into_iter()
                .map(|(app_server_key, subscription_ids)| pb::ApprovedSender {
                    app_server_key,
                    subscription_ids,
                })
                .collect(),
            blocked,
        }))
    }

    pub(super) async fn revoke_sender_for(
        &self,
        request: Request<pb::RevokeSenderRequest>,
    ) -> Result<Response<pb::RevokeSenderResponse>, Status> {
        let device = self.authenticate(&request).await?;
        let wanted = request.into_inner();
        check_key(&wanted.app_server_key)?;
        let reach = self.reach(&device.device_id).await?;
        let api = &self.inner;
        let mut removed = 0;
        for subscription in reach.subscriptions {
            if subscription.app_server_key.as_deref() != Some(&wanted.app_server_key[..]) {
                continue;
            }
            // Stored under the device that created it (an account's may be another's).
            if api
                .store
                .delete_subscription(&subscription.device_id, &subscription.id)
                .await
                .map_err(status::from_store)?
            {
                removed += 1;
            }
            api.subscriptions.invalidate(&subscription.id);
        }
        if wanted.block {
            let owner = reach.owners.last().map(BlockOwner::key).unwrap_or_default();
            api.store
                .block_sender(&owner, &wanted.app_server_key)
                .await
                .map_err(status::from_store)?;
        } else if removed == 0 {
            return Err(Status::not_found(
                "no subscription of this device is bound to this sender key",
            ));
        }
        Ok(Response::new(pb::RevokeSenderResponse {
            removed_subscriptions: removed,
        }))
    }

    pub(super) async fn unblock_sender_for(
        &self,
        request: Request<pb::UnblockSenderRequest>,
    ) -> Result<Response<pb::UnblockSenderResponse>, Status> {
        let device = self.authenticate(&request).await?;
        let key = request.into_inner().app_server_key;
        check_key(&key)?;
        let mut lifted = false;
        for owner in self.reach(&device.device_id).await?.owners {
            lifted |= self
                .inner
                .store
                .unblock_sender(&owner.key(), &key)
                .await
                .map_err(status::from_store)?;
        }
        if !lifted {
            return Err(Status::not_found("this sender key is not blocked here"));
        }
        Ok(Response::new(pb::UnblockSenderResponse {}))
    }
}

fn check_key(key: &[u8]) -> Result<(), Status> {
    crate::auth::check_p256_key(key)
        .map_err(|problem| Status::invalid_argument(format!("app_server_key: {problem}")))
}
