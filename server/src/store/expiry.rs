//! The background sweep that deletes expired messages. Reads already skip
//! them; this reclaims the space and counts them.

use std::sync::Arc;
use std::time::Duration;

use super::Store;
use crate::domain::now_millis;
use crate::periodic::Ticks;

/// Runs until `shutdown` resolves, sweeping every `period`.
pub(crate) fn spawn_expiry(
    store: Arc<dyn Store>,
    period: Duration,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = Ticks::new(period, shutdown);
        while ticks.next().await {
            match store.purge_expired(now_millis()).await {
                Ok(0) => {}
                Ok(expired) => {
                    metrics::counter!("pushd_messages_expired_total").increment(expired);
                    tracing::debug!(expired, "purged expired messages");
                }
                Err(error) => tracing::warn!(%error, "expiry sweep failed; will retry"),
            }
        }
    })
}
