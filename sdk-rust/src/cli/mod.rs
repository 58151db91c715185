//! `pushctl`: the command line over the SDK, for trying pushd by hand and for scripts.
//!
//! Output contract: results go to stdout, one line each (JSON where structured) so scripts
//! can parse them; diagnostics go to stderr. Every failure is one human-readable line and a
//! non-zero exit, printed by the binary.
mod account;
#[cfg(all(feature = "desktop-notify", unix, not(target_os = "macos")))]
mod desktop;
#[cfg(not(all(feature = "desktop-notify", unix, not(target_os = "macos"))))]
#[path = "no_desktop.rs"]
mod desktop;
mod device;
mod inbox;
mod keygen;
mod listen;
mod notice;
mod send;
mod senders;

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use push_proto::v1::{Presence, Urgency};

const DEFAULT_SERVER: &str = "http://127.0.0.1:8070";

#[derive(Debug, Parser)]
#[command(
    name = "pushctl",
    version,
    about = "Talk to a pushd server as a device or as a sender"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a VAPID key pair (PEM, mode 0600) and print its public key (base64url).
    Keygen {
        #[arg(long)]
        out: PathBuf,
    },
    /// Register this device (once per --db) and print its device id.
    Register {
        #[arg(long, env = "PUSHCTL_SERVER", default_value = DEFAULT_SERVER)]
        server: String,
        #[arg(long, env = "PUSHCTL_DB")]
        db: PathBuf,
    },
    /// Create a subscription and print its JSON on one line (its id goes to stderr).
    Subscribe {
        #[command(flatten)]
        device: DeviceArgs,
        /// Only senders signing with this VAPID public key (base64url) may use it.
        #[arg(long)]
        app_server_key: Option<String>,
    },
    /// Remove a subscription.
    Unsubscribe {
        #[command(flatten)]
        device: DeviceArgs,
        // Ids and keys are base64url: they may start with `-`.
        #[arg(allow_hyphen_values = true)]
        subscription_id: String,
    },
    /// List this device's subscriptions, one JSON line each.
    Subscriptions {
        #[command(flatten)]
        device: DeviceArgs,
    },
    Listen(listen::ListenArgs),
    Inbox(inbox::InboxArgs),
    /// Encrypt MESSAGE for a subscription and submit it as an application server.
    Send(send::SendArgs),
    /// One user's devices: create or join an account, approve, remove, share subscriptions.
    #[command(subcommand)]
    Account(account::AccountCommand),
    /// The senders this device approved: list, revoke, block.
    #[command(subcommand)]
    Senders(senders::SendersCommand),
    /// Operator controls (needs pushd's admin_token): block senders service-wide.
    Admin(senders::AdminArgs),
}

/// Which device keystore to use; the server defaults to the one it registered with.
#[derive(Debug, clap::Args)]
pub struct DeviceArgs {
    #[arg(long, env = "PUSHCTL_DB")]
    db: PathBuf,
    /// Must match the server the device registered with.
    #[arg(long, env = "PUSHCTL_SERVER")]
    server: Option<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum UrgencyArg {
    VeryLow,
    Low,
    Normal,
    High,
}

impl From<UrgencyArg> for Urgency {
    fn from(arg: UrgencyArg) -> Self {
        match arg {
            UrgencyArg::VeryLow => Urgency::VeryLow,
            UrgencyArg::Low => Urgency::Low,
            UrgencyArg::Normal => Urgency::Normal,
            UrgencyArg::High => Urgency::High,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PresenceArg {
    Active,
    Idle,
    Away,
}

impl From<PresenceArg> for Presence {
    fn from(arg: PresenceArg) -> Self {
        match arg {
            PresenceArg::Active => Presence::Active,
            PresenceArg::Idle => Presence::Idle,
            PresenceArg::Away => Presence::Away,
        }
    }
}

/// Runs one command to completion.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Keygen { out } => keygen::run(&out),
        Command::Register { server, db } => device::register(&server, &db).await,
        Command::Subscribe {
            device,
            app_server_key,
        } => device::subscribe(&device, app_server_key.as_deref()).await,
        Command::Unsubscribe {
            device,
            subscription_id,
        } => device::unsubscribe(&device, &subscription_id).await,
        Command::Subscriptions { device } => device::list(&device).await,
        Command::Listen(args) => listen::run(args).await,
        Command::Inbox(args) => inbox::run(args),
        Command::Send(args) => send::run(args).await,
        Command::Account(command) => account::run(command).await,
        Command::Senders(command) => senders::run(command).await,
        Command::Admin(args) => senders::admin(args).await,
    }
}

/// Lowercase name used in JSON output.
pub(crate) fn urgency_name(urgency: Urgency) -> &'static str {
    match urgency {
        Urgency::VeryLow => "very-low",
        Urgency::Low => "low",
        Urgency::Normal | Urgency::Unspecified => "normal",
        Urgency::High => "high",
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::Cli;

    #[test]
    fn ids_and_keys_that_start_with_a_dash_are_values() {
        // base64url: one id in 64 starts with `-`, and was read as an unknown option.
        for args in [
            &["pushctl", "account", "approve", "--db", "d.db", "-Lx2"][..],
            &[
                "pushctl", "account", "join", "--db", "d.db", "-i8l", "--name", "L",
            ],
            &["pushctl", "unsubscribe", "--db", "d.db", "-Nq"],
            &["pushctl", "senders", "unblock", "--db", "d.db", "-Bk"],
        ] {
            assert!(Cli::try_parse_from(args).is_ok(), "{args:?}");
        }
    }
}
