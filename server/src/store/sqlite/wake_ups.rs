//! Scheduled bridge wake-ups: the SQL, for the writer and readers. One row
//! per message (a second schedule of one message replaces the first).

use rusqlite::{Connection, params};

use crate::domain::{UnixMillis, WakeUp};

/// What a wake-up write does; every one answers with the wake-ups it took.
#[derive(Debug)]
pub(crate) enum WakeUpChange {
    Schedule(WakeUp),
    Claim {
        now: UnixMillis,
        lease_until: UnixMillis,
        limit: usize,
    },
    Finish(WakeUp),
}

pub(crate) fn apply(tx: &Connection, change: &WakeUpChange) -> rusqlite::Result<Vec<WakeUp>> {
    match change {
        WakeUpChange::Schedule(wake_up) => {
            tx.prepare_cached(
                "INSERT INTO wake_ups (message_id, device_id, due_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (message_id) DO UPDATE SET device_id = ?2, due_at = ?3",
            )?
            .execute(params![
                wake_up.message_id,
                wake_up.device_id,
                wake_up.due_at
            ])?;
            Ok(Vec::new())
        }
        WakeUpChange::Claim {
            now,
            lease_until,
            limit,
        } => {
            let mut due = self::due(tx, *now, *limit)?;
            let mut lease =
                tx.prepare_cached("UPDATE wake_ups SET due_at = ?2 WHERE message_id = ?1")?;
            for wake_up in &mut due {
                lease.execute(params![wake_up.message_id, lease_until])?;
                wake_up.due_at = *lease_until;
            }
            Ok(due)
        }
        // Only the row as it was handed out: one claimed again meanwhile
        // (its lease ran out) belongs to whoever claimed it.
        WakeUpChange::Finish(wake_up) => {
            tx.prepare_cached("DELETE FROM wake_ups WHERE message_id = ?1 AND due_at = ?2")?
                .execute(params![wake_up.message_id, wake_up.due_at])?;
            Ok(Vec::new())
        }
    }
}

/// Up to `limit` wake-ups due at `now`, soonest first.
pub(crate) fn due(
    connection: &Connection,
    now: UnixMillis,
    limit: usize,
) -> rusqlite::Result<Vec<WakeUp>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut statement = connection.prepare_cached(
        "SELECT device_id, message_id, due_at FROM wake_ups
         WHERE due_at <= ?1 ORDER BY due_at, message_id LIMIT ?2",
    )?;
    let rows = statement.query_map(params![now, limit], |row| {
        Ok(WakeUp {
            device_id: row.get(0)?,
            message_id: row.get(1)?,
            due_at: row.get(2)?,
        })
    })?;
    rows.collect()
}
