//! Acks that arrived before their message's write.
//!
//! A live device can receive a message and ack it while the sender's write is
//! still waiting for its group commit. Remembering such acks briefly lets the
//! late write become a no-op instead of a message delivered twice.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// Far longer than any commit takes; short enough to stay small.
const KEEP_FOR: Duration = Duration::from_secs(120);
/// Bounds memory if a device acks ids that never arrive.
const MAX_ENTRIES: usize = 200_000;

#[derive(Default)]
pub(crate) struct Tombstones {
    by_key: HashMap<(String, String), Instant>,
    order: VecDeque<((String, String), Instant)>,
}

impl Tombstones {
    pub(crate) fn remember(&mut self, device_id: &str, message_id: &str) {
        let now = Instant::now();
        self.evict(now);
        let key = (device_id.to_owned(), message_id.to_owned());
        self.by_key.insert(key.clone(), now);
        self.order.push_back((key, now));
    }

    /// True (and forgotten) if this message was acked before it was written.
    pub(crate) fn take(&mut self, device_id: &str, message_id: &str) -> bool {
        if self.by_key.is_empty() {
            return false;
        }
        self.by_key
            .remove(&(device_id.to_owned(), message_id.to_owned()))
            .is_some()
    }

    fn evict(&mut self, now: Instant) {
        while let Some((key, at)) = self.order.front() {
            let stale = now.duration_since(*at) > KEEP_FOR || self.order.len() >= MAX_ENTRIES;
            if !stale {
                break;
            }
            if self.by_key.get(key) == Some(at) {
                self.by_key.remove(key);
            }
            self.order.pop_front();
        }
    }
}
