//! Read-only connections, used from tokio's blocking pool.

use std::path::Path;
use std::sync::Arc;

use parking_lot::Mutex;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use tokio::sync::Semaphore;

use super::{backend, row};
use crate::domain::{DeviceRecord, QueuedMessage, SubscriptionRecord, UnixMillis};
use crate::store::{PendingQuery, StoreError, StoreResult};

pub(crate) struct ReaderPool {
    idle: Arc<Mutex<Vec<Connection>>>,
    permits: Arc<Semaphore>,
}

impl ReaderPool {
    pub(crate) fn open(path: &Path, size: usize) -> StoreResult<Self> {
        let mut connections = Vec::with_capacity(size);
        for _ in 0..size {
            let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
            let connection = Connection::open_with_flags(path, flags).map_err(backend)?;
            connection
                .pragma_update(None, "busy_timeout", 5000)
                .map_err(backend)?;
            connections.push(connection);
        }
        Ok(Self {
            idle: Arc::new(Mutex::new(connections)),
            permits: Arc::new(Semaphore::new(size)),
        })
    }

    /// Runs `query` on an idle connection without blocking the async runtime.
    pub(crate) async fn run<T, F>(&self, query: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| closed())?;
        let idle = self.idle.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            // A blocking mutex: held only to pop or push a connection, never across a query.
            let connection = idle.lock().pop().ok_or_else(closed)?;
            let result = query(&connection).map_err(backend);
            idle.lock().push(connection);
            result
        })
        .await
        .map_err(|error| StoreError::Backend(format!("reader task failed: {error}")))?
    }
}

fn closed() -> StoreError {
    StoreError::Unavailable("the store is closed".into())
}

pub(crate) fn registered_between(
    connection: &Connection,
    (from, to): (UnixMillis, UnixMillis),
    after: Option<(UnixMillis, String)>,
    limit: usize,
) -> rusqlite::Result<Vec<(UnixMillis, String)>> {
    let (after_at, after_id) = after.unwrap_or((from, String::new()));
    let mut statement = connection.prepare_cached(
        "SELECT created_at, id FROM devices WHERE created_at >= ?1 AND created_at < ?2 \
         AND (created_at, id) > (?3, ?4) ORDER BY created_at, id LIMIT ?5",
    )?;
    statement
        .query_map(params![from, to, after_at, after_id, limit as i64], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })?
        .collect()
}

pub(crate) fn device(
    connection: &Connection,
    device_id: &str,
) -> rusqlite::Result<Option<DeviceRecord>> {
    let mut statement = connection
        .prepare_cached("SELECT id, secret_hash, created_at FROM devices WHERE id = ?1")?;
    statement
        .query_row(params![device_id], |row| {
            Ok(DeviceRecord {
                id: row.get(0)?,
                secret_hash: row.get(1)?,
                created_at: row.get(2)?,
            })
        })
        .optional()
}

pub(crate) fn subscription(
    connection: &Connection,
    id: &str,
) -> rusqlite::Result<Option<SubscriptionRecord>> {
    let sql = format!(
        "SELECT {} FROM subscriptions WHERE id = ?1",
        row::SUBSCRIPTION_COLUMNS
    );
    connection
        .prepare_cached(&sql)?
        .query_row(params![id], row::subscription)
        .optional()
}

pub(crate) fn subscriptions_of(
    connection: &Connection,
    device_id: &str,
) -> rusqlite::Result<Vec<SubscriptionRecord>> {
    let sql = format!(
        "SELECT {} FROM subscriptions WHERE device_id = ?1 AND account_id IS NULL
         ORDER BY created_at, id",
        row::SUBSCRIPTION_COLUMNS
    );
    let mut statement = connection.prepare_cached(&sql)?;
    let rows = statement.query_map(params![device_id], row::subscription)?;
    rows.collect()
}

pub(crate) fn pending(
    connection: &Connection,
    query: &PendingQuery,
) -> rusqlite::Result<Vec<QueuedMessage>> {
    let sql = format!(
        "SELECT {} FROM messages
         WHERE device_id = ?1 AND id > ?2 AND expires_at > ?3 AND urgency >= ?4
         ORDER BY id LIMIT ?5",
        row::MESSAGE_COLUMNS
    );
    let mut statement = connection.prepare_cached(&sql)?;
    let after = query.after.as_deref().unwrap_or("");
    let limit = i64::try_from(query.limit).unwrap_or(i64::MAX);
    let rows = statement.query_map(
        params![
            query.device_id,
            after,
            query.now,
            query.min_urgency.as_u8(),
            limit
        ],
        row::message,
    )?;
    rows.collect()
}
