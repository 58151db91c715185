//! The device key and account membership in the keystore.
use rusqlite::{OptionalExtension, params};

use super::{KeyStore, StoreError};
use crate::crypto::{self, SubscriptionKeys};

/// This device's sealing key and, once it created or joined one, its account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceKeyRecord {
    pub keys: SubscriptionKeys,
    pub account_id: Option<String>,
}

impl KeyStore {
    /// The device key, generated and kept on first use. Generated here, on the device: its
    /// private half is never sent anywhere.
    pub fn device_key(&self) -> Result<DeviceKeyRecord, StoreError> {
        if let Some(found) = self.stored_device_key()? {
            return Ok(found);
        }
        let keys = crypto::generate_subscription_keys().map_err(StoreError::DeviceKey)?;
        // OR IGNORE: if another handle on the file won the race, its key stands.
        self.with(|conn| {
            conn.execute(
                "INSERT OR IGNORE INTO device_key (singleton, keys) VALUES (1, ?1)",
                params![keys.to_bytes()],
            )
        })?;
        self.stored_device_key()?
            .ok_or_else(|| StoreError::Sqlite(rusqlite::Error::QueryReturnedNoRows))
    }

    fn stored_device_key(&self) -> Result<Option<DeviceKeyRecord>, StoreError> {
        let row = self.with(|conn| {
            conn.query_row(
                "SELECT keys, account_id FROM device_key WHERE singleton = 1",
                [],
                |row| Ok((row.get::<_, Vec<u8>>(0)?, row.get::<_, Option<String>>(1)?)),
            )
            .optional()
        })?;
        row.map(|(bytes, account_id)| {
            let keys = SubscriptionKeys::from_bytes(&bytes).map_err(StoreError::DeviceKey)?;
            Ok(DeviceKeyRecord { keys, account_id })
        })
        .transpose()
    }

    /// Records the account this device created or asked to join.
    pub fn set_account(&self, account_id: &str) -> Result<(), StoreError> {
        self.device_key()?;
        self.with(|conn| {
            conn.execute(
                "UPDATE device_key SET account_id = ?1 WHERE singleton = 1",
                params![account_id],
            )
        })?;
        Ok(())
    }
}
