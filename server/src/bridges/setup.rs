//! Building the configured push services at startup.

use std::sync::Arc;

use super::apns::ApnsProvider;
use super::apns::client::ApnsH2;
use super::fcm::FcmProvider;
use super::retry::{RetryPolicy, Retrying};
use super::timeout::TimedOut;
use super::{Bridges, Provider, WorkerPool};
use crate::config::BridgeSettings;
use crate::delivery::Hub;
use crate::store::Store;

/// The bridges `settings` configure (none is fine: devices then get
/// messages on their streams only).
pub async fn start(
    settings: &BridgeSettings,
    store: Arc<dyn Store>,
    hub: Arc<Hub>,
) -> Result<Arc<Bridges>, String> {
    let pool = WorkerPool {
        workers: settings.workers,
        call_timeout: settings.call_timeout,
        retry: RetryPolicy::default(),
    };
    let mut providers: Vec<Arc<dyn Provider>> = Vec::new();
    if let Some(credentials) = &settings.apns {
        let apns = ApnsProvider::new(ApnsH2::new(credentials)?, settings.apns_alert_title.clone());
        providers.push(layered(apns, pool));
        tracing::info!(?credentials, "APNs bridge on");
    }
    if let Some(fcm) = &settings.fcm {
        let provider = FcmProvider::new(
            &fcm.service_account,
            fcm.base_url.as_deref(),
            pool.call_timeout,
        )
        .await?;
        providers.push(layered(provider, pool));
        tracing::info!(service_account = %fcm.service_account.display(), "FCM bridge on");
    }
    let bridges = Arc::new(Bridges::new(store, hub, providers, settings.policy, pool));
    bridges.start_scheduler();
    Ok(bridges)
}

/// Retries outside, the deadline inside: every attempt gets its own.
fn layered(provider: impl Provider, pool: WorkerPool) -> Arc<dyn Provider> {
    Arc::new(Retrying::new(
        TimedOut::new(provider, pool.call_timeout),
        pool.retry,
    ))
}
