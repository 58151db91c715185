//! Delivery receipts in CQL: one row per receipt, one log partition per
//! sender key, and a list of the receipts not yet final.
//!
//! Every row is written `USING TTL` (the seconds until its keep-until), so
//! the database forgets receipts and events itself: `purge_receipts` has
//! nothing to do.
//!
//! Advancing is a plain read, then writes; no lightweight transaction. Two
//! nodes advancing one receipt at the same instant can both pass the
//! [`ReceiptState::may_become`] check against the same old state, and both
//! append an event: a watcher sees every move at least once. The stored
//! state stays monotonic even then, because a receipt keeps every state it
//! reached (`states`, state → when) and reads the highest: concurrent writes
//! add map entries rather than overwrite one cell. What the race can leave
//! is a pending-list entry re-written after a final move removed it;
//! `pending_receipts` skips final receipts, and the entry's TTL ends it.

use std::collections::BTreeMap;

use scylla::statement::prepared::PreparedStatement;
use tokio_stream::StreamExt as _;

use super::ScyllaStore;
use super::schema::{backend, unavailable};
use super::statements::Preparer;
use crate::domain::{
    Receipt, ReceiptEvent, ReceiptState, UnixMillis, copies_from_text, copies_to_text, now_millis,
};
use crate::store::{StoreError, StoreResult};

/// How many partitions the pending list is spread over. Receipts are
/// opt-in, so one is enough for now; each entry names its bucket, so more
/// can be added (readers merge every bucket's oldest).
const PENDING_BUCKETS: i32 = 1;

/// The longest TTL CQL accepts (20 years).
const MAX_TTL_SECONDS: i64 = 630_720_000;

/// key_hash, subscription_id, copies, states, expires_at (null once expired).
type ReceiptRow = (
    Option<Vec<u8>>,
    Option<String>,
    Option<String>,
    Option<BTreeMap<i32, i64>>,
    Option<i64>,
);

pub(crate) struct ReceiptStatements {
    write: PreparedStatement,
    select: PreparedStatement,
    insert_event: PreparedStatement,
    select_events: PreparedStatement,
    insert_pending: PreparedStatement,
    delete_pending: PreparedStatement,
    select_pending: PreparedStatement,
}

impl ReceiptStatements {
    pub(crate) async fn prepare(p: &Preparer<'_>) -> StoreResult<Self> {
        Ok(Self {
            // Files a receipt or moves it on: the fixed fields are written
            // again so they get the new TTL, and the state joins `states`.
            write: p.cql(
                "UPDATE {ks}.receipts USING TTL ? SET key_hash = ?, subscription_id = ?, copies = ?,
                 expires_at = ?, states[?] = ? WHERE message_id = ?",
            )
            .await?,
            select: p.cql(
                "SELECT key_hash, subscription_id, copies, states, expires_at FROM {ks}.receipts WHERE message_id = ?",
            )
            .await?,
            insert_event: p.cql(
                "INSERT INTO {ks}.receipt_events (key_hash, cursor, message_id, state, at) VALUES (?, ?, ?, ?, ?) USING TTL ?",
            )
            .await?,
            select_events: p.cql(
                "SELECT cursor, message_id, state, at FROM {ks}.receipt_events WHERE key_hash = ? AND cursor > ? LIMIT ?",
            )
            .await?,
            insert_pending: p.cql("INSERT INTO {ks}.pending_receipts (bucket, message_id) VALUES (?, ?) USING TTL ?").await?,
            delete_pending: p.cql("DELETE FROM {ks}.pending_receipts WHERE bucket = ? AND message_id = ?").await?,
            select_pending: p.cql("SELECT message_id FROM {ks}.pending_receipts WHERE bucket = ?").await?,
        })
    }
}

/// The pending-list partition of a receipt (always 0 while there is one).
fn pending_bucket(message_id: &str) -> i32 {
    let spread = message_id.bytes().fold(0u32, |sum, byte| {
        sum.wrapping_mul(31).wrapping_add(u32::from(byte))
    });
    (spread % PENDING_BUCKETS as u32) as i32
}

/// Seconds from now until `keep_until`, at least 1.
fn ttl_seconds(keep_until: UnixMillis) -> i32 {
    let seconds = keep_until
        .saturating_sub(now_millis())
        .saturating_add(999)
        .div_euclid(1000);
    seconds.clamp(1, MAX_TTL_SECONDS) as i32
}

impl ScyllaStore {
    pub(super) async fn file_receipt(
        &self,
        receipt: &Receipt,
        keep_until: UnixMillis,
    ) -> StoreResult<ReceiptEvent> {
        self.record_state(receipt, receipt.state, receipt.updated_at, keep_until)
            .await
    }

    pub(super) async fn read_receipt(&self, message_id: &str) -> StoreResult<Option<Receipt>> {
        let result = self.execute(&self.receipts.select, (message_id,)).await?;
        let rows = result.into_rows_result().map_err(backend)?;
        let Some(row) = rows.maybe_first_row::<ReceiptRow>().map_err(backend)? else {
            return Ok(None);
        };
        let (Some(key_hash), Some(subscription_id), Some(copies), Some(states), Some(expires_at)) =
            row
        else {
            // Some cells outlived the rest; the receipt is gone.
            return Ok(None);
        };
        let Some((&state, &updated_at)) = states.last_key_value() else {
            return Ok(None);
        };
        let state = ReceiptState::from_i32(state)
            .ok_or_else(|| StoreError::Backend(format!("receipt {message_id}: state {state}")))?;
        Ok(Some(Receipt {
            message_id: message_id.to_owned(),
            key_hash,
            subscription_id,
            copies: copies_from_text(&copies),
            state,
            updated_at,
            expires_at,
        }))
    }

    pub(super) async fn move_receipt(
        &self,
        message_id: &str,
        state: ReceiptState,
        at: UnixMillis,
        keep_until: UnixMillis,
    ) -> StoreResult<Option<ReceiptEvent>> {
        // Read, then write: see the module's note on two nodes racing.
        let Some(current) = self.read_receipt(message_id).await? else {
            return Ok(None);
        };
        if !current.state.may_become(state) {
            return Ok(None);
        }
        let event = self.record_state(&current, state, at, keep_until).await?;
        Ok(Some(event))
    }

    /// Writes `receipt` in `state` at `at`, its event, and its pending-list entry.
    async fn record_state(
        &self,
        receipt: &Receipt,
        state: ReceiptState,
        at: UnixMillis,
        keep_until: UnixMillis,
    ) -> StoreResult<ReceiptEvent> {
        let ttl = ttl_seconds(keep_until);
        let values = (
            ttl,
            &receipt.key_hash,
            &receipt.subscription_id,
            copies_to_text(&receipt.copies),
            receipt.expires_at,
            state as i32,
            at,
            &receipt.message_id,
        );
        self.execute(&self.receipts.write, values).await?;
        let event = ReceiptEvent {
            cursor: uuid::Uuid::now_v7().hyphenated().to_string(),
            message_id: receipt.message_id.clone(),
            state,
            at,
        };
        let values = (
            &receipt.key_hash,
            &event.cursor,
            &event.message_id,
            state as i32,
            at,
            ttl,
        );
        self.execute(&self.receipts.insert_event, values).await?;
        let bucket = pending_bucket(&receipt.message_id);
        if state.is_final() {
            self.execute(&self.receipts.delete_pending, (bucket, &receipt.message_id))
                .await?;
        } else {
            let values = (bucket, &receipt.message_id, ttl);
            self.execute(&self.receipts.insert_pending, values).await?;
        }
        Ok(event)
    }

    /// Oldest first by message id (UUIDv7, so by creation).
    pub(super) async fn unfinished_receipts(&self, limit: usize) -> StoreResult<Vec<Receipt>> {
        let mut found = Vec::new();
        for bucket in 0..PENDING_BUCKETS {
            let pager = self
                .session
                .execute_iter(self.receipts.select_pending.clone(), (bucket,))
                .await
                .map_err(unavailable)?;
            let mut ids = pager.rows_stream::<(String,)>().map_err(backend)?;
            let mut taken = 0;
            while taken < limit {
                let Some(row) = ids.next().await else {
                    break;
                };
                let (message_id,) = row.map_err(unavailable)?;
                // Expired, or an entry a racing final move left behind.
                if let Some(receipt) = self.read_receipt(&message_id).await?
                    && !receipt.state.is_final()
                {
                    found.push(receipt);
                    taken += 1;
                }
            }
        }
        found.sort_by(|a, b| a.message_id.cmp(&b.message_id));
        found.truncate(limit);
        Ok(found)
    }

    pub(super) async fn events_of(
        &self,
        key_hash: &[u8],
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<ReceiptEvent>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let limit = i32::try_from(limit).unwrap_or(i32::MAX);
        let values = (key_hash, after.unwrap_or(""), limit);
        let result = self.execute(&self.receipts.select_events, values).await?;
        let rows = result.into_rows_result().map_err(backend)?;
        rows.rows::<(String, String, i32, i64)>()
            .map_err(backend)?
            .map(|row| {
                let (cursor, message_id, state, at) = row.map_err(backend)?;
                let state = ReceiptState::from_i32(state).ok_or_else(|| {
                    StoreError::Backend(format!("receipt event {cursor}: state {state}"))
                })?;
                Ok(ReceiptEvent {
                    cursor,
                    message_id,
                    state,
                    at,
                })
            })
            .collect()
    }
}
