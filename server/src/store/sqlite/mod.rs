//! The embedded default store: one SQLite file in WAL mode.
//!
//! All writes go through one writer thread that group-commits: whatever
//! arrived while the previous transaction was syncing goes into the next one,
//! so one fsync covers many accepted messages. Reads use a small pool of
//! their own connections, which WAL lets run beside the writer.

mod accounts;
mod bridges;
mod coalesce;
mod commit;
mod deferred;
mod op;
mod ops;
mod reader;
mod receipts;
mod row;
mod schema;
mod tombstones;
mod wake_ups;
mod writer;

use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;

use super::{Admission, Enqueued, PendingQuery, Store, StoreError, StoreResult};
use crate::domain::{
    AccountDevice, Bridge, DeviceRecord, QueuedMessage, Receipt, ReceiptEvent, ReceiptState,
    SealedKeys, SubscriptionRecord, UnixMillis, WakeUp,
};
use accounts::AccountChange;
use bridges::BridgeChange;
use op::WriteOp;
use reader::ReaderPool;
use receipts::ReceiptChange;
use wake_ups::WakeUpChange;
use writer::WriterHandle;

/// Options for [`SqliteStore::open`].
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    /// Wait for fsync on every commit (survives power loss), not only for the
    /// OS to have the data (survives a crash of pushd).
    pub(crate) synchronous_full: bool,
    pub(crate) readers: usize,
    /// How long an insert of a live-delivered message waits for its ack,
    /// which makes the write unnecessary. Zero writes at once.
    pub(crate) live_ack_wait: Duration,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            synchronous_full: true,
            readers: 4,
            live_ack_wait: Duration::from_millis(20),
        }
    }
}

pub struct SqliteStore {
    writer: WriterHandle,
    readers: ReaderPool,
}

impl SqliteStore {
    /// Opens (creating and migrating if needed) the database at `path`.
    pub fn open(path: &Path, options: SqliteOptions) -> StoreResult<Self> {
        let writer = WriterHandle::start(path, options.synchronous_full, options.live_ack_wait)?;
        let readers = ReaderPool::open(path, options.readers.max(1))?;
        Ok(Self { writer, readers })
    }

    /// Finishes every queued write and stops the writer thread.
    pub(crate) async fn close(&self) {
        self.writer.close().await;
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn create_device(&self, device: &DeviceRecord) -> StoreResult<()> {
        self.writer
            .call(|reply| WriteOp::CreateDevice(device.clone(), reply))
            .await
    }

    async fn device(&self, device_id: &str) -> StoreResult<Option<DeviceRecord>> {
        let device_id = device_id.to_owned();
        self.readers
            .run(move |connection| reader::device(connection, &device_id))
            .await
    }

    async fn create_subscription(&self, subscription: &SubscriptionRecord) -> StoreResult<()> {
        self.writer
            .call(|reply| WriteOp::CreateSubscription(subscription.clone(), reply))
            .await
    }

    async fn subscription(&self, subscription_id: &str) -> StoreResult<Option<SubscriptionRecord>> {
        let id = subscription_id.to_owned();
        self.readers
            .run(move |connection| reader::subscription(connection, &id))
            .await
    }

    async fn subscriptions_of(&self, device_id: &str) -> StoreResult<Vec<SubscriptionRecord>> {
        let device_id = device_id.to_owned();
        self.readers
            .run(move |connection| reader::subscriptions_of(connection, &device_id))
            .await
    }

    async fn delete_subscription(
        &self,
        device_id: &str,
        subscription_id: &str,
    ) -> StoreResult<bool> {
        let (device_id, subscription_id) = (device_id.to_owned(), subscription_id.to_owned());
        self.writer
            .call(|reply| WriteOp::DeleteSubscription {
                device_id,
                subscription_id,
                reply,
            })
            .await
    }

    async fn enqueue(&self, message: QueuedMessage, admission: Admission) -> StoreResult<Enqueued> {
        self.writer
            .call(|reply| WriteOp::Enqueue {
                message,
                admission,
                acked_in_batch: false,
                reply,
            })
            .await
    }

    async fn pending(&self, query: PendingQuery) -> StoreResult<Vec<QueuedMessage>> {
        self.readers
            .run(move |connection| reader::pending(connection, &query))
            .await
    }

    async fn ack(&self, device_id: &str, message_ids: &[String]) -> StoreResult<u64> {
        let (device_id, message_ids) = (device_id.to_owned(), message_ids.to_vec());
        self.writer
            .call(|reply| WriteOp::Ack {
                device_id,
                message_ids,
                removed_in_batch: 0,
                reply,
            })
            .await
    }

    async fn purge_expired(&self, now: UnixMillis) -> StoreResult<u64> {
        self.writer
            .call(|reply| WriteOp::PurgeExpired { now, reply })
            .await
    }

    async fn messages(
        &self,
        device_id: &str,
        message_ids: &[String],
        now: UnixMillis,
    ) -> StoreResult<Vec<QueuedMessage>> {
        let (device_id, message_ids) = (device_id.to_owned(), message_ids.to_vec());
        self.readers
            .run(move |connection| bridges::messages(connection, &device_id, &message_ids, now))
            .await
    }

    async fn set_bridge(&self, device_id: &str, bridge: Option<&Bridge>) -> StoreResult<()> {
        let change = match bridge {
            Some(bridge) => BridgeChange::Set(bridge.clone()),
            None => BridgeChange::Remove,
        };
        self.change_bridge(device_id, change).await.map(|_| ())
    }

    async fn bridge(&self, device_id: &str) -> StoreResult<Option<Bridge>> {
        let device_id = device_id.to_owned();
        self.readers
            .run(move |connection| bridges::bridge(connection, &device_id))
            .await
    }

    async fn forget_bridge_token(&self, device_id: &str, token: &str) -> StoreResult<bool> {
        self.change_bridge(device_id, BridgeChange::ForgetToken(token.to_owned()))
            .await
    }

    async fn schedule_wake_up(&self, wake_up: &WakeUp) -> StoreResult<()> {
        self.change_wake_ups(WakeUpChange::Schedule(wake_up.clone()))
            .await
            .map(|_| ())
    }

    async fn claim_wake_ups(
        &self,
        now: UnixMillis,
        lease_until: UnixMillis,
        limit: usize,
    ) -> StoreResult<Vec<WakeUp>> {
        // A reader looks first, so the poll that finds nothing (most of
        // them) costs the writer no transaction.
        let any_due = self
            .readers
            .run(move |connection| wake_ups::due(connection, now, 1))
            .await?;
        if any_due.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        self.change_wake_ups(WakeUpChange::Claim {
            now,
            lease_until,
            limit,
        })
        .await
    }

    async fn finish_wake_up(&self, wake_up: &WakeUp) -> StoreResult<()> {
        self.change_wake_ups(WakeUpChange::Finish(wake_up.clone()))
            .await
            .map(|_| ())
    }

    async fn account_subscriptions(
        &self,
        account_id: &str,
    ) -> StoreResult<Vec<SubscriptionRecord>> {
        let account_id = account_id.to_owned();
        self.readers
            .run(move |connection| accounts::subscriptions(connection, &account_id))
            .await
    }

    async fn add_account_device(&self, member: &AccountDevice) -> StoreResult<()> {
        self.change_account(AccountChange::AddMember(member.clone()))
            .await
            .map(|_| ())
    }

    async fn account_of(&self, device_id: &str) -> StoreResult<Option<AccountDevice>> {
        let device_id = device_id.to_owned();
        let found = self
            .readers
            .run(move |connection| accounts::account_of(connection, &device_id))
            .await?;
        Ok(found.into_iter().next())
    }

    async fn account_devices(&self, account_id: &str) -> StoreResult<Vec<AccountDevice>> {
        let account_id = account_id.to_owned();
        self.readers
            .run(move |connection| accounts::members(connection, &account_id))
            .await
    }

    async fn approve_account_device(&self, account_id: &str, device_id: &str) -> StoreResult<bool> {
        self.change_account(AccountChange::Approve {
            account_id: account_id.to_owned(),
            device_id: device_id.to_owned(),
        })
        .await
    }

    async fn registered_between(
        &self,
        from: UnixMillis,
        to: UnixMillis,
        after: Option<(UnixMillis, String)>,
        limit: usize,
    ) -> StoreResult<Vec<(UnixMillis, String)>> {
        self.readers
            .run(move |connection| reader::registered_between(connection, (from, to), after, limit))
            .await
    }

    async fn remove_device(&self, device_id: &str) -> StoreResult<bool> {
        self.change_account(AccountChange::RemoveDevice(device_id.to_owned()))
            .await
    }

    async fn put_sealed_keys(&self, bundles: &[SealedKeys]) -> StoreResult<()> {
        self.change_account(AccountChange::PutSealed(bundles.to_vec()))
            .await
            .map(|_| ())
    }

    async fn block_sender(&self, owner: &str, key: &[u8]) -> StoreResult<()> {
        let (owner, key) = (owner.to_owned(), key.to_vec());
        self.change_account(AccountChange::Block { owner, key })
            .await
            .map(|_| ())
    }

    async fn unblock_sender(&self, owner: &str, key: &[u8]) -> StoreResult<bool> {
        let (owner, key) = (owner.to_owned(), key.to_vec());
        self.change_account(AccountChange::Unblock { owner, key })
            .await
    }

    async fn service_secret(&self, name: &str, candidate: &[u8]) -> StoreResult<Vec<u8>> {
        let (name, value) = (name.to_owned(), candidate.to_vec());
        self.change_account(AccountChange::Secret {
            name: name.clone(),
            value,
        })
        .await?;
        // Read through the writer's connection's commit: the reader sees it now.
        self.readers
            .run(move |connection| accounts::secret(connection, &name))
            .await
    }

    async fn blocked_senders(&self, owner: &str) -> StoreResult<Vec<Vec<u8>>> {
        let owner = owner.to_owned();
        self.readers
            .run(move |connection| accounts::blocked(connection, &owner))
            .await
    }

    async fn put_receipt(
        &self,
        receipt: &Receipt,
        keep_until: UnixMillis,
    ) -> StoreResult<ReceiptEvent> {
        let change = ReceiptChange::Put {
            receipt: receipt.clone(),
            keep_until,
        };
        self.change_receipt(change)
            .await?
            .ok_or_else(|| StoreError::Backend("a new receipt appended no event".into()))
    }

    async fn receipt(&self, message_id: &str) -> StoreResult<Option<Receipt>> {
        let message_id = message_id.to_owned();
        self.readers
            .run(move |connection| receipts::find(connection, &message_id))
            .await
    }

    async fn advance_receipt(
        &self,
        message_id: &str,
        state: ReceiptState,
        at: UnixMillis,
        keep_until: UnixMillis,
    ) -> StoreResult<Option<ReceiptEvent>> {
        self.change_receipt(ReceiptChange::Advance {
            message_id: message_id.to_owned(),
            state,
            at,
            keep_until,
        })
        .await
    }

    async fn pending_receipts(&self, limit: usize) -> StoreResult<Vec<Receipt>> {
        self.readers
            .run(move |connection| receipts::pending(connection, limit))
            .await
    }

    async fn receipt_events(
        &self,
        key_hash: &[u8],
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<ReceiptEvent>> {
        let (key_hash, after) = (key_hash.to_vec(), after.map(str::to_owned));
        self.readers
            .run(move |connection| receipts::events(connection, &key_hash, after.as_deref(), limit))
            .await
    }

    async fn purge_receipts(&self, now: UnixMillis) -> StoreResult<u64> {
        self.writer
            .call(|reply| WriteOp::PurgeReceipts { now, reply })
            .await
    }

    async fn sealed_keys_for(&self, device_id: &str) -> StoreResult<Vec<SealedKeys>> {
        let device_id = device_id.to_owned();
        self.readers
            .run(move |connection| accounts::sealed_for(connection, &device_id))
            .await
    }

    async fn ping(&self) -> StoreResult<()> {
        // A probe write would cost an fsync per probe: the writer is checked
        // for being alive, a reader for the file answering.
        if !self.writer.is_running() {
            return Err(op::closed());
        }
        self.readers
            .run(|connection| connection.query_row("SELECT 1", [], |_| Ok(())))
            .await
    }
}

impl SqliteStore {
    async fn change_receipt(&self, change: ReceiptChange) -> StoreResult<Option<ReceiptEvent>> {
        self.writer
            .call(|reply| WriteOp::Receipt { change, reply })
            .await
    }

    async fn change_wake_ups(&self, change: WakeUpChange) -> StoreResult<Vec<WakeUp>> {
        self.writer
            .call(|reply| WriteOp::WakeUps { change, reply })
            .await
    }

    async fn change_account(&self, change: AccountChange) -> StoreResult<bool> {
        self.writer
            .call(|reply| WriteOp::Account { change, reply })
            .await
    }

    async fn change_bridge(&self, device_id: &str, change: BridgeChange) -> StoreResult<bool> {
        let device_id = device_id.to_owned();
        self.writer
            .call(|reply| WriteOp::Bridge {
                device_id,
                change,
                reply,
            })
            .await
    }
}

fn backend(error: rusqlite::Error) -> StoreError {
    StoreError::Backend(error.to_string())
}
