//! Listening for messages on behalf of a long-running host (a desktop app, a
//! foreground service): a callback the host implements, and a handle to
//! change presence or stop.

use std::sync::{Arc, Mutex};

use push_sdk::{DeviceClient, ListenEnd, ListenHandle, ListenOptions, Notification};
use tokio::sync::oneshot;

use crate::types::{DecryptedMessage, Presence};

/// Implemented by the app.
#[uniffi::export(with_foreign)]
pub trait PushListener: Send + Sync {
    fn on_message(&self, message: DecryptedMessage);
    /// Listening ended for good: `stop()` was called, another stream for
    /// this device took over, or the server refused the device.
    fn on_stopped(&self, reason: String);
}

#[derive(uniffi::Object)]
pub struct ListenerHandle {
    settings: ListenHandle,
    stop: Mutex<Option<oneshot::Sender<()>>>,
}

impl ListenerHandle {
    pub(crate) fn start(
        runtime: &tokio::runtime::Handle,
        client: DeviceClient,
        listener: Arc<dyn PushListener>,
        presence: Presence,
    ) -> Arc<Self> {
        let options = ListenOptions::default().with_presence(presence.into());
        let settings = options.handle();
        let (stop, stopped) = oneshot::channel::<()>();
        runtime.spawn(async move {
            let on_message = listener.clone();
            let for_scopes = client.clone();
            let handler = move |notification: Notification| {
                on_message.on_message(DecryptedMessage::with_scope(&for_scopes, notification));
                async {}
            };
            let shutdown = async {
                let _ = stopped.await;
            };
            let reason = match client.listen(handler, options, shutdown).await {
                Ok(ListenEnd::Shutdown) => "stopped".to_string(),
                Ok(ListenEnd::Replaced) => "replaced by a newer stream for this device".to_string(),
                Ok(ListenEnd::Revoked) => "this device was removed from its account".to_string(),
                Err(error) => error.to_string(),
            };
            listener.on_stopped(reason);
        });
        Arc::new(Self {
            settings,
            stop: Mutex::new(Some(stop)),
        })
    }
}

#[uniffi::export]
impl ListenerHandle {
    /// Tells the server where the user is: `Away` lets it use the bridge.
    pub fn set_presence(&self, presence: Presence) {
        self.settings.set_presence(presence.into());
    }

    pub fn stop(&self) {
        if let Ok(mut stop) = self.stop.lock()
            && let Some(stop) = stop.take()
        {
            let _ = stop.send(());
        }
    }
}
