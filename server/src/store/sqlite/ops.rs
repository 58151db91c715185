//! The SQL of each write, run inside the writer's open transaction.

use std::collections::HashMap;

use rusqlite::{Connection, ErrorCode, OptionalExtension, Transaction, params};

use super::backend;
use super::tombstones::Tombstones;
use crate::domain::{DeviceRecord, QueuedMessage, SubscriptionRecord, UnixMillis, now_millis};
use crate::store::{Admission, Enqueued, RetentionLimits, StoreError, StoreResult};

/// Per-device queue usage, cached so the quota check costs no query.
#[derive(Debug, Clone, Copy, Default)]
struct Usage {
    messages: u64,
    bytes: u64,
}

/// Bounds the usage cache; reloading an evicted entry is one indexed query.
const MAX_CACHED_DEVICES: usize = 100_000;

/// What the writer remembers between transactions. Only the writer thread
/// touches it, so it needs no lock.
#[derive(Default)]
pub(crate) struct WriterState {
    usage: HashMap<String, Usage>,
    tombstones: Tombstones,
}

impl WriterState {
    pub(crate) fn forget_usage(&mut self) {
        self.usage.clear();
    }

    pub(crate) fn forget_device(&mut self, device_id: &str) {
        self.usage.remove(device_id);
    }

    fn usage_of(
        &mut self,
        tx: &Connection,
        device_id: &str,
        now: UnixMillis,
    ) -> StoreResult<&mut Usage> {
        if !self.usage.contains_key(device_id) {
            if self.usage.len() >= MAX_CACHED_DEVICES {
                self.usage.clear();
            }
            let usage = load_usage(tx, device_id, now)?;
            self.usage.insert(device_id.to_owned(), usage);
        }
        self.usage
            .get_mut(device_id)
            .ok_or_else(|| StoreError::Backend("usage cache lost an entry it just inserted".into()))
    }

    pub(crate) fn enqueue(
        &mut self,
        tx: &Connection,
        message: QueuedMessage,
        admission: Admission,
    ) -> StoreResult<Enqueued> {
        if self.tombstones.take(&message.device_id, &message.id) {
            return Ok(Enqueued {
                replaced: None,
                already_acked: true,
            });
        }
        let mut replaced = None;
        if let Some(topic) = &message.topic {
            let old: Option<(String, String, i64)> = tx
                .prepare_cached(
                    "DELETE FROM messages WHERE device_id = ?1 AND subscription_id = ?2 AND topic = ?3
                     RETURNING id, device_id, length(payload)",
                )
                .and_then(|mut statement| {
                    statement
                        .query_row(params![message.device_id, message.subscription_id, topic], |row| {
                            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                        })
                        .optional()
                })
                .map_err(backend)?;
            if let Some((old_id, old_device, old_bytes)) = old {
                if let Some(usage) = self.usage.get_mut(&old_device) {
                    usage.messages = usage.messages.saturating_sub(1);
                    usage.bytes = usage.bytes.saturating_sub(old_bytes as u64);
                }
                replaced = Some(old_id);
            }
        }
        let size = message.payload.len() as u64;
        let now = now_millis();
        let usage = *self.usage_of(tx, &message.device_id, now)?;
        if let Admission::Queue(limits) = admission
            && over_limits(usage, size, limits)
        {
            // Expired messages still count until the sweep; reclaim them first.
            tx.execute(
                "DELETE FROM messages WHERE device_id = ?1 AND expires_at <= ?2",
                params![message.device_id, now],
            )
            .map_err(backend)?;
            self.forget_device(&message.device_id);
            let usage = *self.usage_of(tx, &message.device_id, now)?;
            if over_limits(usage, size, limits) {
                return Err(StoreError::QueueFull {
                    queued_messages: usage.messages,
                    queued_bytes: usage.bytes,
                    max_messages: limits.max_messages,
                    max_bytes: limits.max_bytes,
                });
            }
        }
        insert_message(tx, &message)?;
        let usage = self.usage_of(tx, &message.device_id, now)?;
        usage.messages += 1;
        usage.bytes += size;
        Ok(Enqueued {
            replaced,
            already_acked: false,
        })
    }

    /// One DELETE for the whole batch; ids it did not find are remembered
    /// (a write of them still on its way must not resurrect them).
    pub(crate) fn ack(
        &mut self,
        tx: &Connection,
        device_id: &str,
        message_ids: &[String],
    ) -> StoreResult<u64> {
        if message_ids.is_empty() {
            return Ok(0);
        }
        let ids = serde_json::to_string(message_ids)
            .map_err(|error| StoreError::Backend(format!("encoding acked ids: {error}")))?;
        let mut statement = tx
            .prepare_cached(
                "DELETE FROM messages WHERE device_id = ?1 \
                 AND id IN (SELECT value FROM json_each(?2)) RETURNING id, length(payload)",
            )
            .map_err(backend)?;
        let removed: Vec<(String, i64)> = statement
            .query_map(params![device_id, ids], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .and_then(|rows| rows.collect())
            .map_err(backend)?;
        if let Some(usage) = self.usage.get_mut(device_id) {
            usage.messages = usage.messages.saturating_sub(removed.len() as u64);
            let bytes: i64 = removed.iter().map(|(_, bytes)| bytes).sum();
            usage.bytes = usage.bytes.saturating_sub(bytes as u64);
        }
        let found: std::collections::HashSet<&str> =
            removed.iter().map(|(id, _)| id.as_str()).collect();
        for message_id in message_ids {
            if !found.contains(message_id.as_str()) {
                self.tombstones.remember(device_id, message_id);
            }
        }
        Ok(removed.len() as u64)
    }
}

fn over_limits(usage: Usage, size: u64, limits: RetentionLimits) -> bool {
    usage.messages + 1 > limits.max_messages || usage.bytes + size > limits.max_bytes
}

fn load_usage(tx: &Connection, device_id: &str, now: UnixMillis) -> StoreResult<Usage> {
    tx.prepare_cached(
        "SELECT count(*), coalesce(sum(length(payload)), 0) FROM messages WHERE device_id = ?1 AND expires_at > ?2",
    )
    .and_then(|mut statement| {
        statement.query_row(params![device_id, now], |row| {
            let (messages, bytes): (i64, i64) = (row.get(0)?, row.get(1)?);
            Ok(Usage { messages: messages as u64, bytes: bytes as u64 })
        })
    })
    .map_err(backend)
}

fn insert_message(tx: &Connection, message: &QueuedMessage) -> StoreResult<()> {
    tx.prepare_cached(
        "INSERT INTO messages (id, device_id, subscription_id, topic, urgency, payload, received_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )
    .and_then(|mut statement| {
        statement.execute(params![
            message.id,
            message.device_id,
            message.subscription_id,
            message.topic,
            message.urgency.as_u8(),
            message.payload,
            message.received_at,
            message.expires_at,
        ])
    })
    .map_err(|error| constraint_or_backend(error, &format!("message {}", message.id)))?;
    Ok(())
}

/// Runs one operation in its own savepoint so a failure undoes only that operation.
pub(crate) fn isolated<T>(
    transaction: &mut Transaction<'_>,
    op: impl FnOnce(&Connection) -> StoreResult<T>,
) -> StoreResult<T> {
    let savepoint = transaction.savepoint().map_err(backend)?;
    let result = op(&savepoint);
    if result.is_ok() {
        savepoint.commit().map_err(backend)?;
    }
    // Dropping an uncommitted savepoint rolls it back.
    result
}

pub(crate) fn create_device(tx: &Connection, device: &DeviceRecord) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO devices (id, secret_hash, created_at) VALUES (?1, ?2, ?3)",
        params![device.id, device.secret_hash, device.created_at],
    )
    .map_err(|error| constraint_or_backend(error, &format!("device {}", device.id)))?;
    Ok(())
}

pub(crate) fn create_subscription(
    tx: &Connection,
    subscription: &SubscriptionRecord,
) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO subscriptions (id, device_id, app_server_key, created_at, account_id) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![subscription.id, subscription.device_id, subscription.app_server_key, subscription.created_at, subscription.account_id],
    )
    .map_err(|error| constraint_or_backend(error, &format!("subscription {}", subscription.id)))?;
    Ok(())
}

pub(crate) fn delete_subscription(
    tx: &Connection,
    device_id: &str,
    subscription_id: &str,
) -> StoreResult<bool> {
    let removed = tx
        .execute(
            "DELETE FROM subscriptions WHERE id = ?1 AND device_id = ?2",
            params![subscription_id, device_id],
        )
        .map_err(backend)?;
    if removed == 0 {
        return Ok(false);
    }
    tx.execute(
        "DELETE FROM messages WHERE subscription_id = ?1",
        params![subscription_id],
    )
    .map_err(backend)?;
    tx.execute(
        "DELETE FROM sealed_keys WHERE subscription_id = ?1",
        params![subscription_id],
    )
    .map_err(backend)?;
    Ok(true)
}

pub(crate) fn purge_expired(tx: &Connection, now: UnixMillis) -> StoreResult<u64> {
    let removed = tx
        .execute("DELETE FROM messages WHERE expires_at <= ?1", params![now])
        .map_err(backend)?;
    Ok(removed as u64)
}

fn constraint_or_backend(error: rusqlite::Error, what: &str) -> StoreError {
    match error.sqlite_error_code() {
        Some(ErrorCode::ConstraintViolation) => StoreError::AlreadyExists(what.to_owned()),
        _ => backend(error),
    }
}
