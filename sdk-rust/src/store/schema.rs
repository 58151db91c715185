//! The keystore's schema, versioned with `PRAGMA user_version`.
//!
//! Each entry of [`MIGRATIONS`] moves the file from version `i` to `i + 1`; entries are only
//! ever appended, so an old file upgrades by running the tail it has not seen.
use rusqlite::Connection;

use super::StoreError;

const MIGRATIONS: &[&str] = &[
    // 0 -> 1: the device, its subscriptions, and message ids already handed to the app.
    "CREATE TABLE device (
         singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
         server_url TEXT NOT NULL,
         device_id TEXT NOT NULL,
         credential TEXT NOT NULL
     );
     CREATE TABLE subscriptions (
         id TEXT PRIMARY KEY,
         endpoint TEXT NOT NULL,
         app_server_key BLOB,
         keys BLOB NOT NULL,
         created_at_unix_ms INTEGER NOT NULL
     );
     CREATE TABLE seen_messages (
         message_id TEXT PRIMARY KEY,
         seen_at_unix_ms INTEGER NOT NULL
     );
     CREATE INDEX seen_messages_by_age ON seen_messages (seen_at_unix_ms);",
    // 1 -> 2: app-chosen names ("scopes") for subscriptions, as mobile apps
    // address them (one per site or feature), kept apart from the keys.
    "CREATE TABLE scopes (
         scope TEXT PRIMARY KEY,
         subscription_id TEXT NOT NULL UNIQUE
     );",
    // 2 -> 3: the device's own key pair, which other devices of the user's account seal
    // account subscriptions' keys to, and which account it belongs to.
    "CREATE TABLE device_key (
         singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
         keys BLOB NOT NULL,
         account_id TEXT
     );
     ALTER TABLE subscriptions ADD COLUMN for_account INTEGER NOT NULL DEFAULT 0;",
    // 3 -> 4: the last messages shown (`pushctl inbox`), decrypted. Kept in this file because
    // it is already the device's private, 0600 place; `seq` orders them as they arrived.
    "CREATE TABLE inbox (
         seq INTEGER PRIMARY KEY,
         message_id TEXT NOT NULL UNIQUE,
         subscription_id TEXT NOT NULL,
         topic TEXT,
         urgency INTEGER NOT NULL,
         payload BLOB NOT NULL,
         sent_at_unix_ms INTEGER NOT NULL,
         kept_at_unix_ms INTEGER NOT NULL
     );",
];

/// The version this build writes.
pub(crate) const CURRENT_VERSION: u32 = MIGRATIONS.len() as u32;

/// Brings `conn` up to [`CURRENT_VERSION`], refusing files written by a newer SDK rather than
/// guessing at tables it does not know.
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let found: u32 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if found > CURRENT_VERSION {
        return Err(StoreError::NewerSchema {
            found,
            supported: CURRENT_VERSION,
        });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        // One transaction per step: a crash leaves the file at a version it really has.
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index as u32 + 1)?;
        tx.commit()?;
    }
    Ok(())
}
