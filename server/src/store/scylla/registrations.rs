//! Devices by the hour they registered, so the sweep for devices never used
//! (see `store::unused_devices`) reads one small partition per hour instead
//! of scanning the devices table. Rows expire by themselves a while after
//! the sweep has looked at them.

use scylla::statement::prepared::PreparedStatement;

use super::ScyllaStore;
use super::schema::backend;
use super::statements::Preparer;
use crate::domain::UnixMillis;
use crate::store::StoreResult;

const HOUR: UnixMillis = 3_600_000;
/// Kept 90 days: far past any sensible `unused_device_seconds`.
const KEEP_SECONDS: i32 = 90 * 86_400;

fn hour(at: UnixMillis) -> i64 {
    at.div_euclid(HOUR)
}

pub(crate) struct RegistrationStatements {
    insert: PreparedStatement,
    select: PreparedStatement,
}

impl RegistrationStatements {
    pub(crate) async fn prepare(p: &Preparer<'_>) -> StoreResult<Self> {
        Ok(Self {
            insert: p.cql(
                "INSERT INTO {ks}.devices_by_hour (hour, created_at, device_id) VALUES (?, ?, ?) USING TTL ?",
            )
            .await?,
            select: p.cql(
                "SELECT created_at, device_id FROM {ks}.devices_by_hour WHERE hour = ? \
                 AND (created_at, device_id) > (?, ?) AND created_at < ? LIMIT ?",
            )
            .await?,
        })
    }
}

impl ScyllaStore {
    pub(super) async fn record_registration(
        &self,
        device_id: &str,
        created_at: UnixMillis,
    ) -> StoreResult<()> {
        let values = (hour(created_at), created_at, device_id, KEEP_SECONDS);
        self.execute(&self.registrations.insert, values)
            .await
            .map(|_| ())
    }

    pub(super) async fn registrations(
        &self,
        (from, to): (UnixMillis, UnixMillis),
        after: Option<(UnixMillis, String)>,
        limit: usize,
    ) -> StoreResult<Vec<(UnixMillis, String)>> {
        // Strictly after the cursor; from `from` itself when there is none.
        let (mut after_at, mut after_id) = after.unwrap_or((from - 1, String::new()));
        if after_at < from - 1 {
            (after_at, after_id) = (from - 1, String::new());
        }
        let mut found = Vec::new();
        let mut current = hour(after_at.max(from));
        while current <= hour(to - 1) && found.len() < limit {
            let room = i32::try_from(limit - found.len()).unwrap_or(i32::MAX);
            let values = (current, after_at, after_id.as_str(), to, room);
            let result = self.execute(&self.registrations.select, values).await?;
            let rows = result.into_rows_result().map_err(backend)?;
            for row in rows.rows::<(i64, String)>().map_err(backend)? {
                found.push(row.map_err(backend)?);
            }
            current += 1;
        }
        Ok(found)
    }
}
