//! `pushctl listen`: each decrypted message as one JSON line on stdout, kept in the inbox, and
//! with `--notify` shown as a desktop notification too. Stdout stays the same with or without
//! `--notify`, so scripts reading it keep working when a person also wants to see messages.
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;

use super::desktop::Desktop;
use super::{DeviceArgs, PresenceArg, UrgencyArg, device, urgency_name};
use crate::store::KeyStore;
use crate::{ListenEnd, ListenOptions, Notification};

/// Print each message as one JSON line, keep it in the inbox, ack it, and run until Ctrl-C.
#[derive(Debug, clap::Args)]
pub struct ListenArgs {
    #[command(flatten)]
    device: DeviceArgs,
    /// Leave less urgent messages queued on the server.
    #[arg(long, value_enum, default_value_t = UrgencyArg::VeryLow)]
    min_urgency: UrgencyArg,
    #[arg(long, value_enum, default_value_t = PresenceArg::Active)]
    presence: PresenceArg,
    /// Also show each message as a desktop notification (freedesktop, on the session bus).
    #[arg(long)]
    notify: bool,
    /// Do not keep messages in the inbox (`pushctl inbox`).
    #[arg(long)]
    no_inbox: bool,
}

pub(super) async fn run(args: ListenArgs) -> anyhow::Result<()> {
    let client = device::open(&args.device).await?;
    let desktop = if args.notify {
        Desktop::connect().await?
    } else {
        None
    };
    let options = ListenOptions::default()
        .with_min_urgency(args.min_urgency.into())
        .with_presence(args.presence.into());
    let shutdown = async {
        // If the handler cannot be installed there is no Ctrl-C to wait for; run until killed.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let store = client.store();
    let keep = !args.no_inbox;
    let desktop = desktop.as_ref();
    let handle = |notification: Notification| async move {
        println!("{}", notification_json(&notification));
        if keep {
            keep_in_inbox(store, &notification);
        }
        if let Some(desktop) = desktop {
            desktop.show(store, &notification).await;
        }
    };
    match client.listen(handle, options, shutdown).await? {
        ListenEnd::Shutdown => Ok(()),
        ListenEnd::Replaced => {
            anyhow::bail!("another listener for this device took over the stream")
        }
        ListenEnd::Revoked => {
            anyhow::bail!("this device was removed from its account; register a new one")
        }
    }
}

/// A failing inbox must not lose the message: it was printed and is still acked.
fn keep_in_inbox(store: &KeyStore, notification: &Notification) {
    let now_unix_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_millis().try_into().unwrap_or(i64::MAX));
    if let Err(err) = store.keep_in_inbox(notification, now_unix_ms) {
        tracing::warn!(error = %err, message_id = %notification.message_id, "not kept in the inbox");
    }
}

/// One output line: the payload as text when it is UTF-8, else as base64.
pub(crate) fn notification_json(notification: &Notification) -> serde_json::Value {
    let mut line = json!({
        "message_id": notification.message_id,
        "subscription_id": notification.subscription_id,
        "topic": notification.topic,
        "urgency": urgency_name(notification.urgency),
    });
    match std::str::from_utf8(&notification.payload) {
        Ok(text) => line["payload"] = json!(text),
        Err(_) => line["payload_base64"] = json!(STANDARD.encode(&notification.payload)),
    }
    line
}
