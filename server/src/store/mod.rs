//! Everything durable: devices, subscriptions and queued messages.
//!
//! [`Store`] is the boundary; [`sqlite`] is the embedded single-node backend.
//! Every backend must pass the shared [`conformance`] suite. Methods take the
//! current time where it matters so expiry is testable without sleeping.

pub mod conformance;
mod directory;
mod expiry;
pub mod scylla;
pub mod sqlite;
mod subscription_cache;
mod unused_devices;

use async_trait::async_trait;

use crate::domain::{
    AccountDevice, Bridge, DeviceRecord, QueuedMessage, Receipt, ReceiptEvent, ReceiptState,
    SealedKeys, SubscriptionRecord, UnixMillis, Urgency, WakeUp,
};

pub use directory::{Directory, NodeRecord, Route};
pub(crate) use expiry::spawn_expiry;
pub(crate) use subscription_cache::SubscriptionCache;
pub(crate) use unused_devices::spawn_unused_device_reaper;

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// The device's queue is at its retention maximum; nothing was written.
    #[error(
        "the device's queue is full ({queued_messages} messages, {queued_bytes} bytes; limits {max_messages} messages, {max_bytes} bytes)"
    )]
    QueueFull {
        queued_messages: u64,
        queued_bytes: u64,
        max_messages: u64,
        max_bytes: u64,
    },
    /// A record with this id exists already.
    #[error("{0} already exists")]
    AlreadyExists(String),
    /// The backend could not be reached or is shutting down; the caller may retry.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// The backend failed in a way a retry will not fix.
    #[error("storage failure: {0}")]
    Backend(String),
}

/// Per-device retention maximums, checked atomically with each insert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionLimits {
    pub max_messages: u64,
    pub max_bytes: u64,
}

/// How a message comes to [`Store::enqueue`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// The device does not have it yet: the retention maximums apply.
    Queue(RetentionLimits),
    /// A live stream already took it. Refusing it as "queue full" would make
    /// the sender retry something the user sees, so no maximum applies (the
    /// stream's cap on unacked messages bounds these). The device is likely
    /// to ack it within milliseconds, so a backend may hold the write briefly
    /// and skip it when the ack comes first; it still answers only once the
    /// message is durable or acked.
    DeliveredLive,
}

/// What [`Store::enqueue`] did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Enqueued {
    /// The older undelivered message with the same topic that this one replaced.
    pub replaced: Option<String>,
    /// The device acked this id before the write reached the store, so
    /// nothing was written (it was delivered live and is done).
    pub already_acked: bool,
}

/// Which queued messages a device should get, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingQuery {
    pub device_id: String,
    /// Messages expiring at or before this instant are left out.
    pub now: UnixMillis,
    /// Messages below this urgency are left out.
    pub min_urgency: Urgency,
    /// Page cursor: only ids sorting after this one.
    pub after: Option<String>,
    pub limit: usize,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    async fn create_device(&self, device: &DeviceRecord) -> StoreResult<()>;
    async fn device(&self, device_id: &str) -> StoreResult<Option<DeviceRecord>>;

    async fn create_subscription(&self, subscription: &SubscriptionRecord) -> StoreResult<()>;
    async fn subscription(&self, subscription_id: &str) -> StoreResult<Option<SubscriptionRecord>>;
    /// The device's own subscriptions (not the account subscriptions it created).
    async fn subscriptions_of(&self, device_id: &str) -> StoreResult<Vec<SubscriptionRecord>>;
    async fn account_subscriptions(&self, account_id: &str)
    -> StoreResult<Vec<SubscriptionRecord>>;
    /// Removes a subscription `device_id` created and every message queued
    /// for it, on every device an account subscription reached, with its
    /// sealed keys. False when this device created no such subscription.
    async fn delete_subscription(
        &self,
        device_id: &str,
        subscription_id: &str,
    ) -> StoreResult<bool>;

    /// Durably queues a message: returns only once it would survive a crash.
    /// A message with a topic replaces the queued one with the same topic on
    /// the same subscription. If the device already acked this id (it was
    /// delivered live before the write landed), nothing is written.
    async fn enqueue(&self, message: QueuedMessage, admission: Admission) -> StoreResult<Enqueued>;
    async fn pending(&self, query: PendingQuery) -> StoreResult<Vec<QueuedMessage>>;
    /// Removes exactly these messages of this device; returns how many existed.
    /// Ids of other devices are left alone. An id not yet written is
    /// remembered for a while so a late [`Store::enqueue`] of it writes nothing.
    async fn ack(&self, device_id: &str, message_ids: &[String]) -> StoreResult<u64>;
    /// Deletes every message expired at `now`; returns how many.
    async fn purge_expired(&self, now: UnixMillis) -> StoreResult<u64>;
    /// These queued messages of this device, unexpired at `now`, oldest first
    /// (ids of other devices or already acked are left out).
    async fn messages(
        &self,
        device_id: &str,
        message_ids: &[String],
        now: UnixMillis,
    ) -> StoreResult<Vec<QueuedMessage>>;

    /// Sets (`Some`) or removes (`None`) the device's mobile push bridge.
    async fn set_bridge(&self, device_id: &str, bridge: Option<&Bridge>) -> StoreResult<()>;
    async fn bridge(&self, device_id: &str) -> StoreResult<Option<Bridge>>;
    /// Removes the device's bridge only if it still has this provider token
    /// (the provider said the token is gone; a newer one the app registered
    /// since stays). True if it was removed.
    async fn forget_bridge_token(&self, device_id: &str, token: &str) -> StoreResult<bool>;

    /// Durably records a bridged delivery to make at `wake_up.due_at`
    /// (once per message: a second schedule of one message may add a
    /// second wake-up, which the sender's still-queued check makes harmless).
    async fn schedule_wake_up(&self, wake_up: &WakeUp) -> StoreResult<()>;
    /// Takes up to `limit` wake-ups due at `now`, soonest first, and moves
    /// each to `lease_until` in the same step, so a node that dies while
    /// sending leaves it due again: sent twice rather than lost. Nodes
    /// sharing a store may both take one (a duplicate wake-up, never a lost
    /// one). The returned wake-ups carry their new `due_at`.
    async fn claim_wake_ups(
        &self,
        now: UnixMillis,
        lease_until: UnixMillis,
        limit: usize,
    ) -> StoreResult<Vec<WakeUp>>;
    /// Removes a wake-up (sent, or no longer needed), as last scheduled or claimed.
    async fn finish_wake_up(&self, wake_up: &WakeUp) -> StoreResult<()>;

    /// Adds a device to an account. A device belongs to at most one account:
    /// `AlreadyExists` if it has one.
    async fn add_account_device(&self, member: &AccountDevice) -> StoreResult<()>;
    /// The account this device belongs to, approved or pending.
    async fn account_of(&self, device_id: &str) -> StoreResult<Option<AccountDevice>>;
    /// Every member of the account, oldest first.
    async fn account_devices(&self, account_id: &str) -> StoreResult<Vec<AccountDevice>>;
    /// Approves a member; false if it is not a member of this account.
    async fn approve_account_device(&self, account_id: &str, device_id: &str) -> StoreResult<bool>;
    /// Deletes a device and everything only it had: its credential, account
    /// membership, own subscriptions and their messages, its queue, bridge
    /// and the sealed keys addressed to it. Account subscriptions it created
    /// stay with the account. False if there was no such device.
    async fn remove_device(&self, device_id: &str) -> StoreResult<bool>;
    /// Devices registered at or after `from` and before `to`, ordered by
    /// (registration time, id), after the `after` cursor, at most `limit`.
    async fn registered_between(
        &self,
        from: UnixMillis,
        to: UnixMillis,
        after: Option<(UnixMillis, String)>,
        limit: usize,
    ) -> StoreResult<Vec<(UnixMillis, String)>>;
    /// Stores sealed key bundles, replacing one for the same recipient and
    /// subscription.
    async fn put_sealed_keys(&self, bundles: &[SealedKeys]) -> StoreResult<()>;
    /// The sealed key bundles addressed to this device.
    async fn sealed_keys_for(&self, device_id: &str) -> StoreResult<Vec<SealedKeys>>;

    /// Refuses a sender key for `owner` (a device, an account, or the whole
    /// service; see `api::senders`). Blocking twice is one block.
    async fn block_sender(&self, owner: &str, key: &[u8]) -> StoreResult<()>;
    /// Lifts a block; false if there was none.
    async fn unblock_sender(&self, owner: &str, key: &[u8]) -> StoreResult<bool>;
    /// Every key blocked for `owner`.
    async fn blocked_senders(&self, owner: &str) -> StoreResult<Vec<Vec<u8>>>;

    /// The service-wide secret called `name`: `candidate` if none was stored
    /// yet (it is stored), else the stored one. Every node gets the same.
    async fn service_secret(&self, name: &str, candidate: &[u8]) -> StoreResult<Vec<u8>>;

    /// Files a new receipt and its first event (its state at `updated_at`).
    /// Both are kept until `keep_until` at least (the service sets it past
    /// the message's expiry, and moves it on when the receipt changes).
    async fn put_receipt(
        &self,
        receipt: &Receipt,
        keep_until: UnixMillis,
    ) -> StoreResult<ReceiptEvent>;
    async fn receipt(&self, message_id: &str) -> StoreResult<Option<Receipt>>;
    /// Moves a receipt to `state` at `at` if [`ReceiptState::may_become`]
    /// allows, appending the event and keeping both until `keep_until`;
    /// None if it did not move (or is unknown).
    async fn advance_receipt(
        &self,
        message_id: &str,
        state: ReceiptState,
        at: UnixMillis,
        keep_until: UnixMillis,
    ) -> StoreResult<Option<ReceiptEvent>>;
    /// Receipts not yet final, oldest first, at most `limit`.
    async fn pending_receipts(&self, limit: usize) -> StoreResult<Vec<Receipt>>;
    /// The sender key's events after `after` (a cursor; None: from the
    /// start of what is kept), oldest first, at most `limit`.
    async fn receipt_events(
        &self,
        key_hash: &[u8],
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<ReceiptEvent>>;
    /// Forgets receipts and events kept until before `now`; returns how
    /// many receipts (a store that expires rows by itself may return 0).
    async fn purge_receipts(&self, now: UnixMillis) -> StoreResult<u64>;

    /// Ok when the backend answers a cheap read the way it would answer a
    /// device's (for `/readyz`); the caller bounds how long it waits.
    async fn ping(&self) -> StoreResult<()>;
}
