//! Delivery receipts for senders: what became of each message a sender
//! asked to follow, whichever front it came through. Transport-free: the
//! gRPC `WatchReceipts` and the HTTP `GET <Location>` read through it.
//!
//! Opening a receipt happens at submit time ([`Receipts::open`]), with the
//! state the fan-out reached (delivered to a live stream, or accepted).
//! Cancel moves it at once. The rest — acked, expired, dropped — is found by
//! the [`keeper`], which looks at receipts not yet final once a second: a
//! copy no longer queued was acked, unless its TTL ran out (expired) or its
//! subscription or device went (dropped). The delivery hot path (acks,
//! replays) is left untouched, and every node of a cluster sees the same
//! store, so receipts work across nodes.

mod keeper;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

use crate::domain::{
    Receipt, ReceiptCopy, ReceiptEvent, ReceiptState, UnixMillis, now_millis, receipt_key_hash,
};
use crate::store::{Store, StoreResult};

/// Events one read hands a watcher.
pub(crate) const EVENT_PAGE: usize = 256;

pub(crate) struct Receipts {
    store: Arc<dyn Store>,
    /// How long a receipt (and its events) is kept after its last change,
    /// and after its message would have expired.
    retention_ms: i64,
    /// Wakes this node's watchers when this node appended an event; others'
    /// events reach them by their periodic read.
    changed: Notify,
    /// One permit per open watch stream (`max_receipt_watchers`).
    watchers: Arc<Semaphore>,
}

/// What the sender asked for and what it became, at submit time.
pub(crate) struct Opening<'a> {
    pub(crate) sender_key: &'a [u8],
    pub(crate) subscription_id: &'a str,
    pub(crate) copies: Vec<ReceiptCopy>,
    pub(crate) state: ReceiptState,
    pub(crate) expires_at: UnixMillis,
}

impl Receipts {
    /// Starts the keeper too; it stops when the last handle is dropped.
    pub(crate) fn start(
        store: Arc<dyn Store>,
        retention: Duration,
        max_watchers: usize,
    ) -> Arc<Self> {
        let receipts = Arc::new(Self {
            store,
            retention_ms: i64::try_from(retention.as_millis()).unwrap_or(i64::MAX),
            changed: Notify::new(),
            watchers: Arc::new(Semaphore::new(max_watchers)),
        });
        keeper::spawn(&receipts);
        receipts
    }

    fn keep_until(&self, from: UnixMillis) -> UnixMillis {
        from.saturating_add(self.retention_ms)
    }

    pub(crate) async fn open(&self, opening: Opening<'_>) -> StoreResult<()> {
        let Some(first) = opening.copies.first() else {
            return Ok(());
        };
        let now = now_millis();
        let receipt = Receipt {
            message_id: first.message_id.clone(),
            key_hash: receipt_key_hash(opening.sender_key),
            subscription_id: opening.subscription_id.to_owned(),
            copies: opening.copies,
            state: opening.state,
            updated_at: now,
            expires_at: opening.expires_at,
        };
        let keep_until = self.keep_until(if opening.state.is_final() {
            now
        } else {
            receipt.expires_at.max(now)
        });
        self.store.put_receipt(&receipt, keep_until).await?;
        self.changed.notify_waiters();
        Ok(())
    }

    /// Moves a receipt on (if it may move); true if it did.
    pub(crate) async fn advance(&self, message_id: &str, state: ReceiptState) -> StoreResult<bool> {
        let now = now_millis();
        let moved = self
            .store
            .advance_receipt(message_id, state, now, self.keep_until(now))
            .await?;
        if let Some(event) = &moved {
            metrics::counter!("pushd_receipt_events_total", "state" => event.state.label())
                .increment(1);
            self.changed.notify_waiters();
        }
        Ok(moved.is_some())
    }

    /// The receipt of `message_id`, if `sender_key` sent it (another key's
    /// receipt is None, exactly as an unknown one).
    pub(crate) async fn get(
        &self,
        sender_key: &[u8],
        message_id: &str,
    ) -> StoreResult<Option<Receipt>> {
        let found = self.store.receipt(message_id).await?;
        Ok(found.filter(|receipt| receipt.key_hash == receipt_key_hash(sender_key)))
    }

    /// A place for one more watch stream, held for as long as it is open;
    /// None when this node has `max_receipt_watchers` already.
    pub(crate) fn watch_permit(&self) -> Option<OwnedSemaphorePermit> {
        self.watchers.clone().try_acquire_owned().ok()
    }

    /// The next page of `sender_key`'s events after `after`, waiting up to
    /// `wait` for one if there is none yet.
    pub(crate) async fn next_events(
        &self,
        sender_key: &[u8],
        after: Option<&str>,
        wait: Duration,
    ) -> StoreResult<Vec<ReceiptEvent>> {
        let key_hash = receipt_key_hash(sender_key);
        // Registered before the read, so an event appended in between wakes us.
        let changed = self.changed.notified();
        let events = self
            .store
            .receipt_events(&key_hash, after, EVENT_PAGE)
            .await?;
        if !events.is_empty() {
            return Ok(events);
        }
        let _ = tokio::time::timeout(wait, changed).await;
        self.store
            .receipt_events(&key_hash, after, EVENT_PAGE)
            .await
    }
}
