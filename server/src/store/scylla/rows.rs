//! Turning result rows into domain records.

use scylla::response::query_result::QueryResult;
use scylla::value::{CqlValue, Row};

use super::schema::backend;
use crate::domain::{DeviceRecord, QueuedMessage, SubscriptionRecord, Urgency};
use crate::store::{PendingQuery, StoreError, StoreResult};

/// id, subscription_id, topic, urgency, payload, received_at, expires_at
pub(crate) type PendingRow = (String, String, Option<String>, i8, Vec<u8>, i64, i64);

/// A lightweight transaction's `[applied]` column; false means the id exists.
pub(crate) fn require_applied(result: QueryResult, what: &str) -> StoreResult<()> {
    let rows = result.into_rows_result().map_err(backend)?;
    let row: Row = rows.first_row().map_err(backend)?;
    match row.columns.first() {
        Some(Some(CqlValue::Boolean(true))) => Ok(()),
        Some(Some(CqlValue::Boolean(false))) => Err(StoreError::AlreadyExists(what.to_string())),
        other => Err(StoreError::Backend(format!(
            "unexpected [applied] column: {other:?}"
        ))),
    }
}

pub(crate) fn maybe_device(result: QueryResult) -> StoreResult<Option<DeviceRecord>> {
    let rows = result.into_rows_result().map_err(backend)?;
    let row = rows
        .maybe_first_row::<(String, Vec<u8>, i64)>()
        .map_err(backend)?;
    Ok(row.map(|(id, secret_hash, created_at)| DeviceRecord {
        id,
        secret_hash,
        created_at,
    }))
}

/// Rows of `id, device_id, app_server_key, created_at, account_id`.
pub(crate) fn subscriptions(result: QueryResult) -> StoreResult<Vec<SubscriptionRecord>> {
    let rows = result.into_rows_result().map_err(backend)?;
    let typed = rows
        .rows::<(String, String, Option<Vec<u8>>, i64, Option<String>)>()
        .map_err(backend)?;
    typed
        .map(|row| {
            let (id, device_id, app_server_key, created_at, account_id) = row.map_err(backend)?;
            Ok(SubscriptionRecord {
                id,
                device_id,
                app_server_key,
                created_at,
                account_id,
            })
        })
        .collect()
}

/// Rows of `id, device_id, app_server_key, created_at` from a device's own list.
pub(crate) fn own_subscriptions(result: QueryResult) -> StoreResult<Vec<SubscriptionRecord>> {
    let rows = result.into_rows_result().map_err(backend)?;
    let typed = rows
        .rows::<(String, String, Option<Vec<u8>>, i64)>()
        .map_err(backend)?;
    typed
        .map(|row| {
            let (id, device_id, app_server_key, created_at) = row.map_err(backend)?;
            Ok(SubscriptionRecord {
                id,
                device_id,
                app_server_key,
                created_at,
                account_id: None,
            })
        })
        .collect()
}

/// A lightweight transaction's `[applied]` column.
pub(crate) fn applied(result: QueryResult) -> StoreResult<bool> {
    let rows = result.into_rows_result().map_err(backend)?;
    let row: Row = rows.first_row().map_err(backend)?;
    Ok(matches!(
        row.columns.first(),
        Some(Some(CqlValue::Boolean(true)))
    ))
}

pub(crate) fn maybe_text(result: QueryResult) -> StoreResult<Option<String>> {
    let rows = result.into_rows_result().map_err(backend)?;
    Ok(rows
        .maybe_first_row::<(String,)>()
        .map_err(backend)?
        .map(|(text,)| text))
}

/// id, subscription_id, size, expires_at of a queued message.
pub(crate) type QueuedShare = (String, String, Option<i32>, i64);

/// The message, if it is due under `query` (not expired, urgent enough).
pub(crate) fn pending_message(row: PendingRow, query: &PendingQuery) -> Option<QueuedMessage> {
    let (id, subscription_id, topic, urgency, payload, received_at, expires_at) = row;
    let urgency = Urgency::from_u8(u8::try_from(urgency).ok()?).unwrap_or(Urgency::Normal);
    if expires_at <= query.now || urgency < query.min_urgency {
        return None;
    }
    Some(QueuedMessage {
        id,
        device_id: query.device_id.clone(),
        subscription_id,
        topic,
        urgency,
        payload,
        received_at,
        expires_at,
    })
}
