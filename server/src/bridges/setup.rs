//! Building the configured push services at startup.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::apns::ApnsProvider;
use super::apns::client::{ApnsClientError, ApnsCredentials, ApnsH2};
use super::fcm::{FcmProvider, FcmSetupError};
use super::policy::RoutingPolicy;
use super::retry::{RetryPolicy, Retrying};
use super::timeout::TimedOut;
use super::{Bridges, Provider, WorkerPool};
use crate::delivery::Hub;
use crate::store::Store;

/// What the bridges run with; `config` resolves it from the settings.
#[derive(Debug, Clone)]
pub(crate) struct BridgeSettings {
    pub(crate) apns: Option<ApnsCredentials>,
    pub(crate) apns_alert_title: String,
    pub(crate) fcm: Option<FcmSettings>,
    pub(crate) policy: RoutingPolicy,
    /// Provider calls in flight at most; more wait in the store.
    pub(crate) workers: usize,
    /// The deadline of each provider call and token fetch.
    pub(crate) call_timeout: Duration,
}

#[derive(Debug, Clone)]
pub(crate) struct FcmSettings {
    pub(crate) service_account: PathBuf,
    pub(crate) base_url: Option<String>,
}

/// Why a configured bridge could not start; pushd does not start without it.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BridgeSetupError {
    #[error(transparent)]
    Apns(#[from] ApnsClientError),
    #[error(transparent)]
    Fcm(#[from] FcmSetupError),
}

/// The bridges `settings` configure (none is fine: devices then get
/// messages on their streams only).
pub(crate) async fn start(
    settings: &BridgeSettings,
    store: Arc<dyn Store>,
    hub: Arc<Hub>,
) -> Result<Arc<Bridges>, BridgeSetupError> {
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
