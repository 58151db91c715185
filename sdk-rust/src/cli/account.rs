//! `pushctl account …`: one user's devices sharing subscriptions.
use clap::Subcommand;
use serde_json::json;

use super::DeviceArgs;
use super::device::open;
use crate::b64;

#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Start an account with this device and print its id (give it to your next device).
    Create {
        #[command(flatten)]
        device: DeviceArgs,
        /// How your other devices will see this one.
        #[arg(long)]
        name: String,
    },
    /// Ask to join ACCOUNT_ID and print this device's fingerprint to compare while approving.
    Join {
        #[command(flatten)]
        device: DeviceArgs,
        // Ids and keys are base64url: they may start with `-`.
        #[arg(allow_hyphen_values = true)]
        account_id: String,
        #[arg(long)]
        name: String,
    },
    /// List the account's devices, one JSON line each.
    Devices {
        #[command(flatten)]
        device: DeviceArgs,
    },
    /// Approve a waiting device (check its fingerprint first) and seal the account's keys to it.
    Approve {
        #[command(flatten)]
        device: DeviceArgs,
        // Ids and keys are base64url: they may start with `-`.
        #[arg(allow_hyphen_values = true)]
        device_id: String,
    },
    /// Remove a device (or this one) from the account; it stops receiving at once.
    Remove {
        #[command(flatten)]
        device: DeviceArgs,
        // Ids and keys are base64url: they may start with `-`.
        #[arg(allow_hyphen_values = true)]
        device_id: String,
    },
    /// Create an account subscription (every approved device gets its messages); print its JSON.
    Subscribe {
        #[command(flatten)]
        device: DeviceArgs,
        /// Only senders signing with this VAPID public key (base64url) may use it.
        #[arg(long)]
        app_server_key: Option<String>,
    },
    /// Fetch the keys other devices sealed to this one; print what was added.
    Sync {
        #[command(flatten)]
        device: DeviceArgs,
    },
}

pub(super) async fn run(command: AccountCommand) -> anyhow::Result<()> {
    match command {
        AccountCommand::Create { device, name } => {
            println!("{}", open(&device).await?.create_account(&name).await?);
        }
        AccountCommand::Join {
            device,
            account_id,
            name,
        } => {
            let client = open(&device).await?;
            client.join_account(&account_id, &name).await?;
            eprintln!("waiting for approval; compare this fingerprint on the approving device:");
            println!("{}", client.device_fingerprint()?);
        }
        AccountCommand::Devices { device } => {
            for member in open(&device).await?.account_devices().await? {
                let line = json!({
                    "device_id": member.device_id,
                    "name": member.name,
                    "fingerprint": member.fingerprint,
                    "approved": member.approved,
                    "this_device": member.this_device,
                });
                println!("{line}");
            }
        }
        AccountCommand::Approve { device, device_id } => {
            open(&device).await?.approve_device(&device_id).await?;
        }
        AccountCommand::Remove { device, device_id } => {
            open(&device).await?.remove_device(&device_id).await?;
        }
        AccountCommand::Subscribe {
            device,
            app_server_key,
        } => {
            let key = app_server_key
                .map(|text| b64::decode(&text))
                .transpose()
                .map_err(|_| anyhow::anyhow!("--app-server-key is not base64url"))?;
            let client = open(&device).await?;
            let info = client.subscribe_for_account(None, key.as_deref()).await?;
            println!("{}", info.to_json());
        }
        AccountCommand::Sync { device } => {
            let synced = open(&device).await?.sync_account_keys().await?;
            let line = json!({ "approved": synced.approved, "added": synced.added });
            println!("{line}");
        }
    }
    Ok(())
}
