//! Table layout and migrations, versioned with `PRAGMA user_version`.

use rusqlite::Connection;

/// Each entry migrates from version `index` to `index + 1`.
const MIGRATIONS: &[&str] = &[
    r#"
    CREATE TABLE devices (
        id          TEXT PRIMARY KEY,
        secret_hash BLOB NOT NULL,
        created_at  INTEGER NOT NULL
    );
    CREATE TABLE subscriptions (
        id             TEXT PRIMARY KEY,
        device_id      TEXT NOT NULL,
        app_server_key BLOB,
        created_at     INTEGER NOT NULL
    );
    CREATE INDEX subscriptions_by_device ON subscriptions (device_id);
    CREATE TABLE messages (
        id              TEXT PRIMARY KEY,
        device_id       TEXT NOT NULL,
        subscription_id TEXT NOT NULL,
        topic           TEXT,
        urgency         INTEGER NOT NULL,
        payload         BLOB NOT NULL,
        received_at     INTEGER NOT NULL,
        expires_at      INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX messages_by_device ON messages (device_id, id);
    CREATE UNIQUE INDEX messages_by_topic ON messages (subscription_id, topic) WHERE topic IS NOT NULL;
    CREATE INDEX messages_by_expiry ON messages (expires_at);
"#,
    r#"
    CREATE TABLE bridges (
        device_id  TEXT PRIMARY KEY,
        kind       TEXT NOT NULL,
        token      TEXT NOT NULL,
        scope      TEXT NOT NULL,
        sandbox    INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    ) WITHOUT ROWID;
"#,
    // Accounts. An account subscription's messages are copied to each
    // member's queue, so a topic replaces within one device's copies only.
    r#"
    ALTER TABLE subscriptions ADD COLUMN account_id TEXT;
    CREATE INDEX subscriptions_by_account ON subscriptions (account_id) WHERE account_id IS NOT NULL;
    CREATE TABLE account_devices (
        account_id  TEXT NOT NULL,
        device_id   TEXT NOT NULL UNIQUE,
        name        TEXT NOT NULL,
        public_key  BLOB NOT NULL,
        auth_secret BLOB NOT NULL,
        approved    INTEGER NOT NULL,
        added_at    INTEGER NOT NULL,
        PRIMARY KEY (account_id, device_id)
    ) WITHOUT ROWID;
    CREATE TABLE sealed_keys (
        recipient_device_id TEXT NOT NULL,
        subscription_id     TEXT NOT NULL,
        sender_device_id    TEXT NOT NULL,
        sealed              BLOB NOT NULL,
        created_at          INTEGER NOT NULL,
        PRIMARY KEY (recipient_device_id, subscription_id)
    ) WITHOUT ROWID;
    CREATE INDEX sealed_keys_by_subscription ON sealed_keys (subscription_id);
    DROP INDEX messages_by_topic;
    CREATE UNIQUE INDEX messages_by_topic ON messages (device_id, subscription_id, topic) WHERE topic IS NOT NULL;
"#,
    // Sender keys refused for a device, an account or the whole service.
    r#"
    CREATE TABLE sender_blocks (
        owner      TEXT NOT NULL,
        key        BLOB NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (owner, key)
    ) WITHOUT ROWID;
"#,
    // Keys the service makes once and every node shares (endpoint tokens).
    r#"
    CREATE TABLE service_secrets (
        name  TEXT PRIMARY KEY,
        value BLOB NOT NULL
    ) WITHOUT ROWID;
"#,
    // Delivery receipts senders asked for, and each sender key's event log.
    r#"
    CREATE TABLE receipts (
        message_id      TEXT PRIMARY KEY,
        key_hash        BLOB NOT NULL,
        subscription_id TEXT NOT NULL,
        copies          TEXT NOT NULL,
        state           INTEGER NOT NULL,
        updated_at      INTEGER NOT NULL,
        expires_at      INTEGER NOT NULL,
        keep_until      INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX receipts_pending ON receipts (state, message_id);
    CREATE INDEX receipts_by_keep ON receipts (keep_until);
    CREATE TABLE receipt_events (
        key_hash   BLOB NOT NULL,
        cursor     TEXT NOT NULL,
        message_id TEXT NOT NULL,
        state      INTEGER NOT NULL,
        at         INTEGER NOT NULL,
        keep_until INTEGER NOT NULL,
        PRIMARY KEY (key_hash, cursor)
    ) WITHOUT ROWID;
    CREATE INDEX receipt_events_by_keep ON receipt_events (keep_until);
"#,
    // Bridged deliveries waiting to be sent (see bridges::schedule): read
    // by due time, removed by message id.
    r#"
    CREATE TABLE wake_ups (
        message_id TEXT PRIMARY KEY,
        device_id  TEXT NOT NULL,
        due_at     INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX wake_ups_by_due ON wake_ups (due_at, message_id);
"#,
    // Devices by registration time, for the sweep that removes those never
    // used (see store::unused_devices).
    r#"
    CREATE INDEX devices_by_registration ON devices (created_at, id);
"#,
];

pub(crate) const VERSION: u32 = MIGRATIONS.len() as u32;

/// Connection settings every connection needs. WAL lets readers run beside
/// the single writer; `synchronous` decides whether a commit waits for fsync.
pub(crate) fn configure(connection: &Connection, synchronous_full: bool) -> rusqlite::Result<()> {
    connection.pragma_update(None, "journal_mode", "WAL")?;
    connection.pragma_update(
        None,
        "synchronous",
        if synchronous_full { "FULL" } else { "NORMAL" },
    )?;
    connection.pragma_update(None, "busy_timeout", 5000)?;
    Ok(())
}

/// Why the database could not be brought to [`VERSION`].
#[derive(Debug, thiserror::Error)]
pub(crate) enum MigrationError {
    #[error("reading schema version: {0}")]
    ReadVersion(#[source] rusqlite::Error),
    #[error(
        "database schema version {0} is newer than this pushd understands ({VERSION}); upgrade pushd"
    )]
    TooNew(u32),
    #[error("migrating schema from version {from}: {source}")]
    Step {
        from: usize,
        source: rusqlite::Error,
    },
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
}

/// Brings the database to [`VERSION`]; refuses a database from a newer pushd.
pub(crate) fn migrate(connection: &mut Connection) -> Result<(), MigrationError> {
    let current: u32 = connection
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(MigrationError::ReadVersion)?;
    if current > VERSION {
        return Err(MigrationError::TooNew(current));
    }
    for (from, migration) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let transaction = connection.transaction()?;
        transaction
            .execute_batch(migration)
            .map_err(|source| MigrationError::Step { from, source })?;
        transaction.pragma_update(None, "user_version", from as u32 + 1)?;
        transaction.commit()?;
    }
    Ok(())
}
