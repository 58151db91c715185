//! The inbox: the last [`INBOX_CAPACITY`] decrypted messages, for a person to look back at what
//! a notification said (`pushctl inbox`).
//!
//! Decrypted text at rest is only acceptable because it stays in the keystore, which already
//! holds the keys that open every message and is readable by its owner only. Nothing here is
//! ever sent anywhere.
use push_proto::v1::Urgency;
use rusqlite::params;

use super::{KeyStore, StoreError};
use crate::notification::Notification;

/// How many messages the inbox keeps; older ones are dropped as new ones arrive, so the file
/// does not grow with every message a device ever got.
pub const INBOX_CAPACITY: usize = 1000;

/// One kept message and when this device kept it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxEntry {
    pub notification: Notification,
    pub kept_at_unix_ms: i64,
}

impl KeyStore {
    /// Keeps `notification`, dropping the oldest beyond [`INBOX_CAPACITY`]; false if this
    /// message was kept before (a redelivery).
    pub fn keep_in_inbox(
        &self,
        notification: &Notification,
        now_unix_ms: i64,
    ) -> Result<bool, StoreError> {
        let inserted = self.with(|conn| {
            let inserted = conn.execute(
                "INSERT OR IGNORE INTO inbox
                   (message_id, subscription_id, topic, urgency, payload, sent_at_unix_ms,
                    kept_at_unix_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    notification.message_id,
                    notification.subscription_id,
                    notification.topic,
                    notification.urgency as i32,
                    notification.payload,
                    notification.received_at_unix_ms,
                    now_unix_ms
                ],
            )?;
            conn.execute(
                "DELETE FROM inbox WHERE seq NOT IN
                   (SELECT seq FROM inbox ORDER BY seq DESC LIMIT ?1)",
                [INBOX_CAPACITY as i64],
            )?;
            Ok(inserted)
        })?;
        Ok(inserted > 0)
    }

    /// Up to `limit` kept messages, newest first.
    pub fn inbox(&self, limit: usize) -> Result<Vec<InboxEntry>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        Ok(self.with(|conn| {
            let mut statement = conn.prepare(
                "SELECT message_id, subscription_id, topic, urgency, payload, sent_at_unix_ms,
                        kept_at_unix_ms
                 FROM inbox ORDER BY seq DESC LIMIT ?1",
            )?;
            let rows = statement.query_map([limit], |row| {
                let urgency: i32 = row.get(3)?;
                Ok(InboxEntry {
                    notification: Notification {
                        message_id: row.get(0)?,
                        subscription_id: row.get(1)?,
                        topic: row.get(2)?,
                        urgency: Urgency::try_from(urgency).unwrap_or(Urgency::Unspecified),
                        payload: row.get(4)?,
                        received_at_unix_ms: row.get(5)?,
                    },
                    kept_at_unix_ms: row.get(6)?,
                })
            })?;
            rows.collect()
        })?)
    }
}
