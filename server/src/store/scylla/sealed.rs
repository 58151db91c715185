//! Sealed key bundles (one partition per recipient device) and sender block
//! lists (one partition per owner) in CQL.

use scylla::statement::prepared::PreparedStatement;

use super::ScyllaStore;
use super::schema::backend;
use super::statements::Preparer;
use crate::domain::SealedKeys;
use crate::store::StoreResult;

pub(crate) struct SealedStatements {
    insert: PreparedStatement,
    select: PreparedStatement,
    /// One bundle: its subscription went away.
    pub(crate) delete: PreparedStatement,
    /// Every bundle of a device: the device went away.
    pub(crate) delete_of: PreparedStatement,
    block: PreparedStatement,
    unblock: PreparedStatement,
    select_blocked: PreparedStatement,
    /// A whole block list: its device went away.
    pub(crate) delete_blocks: PreparedStatement,
    insert_secret: PreparedStatement,
    select_secret: PreparedStatement,
}

impl SealedStatements {
    pub(crate) async fn prepare(p: &Preparer<'_>) -> StoreResult<Self> {
        Ok(Self {
            insert: p.cql("INSERT INTO {ks}.sealed_keys (recipient_device_id, subscription_id, sender_device_id, sealed, created_at) VALUES (?, ?, ?, ?, ?)").await?,
            select: p.cql("SELECT recipient_device_id, subscription_id, sender_device_id, sealed, created_at FROM {ks}.sealed_keys WHERE recipient_device_id = ?").await?,
            delete: p.cql("DELETE FROM {ks}.sealed_keys WHERE recipient_device_id = ? AND subscription_id = ?").await?,
            delete_of: p.cql("DELETE FROM {ks}.sealed_keys WHERE recipient_device_id = ?").await?,
            block: p.cql("INSERT INTO {ks}.sender_blocks (owner, key, created_at) VALUES (?, ?, ?)").await?,
            // A lightweight transaction, to say whether there was a block to lift.
            unblock: p.cql("DELETE FROM {ks}.sender_blocks WHERE owner = ? AND key = ? IF EXISTS").await?,
            select_blocked: p.cql("SELECT key FROM {ks}.sender_blocks WHERE owner = ?").await?,
            delete_blocks: p.cql("DELETE FROM {ks}.sender_blocks WHERE owner = ?").await?,
            // A lightweight transaction: the first node to start decides.
            insert_secret: p.cql("INSERT INTO {ks}.service_secrets (name, value) VALUES (?, ?) IF NOT EXISTS").await?,
            select_secret: p.cql("SELECT value FROM {ks}.service_secrets WHERE name = ?").await?,
        })
    }
}

impl ScyllaStore {
    pub(super) async fn insert_sealed(&self, bundles: &[SealedKeys]) -> StoreResult<()> {
        for bundle in bundles {
            let values = (
                &bundle.recipient_device_id,
                &bundle.subscription_id,
                &bundle.sender_device_id,
                &bundle.sealed,
                bundle.created_at,
            );
            self.execute(&self.sealed.insert, values).await?;
        }
        Ok(())
    }

    pub(super) async fn sealed_for(&self, device_id: &str) -> StoreResult<Vec<SealedKeys>> {
        let result = self.execute(&self.sealed.select, (device_id,)).await?;
        let rows = result.into_rows_result().map_err(backend)?;
        let mut bundles = rows
            .rows::<(String, String, String, Vec<u8>, i64)>()
            .map_err(backend)?
            .map(|row| {
                let (recipient_device_id, subscription_id, sender_device_id, sealed, created_at) =
                    row.map_err(backend)?;
                Ok(SealedKeys {
                    recipient_device_id,
                    subscription_id,
                    sender_device_id,
                    sealed,
                    created_at,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        bundles.sort_by(|a, b| {
            (a.created_at, &a.subscription_id).cmp(&(b.created_at, &b.subscription_id))
        });
        Ok(bundles)
    }

    pub(super) async fn block(&self, owner: &str, key: &[u8]) -> StoreResult<()> {
        self.execute(
            &self.sealed.block,
            (owner, key, crate::domain::now_millis()),
        )
        .await?;
        Ok(())
    }

    pub(super) async fn unblock(&self, owner: &str, key: &[u8]) -> StoreResult<bool> {
        let result = self.execute(&self.sealed.unblock, (owner, key)).await?;
        super::rows::applied(result)
    }

    pub(super) async fn blocked(&self, owner: &str) -> StoreResult<Vec<Vec<u8>>> {
        let result = self.execute(&self.sealed.select_blocked, (owner,)).await?;
        let rows = result.into_rows_result().map_err(backend)?;
        rows.rows::<(Vec<u8>,)>()
            .map_err(backend)?
            .map(|row| row.map(|(key,)| key).map_err(backend))
            .collect()
    }

    pub(super) async fn secret(&self, name: &str, candidate: &[u8]) -> StoreResult<Vec<u8>> {
        self.execute(&self.sealed.insert_secret, (name, candidate))
            .await?;
        let result = self.execute(&self.sealed.select_secret, (name,)).await?;
        let rows = result.into_rows_result().map_err(backend)?;
        rows.maybe_first_row::<(Vec<u8>,)>()
            .map_err(backend)?
            .map(|(value,)| value)
            .ok_or_else(|| {
                crate::store::StoreError::Backend(format!("service secret {name} vanished"))
            })
    }
}
