//! The sweep that removes devices never used: registered, then given no
//! subscription, no account and no bridge within `unused_device_seconds`.
//! `Register` needs no credential, so without this every registration an
//! abuser makes (within `register_rate_per_ip`) would be kept forever.
//!
//! Each device is looked at once, when it reaches that age: one that was
//! used and later dropped its subscriptions is not touched. Across a
//! restart the sweep looks back [`LOOK_BACK`] further, so a short outage
//! skips nobody; several nodes sweeping at once remove a device twice,
//! which is harmless.

use std::sync::Arc;
use std::time::Duration;

use super::{Store, StoreResult};
use crate::domain::{UnixMillis, now_millis};
use crate::periodic::Ticks;

/// How far before the cutoff the first sweep after a start begins.
const LOOK_BACK: Duration = Duration::from_secs(2 * 86_400);
const PAGE: usize = 500;

/// Sweeps every `period` until `shutdown` resolves; `unused_for` of zero turns it off.
pub(crate) fn spawn_unused_device_reaper(
    store: Arc<dyn Store>,
    unused_for: Duration,
    period: Duration,
    shutdown: tokio::sync::watch::Receiver<bool>,
) {
    if unused_for.is_zero() {
        return;
    }
    tokio::spawn(async move {
        let mut swept_to = now_millis() - millis(unused_for) - millis(LOOK_BACK);
        let mut ticks = Ticks::new(period, shutdown);
        while ticks.next().await {
            let cutoff = now_millis() - millis(unused_for);
            match sweep(store.as_ref(), swept_to, cutoff).await {
                Ok(removed) => {
                    swept_to = cutoff;
                    if removed > 0 {
                        metrics::counter!("pushd_unused_devices_removed_total").increment(removed);
                        tracing::info!(removed, "removed devices never used");
                    }
                }
                Err(error) => tracing::warn!(%error, "sweep for unused devices failed; will retry"),
            }
        }
    });
}

fn millis(duration: Duration) -> UnixMillis {
    UnixMillis::try_from(duration.as_millis()).unwrap_or(UnixMillis::MAX)
}

/// Removes the unused devices registered in `[from, to)`; returns how many.
pub(crate) async fn sweep(store: &dyn Store, from: UnixMillis, to: UnixMillis) -> StoreResult<u64> {
    let mut removed = 0;
    let mut after = None;
    loop {
        let page = store
            .registered_between(from, to, after.take(), PAGE)
            .await?;
        for (_, device_id) in &page {
            if is_unused(store, device_id).await? && store.remove_device(device_id).await? {
                removed += 1;
            }
        }
        match page.last() {
            Some(last) if page.len() == PAGE => after = Some(last.clone()),
            _ => return Ok(removed),
        }
    }
}

async fn is_unused(store: &dyn Store, device_id: &str) -> StoreResult<bool> {
    Ok(store.subscriptions_of(device_id).await?.is_empty()
        && store.account_of(device_id).await?.is_none()
        && store.bridge(device_id).await?.is_none())
}
