//! Mapping between rows and domain records.

use rusqlite::Row;

use crate::domain::{QueuedMessage, SubscriptionRecord, Urgency};

pub(crate) const MESSAGE_COLUMNS: &str =
    "id, device_id, subscription_id, topic, urgency, payload, received_at, expires_at";

pub(crate) fn message(row: &Row<'_>) -> rusqlite::Result<QueuedMessage> {
    let urgency: u8 = row.get(4)?;
    Ok(QueuedMessage {
        id: row.get(0)?,
        device_id: row.get(1)?,
        subscription_id: row.get(2)?,
        topic: row.get(3)?,
        // Only this process writes the column; an unknown value means a newer
        // pushd wrote it, and normal is the safe reading.
        urgency: Urgency::from_u8(urgency).unwrap_or(Urgency::Normal),
        payload: row.get(5)?,
        received_at: row.get(6)?,
        expires_at: row.get(7)?,
    })
}

pub(crate) const SUBSCRIPTION_COLUMNS: &str =
    "id, device_id, app_server_key, created_at, account_id";

pub(crate) fn subscription(row: &Row<'_>) -> rusqlite::Result<SubscriptionRecord> {
    Ok(SubscriptionRecord {
        id: row.get(0)?,
        device_id: row.get(1)?,
        app_server_key: row.get(2)?,
        created_at: row.get(3)?,
        account_id: row.get(4)?,
    })
}
