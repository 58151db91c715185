//! The distributed store: ScyllaDB (or Apache Cassandra, same CQL protocol)
//! through the `scylla` driver.
//!
//! How it keeps the [`Store`] contract without one writer thread:
//! - expiry is native (`USING TTL`), and reads also skip expired rows;
//! - a message's write is stamped with its arrival time and an ack's delete
//!   with "now", so an ack that lands before the write still wins;
//! - retention maximums are checked against a per-device usage ledger
//!   (`usage.rs`), so the check does not grow with the queue or its acks;
//!   two nodes accepting for one device at the same instant can overshoot
//!   by the messages in flight between them.

mod accounts;
mod bridges;
mod directory;
mod options;
mod queue;
mod receipts;
mod registrations;
mod rows;
mod schema;
mod sealed;
mod statements;
mod usage;
mod wake_ups;

use std::sync::Arc;

use async_trait::async_trait;
use scylla::client::execution_profile::ExecutionProfile;
use scylla::client::session::OpenSsl010Config;
use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;
use tokio_stream::StreamExt as _;

use super::{Admission, Enqueued, PendingQuery, Store, StoreError, StoreResult};
use crate::domain::{
    AccountDevice, Bridge, DeviceRecord, QueuedMessage, Receipt, ReceiptEvent, ReceiptState,
    SealedKeys, SubscriptionRecord, UnixMillis, WakeUp, now_micros, now_millis,
};
use schema::{backend, unavailable};
use statements::{Preparer, Statements};

pub use options::ScyllaOptions;
pub use options::{CqlTls, ScyllaOptionsError};

pub struct ScyllaStore {
    session: Arc<Session>,
    statements: Statements,
    directory: directory::DirectoryStatements,
    bridges: bridges::BridgeStatements,
    accounts: accounts::AccountStatements,
    sealed: sealed::SealedStatements,
    receipts: receipts::ReceiptStatements,
    wake_ups: wake_ups::WakeUpStatements,
    registrations: registrations::RegistrationStatements,
    usage: usage::UsageLedger,
    consistency: scylla::statement::Consistency,
    /// Rows the retention check has read, for tests and diagnosis.
    quota_rows_read: std::sync::atomic::AtomicU64,
}

impl ScyllaStore {
    /// Connects, creates or migrates the keyspace (if `migrate`), and prepares every statement.
    pub async fn connect(options: &ScyllaOptions, migrate: bool) -> StoreResult<Self> {
        let profile = ExecutionProfile::builder()
            .consistency(options.consistency)
            .request_timeout(Some(options.request_timeout))
            .build();
        let tls = match &options.tls {
            Some(tls) => Some(
                tls.connector()
                    .map_err(|error| StoreError::Backend(error.to_string()))?,
            ),
            None => None,
        };
        let session = SessionBuilder::new()
            .known_nodes(&options.nodes)
            .tls_context(tls.map(OpenSsl010Config::new))
            .default_execution_profile_handle(profile.into_handle())
            .build()
            .await
            .map_err(unavailable)?;
        if migrate {
            schema::migrate(&session, &options.keyspace, options.replication_factor).await?;
        }
        let p = Preparer {
            session: &session,
            keyspace: &options.keyspace,
            consistency: options.consistency,
        };
        let statements = Statements::prepare(&p).await?;
        let directory = directory::DirectoryStatements::prepare(&p).await?;
        let bridges = bridges::BridgeStatements::prepare(&p).await?;
        let accounts = accounts::AccountStatements::prepare(&p).await?;
        let sealed = sealed::SealedStatements::prepare(&p).await?;
        let receipts = receipts::ReceiptStatements::prepare(&p).await?;
        let wake_ups = wake_ups::WakeUpStatements::prepare(&p).await?;
        let registrations = registrations::RegistrationStatements::prepare(&p).await?;
        let usage = usage::UsageLedger::prepare(&p).await?;
        Ok(Self {
            registrations,
            session: Arc::new(session),
            statements,
            directory,
            bridges,
            accounts,
            sealed,
            receipts,
            wake_ups,
            usage,
            consistency: options.consistency,
            quota_rows_read: Default::default(),
        })
    }

    /// Rows the retention check has read since connecting.
    pub fn quota_rows_read(&self) -> u64 {
        self.quota_rows_read
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    async fn execute(
        &self,
        statement: &scylla::statement::prepared::PreparedStatement,
        values: impl scylla::serialize::row::SerializeRow,
    ) -> StoreResult<scylla::response::query_result::QueryResult> {
        self.session
            .execute_unpaged(statement, values)
            .await
            .map_err(unavailable)
    }

    /// Every (id, subscription id, size, expires_at) queued for a device, read page by page.
    async fn message_subscriptions(&self, device_id: &str) -> StoreResult<Vec<rows::QueuedShare>> {
        let pager = self
            .session
            .execute_iter(
                self.statements.select_message_subscriptions.clone(),
                (device_id,),
            )
            .await
            .map_err(unavailable)?;
        let mut rows = pager.rows_stream::<rows::QueuedShare>().map_err(backend)?;
        let mut all = Vec::new();
        while let Some(row) = rows.next().await {
            all.push(row.map_err(unavailable)?);
        }
        Ok(all)
    }

    /// Deletes one subscription's messages, topics and sealed keys from one device.
    async fn forget_subscription_in_queue(
        &self,
        device_id: &str,
        subscription_id: &str,
    ) -> StoreResult<()> {
        let queued: Vec<rows::QueuedShare> = self
            .message_subscriptions(device_id)
            .await?
            .into_iter()
            .filter(|(_, subscription, _, _)| subscription == subscription_id)
            .collect();
        let freed: Vec<(i64, usage::Usage)> = queued
            .iter()
            .map(|(_, _, size, expires_at)| {
                let size = size.unwrap_or(0).max(0).into();
                (
                    usage::bucket_of(*expires_at),
                    usage::Usage::of_message(size).negated(),
                )
            })
            .collect();
        let ids = queued.into_iter().map(|(id, ..)| id).collect();
        self.delete_messages(device_id, ids).await?;
        self.adjust_usage(device_id, &freed, now_millis()).await?;
        self.execute(
            &self.statements.delete_topics_of,
            (device_id, subscription_id),
        )
        .await?;
        self.execute(&self.sealed.delete, (device_id, subscription_id))
            .await?;
        Ok(())
    }

    async fn delete_messages(&self, device_id: &str, ids: Vec<String>) -> StoreResult<()> {
        if ids.is_empty() {
            return Ok(());
        }
        self.execute(
            &self.statements.delete_messages,
            (now_micros(), device_id, ids),
        )
        .await?;
        Ok(())
    }
}

#[async_trait]
impl Store for ScyllaStore {
    async fn create_device(&self, device: &DeviceRecord) -> StoreResult<()> {
        let result = self
            .execute(
                &self.statements.insert_device,
                (&device.id, &device.secret_hash, device.created_at),
            )
            .await?;
        rows::require_applied(result, &format!("device {}", device.id))?;
        self.record_registration(&device.id, device.created_at)
            .await
    }

    async fn device(&self, device_id: &str) -> StoreResult<Option<DeviceRecord>> {
        let result = self
            .execute(&self.statements.select_device, (device_id,))
            .await?;
        rows::maybe_device(result)
    }

    async fn create_subscription(&self, subscription: &SubscriptionRecord) -> StoreResult<()> {
        let values = (
            &subscription.id,
            &subscription.device_id,
            &subscription.app_server_key,
            subscription.created_at,
            &subscription.account_id,
        );
        let result = self
            .execute(&self.statements.insert_subscription, values)
            .await?;
        rows::require_applied(result, &format!("subscription {}", subscription.id))?;
        match &subscription.account_id {
            Some(account_id) => {
                let values = (
                    account_id,
                    &subscription.id,
                    &subscription.device_id,
                    &subscription.app_server_key,
                    subscription.created_at,
                );
                self.execute(&self.accounts.insert_subscription, values)
                    .await?;
            }
            None => {
                let values = (
                    &subscription.device_id,
                    &subscription.id,
                    &subscription.app_server_key,
                    subscription.created_at,
                );
                self.execute(&self.statements.insert_subscription_by_device, values)
                    .await?;
            }
        }
        Ok(())
    }

    async fn subscription(&self, subscription_id: &str) -> StoreResult<Option<SubscriptionRecord>> {
        let result = self
            .execute(&self.statements.select_subscription, (subscription_id,))
            .await?;
        Ok(rows::subscriptions(result)?.into_iter().next())
    }

    async fn subscriptions_of(&self, device_id: &str) -> StoreResult<Vec<SubscriptionRecord>> {
        let result = self
            .execute(&self.statements.select_subscriptions_of, (device_id,))
            .await?;
        let mut subscriptions = rows::own_subscriptions(result)?;
        subscriptions.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(subscriptions)
    }

    async fn delete_subscription(
        &self,
        device_id: &str,
        subscription_id: &str,
    ) -> StoreResult<bool> {
        let Some(found) = self.subscription(subscription_id).await? else {
            return Ok(false);
        };
        if found.device_id != device_id {
            return Ok(false);
        }
        self.execute(&self.statements.delete_subscription, (subscription_id,))
            .await?;
        // Every queue that may hold a copy: the account's members, or the device.
        let mut holders = vec![device_id.to_owned()];
        match &found.account_id {
            Some(account_id) => {
                self.execute(
                    &self.accounts.delete_subscription,
                    (account_id, subscription_id),
                )
                .await?;
                holders.extend(self.member_ids(account_id).await?);
            }
            None => {
                self.execute(
                    &self.statements.delete_subscription_by_device,
                    (device_id, subscription_id),
                )
                .await?;
            }
        }
        holders.sort();
        holders.dedup();
        for holder in &holders {
            self.forget_subscription_in_queue(holder, subscription_id)
                .await?;
        }
        Ok(true)
    }

    async fn enqueue(&self, message: QueuedMessage, admission: Admission) -> StoreResult<Enqueued> {
        self.enqueue_message(message, admission).await
    }

    async fn pending(&self, query: PendingQuery) -> StoreResult<Vec<QueuedMessage>> {
        let after = query.after.clone().unwrap_or_default();
        let pager = self
            .session
            .execute_iter(
                self.statements.select_pending.clone(),
                (&query.device_id, after),
            )
            .await
            .map_err(unavailable)?;
        let mut stream = pager.rows_stream::<rows::PendingRow>().map_err(backend)?;
        let mut due = Vec::new();
        while due.len() < query.limit {
            let Some(row) = stream.next().await else {
                break;
            };
            if let Some(message) = rows::pending_message(row.map_err(unavailable)?, &query) {
                due.push(message);
            }
        }
        Ok(due)
    }

    async fn ack(&self, device_id: &str, message_ids: &[String]) -> StoreResult<u64> {
        self.ack_messages(device_id, message_ids).await
    }

    async fn purge_expired(&self, _now: UnixMillis) -> StoreResult<u64> {
        // Rows carry their TTL; the database drops them itself.
        Ok(0)
    }

    async fn messages(
        &self,
        device_id: &str,
        message_ids: &[String],
        now: UnixMillis,
    ) -> StoreResult<Vec<QueuedMessage>> {
        self.messages_by_id(device_id, message_ids, now).await
    }

    async fn set_bridge(&self, device_id: &str, bridge: Option<&Bridge>) -> StoreResult<()> {
        self.write_bridge(device_id, bridge).await
    }

    async fn bridge(&self, device_id: &str) -> StoreResult<Option<Bridge>> {
        self.read_bridge(device_id).await
    }

    async fn forget_bridge_token(&self, device_id: &str, token: &str) -> StoreResult<bool> {
        self.forget_token(device_id, token).await
    }

    async fn schedule_wake_up(&self, wake_up: &WakeUp) -> StoreResult<()> {
        self.insert_wake_up(wake_up).await
    }

    async fn claim_wake_ups(
        &self,
        now: UnixMillis,
        lease_until: UnixMillis,
        limit: usize,
    ) -> StoreResult<Vec<WakeUp>> {
        self.take_wake_ups(now, lease_until, limit).await
    }

    async fn finish_wake_up(&self, wake_up: &WakeUp) -> StoreResult<()> {
        self.delete_wake_up(wake_up).await
    }

    async fn account_subscriptions(
        &self,
        account_id: &str,
    ) -> StoreResult<Vec<SubscriptionRecord>> {
        self.account_subscriptions_of(account_id).await
    }

    async fn add_account_device(&self, member: &AccountDevice) -> StoreResult<()> {
        self.add_member(member).await
    }

    async fn account_of(&self, device_id: &str) -> StoreResult<Option<AccountDevice>> {
        self.membership(device_id).await
    }

    async fn account_devices(&self, account_id: &str) -> StoreResult<Vec<AccountDevice>> {
        self.members(account_id).await
    }

    async fn approve_account_device(&self, account_id: &str, device_id: &str) -> StoreResult<bool> {
        self.approve_member(account_id, device_id).await
    }

    async fn registered_between(
        &self,
        from: UnixMillis,
        to: UnixMillis,
        after: Option<(UnixMillis, String)>,
        limit: usize,
    ) -> StoreResult<Vec<(UnixMillis, String)>> {
        self.registrations((from, to), after, limit).await
    }

    async fn remove_device(&self, device_id: &str) -> StoreResult<bool> {
        self.delete_device(device_id).await
    }

    async fn put_sealed_keys(&self, bundles: &[SealedKeys]) -> StoreResult<()> {
        self.insert_sealed(bundles).await
    }

    async fn block_sender(&self, owner: &str, key: &[u8]) -> StoreResult<()> {
        self.block(owner, key).await
    }

    async fn unblock_sender(&self, owner: &str, key: &[u8]) -> StoreResult<bool> {
        self.unblock(owner, key).await
    }

    async fn blocked_senders(&self, owner: &str) -> StoreResult<Vec<Vec<u8>>> {
        self.blocked(owner).await
    }

    async fn service_secret(&self, name: &str, candidate: &[u8]) -> StoreResult<Vec<u8>> {
        self.secret(name, candidate).await
    }

    async fn sealed_keys_for(&self, device_id: &str) -> StoreResult<Vec<SealedKeys>> {
        self.sealed_for(device_id).await
    }

    async fn put_receipt(
        &self,
        receipt: &Receipt,
        keep_until: UnixMillis,
    ) -> StoreResult<ReceiptEvent> {
        self.file_receipt(receipt, keep_until).await
    }

    async fn receipt(&self, message_id: &str) -> StoreResult<Option<Receipt>> {
        self.read_receipt(message_id).await
    }

    async fn advance_receipt(
        &self,
        message_id: &str,
        state: ReceiptState,
        at: UnixMillis,
        keep_until: UnixMillis,
    ) -> StoreResult<Option<ReceiptEvent>> {
        self.move_receipt(message_id, state, at, keep_until).await
    }

    async fn pending_receipts(&self, limit: usize) -> StoreResult<Vec<Receipt>> {
        self.unfinished_receipts(limit).await
    }

    async fn receipt_events(
        &self,
        key_hash: &[u8],
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<ReceiptEvent>> {
        self.events_of(key_hash, after, limit).await
    }

    async fn purge_receipts(&self, _now: UnixMillis) -> StoreResult<u64> {
        // Receipt rows carry their TTL; the database drops them itself.
        Ok(0)
    }

    async fn ping(&self) -> StoreResult<()> {
        // A read of one (absent) device at the store's own consistency: it
        // answers only when enough replicas do for a device's calls to work.
        self.execute(&self.statements.select_device, ("readiness-probe",))
            .await
            .map(|_| ())
    }
}
