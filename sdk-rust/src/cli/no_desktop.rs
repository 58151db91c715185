//! `pushctl listen --notify` where this build has no desktop notification client (the
//! `desktop-notify` feature is off, or the system has no freedesktop Notifications service):
//! asking for it is an error a person can act on, rather than a flag silently ignored.
use crate::Notification;
use crate::store::KeyStore;

/// No value exists: without a client there is never a desktop to show messages on.
pub(crate) enum Desktop {}

impl Desktop {
    pub(crate) async fn connect() -> anyhow::Result<Option<Desktop>> {
        anyhow::bail!(
            "--notify: this pushctl has no desktop notifications (they need Linux or a BSD and \
             push-sdk's desktop-notify cargo feature)"
        )
    }

    pub(crate) async fn show(&self, _: &KeyStore, _: &Notification) {
        match *self {}
    }
}
