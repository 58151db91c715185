//! `pushctl register | subscribe | unsubscribe | subscriptions | listen`: the device side.
use std::path::Path;

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use push_proto::v1::{Presence, Urgency};
use serde_json::json;

use super::{DeviceArgs, urgency_name};
use crate::{DeviceClient, ListenEnd, ListenOptions, Notification, b64};

pub(super) async fn register(server: &str, db: &Path) -> anyhow::Result<()> {
    let client = DeviceClient::open(server, db).await?;
    println!("{}", client.device_id());
    Ok(())
}

pub(super) async fn subscribe(
    args: &DeviceArgs,
    app_server_key: Option<&str>,
) -> anyhow::Result<()> {
    let app_server_key = app_server_key
        .map(|text| b64::decode(text).context("--app-server-key is not base64url"))
        .transpose()?;
    let client = open(args).await?;
    let info = client.subscribe(app_server_key.as_deref()).await?;
    if let Some(stored) = client
        .subscriptions()?
        .into_iter()
        .find(|s| s.endpoint == info.endpoint)
    {
        eprintln!("subscription id: {}", stored.id);
    }
    println!("{}", info.to_json());
    Ok(())
}

pub(super) async fn unsubscribe(args: &DeviceArgs, subscription_id: &str) -> anyhow::Result<()> {
    open(args).await?.unsubscribe(subscription_id).await?;
    Ok(())
}

pub(super) async fn list(args: &DeviceArgs) -> anyhow::Result<()> {
    for subscription in open(args).await?.subscriptions()? {
        let line = json!({
            "id": subscription.id,
            "endpoint": subscription.endpoint,
            "app_server_key": subscription.app_server_key.as_deref().map(b64::encode),
            "created_at_unix_ms": subscription.created_at_unix_ms,
        });
        println!("{line}");
    }
    Ok(())
}

pub(super) async fn listen(
    args: &DeviceArgs,
    min_urgency: Urgency,
    presence: Presence,
) -> anyhow::Result<()> {
    let client = open(args).await?;
    let options = ListenOptions::default()
        .with_min_urgency(min_urgency)
        .with_presence(presence);
    let shutdown = async {
        // If the handler cannot be installed there is no Ctrl-C to wait for; run until killed.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let print = |notification: Notification| async move {
        println!("{}", notification_json(&notification))
    };
    match client.listen(print, options, shutdown).await? {
        ListenEnd::Shutdown => Ok(()),
        ListenEnd::Replaced => {
            anyhow::bail!("another listener for this device took over the stream")
        }
        ListenEnd::Revoked => {
            anyhow::bail!("this device was removed from its account; register a new one")
        }
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

pub(super) async fn open(args: &DeviceArgs) -> anyhow::Result<DeviceClient> {
    let client = match &args.server {
        Some(server) => DeviceClient::open(server, &args.db).await?,
        None => DeviceClient::open_registered(&args.db).await?,
    };
    Ok(client)
}
