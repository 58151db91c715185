//! [`DeviceClient`]: the device side of pushd. Registers once, keeps its credential and
//! subscription keys in a [`KeyStore`], creates and removes subscriptions, and listens.
//!
//! Private keys are generated here and never leave the device; the server only ever sees the
//! public half and the auth secret's base64 (which it echoes into the subscription JSON).
mod account;
mod account_keys;
mod backoff;
mod bridged;
mod identity;
mod listen;
mod open;
mod options;
mod senders;

use std::path::Path;
use std::sync::Arc;

use push_proto::v1::device_client::DeviceClient as GrpcDeviceClient;
use push_proto::v1::{RegisterRequest, SubscribeRequest, UnsubscribeRequest};
use tonic::transport::Channel;

use crate::channel::{self, UNARY_TIMEOUT};
use crate::store::{DeviceRecord, KeyStore, StoredSubscription};
use crate::subscription::SubscriptionInfo;
use crate::{SdkError, b64, crypto};

pub use account::{AccountMember, AccountSync};
pub use bridged::MobileBridge;
use identity::Identity;
pub use identity::TokenSource;
pub use options::{ListenEnd, ListenHandle, ListenOptions};
pub use senders::{ApprovedSender, Senders};

/// A registered device. Cheap to clone; clones share the connection and keystore.
#[derive(Clone)]
pub struct DeviceClient {
    grpc: GrpcDeviceClient<Channel>,
    store: Arc<KeyStore>,
    device_id: String,
    /// What every call presents.
    identity: Identity,
}

impl DeviceClient {
    /// Opens the keystore at `db_path`. A fresh keystore registers with `server_url`; one that
    /// already holds a device reuses its credential, and must belong to the same server.
    pub async fn open(server_url: &str, db_path: impl AsRef<Path>) -> Result<Self, SdkError> {
        let store = KeyStore::open(db_path)?;
        let grpc = connect(server_url)?;
        let device = match store.device()? {
            Some(device) if !same_server(&device.server_url, server_url) => {
                return Err(SdkError::ServerMismatch {
                    stored: device.server_url,
                    requested: server_url.to_owned(),
                });
            }
            Some(device) if device.credential.is_empty() => {
                return Err(SdkError::Protocol(
                    "this device authenticates with an identity provider: open it with open_with_identity".into(),
                ));
            }
            Some(device) => device,
            None => register(grpc.clone(), server_url, &store).await?,
        };
        Ok(Self::assemble(grpc, store, device))
    }

    /// Opens a keystore that already holds a device, using the server it registered with.
    pub async fn open_registered(db_path: impl AsRef<Path>) -> Result<Self, SdkError> {
        let store = KeyStore::open(db_path)?;
        let device = store.device()?.ok_or(SdkError::NotRegistered)?;
        let grpc = connect(&device.server_url)?;
        Ok(Self::assemble(grpc, store, device))
    }

    fn assemble(grpc: GrpcDeviceClient<Channel>, store: KeyStore, device: DeviceRecord) -> Self {
        let identity = Identity::Credential(format!("Bearer {}", device.credential).into());
        Self::with_identity(grpc, store, device, identity)
    }

    fn with_identity(
        grpc: GrpcDeviceClient<Channel>,
        store: KeyStore,
        device: DeviceRecord,
        identity: Identity,
    ) -> Self {
        DeviceClient {
            grpc,
            store: Arc::new(store),
            identity,
            device_id: device.device_id,
        }
    }

    pub fn device_id(&self) -> &str {
        &self.device_id
    }

    /// The local keystore, e.g. to inspect subscriptions.
    pub fn store(&self) -> &KeyStore {
        &self.store
    }

    /// Creates a subscription, optionally pinned to one application server's VAPID key, and
    /// returns the JSON to hand to that application server.
    pub async fn subscribe(
        &self,
        app_server_key: Option<&[u8]>,
    ) -> Result<SubscriptionInfo, SdkError> {
        Ok(self.create_subscription(app_server_key, false).await?.1)
    }

    /// Like [`DeviceClient::subscribe`], naming the subscription `scope` (an
    /// app's own name for it, e.g. the site's origin) in the keystore.
    pub async fn subscribe_in_scope(
        &self,
        scope: &str,
        app_server_key: Option<&[u8]>,
    ) -> Result<SubscriptionInfo, SdkError> {
        let (id, info) = self.create_subscription(app_server_key, false).await?;
        self.store.set_scope(scope, &id)?;
        Ok(info)
    }

    /// The ids of the subscriptions the server holds for this device.
    pub async fn server_subscription_ids(&self) -> Result<Vec<String>, SdkError> {
        let request = self.request(push_proto::v1::ListSubscriptionsRequest {})?;
        let reply = self.grpc.clone().list_subscriptions(request).await?;
        Ok(reply
            .into_inner()
            .subscriptions
            .into_iter()
            .map(|subscription| subscription.id)
            .collect())
    }

    async fn create_subscription(
        &self,
        app_server_key: Option<&[u8]>,
        for_account: bool,
    ) -> Result<(String, SubscriptionInfo), SdkError> {
        let keys = crypto::generate_subscription_keys()?;
        let message = SubscribeRequest {
            app_server_key: app_server_key.map(<[u8]>::to_vec).unwrap_or_default(),
            p256dh: b64::encode(keys.public_key()),
            auth: b64::encode(keys.auth_secret()),
            for_account,
        };
        let reply = self
            .grpc
            .clone()
            .subscribe(self.request(message)?)
            .await?
            .into_inner();
        let subscription = reply
            .subscription
            .ok_or_else(|| SdkError::Protocol("SubscribeResponse without a subscription".into()))?;
        let info = SubscriptionInfo::new(
            &subscription.endpoint,
            keys.public_key(),
            keys.auth_secret(),
        );
        self.store.insert_subscription(&StoredSubscription {
            id: subscription.id.clone(),
            endpoint: subscription.endpoint,
            app_server_key: app_server_key.map(<[u8]>::to_vec),
            keys,
            created_at_unix_ms: subscription.created_at_unix_ms,
            for_account,
        })?;
        Ok((subscription.id, info))
    }

    /// Removes a subscription on the server, then its keys here. A subscription the server no
    /// longer knows is still removed locally.
    pub async fn unsubscribe(&self, subscription_id: &str) -> Result<(), SdkError> {
        let message = UnsubscribeRequest {
            subscription_id: subscription_id.to_owned(),
        };
        match self.grpc.clone().unsubscribe(self.request(message)?).await {
            Ok(_) => {}
            Err(status) if status.code() == tonic::Code::NotFound => {}
            Err(status) => return Err(status.into()),
        }
        self.store.remove_subscription(subscription_id)?;
        Ok(())
    }

    /// The subscriptions this device holds keys for.
    pub fn subscriptions(&self) -> Result<Vec<StoredSubscription>, SdkError> {
        Ok(self.store.subscriptions()?)
    }

    fn request<T>(&self, message: T) -> Result<tonic::Request<T>, SdkError> {
        let mut request = self.identity.authorize(message)?;
        request.set_timeout(UNARY_TIMEOUT);
        Ok(request)
    }
}

/// Whether two server URLs name the same server, ignoring a trailing slash.
fn same_server(stored: &str, requested: &str) -> bool {
    stored.trim_end_matches('/') == requested.trim_end_matches('/')
}

/// A lazily connecting client: a device must be able to open its keystore offline, and
/// `listen` retries the connection itself.
fn connect(server_url: &str) -> Result<GrpcDeviceClient<Channel>, SdkError> {
    Ok(GrpcDeviceClient::new(
        channel::endpoint(server_url)?.connect_lazy(),
    ))
}

async fn register(
    mut grpc: GrpcDeviceClient<Channel>,
    server_url: &str,
    store: &KeyStore,
) -> Result<DeviceRecord, SdkError> {
    let mut request = tonic::Request::new(RegisterRequest {});
    request.set_timeout(UNARY_TIMEOUT);
    let reply = grpc.register(request).await?.into_inner();
    if reply.device_id.is_empty() || reply.credential.is_empty() {
        return Err(SdkError::Protocol(
            "RegisterResponse without device id or credential".into(),
        ));
    }
    let device = DeviceRecord {
        server_url: server_url.to_owned(),
        device_id: reply.device_id,
        credential: reply.credential,
    };
    // The credential is shown once: losing it here would orphan the device on the server.
    store.set_device(&device)?;
    Ok(device)
}
