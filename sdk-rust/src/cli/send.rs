//! `pushctl send`: encrypt and submit one message as an application server,
//! to the push service that made the subscription (its endpoint's origin),
//! over gRPC or, with `--http`, the RFC 8030 way web-push libraries use.
use std::path::PathBuf;

use anyhow::Context;
use push_proto::v1::Outcome;
use serde_json::json;

use super::{DEFAULT_SERVER, UrgencyArg};
use crate::http_sender::send_http;
use crate::subscription::SubscriptionInfo;
use crate::vapid::{VapidKey, audience_for};
use crate::{SendOptions, Sender};

#[derive(Debug, clap::Args)]
pub struct SendArgs {
    /// gRPC server to submit through [default: the endpoint's origin, as a
    /// web-push library would; a bare-token endpoint falls back to
    /// http://127.0.0.1:8070; unused with --http]
    #[arg(long, env = "PUSHCTL_SERVER")]
    server: Option<String>,
    /// POST to the endpoint URL itself (RFC 8030) instead of gRPC SubmitMessage.
    #[arg(long)]
    http: bool,
    /// Keep a delivery receipt: `location` in the output can be read (GET) and
    /// cancelled (DELETE) by this key; WatchReceipts streams its changes.
    #[arg(long)]
    receipt: bool,
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
    let options = SendOptions {
        ttl_seconds: args.ttl,
        urgency: args.urgency.into(),
        topic: args.topic,
        receipt: args.receipt,
    };
    let plaintext = args.message.as_bytes();
    let receipt = if args.http {
        send_http(&key, &args.subject, &subscription, plaintext, &options).await?
    } else {
        let server = args.server.clone().unwrap_or_else(|| {
            audience_for(&subscription.endpoint).unwrap_or_else(|_| DEFAULT_SERVER.to_owned())
        });
        let sender = Sender::connect(&server, key, args.subject).await?;
        sender.send(&subscription, plaintext, options).await?
    };
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
        "location": receipt.location,
    });
    println!("{line}");
    Ok(())
}
