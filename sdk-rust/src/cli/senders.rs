//! `pushctl senders …` (a device's approved senders) and `pushctl admin …` (the operator's
//! service-wide blocks).
use anyhow::Context as _;
use clap::{Args, Subcommand};
use push_proto::admin::{self as admin_pb, admin_client::AdminClient, sender_ref};
use serde_json::json;

use super::DeviceArgs;
use super::device::open;
use crate::{b64, channel};

#[derive(Debug, Subcommand)]
pub enum SendersCommand {
    /// The senders this device approved (one JSON line each) and the ones it blocked.
    List {
        #[command(flatten)]
        device: DeviceArgs,
    },
    /// Remove every subscription bound to KEY (base64url); --block also refuses it from now on.
    Revoke {
        #[command(flatten)]
        device: DeviceArgs,
        // Ids and keys are base64url: they may start with `-`.
        #[arg(allow_hyphen_values = true)]
        key: String,
        #[arg(long)]
        block: bool,
    },
    /// Lift this device's block of KEY.
    Unblock {
        #[command(flatten)]
        device: DeviceArgs,
        // Ids and keys are base64url: they may start with `-`.
        #[arg(allow_hyphen_values = true)]
        key: String,
    },
}

fn key_arg(text: &str) -> anyhow::Result<Vec<u8>> {
    b64::decode(text).context("the sender key is not base64url")
}

pub(super) async fn run(command: SendersCommand) -> anyhow::Result<()> {
    match command {
        SendersCommand::List { device } => {
            let senders = open(&device).await?.senders().await?;
            for sender in senders.approved {
                let key = b64::encode(&sender.app_server_key);
                println!(
                    "{}",
                    json!({ "key": key, "subscriptions": sender.subscription_ids })
                );
            }
            for key in senders.blocked {
                println!("{}", json!({ "key": b64::encode(&key), "blocked": true }));
            }
        }
        SendersCommand::Revoke { device, key, block } => {
            let removed = open(&device)
                .await?
                .revoke_sender(&key_arg(&key)?, block)
                .await?;
            println!(
                "{}",
                json!({ "removed_subscriptions": removed, "blocked": block })
            );
        }
        SendersCommand::Unblock { device, key } => {
            open(&device).await?.unblock_sender(&key_arg(&key)?).await?;
        }
    }
    Ok(())
}

#[derive(Debug, Args)]
pub struct AdminArgs {
    #[arg(long, env = "PUSHCTL_SERVER", default_value = super::DEFAULT_SERVER)]
    server: String,
    /// pushd's admin_token.
    #[arg(long, env = "PUSHCTL_ADMIN_TOKEN", hide_env_values = true)]
    token: String,
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Refuse a sender on the whole service, by --key or by --contact (its VAPID subject).
    Block(SenderArg),
    Unblock(SenderArg),
    /// The service-wide blocks, one JSON line each.
    List,
}

#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct SenderArg {
    /// The sender's VAPID public key, base64url.
    #[arg(long)]
    key: Option<String>,
    /// The sender's contact, e.g. mailto:ops@spam.example or https://spam.example.
    #[arg(long)]
    contact: Option<String>,
}

impl SenderArg {
    fn to_proto(&self) -> anyhow::Result<admin_pb::SenderRef> {
        let sender = match (&self.key, &self.contact) {
            (Some(key), _) => sender_ref::Sender::AppServerKey(key_arg(key)?),
            (None, Some(contact)) => sender_ref::Sender::Contact(contact.clone()),
            (None, None) => anyhow::bail!("give --key or --contact"),
        };
        Ok(admin_pb::SenderRef {
            sender: Some(sender),
        })
    }
}

pub(super) async fn admin(args: AdminArgs) -> anyhow::Result<()> {
    let mut client = AdminClient::new(channel::endpoint(&args.server)?.connect_lazy());
    let authorization = format!("Bearer {}", args.token);
    match args.command {
        AdminCommand::Block(sender) => {
            let message = admin_pb::BlockSenderRequest {
                sender: Some(sender.to_proto()?),
            };
            client
                .block_sender(channel::authorized(message, &authorization)?)
                .await?;
        }
        AdminCommand::Unblock(sender) => {
            let message = admin_pb::UnblockSenderRequest {
                sender: Some(sender.to_proto()?),
            };
            client
                .unblock_sender(channel::authorized(message, &authorization)?)
                .await?;
        }
        AdminCommand::List => {
            let message = admin_pb::ListBlockedSendersRequest {};
            let listed = client
                .list_blocked_senders(channel::authorized(message, &authorization)?)
                .await?
                .into_inner();
            for key in listed.app_server_keys {
                println!("{}", json!({ "key": b64::encode(&key) }));
            }
            for contact in listed.contacts {
                println!("{}", json!({ "contact": contact }));
            }
        }
    }
    Ok(())
}
