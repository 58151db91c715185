//! The types a `listen` caller touches: what it configures ([`ListenOptions`]), how it changes
//! presence and urgency on the live stream ([`ListenHandle`]), and why listening ended
//! ([`ListenEnd`]); what it receives is a [`crate::Notification`].
use std::sync::Arc;
use std::time::Duration;

use push_proto::v1::{Presence, Urgency};
use tokio::sync::watch;

/// Why [`crate::DeviceClient::listen`] returned without an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenEnd {
    /// The caller's shutdown future completed.
    Shutdown,
    /// Another stream for this device took over (`GoAway` REPLACED); reconnecting would only
    /// steal it back.
    Replaced,
    /// This device was removed from its account (`GoAway` REVOKED); its credential no longer
    /// works, so the app should forget its keys.
    Revoked,
}

/// The presence and urgency threshold the server should apply; re-sent in `Hello` on every
/// reconnect, so a change made while disconnected is not lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StreamSettings {
    pub(crate) presence: Presence,
    pub(crate) min_urgency: Urgency,
}

/// Configuration for `listen`. `Default` is active presence, every urgency, reconnect delays
/// from 100 ms doubling to 30 s.
#[derive(Debug, Clone)]
pub struct ListenOptions {
    pub(crate) settings: Arc<watch::Sender<StreamSettings>>,
    /// First reconnect delay ceiling; each failure doubles it.
    pub backoff_initial: Duration,
    /// Largest reconnect delay ceiling.
    pub backoff_max: Duration,
    /// A stream that stayed up this long counts as healthy and resets the backoff.
    pub healthy_after: Duration,
}

impl Default for ListenOptions {
    fn default() -> Self {
        let settings = StreamSettings {
            presence: Presence::Active,
            min_urgency: Urgency::VeryLow,
        };
        ListenOptions {
            settings: Arc::new(watch::channel(settings).0),
            backoff_initial: Duration::from_millis(100),
            backoff_max: Duration::from_secs(30),
            healthy_after: Duration::from_secs(10),
        }
    }
}

impl ListenOptions {
    pub fn with_presence(self, presence: Presence) -> Self {
        self.settings
            .send_modify(|settings| settings.presence = presence);
        self
    }

    pub fn with_min_urgency(self, min_urgency: Urgency) -> Self {
        self.settings
            .send_modify(|settings| settings.min_urgency = min_urgency);
        self
    }

    /// A handle that changes presence or urgency threshold while `listen` runs.
    pub fn handle(&self) -> ListenHandle {
        ListenHandle {
            settings: Arc::clone(&self.settings),
        }
    }
}

/// Changes the live stream's settings; the listener forwards each change as a
/// `SetPresence` / `SetMinUrgency` frame. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ListenHandle {
    settings: Arc<watch::Sender<StreamSettings>>,
}

impl ListenHandle {
    pub fn set_presence(&self, presence: Presence) {
        self.settings.send_if_modified(|settings| {
            let changed = settings.presence != presence;
            settings.presence = presence;
            changed
        });
    }

    pub fn set_min_urgency(&self, min_urgency: Urgency) {
        self.settings.send_if_modified(|settings| {
            let changed = settings.min_urgency != min_urgency;
            settings.min_urgency = min_urgency;
            changed
        });
    }
}
