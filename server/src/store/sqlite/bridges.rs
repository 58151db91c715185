//! Bridges and message lookups by id: the SQL, for the writer and readers.

use rusqlite::{Connection, OptionalExtension, params};

use super::row;
use crate::domain::{Bridge, QueuedMessage, UnixMillis, now_millis};

/// What a bridge write does.
#[derive(Debug)]
pub(crate) enum BridgeChange {
    Set(Bridge),
    Remove,
    /// Remove only if the stored token is this one.
    ForgetToken(String),
}

/// Applies `change`; true if a row was written or removed.
pub(crate) fn apply(
    tx: &Connection,
    device_id: &str,
    change: &BridgeChange,
) -> rusqlite::Result<bool> {
    let changed = match change {
        BridgeChange::Set(bridge) => {
            let (kind, token, scope, sandbox) = bridge.parts();
            tx.prepare_cached(
                "INSERT INTO bridges (device_id, kind, token, scope, sandbox, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (device_id) DO UPDATE SET kind = ?2, token = ?3, scope = ?4,
                     sandbox = ?5, updated_at = ?6",
            )?
            .execute(params![
                device_id,
                kind,
                token,
                scope,
                sandbox,
                now_millis()
            ])?
        }
        BridgeChange::Remove => tx
            .prepare_cached("DELETE FROM bridges WHERE device_id = ?1")?
            .execute(params![device_id])?,
        BridgeChange::ForgetToken(token) => tx
            .prepare_cached("DELETE FROM bridges WHERE device_id = ?1 AND token = ?2")?
            .execute(params![device_id, token])?,
    };
    Ok(changed > 0)
}

pub(crate) fn bridge(connection: &Connection, device_id: &str) -> rusqlite::Result<Option<Bridge>> {
    let found = connection
        .prepare_cached("SELECT kind, token, scope, sandbox FROM bridges WHERE device_id = ?1")?
        .query_row(params![device_id], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
            ))
        })
        .optional()?;
    Ok(found
        .and_then(|(kind, token, scope, sandbox)| Bridge::from_parts(&kind, token, scope, sandbox)))
}

pub(crate) fn messages(
    connection: &Connection,
    device_id: &str,
    message_ids: &[String],
    now: UnixMillis,
) -> rusqlite::Result<Vec<QueuedMessage>> {
    let sql = format!(
        "SELECT {} FROM messages WHERE id = ?1 AND device_id = ?2 AND expires_at > ?3",
        row::MESSAGE_COLUMNS
    );
    let mut statement = connection.prepare_cached(&sql)?;
    let mut found = Vec::with_capacity(message_ids.len());
    for id in message_ids {
        if let Some(message) = statement
            .query_row(params![id, device_id, now], row::message)
            .optional()?
        {
            found.push(message);
        }
    }
    found.sort_by(|a, b| a.id.cmp(&b.id));
    found.dedup_by(|a, b| a.id == b.id);
    Ok(found)
}
