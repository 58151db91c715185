//! `pushctl inbox`: the last messages `pushctl listen` received, newest first, read from the
//! device's keystore alone (no server is asked, nothing leaves the device).
use std::path::PathBuf;

use chrono::{Local, TimeZone};

use super::listen::notification_json;
use super::notice::Notice;
use crate::store::{INBOX_CAPACITY, InboxEntry, KeyStore};

/// List the last messages received (newest first), as `pushctl listen` kept them.
#[derive(Debug, clap::Args)]
pub struct InboxArgs {
    #[arg(long, env = "PUSHCTL_DB")]
    db: PathBuf,
    /// How many to list; the inbox keeps the last 1000.
    #[arg(long, default_value_t = 20)]
    limit: usize,
    /// One JSON line each (as `listen` prints, plus `kept_at_unix_ms`) instead of text.
    #[arg(long)]
    json: bool,
}

pub(super) fn run(args: InboxArgs) -> anyhow::Result<()> {
    // Opening would create an empty keystore; a mistyped path deserves to be told instead.
    if !args.db.exists() {
        anyhow::bail!(
            "no keystore at {}: register and listen with this --db first",
            args.db.display()
        );
    }
    let store = KeyStore::open(&args.db)?;
    for entry in store.inbox(args.limit.min(INBOX_CAPACITY))? {
        let line = if args.json {
            json_line(&entry).to_string()
        } else {
            text_line(&store, &entry)
        };
        println!("{line}");
    }
    Ok(())
}

fn json_line(entry: &InboxEntry) -> serde_json::Value {
    let mut line = notification_json(&entry.notification);
    line["kept_at_unix_ms"] = entry.kept_at_unix_ms.into();
    line
}

/// `2026-05-04 09:30:12  Title: body`, cleaned as a notification would be, so a message cannot
/// send escape sequences to the terminal.
fn text_line(store: &KeyStore, entry: &InboxEntry) -> String {
    let notification = &entry.notification;
    let label = store.scope_of(&notification.subscription_id).ok().flatten();
    let notice = Notice::from_payload(&notification.payload, label.as_deref());
    let when = Local
        .timestamp_millis_opt(entry.kept_at_unix_ms)
        .single()
        .map_or_else(
            || "?".to_owned(),
            |at| at.format("%Y-%m-%d %H:%M:%S").to_string(),
        );
    let body = notice.body.replace('\n', " ");
    if body.is_empty() {
        format!("{when}  {}", notice.summary)
    } else {
        format!("{when}  {}: {body}", notice.summary)
    }
}
