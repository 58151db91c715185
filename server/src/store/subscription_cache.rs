//! Subscriptions by id, through a short-lived cache. Every submission
//! resolves one, and most senders send to the same subscriptions again and
//! again. The cache wraps the store so that removing a subscription through
//! it also forgets it here: removal on this node is seen at once, and the
//! TTL bounds how long another node's removal can go unseen.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::{Store, StoreResult};
use crate::domain::SubscriptionRecord;

const MAX_ENTRIES: usize = 100_000;

pub(crate) struct SubscriptionCache {
    store: Arc<dyn Store>,
    ttl: Duration,
    entries: Mutex<HashMap<String, (SubscriptionRecord, Instant)>>,
}

impl SubscriptionCache {
    pub(crate) fn new(store: Arc<dyn Store>, ttl: Duration) -> Self {
        Self {
            store,
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The subscription `id`, from the cache while fresh.
    pub(crate) async fn get(&self, id: &str) -> StoreResult<Option<SubscriptionRecord>> {
        if let Some(hit) = self.lookup(id) {
            return Ok(Some(hit));
        }
        let loaded = self.store.subscription(id).await?;
        if let Some(record) = &loaded {
            let mut entries = self.entries.lock();
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(id.to_owned(), (record.clone(), Instant::now()));
        }
        Ok(loaded)
    }

    /// Removes the subscription `id` stored under `device_id` (its creator);
    /// false if it had none.
    pub(crate) async fn delete(&self, device_id: &str, id: &str) -> StoreResult<bool> {
        let removed = self.store.delete_subscription(device_id, id).await;
        // Forgotten even on failure: the store may have applied it.
        self.entries.lock().remove(id);
        removed
    }

    fn lookup(&self, id: &str) -> Option<SubscriptionRecord> {
        let entries = self.entries.lock();
        let (record, loaded_at) = entries.get(id)?;
        (loaded_at.elapsed() < self.ttl).then(|| record.clone())
    }
}
