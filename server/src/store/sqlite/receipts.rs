//! Delivery receipts and each sender key's event log: the SQL, for the
//! writer (changes) and the readers (lookups).

use rusqlite::{Connection, OptionalExtension as _, Row, params};

use super::backend;
use crate::domain::{
    Receipt, ReceiptEvent, ReceiptState, UnixMillis, copies_from_text, copies_to_text,
};
use crate::store::StoreResult;

/// What a receipt write does.
#[derive(Debug)]
pub(crate) enum ReceiptChange {
    Put {
        receipt: Receipt,
        keep_until: UnixMillis,
    },
    Advance {
        message_id: String,
        state: ReceiptState,
        at: UnixMillis,
        keep_until: UnixMillis,
    },
}

/// Applies `change` (in the caller's savepoint); the event appended, if any.
pub(crate) fn apply(tx: &Connection, change: &ReceiptChange) -> StoreResult<Option<ReceiptEvent>> {
    match change {
        ReceiptChange::Put {
            receipt,
            keep_until,
        } => {
            tx.prepare_cached(
                "INSERT INTO receipts
                   (message_id, key_hash, subscription_id, copies, state, updated_at, expires_at, keep_until)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )
            .and_then(|mut statement| {
                statement.execute(params![
                    receipt.message_id,
                    receipt.key_hash,
                    receipt.subscription_id,
                    copies_to_text(&receipt.copies),
                    receipt.state as i32,
                    receipt.updated_at,
                    receipt.expires_at,
                    keep_until
                ])
            })
            .map_err(backend)?;
            let event = append(
                tx,
                &receipt.key_hash,
                &receipt.message_id,
                receipt.state,
                receipt.updated_at,
                *keep_until,
            )?;
            Ok(Some(event))
        }
        ReceiptChange::Advance {
            message_id,
            state,
            at,
            keep_until,
        } => {
            let Some(current) = find(tx, message_id).map_err(backend)? else {
                return Ok(None);
            };
            if !current.state.may_become(*state) {
                return Ok(None);
            }
            tx.prepare_cached(
                "UPDATE receipts SET state = ?2, updated_at = ?3, keep_until = ?4 WHERE message_id = ?1",
            )
            .and_then(|mut statement| {
                statement.execute(params![message_id, *state as i32, at, keep_until])
            })
            .map_err(backend)?;
            append(tx, &current.key_hash, message_id, *state, *at, *keep_until).map(Some)
        }
    }
}

fn append(
    tx: &Connection,
    key_hash: &[u8],
    message_id: &str,
    state: ReceiptState,
    at: UnixMillis,
    keep_until: UnixMillis,
) -> StoreResult<ReceiptEvent> {
    let event = ReceiptEvent {
        cursor: uuid::Uuid::now_v7().hyphenated().to_string(),
        message_id: message_id.to_owned(),
        state,
        at,
    };
    tx.prepare_cached(
        "INSERT INTO receipt_events (key_hash, cursor, message_id, state, at, keep_until)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .and_then(|mut statement| {
        statement.execute(params![
            key_hash,
            event.cursor,
            event.message_id,
            state as i32,
            at,
            keep_until
        ])
    })
    .map_err(backend)?;
    Ok(event)
}

const COLUMNS: &str =
    "message_id, key_hash, subscription_id, copies, state, updated_at, expires_at";

fn receipt_row(row: &Row<'_>) -> rusqlite::Result<Receipt> {
    let state: i32 = row.get(4)?;
    let copies: String = row.get(3)?;
    Ok(Receipt {
        message_id: row.get(0)?,
        key_hash: row.get(1)?,
        subscription_id: row.get(2)?,
        copies: copies_from_text(&copies),
        state: ReceiptState::from_i32(state).unwrap_or(ReceiptState::Dropped),
        updated_at: row.get(5)?,
        expires_at: row.get(6)?,
    })
}

pub(crate) fn find(connection: &Connection, message_id: &str) -> rusqlite::Result<Option<Receipt>> {
    connection
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM receipts WHERE message_id = ?1"
        ))
        .and_then(|mut statement| {
            statement
                .query_row(params![message_id], receipt_row)
                .optional()
        })
}

pub(crate) fn pending(connection: &Connection, limit: usize) -> rusqlite::Result<Vec<Receipt>> {
    connection
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM receipts WHERE state < ?1 ORDER BY message_id LIMIT ?2"
        ))
        .and_then(|mut statement| {
            statement
                .query_map(
                    params![ReceiptState::Acked as i32, limit as i64],
                    receipt_row,
                )?
                .collect()
        })
}

pub(crate) fn events(
    connection: &Connection,
    key_hash: &[u8],
    after: Option<&str>,
    limit: usize,
) -> rusqlite::Result<Vec<ReceiptEvent>> {
    connection
        .prepare_cached(
            "SELECT cursor, message_id, state, at FROM receipt_events
             WHERE key_hash = ?1 AND cursor > ?2 ORDER BY cursor LIMIT ?3",
        )
        .and_then(|mut statement| {
            statement
                .query_map(
                    params![key_hash, after.unwrap_or(""), limit as i64],
                    |row| {
                        let state: i32 = row.get(2)?;
                        Ok(ReceiptEvent {
                            cursor: row.get(0)?,
                            message_id: row.get(1)?,
                            state: ReceiptState::from_i32(state).unwrap_or(ReceiptState::Dropped),
                            at: row.get(3)?,
                        })
                    },
                )?
                .collect()
        })
}

/// Deletes what is kept until before `now`; how many receipts went.
pub(crate) fn purge(tx: &Connection, now: UnixMillis) -> StoreResult<u64> {
    tx.execute(
        "DELETE FROM receipt_events WHERE keep_until < ?1",
        params![now],
    )
    .map_err(backend)?;
    let receipts = tx
        .execute("DELETE FROM receipts WHERE keep_until < ?1", params![now])
        .map_err(backend)?;
    Ok(receipts as u64)
}
