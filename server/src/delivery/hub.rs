//! The registry of devices streaming on this node.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};

use parking_lot::Mutex;

use super::connection::{CloseReason, LiveConnection};
use crate::domain::now_micros;

/// Lock striping: submitters on many cores look devices up concurrently.
const SHARDS: usize = 64;

pub struct Hub {
    shards: Vec<Mutex<HashMap<String, Arc<LiveConnection>>>>,
    hasher: RandomState,
    next_id: AtomicU64,
    last_stamp: AtomicI64,
    draining: AtomicBool,
}

impl Default for Hub {
    fn default() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            hasher: RandomState::new(),
            next_id: AtomicU64::new(1),
            last_stamp: AtomicI64::new(0),
            draining: AtomicBool::new(false),
        }
    }
}

impl Hub {
    /// A new stream's id and opening stamp (Unix microseconds, strictly
    /// increasing on this node even if the clock steps back).
    pub(crate) fn next_connection(&self) -> (u64, i64) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let now = now_micros();
        let previous = self
            .last_stamp
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |last| {
                Some(now.max(last + 1))
            })
            .unwrap_or(now);
        (id, now.max(previous + 1))
    }

    fn shard(&self, device_id: &str) -> &Mutex<HashMap<String, Arc<LiveConnection>>> {
        let index = self.hasher.hash_one(device_id) as usize % SHARDS;
        &self.shards[index]
    }

    pub(crate) fn get(&self, device_id: &str) -> Option<Arc<LiveConnection>> {
        self.shard(device_id).lock().get(device_id).cloned()
    }

    /// Makes `connection` the device's stream; an older one is told to close.
    pub(crate) fn register(&self, connection: Arc<LiveConnection>) {
        let previous = self
            .shard(&connection.device_id)
            .lock()
            .insert(connection.device_id.clone(), connection.clone());
        match previous {
            Some(previous) => previous.close(CloseReason::Replaced),
            None => metrics::gauge!("pushd_live_streams").increment(1.0),
        }
    }

    /// Removes the device's entry if it is still this connection.
    pub(crate) fn unregister(&self, connection: &LiveConnection) {
        let mut shard = self.shard(&connection.device_id).lock();
        if shard
            .get(&connection.device_id)
            .is_some_and(|current| current.id == connection.id)
        {
            shard.remove(&connection.device_id);
            metrics::gauge!("pushd_live_streams").decrement(1.0);
        }
    }

    /// Closes the device's stream if it opened before `newer_micros` (the
    /// device opened a newer one on another node); returns how many messages
    /// the closed stream held unacked, or None if none was closed.
    pub(crate) fn evict(&self, device_id: &str, newer_micros: i64) -> Option<usize> {
        match self.get(device_id) {
            Some(connection) if connection.opened_at_micros < newer_micros => {
                connection.close(CloseReason::Replaced);
                Some(connection.unacked())
            }
            _ => None,
        }
    }

    /// Closes the device's stream, whatever its age: the device was removed.
    pub(crate) fn revoke(&self, device_id: &str) -> bool {
        let connection = self.get(device_id);
        if let Some(connection) = &connection {
            connection.close(CloseReason::Revoked);
        }
        connection.is_some()
    }

    pub(crate) fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }

    /// Refuses new streams and tells every open one to reconnect elsewhere.
    pub(crate) fn drain(&self) -> usize {
        self.draining.store(true, Ordering::Release);
        let mut told = 0;
        for shard in &self.shards {
            for connection in shard.lock().values() {
                connection.close(CloseReason::Draining);
                told += 1;
            }
        }
        told
    }
}
