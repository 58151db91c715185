//! [`PushManager`]: everything an app does with push, one object per install.

use std::collections::HashMap;
use std::sync::Arc;

use push_sdk::store::StoredSubscription;
use push_sdk::subscription::SubscriptionInfo as W3cSubscription;
use push_sdk::{DeviceClient, IdentityTokenError, MobileBridge, Notification, TokenSource};

use crate::error::PushError;
use crate::listener::{ListenerHandle, PushListener};
use crate::types::{BridgeKind, DecryptedMessage, Presence, SubscriptionInfo};

/// Longest scope accepted; scopes are names, not data.
const MAX_SCOPE: usize = 512;

#[derive(uniffi::Object)]
pub struct PushManager {
    pub(crate) runtime: tokio::runtime::Runtime,
    pub(crate) client: DeviceClient,
    bridge: BridgeKind,
}

impl PushManager {
    pub(crate) fn info(&self, scope: &str, stored: &StoredSubscription) -> SubscriptionInfo {
        let w3c = W3cSubscription::new(
            &stored.endpoint,
            stored.keys.public_key(),
            stored.keys.auth_secret(),
        );
        SubscriptionInfo {
            scope: scope.to_string(),
            endpoint: w3c.endpoint.clone(),
            p256dh: w3c.keys.p256dh.clone(),
            auth: w3c.keys.auth.clone(),
            json: w3c.to_json(),
        }
    }

    /// The subscription just made for `scope`, as the app hands it out.
    pub(crate) fn created(&self, scope: &str) -> Result<SubscriptionInfo, PushError> {
        let created = self
            .client
            .store()
            .subscription_for_scope(scope)
            .map_err(storage)?
            .ok_or_else(|| PushError::Storage {
                reason: "the new subscription was not kept".into(),
            })?;
        Ok(self.info(scope, &created))
    }

    fn message(&self, notification: Notification) -> DecryptedMessage {
        DecryptedMessage::with_scope(&self.client, notification)
    }
}

/// Implemented by the app when the push service trusts its identity provider.
#[uniffi::export(with_foreign)]
pub trait IdentityProvider: Send + Sync {
    /// The signed-in user's current ID token (refreshed as the app does);
    /// an error when nobody is signed in.
    fn id_token(&self) -> Result<String, PushError>;
}

fn sdk_runtime() -> Result<tokio::runtime::Runtime, PushError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("push-sdk")
        .enable_all()
        .build()
        .map_err(|error| PushError::Storage {
            reason: format!("starting the SDK's threads: {error}"),
        })
}

pub(crate) fn check_scope(scope: &str) -> Result<(), PushError> {
    if scope.is_empty() || scope.len() > MAX_SCOPE {
        return Err(PushError::invalid(format!(
            "scope must be 1 to {MAX_SCOPE} bytes"
        )));
    }
    Ok(())
}

#[uniffi::export]
impl PushManager {
    /// Opens (or creates, registering with `server_url`) the device whose
    /// keys live in the SQLite file at `database_path`.
    #[uniffi::constructor]
    pub fn new(
        server_url: String,
        database_path: String,
        bridge: BridgeKind,
    ) -> Result<Arc<Self>, PushError> {
        let runtime = sdk_runtime()?;
        let client = runtime.block_on(DeviceClient::open(&server_url, &database_path))?;
        Ok(Arc::new(Self {
            runtime,
            client,
            bridge,
        }))
    }

    /// Like `new`, for a push service that signs devices in with the app's
    /// identity provider (OpenID Connect): `identity` hands the SDK the
    /// signed-in user's current ID token whenever it calls the server.
    #[uniffi::constructor]
    pub fn with_identity(
        server_url: String,
        database_path: String,
        bridge: BridgeKind,
        identity: Arc<dyn IdentityProvider>,
    ) -> Result<Arc<Self>, PushError> {
        let runtime = sdk_runtime()?;
        let token: TokenSource = Arc::new(move || {
            identity
                .id_token()
                .map_err(|error| IdentityTokenError::new(error.to_string()))
        });
        let client = runtime.block_on(DeviceClient::open_with_identity(
            &server_url,
            &database_path,
            token,
        ))?;
        Ok(Arc::new(Self {
            runtime,
            client,
            bridge,
        }))
    }

    /// The subscription for `scope`, made if needed. Asking again with the
    /// same sender key returns the same subscription; a different key
    /// replaces it (the old endpoint stops working).
    pub fn subscribe(
        &self,
        scope: String,
        app_server_key: Option<Vec<u8>>,
    ) -> Result<SubscriptionInfo, PushError> {
        check_scope(&scope)?;
        let store = self.client.store();
        if let Some(existing) = store.subscription_for_scope(&scope).map_err(storage)? {
            if existing.app_server_key == app_server_key {
                return Ok(self.info(&scope, &existing));
            }
            self.runtime
                .block_on(self.client.unsubscribe(&existing.id))?;
        }
        self.runtime.block_on(
            self.client
                .subscribe_in_scope(&scope, app_server_key.as_deref()),
        )?;
        self.created(&scope)
    }

    pub fn get_subscription(&self, scope: String) -> Result<Option<SubscriptionInfo>, PushError> {
        let stored = self
            .client
            .store()
            .subscription_for_scope(&scope)
            .map_err(storage)?;
        Ok(stored.map(|stored| self.info(&scope, &stored)))
    }

    /// Removes the scope's subscription here and on the server; false if
    /// there was none.
    pub fn unsubscribe(&self, scope: String) -> Result<bool, PushError> {
        let stored = self
            .client
            .store()
            .subscription_for_scope(&scope)
            .map_err(storage)?;
        match stored {
            Some(stored) => {
                self.runtime.block_on(self.client.unsubscribe(&stored.id))?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Removes this device's own subscriptions. Account subscriptions stay:
    /// they belong to every device of the account (`remove_device` with this
    /// device's id leaves the account).
    pub fn unsubscribe_all(&self) -> Result<(), PushError> {
        let own = self.client.subscriptions()?.into_iter();
        for stored in own.filter(|stored| !stored.for_account) {
            self.runtime.block_on(self.client.unsubscribe(&stored.id))?;
        }
        Ok(())
    }

    /// Tells the server the token the OS gave this app for its bridge.
    pub fn update_bridge_token(&self, token: String) -> Result<(), PushError> {
        let bridge = match &self.bridge {
            BridgeKind::None => {
                return Err(PushError::invalid(
                    "this PushManager was made without a bridge (BridgeKind.None)",
                ));
            }
            BridgeKind::Apns { bundle_id, sandbox } => MobileBridge::Apns {
                device_token: token,
                bundle_id: bundle_id.clone(),
                sandbox: *sandbox,
            },
            BridgeKind::Fcm { project_id } => MobileBridge::Fcm {
                registration_token: token,
                project_id: project_id.clone(),
            },
        };
        self.runtime.block_on(self.client.set_bridge(&bridge))?;
        Ok(())
    }

    /// Compares the subscriptions kept here with the server's, forgets the
    /// ones the server no longer has, and returns their scopes: the app must
    /// subscribe those again and give the senders the new endpoints.
    pub fn verify_connection(&self) -> Result<Vec<String>, PushError> {
        let on_server = self
            .runtime
            .block_on(self.client.server_subscription_ids())?;
        let store = self.client.store();
        let mut lost = Vec::new();
        for stored in self.client.subscriptions()? {
            if !on_server.contains(&stored.id) {
                if let Some(scope) = store.scope_of(&stored.id).map_err(storage)? {
                    lost.push(scope);
                }
                store.remove_subscription(&stored.id).map_err(storage)?;
            }
        }
        Ok(lost)
    }

    /// Opens a message that came through APNs (the `push` dictionary) or FCM
    /// (the data map). None if it was already seen, or is gone from the server.
    pub fn decrypt(
        &self,
        fields: HashMap<String, String>,
    ) -> Result<Option<DecryptedMessage>, PushError> {
        let opened = self.runtime.block_on(self.client.open_bridged(&fields))?;
        Ok(opened.map(|notification| self.message(notification)))
    }

    /// Every stored message not seen yet (after a wake-up, or at app start).
    pub fn fetch_pending(&self) -> Result<Vec<DecryptedMessage>, PushError> {
        let opened = self.runtime.block_on(self.client.fetch_pending())?;
        Ok(opened
            .into_iter()
            .map(|notification| self.message(notification))
            .collect())
    }

    /// Holds a stream open (reconnecting as needed) and calls `listener` for
    /// each new message, on the SDK's threads, until the handle is stopped.
    pub fn listen(
        &self,
        listener: Arc<dyn PushListener>,
        presence: Presence,
    ) -> Arc<ListenerHandle> {
        ListenerHandle::start(
            self.runtime.handle(),
            self.client.clone(),
            listener,
            presence,
        )
    }
}

pub(crate) fn storage(error: push_sdk::store::StoreError) -> PushError {
    PushError::Storage {
        reason: error.to_string(),
    }
}
