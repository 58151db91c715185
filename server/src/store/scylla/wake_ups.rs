//! Scheduled bridge wake-ups in CQL, found by due time without a scan.
//!
//! `wake_ups` is partitioned by the minute a wake-up is due, clustered by
//! due time: the due ones of a minute are a prefix of its partition, and a
//! minute once handled is never read again (so the deletes' tombstones are
//! not read over and over, as a single queue partition's would be).
//! `wake_up_minutes` lists the minutes that hold rows, so a poll reads only
//! those, from a floor each node keeps in memory; a minute found empty and
//! older than [`SKEW_MINUTES`] is struck off (nothing is scheduled in the
//! past, so no row can arrive there later, given clocks that agree that well).
//!
//! Several nodes share the table without coordination: claiming is a logged
//! batch (the row moves to its lease minute, atomically), so two nodes that
//! claim one wake-up at once both send it: a duplicate, never a loss.

use scylla::statement::batch::{Batch, BatchType};
use scylla::statement::prepared::PreparedStatement;

use super::ScyllaStore;
use super::schema::{backend, unavailable};
use super::statements::Preparer;
use crate::domain::{UnixMillis, WakeUp};
use crate::store::StoreResult;

const MINUTE: UnixMillis = 60_000;
/// How far apart nodes' clocks may be before a wake-up could be written
/// to a minute another node already struck off.
const SKEW_MINUTES: i64 = 2;
/// Minutes read per poll; more wait for the next one.
const MINUTES_PER_POLL: i32 = 64;

fn minute(at: UnixMillis) -> i64 {
    at.div_euclid(MINUTE)
}

pub(crate) struct WakeUpStatements {
    insert: PreparedStatement,
    insert_minute: PreparedStatement,
    delete: PreparedStatement,
    select_minutes: PreparedStatement,
    select_due: PreparedStatement,
    delete_minute: PreparedStatement,
    /// The lowest minute that may still hold rows, as far as this node knows.
    floor: parking_lot::Mutex<i64>,
}

impl WakeUpStatements {
    pub(crate) async fn prepare(p: &Preparer<'_>) -> StoreResult<Self> {
        Ok(Self {
            insert: p.cql("INSERT INTO {ks}.wake_ups (minute, due_at, message_id, device_id) VALUES (?, ?, ?, ?)").await?,
            insert_minute: p.cql("INSERT INTO {ks}.wake_up_minutes (shard, minute) VALUES (0, ?)").await?,
            delete: p.cql("DELETE FROM {ks}.wake_ups WHERE minute = ? AND due_at = ? AND message_id = ?").await?,
            select_minutes: p.cql(
                "SELECT minute FROM {ks}.wake_up_minutes WHERE shard = 0 AND minute >= ? AND minute <= ? LIMIT ?",
            )
            .await?,
            select_due: p.cql(
                "SELECT device_id, message_id, due_at FROM {ks}.wake_ups WHERE minute = ? AND due_at <= ? LIMIT ?",
            )
            .await?,
            delete_minute: p.cql("DELETE FROM {ks}.wake_up_minutes WHERE shard = 0 AND minute = ?").await?,
            floor: parking_lot::Mutex::new(i64::MIN),
        })
    }
}

impl ScyllaStore {
    pub(super) async fn insert_wake_up(&self, wake_up: &WakeUp) -> StoreResult<()> {
        let statements = &self.wake_ups;
        let mut batch = Batch::new(BatchType::Logged);
        batch.append_statement(statements.insert_minute.clone());
        batch.append_statement(statements.insert.clone());
        let row = (
            minute(wake_up.due_at),
            wake_up.due_at,
            &wake_up.message_id,
            &wake_up.device_id,
        );
        self.session
            .batch(&batch, ((minute(wake_up.due_at),), row))
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    pub(super) async fn delete_wake_up(&self, wake_up: &WakeUp) -> StoreResult<()> {
        let key = (minute(wake_up.due_at), wake_up.due_at, &wake_up.message_id);
        self.execute(&self.wake_ups.delete, key).await.map(|_| ())
    }

    pub(super) async fn take_wake_ups(
        &self,
        now: UnixMillis,
        lease_until: UnixMillis,
        limit: usize,
    ) -> StoreResult<Vec<WakeUp>> {
        let statements = &self.wake_ups;
        let floor = *statements.floor.lock();
        let minutes = self
            .execute(
                &statements.select_minutes,
                (floor, minute(now), MINUTES_PER_POLL),
            )
            .await?;
        let minutes: Vec<i64> = minutes
            .into_rows_result()
            .map_err(backend)?
            .rows::<(i64,)>()
            .map_err(backend)?
            .map(|row| row.map(|(minute,)| minute).map_err(backend))
            .collect::<StoreResult<_>>()?;
        let settled = minute(now) - SKEW_MINUTES;
        // Everything below the first minute still holding rows is done.
        let mut new_floor = if minutes.len() < MINUTES_PER_POLL as usize {
            settled
        } else {
            minutes.last().map_or(settled, |last| last + 1).min(settled)
        };
        let mut claimed = Vec::new();
        for listed in minutes {
            if claimed.len() >= limit {
                new_floor = new_floor.min(listed);
                break;
            }
            let room = i32::try_from(limit - claimed.len()).unwrap_or(i32::MAX);
            let due = self
                .execute(&statements.select_due, (listed, now, room))
                .await?;
            let rows = due.into_rows_result().map_err(backend)?;
            let mut found = 0;
            for row in rows.rows::<(String, String, i64)>().map_err(backend)? {
                let (device_id, message_id, due_at) = row.map_err(backend)?;
                let wake_up = WakeUp {
                    device_id,
                    message_id,
                    due_at,
                };
                claimed.push(self.lease(wake_up, lease_until).await?);
                found += 1;
            }
            if found == 0 && listed < settled {
                self.execute(&statements.delete_minute, (listed,)).await?;
            } else {
                // Rows due later in this minute, or more than we took.
                new_floor = new_floor.min(listed);
            }
        }
        let mut floor = statements.floor.lock();
        *floor = (*floor).max(new_floor);
        Ok(claimed)
    }

    /// Moves a wake-up to its lease time in one logged batch.
    async fn lease(&self, wake_up: WakeUp, lease_until: UnixMillis) -> StoreResult<WakeUp> {
        let statements = &self.wake_ups;
        let mut batch = Batch::new(BatchType::Logged);
        batch.append_statement(statements.delete.clone());
        batch.append_statement(statements.insert_minute.clone());
        batch.append_statement(statements.insert.clone());
        let old = (minute(wake_up.due_at), wake_up.due_at, &wake_up.message_id);
        let new = (
            minute(lease_until),
            lease_until,
            &wake_up.message_id,
            &wake_up.device_id,
        );
        self.session
            .batch(&batch, (old, (minute(lease_until),), new))
            .await
            .map_err(unavailable)?;
        Ok(WakeUp {
            due_at: lease_until,
            ..wake_up
        })
    }
}
