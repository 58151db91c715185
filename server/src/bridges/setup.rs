//! Building the configured push services at startup.

use std::sync::Arc;

use super::apns::ApnsProvider;
use super::apns::client::ApnsH2;
use super::fcm::FcmProvider;
use super::retry::{RetryPolicy, Retrying};
use super::{Bridges, Provider};
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
    let mut providers: Vec<Arc<dyn Provider>> = Vec::new();
    if let Some(credentials) = &settings.apns {
        let apns = ApnsProvider::new(ApnsH2::new(credentials)?, settings.apns_alert_title.clone());
        providers.push(Arc::new(Retrying::new(apns, RetryPolicy::default())));
        tracing::info!(?credentials, "APNs bridge on");
    }
    if let Some(fcm) = &settings.fcm {
        let provider = FcmProvider::new(&fcm.service_account, fcm.base_url.as_deref()).await?;
        providers.push(Arc::new(Retrying::new(provider, RetryPolicy::default())));
        tracing::info!(service_account = %fcm.service_account.display(), "FCM bridge on");
    }
    Ok(Arc::new(Bridges::new(
        store,
        hub,
        providers,
        settings.policy,
    )))
}
