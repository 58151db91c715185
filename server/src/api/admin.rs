//! `push.admin.v1.Admin`: the operator's service-wide sender blocks, behind
//! the admin token. Blocks take effect on this node at once and on the
//! others at their next reload of the list.

use std::sync::Arc;

use push_proto::admin::{self as admin_pb, admin_server, sender_ref};
use tonic::{Request, Response, Status};

use crate::auth::{BearerSecret, ServiceBlocks, normalize_contact};
use crate::domain::BlockOwner;
use crate::error::ApiError;
use crate::store::Store;

pub(crate) struct AdminApi {
    store: Arc<dyn Store>,
    blocks: Arc<ServiceBlocks>,
}

pub(crate) type GuardedAdmin = tonic::service::interceptor::InterceptedService<
    admin_server::AdminServer<AdminApi>,
    BearerSecret,
>;

/// The admin service, answering only calls bearing `token`.
pub(crate) fn admin_service(
    store: Arc<dyn Store>,
    blocks: Arc<ServiceBlocks>,
    token: &str,
) -> GuardedAdmin {
    admin_server::AdminServer::with_interceptor(
        AdminApi { store, blocks },
        BearerSecret::new(
            token,
            "the admin API needs the admin token (authorization: Bearer <admin_token>)",
        ),
    )
}

/// Which list a sender reference goes on, and its stored form.
fn entry(sender: Option<admin_pb::SenderRef>) -> Result<(BlockOwner, Vec<u8>), ApiError> {
    match sender.and_then(|sender| sender.sender) {
        Some(sender_ref::Sender::AppServerKey(key)) => {
            crate::senders::check_key(&key)?;
            Ok((BlockOwner::ServiceKeys, key))
        }
        Some(sender_ref::Sender::Contact(contact)) => {
            let contact = normalize_contact(&contact);
            if !(contact.starts_with("mailto:") || contact.starts_with("https:")) {
                return Err(ApiError::Invalid(
                    "contact must be a VAPID subject: mailto:… or https://…".into(),
                ));
            }
            Ok((BlockOwner::ServiceContacts, contact.into_bytes()))
        }
        None => Err(ApiError::Invalid(
            "sender is required: an app_server_key or a contact".into(),
        )),
    }
}

impl AdminApi {
    async fn reload(&self) -> Result<(), Status> {
        self.blocks
            .reload(self.store.as_ref())
            .await
            .map_err(Status::from)
    }
}

#[tonic::async_trait]
impl admin_server::Admin for AdminApi {
    async fn block_sender(
        &self,
        request: Request<admin_pb::BlockSenderRequest>,
    ) -> Result<Response<admin_pb::BlockSenderResponse>, Status> {
        let (owner, value) = entry(request.into_inner().sender)?;
        self.store.block_sender(&owner.key(), &value).await?;
        self.reload().await?;
        tracing::info!(list = %owner.key(), "sender blocked by the operator");
        Ok(Response::new(admin_pb::BlockSenderResponse {}))
    }

    async fn unblock_sender(
        &self,
        request: Request<admin_pb::UnblockSenderRequest>,
    ) -> Result<Response<admin_pb::UnblockSenderResponse>, Status> {
        let (owner, value) = entry(request.into_inner().sender)?;
        let lifted = self.store.unblock_sender(&owner.key(), &value).await?;
        self.reload().await?;
        if !lifted {
            return Err(ApiError::NotFound("this sender is not blocked".into()).into());
        }
        Ok(Response::new(admin_pb::UnblockSenderResponse {}))
    }

    async fn list_blocked_senders(
        &self,
        _request: Request<admin_pb::ListBlockedSendersRequest>,
    ) -> Result<Response<admin_pb::ListBlockedSendersResponse>, Status> {
        let app_server_keys = self
            .store
            .blocked_senders(&BlockOwner::ServiceKeys.key())
            .await?;
        let contacts = self
            .store
            .blocked_senders(&BlockOwner::ServiceContacts.key())
            .await?
            .into_iter()
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .collect();
        Ok(Response::new(admin_pb::ListBlockedSendersResponse {
            app_server_keys,
            contacts,
        }))
    }
}
