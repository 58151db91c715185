//! `pushctl register | subscribe | unsubscribe | subscriptions`: the device side (`listen` has
//! its own file).
use std::path::Path;

use anyhow::Context;
use serde_json::json;

use super::DeviceArgs;
use crate::{DeviceClient, b64};

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

pub(super) async fn open(args: &DeviceArgs) -> anyhow::Result<DeviceClient> {
    let client = match &args.server {
        Some(server) => DeviceClient::open(server, &args.db).await?,
        None => DeviceClient::open_registered(&args.db).await?,
    };
    Ok(client)
}
