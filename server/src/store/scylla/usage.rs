//! The retention check's ledger: each device's queue usage kept in a few
//! rows, so the check on every submit reads those, not the device's queue.
//!
//! Why not count the queue: reading a device's `messages` partition costs a
//! row per queued message and a tombstone per recent ack (kept for days,
//! until compaction), on every submit. Why not CQL counters: they cannot
//! expire with the messages they count, and a timed-out increment cannot be
//! retried safely.
//!
//! How: each process is a writer (a random id) that owns its rows,
//! `(device, expiry bucket, writer) -> messages, bytes`, and writes their
//! absolute values from memory with strictly increasing timestamps, so a
//! retried or reordered write cannot double-count: the latest wins. Acks and
//! replacements subtract in the acking writer's own row (a row may go
//! negative; only the sum means anything). A device's usage is the sum of
//! its rows whose bucket has not ended; rows expire by TTL after their
//! bucket ends, as the messages they count have.
//!
//! Approximate, within these bounds:
//! - a message counts until its bucket ends (at most [`BUCKET_MS`] after it
//!   expires), and a failed message write after its usage write counts
//!   until then too: both only overcount, and before refusing the store
//!   counts the queue exactly and corrects the ledger (see `queue.rs`);
//! - nodes accepting for one device at the same instant can overshoot by
//!   the messages in flight between them, and two acks of one id racing
//!   each other subtract it twice: small, and gone when the bucket ends, so
//!   no error outlives the longest TTL.

use std::collections::HashMap;

use parking_lot::Mutex;
use scylla::client::session::Session;
use scylla::statement::prepared::PreparedStatement;
use tokio_stream::StreamExt as _;

use super::schema::{backend, unavailable};
use super::statements::Preparer;
use crate::domain::{UnixMillis, now_micros};
use crate::store::StoreResult;

/// Width of an expiry bucket: a device has at most one row per writer per
/// bucket its unexpired messages fall in (28 days of TTL: 112 buckets).
pub(crate) const BUCKET_MS: i64 = 6 * 3_600_000;
/// Rows outlive their bucket by this much, for clocks slightly apart.
const GRACE_SECONDS: i64 = 3_600;
/// Bounds the writer's memory; past it the process starts a new writer id
/// (its old rows stay valid and expire with their buckets).
const MAX_TALLIES: usize = 100_000;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Usage {
    pub(crate) messages: i64,
    pub(crate) bytes: i64,
}

impl Usage {
    pub(crate) fn of_message(size: i64) -> Self {
        Self {
            messages: 1,
            bytes: size,
        }
    }

    pub(crate) fn minus(self, other: Usage) -> Usage {
        Usage {
            messages: self.messages - other.messages,
            bytes: self.bytes - other.bytes,
        }
    }

    pub(crate) fn plus(self, other: Usage) -> Usage {
        self.minus(other.negated())
    }

    pub(crate) fn negated(self) -> Usage {
        Usage::default().minus(self)
    }
}

/// The bucket a message expiring at `expires_at` is counted in; the first
/// bucket still open at `now` is `bucket_of(now)`.
pub(crate) fn bucket_of(expires_at: UnixMillis) -> i64 {
    expires_at.div_euclid(BUCKET_MS) + 1
}

/// What one read of a device's ledger found.
pub(crate) struct LedgerRead {
    pub(crate) by_bucket: HashMap<i64, Usage>,
    pub(crate) rows: u64,
}

impl LedgerRead {
    pub(crate) fn total(&self) -> Usage {
        self.by_bucket
            .values()
            .fold(Usage::default(), |sum, usage| sum.plus(*usage))
    }
}

pub(crate) struct UsageLedger {
    write: PreparedStatement,
    read: PreparedStatement,
    forget: PreparedStatement,
    tallies: Mutex<Tallies>,
}

/// This writer's rows as last written. A std Mutex: held only to update
/// the map, never across an await.
struct Tallies {
    writer: String,
    rows: HashMap<(String, i64), Usage>,
    last_stamp: i64,
}

impl UsageLedger {
    pub(crate) async fn prepare(p: &Preparer<'_>) -> StoreResult<Self> {
        Ok(Self {
            write: p.cql(
                "INSERT INTO {ks}.queue_usage (device_id, bucket, writer, messages, bytes)
                 VALUES (?, ?, ?, ?, ?) USING TTL ? AND TIMESTAMP ?",
            )
            .await?,
            read: p.cql(
                "SELECT bucket, messages, bytes FROM {ks}.queue_usage WHERE device_id = ? AND bucket >= ?",
            )
            .await?,
            forget: p.cql("DELETE FROM {ks}.queue_usage WHERE device_id = ?").await?,
            tallies: Mutex::new(Tallies {
                writer: uuid::Uuid::new_v4().to_string(),
                rows: HashMap::new(),
                last_stamp: 0,
            }),
        })
    }

    /// The device's usage in buckets still open at `now`, by bucket.
    pub(crate) async fn read(
        &self,
        session: &Session,
        device_id: &str,
        now: UnixMillis,
    ) -> StoreResult<LedgerRead> {
        let pager = session
            .execute_iter(self.read.clone(), (device_id, bucket_of(now)))
            .await
            .map_err(unavailable)?;
        let mut rows = pager.rows_stream::<(i64, i64, i64)>().map_err(backend)?;
        let mut found = LedgerRead {
            by_bucket: HashMap::new(),
            rows: 0,
        };
        while let Some(row) = rows.next().await {
            let (bucket, messages, bytes) = row.map_err(unavailable)?;
            found.rows += 1;
            let sum = found.by_bucket.entry(bucket).or_default();
            *sum = sum.plus(Usage { messages, bytes });
        }
        Ok(found)
    }

    /// Adds `delta` to the device's usage in `bucket`.
    pub(crate) async fn add(
        &self,
        session: &Session,
        device_id: &str,
        bucket: i64,
        delta: Usage,
        now: UnixMillis,
    ) -> StoreResult<()> {
        let (writer, value, stamp) = self.tally(device_id, bucket, delta, now)?;
        let ttl = ((bucket * BUCKET_MS - now) / 1000).max(0) + GRACE_SECONDS;
        let ttl = i32::try_from(ttl).unwrap_or(i32::MAX);
        let values = (
            device_id,
            bucket,
            writer,
            value.messages,
            value.bytes,
            ttl,
            stamp,
        );
        session
            .execute_unpaged(&self.write, values)
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    /// The row's new value and a timestamp above every earlier write's, so
    /// whichever order writes land in, the latest value stays.
    fn tally(
        &self,
        device_id: &str,
        bucket: i64,
        delta: Usage,
        now: UnixMillis,
    ) -> StoreResult<(String, Usage, i64)> {
        let mut tallies = self.tallies.lock();
        let key = (device_id.to_owned(), bucket);
        if tallies.rows.len() >= MAX_TALLIES && !tallies.rows.contains_key(&key) {
            let open = bucket_of(now);
            tallies.rows.retain(|(_, bucket), _| *bucket >= open);
            if tallies.rows.len() >= MAX_TALLIES {
                tallies.writer = uuid::Uuid::new_v4().to_string();
                tallies.rows.clear();
            }
        }
        let row = tallies.rows.entry(key).or_default();
        *row = row.plus(delta);
        let value = *row;
        let stamp = now_micros().max(tallies.last_stamp + 1);
        tallies.last_stamp = stamp;
        Ok((tallies.writer.clone(), value, stamp))
    }

    /// Drops a removed device's rows.
    pub(crate) async fn forget_device(
        &self,
        session: &Session,
        device_id: &str,
    ) -> StoreResult<()> {
        self.tallies
            .lock()
            .rows
            .retain(|(device, _), _| device != device_id);
        session
            .execute_unpaged(&self.forget, (device_id,))
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}
