//! Writing to a device's queue: enqueue (with topic replacement and the
//! retention check) and ack, keeping the usage ledger (`usage.rs`) in step.
//!
//! A replacement writes the new message, its topic row and the old
//! message's delete in one batch. All three share the partition key (the
//! device id) in one keyspace, so each replica applies them as a single
//! mutation: a reader sees the old message or the new one, never neither,
//! and a failed write leaves the old one queued.

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use scylla::statement::batch::{Batch, BatchType};
use tokio_stream::StreamExt as _;

use super::ScyllaStore;
use super::rows;
use super::schema::{backend, unavailable};
use super::usage::{LedgerRead, Usage, bucket_of};
use crate::domain::{QueuedMessage, UnixMillis, now_micros, now_millis};
use crate::store::{Admission, Enqueued, RetentionLimits, StoreError, StoreResult};

/// A queued message's share of the device's usage: (bucket, usage).
type Share = (i64, Usage);

impl ScyllaStore {
    pub(super) async fn enqueue_message(
        &self,
        message: QueuedMessage,
        admission: Admission,
    ) -> StoreResult<Enqueued> {
        let now = now_millis();
        let (mut replaced, mut old_share) = (None, None);
        if let Some(topic) = &message.topic {
            let result = self
                .execute(
                    &self.statements.select_topic,
                    (&message.device_id, &message.subscription_id, topic),
                )
                .await?;
            if let Some(old_id) = rows::maybe_text(result)?.filter(|old| *old != message.id) {
                old_share = self
                    .shares(&message.device_id, std::slice::from_ref(&old_id))
                    .await?
                    .into_iter()
                    .next();
                replaced = Some(old_id);
            }
        }
        if let Admission::Queue(limits) = admission {
            self.admit(&message, old_share.map(|(_, usage)| usage), limits, now)
                .await?;
        }
        // Counted before it is written: a write that fails overcounts
        // (corrected before any refusal), never the other way round.
        let share = (
            bucket_of(message.expires_at),
            Usage::of_message(message.payload.len() as i64),
        );
        self.adjust_usage(&message.device_id, &[share], now).await?;
        if let Err(error) = self.write_message(&message, replaced.as_deref(), now).await {
            let _ = self
                .adjust_usage(&message.device_id, &[(share.0, share.1.negated())], now)
                .await;
            return Err(error);
        }
        if let Some((bucket, usage)) = old_share
            && let Err(error) = self
                .adjust_usage(&message.device_id, &[(bucket, usage.negated())], now)
                .await
        {
            tracing::warn!(device_id = %message.device_id, %error, "replaced message still counted until its expiry bucket ends");
        }
        Ok(Enqueued {
            replaced,
            already_acked: false,
        })
    }

    /// The message, its topic row and the replaced message's delete, as one batch.
    async fn write_message(
        &self,
        message: &QueuedMessage,
        replaced: Option<&str>,
        now: UnixMillis,
    ) -> StoreResult<()> {
        let ttl_seconds =
            i32::try_from((message.expires_at - now + 999).max(1000) / 1000).unwrap_or(i32::MAX);
        let insert = (
            &message.device_id,
            &message.id,
            &message.subscription_id,
            &message.topic,
            message.urgency.as_u8() as i8,
            &message.payload,
            message.payload.len() as i32,
            message.received_at,
            message.expires_at,
            ttl_seconds,
            message.received_at.saturating_mul(1000),
        );
        let Some(topic) = &message.topic else {
            self.execute(&self.statements.insert_message, insert)
                .await?;
            return Ok(());
        };
        let topic_row = (
            &message.device_id,
            &message.subscription_id,
            topic,
            &message.id,
            ttl_seconds,
        );
        let mut batch = Batch::new(BatchType::Logged);
        batch.set_consistency(self.consistency);
        batch.append_statement(self.statements.insert_message.clone());
        batch.append_statement(self.statements.insert_topic.clone());
        let result = match replaced {
            None => self.session.batch(&batch, (insert, topic_row)).await,
            Some(old_id) => {
                batch.append_statement(self.statements.delete_messages.clone());
                let delete = (now_micros(), &message.device_id, vec![old_id]);
                self.session
                    .batch(&batch, (insert, topic_row, delete))
                    .await
            }
        };
        result.map_err(unavailable)?;
        Ok(())
    }

    /// Refuses the message if the device's queue is at a maximum, counting
    /// `replaced` (about to go) out of it.
    async fn admit(
        &self,
        message: &QueuedMessage,
        replaced: Option<Usage>,
        limits: RetentionLimits,
        now: UnixMillis,
    ) -> StoreResult<()> {
        let size = message.payload.len() as i64;
        let over = |usage: Usage| {
            let usage = usage.minus(replaced.unwrap_or_default());
            usage.messages.max(0) as u64 + 1 > limits.max_messages
                || usage.bytes.max(0) as u64 + size as u64 > limits.max_bytes
        };
        let ledger = self
            .usage
            .read(&self.session, &message.device_id, now)
            .await?;
        self.quota_rows_read
            .fetch_add(ledger.rows, Ordering::Relaxed);
        if !over(ledger.total()) {
            return Ok(());
        }
        // The ledger may still count expired messages or failed writes:
        // count the queue itself before refusing, and correct the ledger.
        let exact = self.exact_usage(&message.device_id, now).await?;
        self.correct_ledger(&message.device_id, &ledger, &exact, now)
            .await?;
        let total = exact
            .values()
            .fold(Usage::default(), |sum, usage| sum.plus(*usage));
        if !over(total) {
            return Ok(());
        }
        let total = total.minus(replaced.unwrap_or_default());
        Err(StoreError::QueueFull {
            queued_messages: total.messages.max(0) as u64,
            queued_bytes: total.bytes.max(0) as u64,
            max_messages: limits.max_messages,
            max_bytes: limits.max_bytes,
        })
    }

    /// Unexpired messages and bytes queued for a device, by bucket, read
    /// from the queue itself (a partition scan: only before a refusal).
    async fn exact_usage(
        &self,
        device_id: &str,
        now: UnixMillis,
    ) -> StoreResult<HashMap<i64, Usage>> {
        let pager = self
            .session
            .execute_iter(self.statements.select_usage.clone(), (device_id,))
            .await
            .map_err(unavailable)?;
        let mut rows = pager.rows_stream::<(Option<i32>, i64)>().map_err(backend)?;
        let mut by_bucket: HashMap<i64, Usage> = HashMap::new();
        while let Some(row) = rows.next().await {
            let (size, expires_at) = row.map_err(unavailable)?;
            self.quota_rows_read.fetch_add(1, Ordering::Relaxed);
            if expires_at > now {
                let sum = by_bucket.entry(bucket_of(expires_at)).or_default();
                *sum = sum.plus(Usage::of_message(size.unwrap_or(0).max(0).into()));
            }
        }
        Ok(by_bucket)
    }

    /// Lowers each bucket the ledger overcounts to the exact count (never
    /// raises one: a message counted exactly but not yet in the ledger is a
    /// write in flight whose own usage write is on its way).
    async fn correct_ledger(
        &self,
        device_id: &str,
        ledger: &LedgerRead,
        exact: &HashMap<i64, Usage>,
        now: UnixMillis,
    ) -> StoreResult<()> {
        let corrections: Vec<Share> = ledger
            .by_bucket
            .iter()
            .filter_map(|(bucket, counted)| {
                let over = counted.minus(exact.get(bucket).copied().unwrap_or_default());
                let lower = Usage {
                    messages: over.messages.max(0),
                    bytes: over.bytes.max(0),
                };
                (lower != Usage::default()).then_some((*bucket, lower.negated()))
            })
            .collect();
        self.adjust_usage(device_id, &corrections, now).await
    }

    pub(super) async fn adjust_usage(
        &self,
        device_id: &str,
        shares: &[Share],
        now: UnixMillis,
    ) -> StoreResult<()> {
        let mut by_bucket: HashMap<i64, Usage> = HashMap::new();
        for (bucket, usage) in shares {
            let sum = by_bucket.entry(*bucket).or_default();
            *sum = sum.plus(*usage);
        }
        for (bucket, delta) in by_bucket {
            self.usage
                .add(&self.session, device_id, bucket, delta, now)
                .await?;
        }
        Ok(())
    }

    /// Each of these messages still queued, with its share of the usage.
    pub(super) async fn shares(&self, device_id: &str, ids: &[String]) -> StoreResult<Vec<Share>> {
        let result = self
            .execute(&self.statements.select_existing, (device_id, ids.to_vec()))
            .await?;
        let rows = result.into_rows_result().map_err(backend)?;
        let typed = rows.rows::<(Option<i32>, i64)>().map_err(backend)?;
        typed
            .map(|row| {
                let (size, expires_at) = row.map_err(backend)?;
                let size = size.unwrap_or(0).max(0).into();
                Ok((bucket_of(expires_at), Usage::of_message(size)))
            })
            .collect()
    }

    pub(super) async fn ack_messages(
        &self,
        device_id: &str,
        message_ids: &[String],
    ) -> StoreResult<u64> {
        if message_ids.is_empty() {
            return Ok(0);
        }
        let existing = self.shares(device_id, message_ids).await?;
        // Delete every acked id, present or not: a delete stamped now also
        // shadows a write of that id still on its way.
        self.delete_messages(device_id, message_ids.to_vec())
            .await?;
        let freed: Vec<Share> = existing
            .iter()
            .map(|(bucket, usage)| (*bucket, usage.negated()))
            .collect();
        if let Err(error) = self.adjust_usage(device_id, &freed, now_millis()).await {
            tracing::warn!(%device_id, %error, "acked messages still counted until their expiry bucket ends");
        }
        Ok(existing.len() as u64)
    }
}
