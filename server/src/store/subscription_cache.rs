//! A short-lived cache of subscriptions by token. Every `SubmitMessage`
//! resolves one, and most senders send to the same subscriptions again and
//! again. Removal on this node invalidates at once; the TTL bounds how long
//! another node's removal can go unseen.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::{Store, StoreResult};
use crate::domain::SubscriptionRecord;

const MAX_ENTRIES: usize = 100_000;

pub struct SubscriptionCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, (SubscriptionRecord, Instant)>>,
}

impl SubscriptionCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    pub async fn get(
        &self,
        store: &dyn Store,
        id: &str,
    ) -> StoreResult<Option<SubscriptionRecord>> {
        if let Some(hit) = self.lookup(id) {
            return Ok(Some(hit));
        }
        let loaded = store.subscription(id).await?;
        if let Some(record) = &loaded {
            let mut entries = self.entries.lock();
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(id.to_owned(), (record.clone(), Instant::now()));
        }
        Ok(loaded)
    }

    pub fn invalidate(&self, id: &str) {
        self.entries.lock().remove(id);
    }

    fn lookup(&self, id: &str) -> Option<SubscriptionRecord> {
        let entries = self.entries.lock();
        let (record, loaded_at) = entries.get(id)?;
        (loaded_at.elapsed() < self.ttl).then(|| record.clone())
    }
}
