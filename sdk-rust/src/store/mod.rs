//! [`KeyStore`]: the device's local SQLite file.
//!
//! It owns everything a device must not lose or leak: which server it registered with, its
//! credential, each subscription's private keys, and the ids of messages already handed to
//! the app (so a redelivery after a lost ack is not shown twice), and, for a desktop client
//! that asks for it, the last messages it received (the inbox). The file is created `0600`.
//!
//! Calls are synchronous and short (one small row), so async callers use them inline rather
//! than paying for a blocking-pool hop.
mod account;
mod inbox;
mod queries;
mod schema;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::Connection;

use crate::crypto::{CryptoError, SubscriptionKeys};

pub use account::DeviceKeyRecord;
pub use inbox::{INBOX_CAPACITY, InboxEntry};

/// How long a delivered message id is remembered. The server drops a message once acked or
/// expired, so an id older than any sane TTL cannot come back.
pub const SEEN_RETENTION_MS: i64 = 7 * 24 * 3600 * 1000;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("keystore {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("keystore: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("keystore schema version {found} is newer than this SDK supports ({supported})")]
    NewerSchema { found: u32, supported: u32 },
    #[error("keystore device key: {0}")]
    DeviceKey(#[source] CryptoError),
    #[error("keystore holds unreadable keys for subscription {subscription_id}: {source}")]
    CorruptKeys {
        subscription_id: String,
        #[source]
        source: CryptoError,
    },
}

/// The registered device.
#[derive(Clone, PartialEq, Eq)]
pub struct DeviceRecord {
    pub server_url: String,
    pub device_id: String,
    pub credential: String,
}

// Hand-written so the credential never lands in logs.
impl fmt::Debug for DeviceRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceRecord")
            .field("server_url", &self.server_url)
            .field("device_id", &self.device_id)
            .finish_non_exhaustive()
    }
}

/// One subscription and the keys that open its messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSubscription {
    pub id: String,
    pub endpoint: String,
    pub app_server_key: Option<Vec<u8>>,
    pub keys: SubscriptionKeys,
    pub created_at_unix_ms: i64,
    /// The account's (every approved device of it has these keys), not only this device's.
    pub for_account: bool,
}

pub struct KeyStore {
    // rusqlite's Connection is not Sync; the mutex lets one KeyStore serve a listener and
    // API calls at once. Contention is negligible at one row per call.
    conn: Mutex<Connection>,
}

impl KeyStore {
    /// Opens (creating if needed, mode 0600) and migrates the keystore at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<KeyStore, StoreError> {
        let path = path.as_ref();
        create_private_file(path).map_err(|source| StoreError::Open {
            path: path.to_owned(),
            source,
        })?;
        Self::from_connection(Connection::open(path)?)
    }

    /// A throwaway in-memory keystore, for tests and ephemeral devices.
    pub fn open_in_memory() -> Result<KeyStore, StoreError> {
        Self::from_connection(Connection::open_in_memory()?)
    }

    fn from_connection(mut conn: Connection) -> Result<KeyStore, StoreError> {
        // Another process (a second pushctl) may hold the write lock briefly.
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        schema::migrate(&mut conn)?;
        Ok(KeyStore {
            conn: Mutex::new(conn),
        })
    }

    /// The schema version of the open file.
    pub fn schema_version(&self) -> Result<u32, StoreError> {
        Ok(self.with(|conn| conn.pragma_query_value(None, "user_version", |row| row.get(0)))?)
    }

    fn with<T>(&self, op: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> rusqlite::Result<T> {
        // A panic while holding the lock cannot leave SQLite inconsistent (it has its own
        // transactions), so a poisoned lock is safe to keep using.
        let conn = self
            .conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        op(&conn)
    }
}

/// Creates `path` readable by its owner only, and tightens an existing file to match; the
/// file holds private keys and a bearer credential.
fn create_private_file(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600);
        options.open(path)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    #[cfg(not(unix))]
    options.open(path)?;
    Ok(())
}
