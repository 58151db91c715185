//! Accounts, their members, sealed key bundles and sender blocks: the SQL,
//! for the writer and readers.

use rusqlite::{Connection, ErrorCode, Row, params};

use super::{backend, row};
use crate::domain::{AccountDevice, SealedKeys, SubscriptionRecord};
use crate::store::{StoreError, StoreResult};

/// What an account write does.
#[derive(Debug)]
pub(crate) enum AccountChange {
    AddMember(AccountDevice),
    Approve {
        account_id: String,
        device_id: String,
    },
    RemoveDevice(String),
    PutSealed(Vec<SealedKeys>),
    Block {
        owner: String,
        key: Vec<u8>,
    },
    Unblock {
        owner: String,
        key: Vec<u8>,
    },
    /// Stores a service secret unless one by that name exists.
    Secret {
        name: String,
        value: Vec<u8>,
    },
}

/// Applies `change` in one savepoint; true if anything matched.
pub(crate) fn apply(tx: &Connection, change: &AccountChange) -> StoreResult<bool> {
    match change {
        AccountChange::AddMember(member) => {
            tx.prepare_cached(
                "INSERT INTO account_devices
                   (account_id, device_id, name, public_key, auth_secret, approved, added_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .and_then(|mut statement| {
                statement.execute(params![
                    member.account_id,
                    member.device_id,
                    member.name,
                    member.public_key,
                    member.auth_secret,
                    member.approved,
                    member.added_at
                ])
            })
            .map_err(|error| match error.sqlite_error_code() {
                Some(ErrorCode::ConstraintViolation) => {
                    StoreError::AlreadyExists(format!("account membership of {}", member.device_id))
                }
                _ => backend(error),
            })?;
            Ok(true)
        }
        AccountChange::Approve {
            account_id,
            device_id,
        } => Ok(tx
            .execute(
                "UPDATE account_devices SET approved = 1 WHERE account_id = ?1 AND device_id = ?2",
                params![account_id, device_id],
            )
            .map_err(backend)?
            > 0),
        AccountChange::RemoveDevice(device_id) => remove_device(tx, device_id),
        AccountChange::Block { owner, key } => Ok(tx
            .execute(
                "INSERT OR IGNORE INTO sender_blocks (owner, key, created_at) VALUES (?1, ?2, ?3)",
                params![owner, key, crate::domain::now_millis()],
            )
            .map_err(backend)?
            > 0),
        AccountChange::Secret { name, value } => Ok(tx
            .execute(
                "INSERT OR IGNORE INTO service_secrets (name, value) VALUES (?1, ?2)",
                params![name, value],
            )
            .map_err(backend)?
            > 0),
        AccountChange::Unblock { owner, key } => Ok(tx
            .execute(
                "DELETE FROM sender_blocks WHERE owner = ?1 AND key = ?2",
                params![owner, key],
            )
            .map_err(backend)?
            > 0),
        AccountChange::PutSealed(bundles) => {
            let mut statement = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO sealed_keys
                       (recipient_device_id, subscription_id, sender_device_id, sealed, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(backend)?;
            for bundle in bundles {
                statement
                    .execute(params![
                        bundle.recipient_device_id,
                        bundle.subscription_id,
                        bundle.sender_device_id,
                        bundle.sealed,
                        bundle.created_at
                    ])
                    .map_err(backend)?;
            }
            Ok(true)
        }
    }
}

fn remove_device(tx: &Connection, device_id: &str) -> StoreResult<bool> {
    let removed = tx
        .execute("DELETE FROM devices WHERE id = ?1", params![device_id])
        .map_err(backend)?;
    // Messages of its own subscriptions can sit only in its own queue.
    let statements = [
        "DELETE FROM subscriptions WHERE device_id = ?1 AND account_id IS NULL",
        "DELETE FROM messages WHERE device_id = ?1",
        "DELETE FROM account_devices WHERE device_id = ?1",
        "DELETE FROM sealed_keys WHERE recipient_device_id = ?1",
        "DELETE FROM bridges WHERE device_id = ?1",
    ];
    for sql in statements {
        tx.execute(sql, params![device_id]).map_err(backend)?;
    }
    let own_blocks = crate::domain::BlockOwner::Device(device_id.to_owned()).key();
    tx.execute(
        "DELETE FROM sender_blocks WHERE owner = ?1",
        params![own_blocks],
    )
    .map_err(backend)?;
    Ok(removed > 0)
}

const MEMBER_COLUMNS: &str =
    "account_id, device_id, name, public_key, auth_secret, approved, added_at";

fn member(row: &Row<'_>) -> rusqlite::Result<AccountDevice> {
    Ok(AccountDevice {
        account_id: row.get(0)?,
        device_id: row.get(1)?,
        name: row.get(2)?,
        public_key: row.get(3)?,
        auth_secret: row.get(4)?,
        approved: row.get(5)?,
        added_at: row.get(6)?,
    })
}

pub(crate) fn account_of(
    connection: &Connection,
    device_id: &str,
) -> rusqlite::Result<Vec<AccountDevice>> {
    let sql = format!("SELECT {MEMBER_COLUMNS} FROM account_devices WHERE device_id = ?1");
    let mut statement = connection.prepare_cached(&sql)?;
    let rows = statement.query_map(params![device_id], member)?;
    rows.collect()
}

pub(crate) fn members(
    connection: &Connection,
    account_id: &str,
) -> rusqlite::Result<Vec<AccountDevice>> {
    let sql = format!(
        "SELECT {MEMBER_COLUMNS} FROM account_devices WHERE account_id = ?1
         ORDER BY added_at, device_id"
    );
    let mut statement = connection.prepare_cached(&sql)?;
    let rows = statement.query_map(params![account_id], member)?;
    rows.collect()
}

pub(crate) fn subscriptions(
    connection: &Connection,
    account_id: &str,
) -> rusqlite::Result<Vec<SubscriptionRecord>> {
    let sql = format!(
        "SELECT {} FROM subscriptions WHERE account_id = ?1 ORDER BY created_at, id",
        row::SUBSCRIPTION_COLUMNS
    );
    let mut statement = connection.prepare_cached(&sql)?;
    let rows = statement.query_map(params![account_id], row::subscription)?;
    rows.collect()
}

pub(crate) fn secret(connection: &Connection, name: &str) -> rusqlite::Result<Vec<u8>> {
    connection
        .prepare_cached("SELECT value FROM service_secrets WHERE name = ?1")?
        .query_row(params![name], |row| row.get(0))
}

pub(crate) fn blocked(connection: &Connection, owner: &str) -> rusqlite::Result<Vec<Vec<u8>>> {
    let mut statement =
        connection.prepare_cached("SELECT key FROM sender_blocks WHERE owner = ?1 ORDER BY key")?;
    let rows = statement.query_map(params![owner], |row| row.get(0))?;
    rows.collect()
}

pub(crate) fn sealed_for(
    connection: &Connection,
    device_id: &str,
) -> rusqlite::Result<Vec<SealedKeys>> {
    let mut statement = connection.prepare_cached(
        "SELECT recipient_device_id, subscription_id, sender_device_id, sealed, created_at
         FROM sealed_keys WHERE recipient_device_id = ?1 ORDER BY created_at, subscription_id",
    )?;
    let rows = statement.query_map(params![device_id], |row| {
        Ok(SealedKeys {
            recipient_device_id: row.get(0)?,
            subscription_id: row.get(1)?,
            sender_device_id: row.get(2)?,
            sealed: row.get(3)?,
            created_at: row.get(4)?,
        })
    })?;
    rows.collect()
}
