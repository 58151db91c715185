//! `pushctl listen --notify`: each message as a desktop notification, through the freedesktop
//! Notifications service (`org.freedesktop.Notifications.Notify`) on the session bus.
//!
//! A desktop that cannot show notifications must not stop messages from arriving: when the
//! service is unreachable pushctl says so once on stderr and keeps printing and keeping them.
//! Every bus call is bounded so a stuck service cannot stall the stream (messages are acked
//! only after they were shown).
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use push_proto::v1::Urgency;

use super::notice::Notice;
use crate::Notification;
use crate::store::KeyStore;

/// Longer than any live notification service takes; short enough that a stuck one only delays.
const BUS_CALL_TIMEOUT: Duration = Duration::from_secs(5);

pub(crate) struct Desktop {
    /// The service renders body markup, so text must be escaped to be shown as written.
    escape_markup: bool,
    /// A failed `Notify` is reported once; the rest would only repeat it.
    warned: AtomicBool,
}

impl Desktop {
    /// Asks the notification service what it supports; None, after one warning on stderr, when
    /// there is no session bus or no service on it.
    pub(crate) async fn connect() -> anyhow::Result<Option<Desktop>> {
        Ok(Self::query().await)
    }

    async fn query() -> Option<Desktop> {
        // notify-rust offers this query only as a blocking call; keep it off the runtime.
        let query = tokio::task::spawn_blocking(notify_rust::get_capabilities);
        let capabilities = match tokio::time::timeout(BUS_CALL_TIMEOUT, query).await {
            Ok(Ok(Ok(capabilities))) => capabilities,
            Ok(Ok(Err(err))) => return unavailable(&err.to_string()),
            Ok(Err(join)) => return unavailable(&join.to_string()),
            Err(_) => return unavailable("the notification service did not answer"),
        };
        Some(Desktop {
            escape_markup: capabilities.iter().any(|c| c == "body-markup"),
            warned: AtomicBool::new(false),
        })
    }

    /// Shows `notification` under its subscription's label (scope), if it has one.
    pub(crate) async fn show(&self, store: &KeyStore, notification: &Notification) {
        // A failed lookup only costs the label; the message is shown all the same.
        let label = store.scope_of(&notification.subscription_id).ok().flatten();
        let notice = Notice::from_payload(&notification.payload, label.as_deref());
        self.show_notice(&notice, notification.urgency).await;
    }

    /// A failure is reported (once) and otherwise ignored.
    async fn show_notice(&self, notice: &Notice, urgency: Urgency) {
        let body = if self.escape_markup {
            escape_markup(&notice.body)
        } else {
            notice.body.clone()
        };
        let mut notification = notify_rust::Notification::new();
        notification
            .appname("pushctl")
            .summary(&notice.summary)
            .body(&body)
            .icon(&notice.icon)
            .urgency(match urgency {
                Urgency::VeryLow | Urgency::Low => notify_rust::Urgency::Low,
                _ => notify_rust::Urgency::Normal,
            });
        let failure = match tokio::time::timeout(BUS_CALL_TIMEOUT, notification.show_async()).await
        {
            Ok(Ok(_handle)) => return,
            Ok(Err(err)) => err.to_string(),
            Err(_) => "the notification service did not answer".to_owned(),
        };
        if !self.warned.swap(true, Ordering::Relaxed) {
            eprintln!(
                "pushctl: warning: a desktop notification could not be shown ({failure}); \
                 messages are still printed and kept in the inbox"
            );
        }
    }
}

fn unavailable(reason: &str) -> Option<Desktop> {
    eprintln!(
        "pushctl: warning: --notify: no desktop notification service on the session bus \
         ({reason}); check DBUS_SESSION_BUS_ADDRESS; still listening: messages are printed and \
         kept in the inbox"
    );
    None
}

/// Body text as the literal characters it holds, for a service that parses markup.
fn escape_markup(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            _ => escaped.push(c),
        }
    }
    escaped
}
