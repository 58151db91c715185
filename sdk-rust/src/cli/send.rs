//! `pushctl send`: encrypt and submit one message as an application server.
use std::path::PathBuf;

use anyhow::Context;
use push_proto::v1::Outcome;
use serde_json::json;

use super::{DEFAULT_SERVER, UrgencyArg};
use crate::subscription::SubscriptionInfo;
use crate::vapid::VapidKey;
use crate::{SendOptions, Sender};

#[derive(Debug, clap::Args)]
pub struct SendArgs {
    #[arg(long, env = "PUSHCTL_SERVER", default_value = DEFAULT_SERVER)]
    server: String,
    /// VAPID private key PEM (see `pushctl keygen`).
    #[arg(long)]
    key: PathBuf,
    /// Operator contact for the token's `sub` claim, e.g. mailto:you@example.com.
    #[arg(long)]
    subject: String,
    /// Subscription JSON, or @FILE holding it.
    #[arg(long)]
    subscription: String,
    /// Seconds the server keeps the message for an offline device (0: now or never).
    #[arg(long, default_value_t = 86_400)]
    ttl: u32,
    #[arg(long, value_enum, default_value_t = UrgencyArg::Normal)]
    urgency: UrgencyArg,
    /// Replaces an undelivered earlier message with the same topic.
    #[arg(long)]
    topic: Option<String>,
    /// The text to send.
    message: String,
}

pub(super) async fn run(args: SendArgs) -> anyhow::Result<()> {
    let subscription_json = match args.subscription.strip_prefix('@') {
        Some(path) => {
            std::fs::read_to_string(path).with_context(|| format!("cannot read {path}"))?
        }
        None => args.subscription.clone(),
    };
    let subscription = SubscriptionInfo::from_json(&subscription_json)?;
    let pem = std::fs::read_to_string(&args.key)
        .with_context(|| format!("cannot read {}", args.key.display()))?;
    let key = VapidKey::from_pem(&pem)
        .with_context(|| format!("{} is not a VAPID key", args.key.display()))?;
    let sender = Sender::connect(&args.server, key, args.subject).await?;
    let options = SendOptions {
        ttl_seconds: args.ttl,
        urgency: args.urgency.into(),
        topic: args.topic,
    };
    let receipt = sender
        .send(&subscription, args.message.as_bytes(), options)
        .await?;
    let outcome = match receipt.outcome {
        Outcome::Delivered => "delivered",
        Outcome::Stored => "stored",
        Outcome::NotDelivered => "not_delivered",
        Outcome::Unspecified => "unspecified",
    };
    let line = json!({
        "message_id": receipt.message_id,
        "outcome": outcome,
        "ttl_seconds": receipt.ttl_seconds,
        "devices": receipt.devices,
        "devices_full": receipt.devices_full,
    });
    println!("{line}");
    Ok(())
}
