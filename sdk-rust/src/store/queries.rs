//! The keystore's reads and writes, one method per question the SDK asks.
use rusqlite::{OptionalExtension, Row, params};

use super::{DeviceRecord, KeyStore, SEEN_RETENTION_MS, StoreError, StoredSubscription};
use crate::crypto::SubscriptionKeys;

const SUBSCRIPTION_COLUMNS: &str =
    "id, endpoint, app_server_key, keys, created_at_unix_ms, for_account";

impl KeyStore {
    /// The registered device, if any.
    pub fn device(&self) -> Result<Option<DeviceRecord>, StoreError> {
        Ok(self.with(|conn| {
            conn.query_row(
                "SELECT server_url, device_id, credential FROM device WHERE singleton = 1",
                [],
                |row| {
                    Ok(DeviceRecord {
                        server_url: row.get(0)?,
                        device_id: row.get(1)?,
                        credential: row.get(2)?,
                    })
                },
            )
            .optional()
        })?)
    }

    /// Records the device after `Register`, replacing any earlier one.
    pub fn set_device(&self, device: &DeviceRecord) -> Result<(), StoreError> {
        self.with(|conn| {
            conn.execute(
                "INSERT OR REPLACE INTO device (singleton, server_url, device_id, credential)
                 VALUES (1, ?1, ?2, ?3)",
                params![device.server_url, device.device_id, device.credential],
            )
        })?;
        Ok(())
    }

    pub fn insert_subscription(&self, subscription: &StoredSubscription) -> Result<(), StoreError> {
        self.with(|conn| {
            conn.execute(
                "INSERT OR REPLACE INTO subscriptions
                   (id, endpoint, app_server_key, keys, created_at_unix_ms, for_account)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    subscription.id,
                    subscription.endpoint,
                    subscription.app_server_key,
                    subscription.keys.to_bytes(),
                    subscription.created_at_unix_ms,
                    subscription.for_account
                ],
            )
        })?;
        Ok(())
    }

    pub fn subscription(&self, id: &str) -> Result<Option<StoredSubscription>, StoreError> {
        let sql = format!("SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE id = ?1");
        let raw = self.with(|conn| {
            conn.query_row(&sql, [id], RawSubscription::from_row)
                .optional()
        })?;
        raw.map(RawSubscription::decode).transpose()
    }

    /// Every subscription, oldest first.
    pub fn subscriptions(&self) -> Result<Vec<StoredSubscription>, StoreError> {
        let sql = format!(
            "SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions ORDER BY created_at_unix_ms, id"
        );
        let raw = self.with(|conn| {
            let mut statement = conn.prepare(&sql)?;
            let rows = statement.query_map([], RawSubscription::from_row)?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })?;
        raw.into_iter().map(RawSubscription::decode).collect()
    }

    /// Forgets a subscription, its keys and its scope; true if it existed.
    pub fn remove_subscription(&self, id: &str) -> Result<bool, StoreError> {
        let removed = self.with(|conn| {
            conn.execute("DELETE FROM scopes WHERE subscription_id = ?1", [id])?;
            conn.execute("DELETE FROM subscriptions WHERE id = ?1", [id])
        })?;
        Ok(removed > 0)
    }

    /// Names subscription `subscription_id` `scope` (replacing what the scope named before).
    pub fn set_scope(&self, scope: &str, subscription_id: &str) -> Result<(), StoreError> {
        self.with(|conn| {
            conn.execute(
                "INSERT OR REPLACE INTO scopes (scope, subscription_id) VALUES (?1, ?2)",
                params![scope, subscription_id],
            )
        })?;
        Ok(())
    }

    /// The subscription named `scope`, if any.
    pub fn subscription_for_scope(
        &self,
        scope: &str,
    ) -> Result<Option<StoredSubscription>, StoreError> {
        let id: Option<String> = self.with(|conn| {
            conn.query_row(
                "SELECT subscription_id FROM scopes WHERE scope = ?1",
                [scope],
                |row| row.get(0),
            )
            .optional()
        })?;
        match id {
            Some(id) => self.subscription(&id),
            None => Ok(None),
        }
    }

    /// The scope naming `subscription_id`, if any.
    pub fn scope_of(&self, subscription_id: &str) -> Result<Option<String>, StoreError> {
        Ok(self.with(|conn| {
            conn.query_row(
                "SELECT scope FROM scopes WHERE subscription_id = ?1",
                [subscription_id],
                |row| row.get(0),
            )
            .optional()
        })?)
    }

    /// Whether `message_id` was already handed to the app.
    pub fn is_seen(&self, message_id: &str) -> Result<bool, StoreError> {
        Ok(self.with(|conn| {
            conn.query_row(
                "SELECT 1 FROM seen_messages WHERE message_id = ?1",
                [message_id],
                |_| Ok(()),
            )
            .optional()
            .map(|found| found.is_some())
        })?)
    }

    /// Remembers `message_id` as handed to the app; false if it already was.
    pub fn mark_seen(&self, message_id: &str, now_unix_ms: i64) -> Result<bool, StoreError> {
        let inserted = self.with(|conn| {
            conn.execute(
                "INSERT OR IGNORE INTO seen_messages (message_id, seen_at_unix_ms) VALUES (?1, ?2)",
                params![message_id, now_unix_ms],
            )
        })?;
        Ok(inserted > 0)
    }

    /// Drops seen ids older than [`SEEN_RETENTION_MS`]; returns how many went.
    pub fn prune_seen(&self, now_unix_ms: i64) -> Result<usize, StoreError> {
        let cutoff = now_unix_ms.saturating_sub(SEEN_RETENTION_MS);
        Ok(self.with(|conn| {
            conn.execute(
                "DELETE FROM seen_messages WHERE seen_at_unix_ms < ?1",
                [cutoff],
            )
        })?)
    }
}

/// A row before its key blob is validated, so that decoding errors name the subscription.
struct RawSubscription {
    id: String,
    endpoint: String,
    app_server_key: Option<Vec<u8>>,
    keys: Vec<u8>,
    created_at_unix_ms: i64,
    for_account: bool,
}

impl RawSubscription {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(RawSubscription {
            id: row.get(0)?,
            endpoint: row.get(1)?,
            app_server_key: row.get(2)?,
            keys: row.get(3)?,
            created_at_unix_ms: row.get(4)?,
            for_account: row.get(5)?,
        })
    }

    fn decode(self) -> Result<StoredSubscription, StoreError> {
        let keys =
            SubscriptionKeys::from_bytes(&self.keys).map_err(|source| StoreError::CorruptKeys {
                subscription_id: self.id.clone(),
                source,
            })?;
        Ok(StoredSubscription {
            id: self.id,
            endpoint: self.endpoint,
            app_server_key: self.app_server_key,
            keys,
            created_at_unix_ms: self.created_at_unix_ms,
            for_account: self.for_account,
        })
    }
}
