//! Building the services from the settings and the opened store: the
//! limits they enforce, the operator's block list, the identity provider,
//! and the admin service when there is an admin token.

use std::sync::Arc;

use super::StartError;
use super::open::token_master;
use crate::api::{GuardedAdmin, admin_service};
use crate::auth::{OidcAuthenticator, ServiceBlocks};
use crate::config::Settings;
use crate::delivery::Unacked;
use crate::services::{Foundations, ServiceLimits, Services};
use crate::store::Store;
use crate::submit::Router;

pub(super) async fn services(
    settings: &Settings,
    store: &Arc<dyn Store>,
    router: Arc<Router>,
    public_url: String,
) -> Result<(Services, Option<GuardedAdmin>), StartError> {
    let limits = ServiceLimits {
        max_ttl_seconds: settings.max_ttl_seconds,
        retention: settings.retention,
        handshake_timeout: settings.handshake_timeout,
        max_account_devices: settings.max_account_devices,
        max_subscriptions_per_device: settings.security.max_subscriptions_per_device,
        rates: settings.security.rates,
        receipt_retention: settings.receipt_retention,
        max_receipt_watchers: settings.max_receipt_watchers,
        unacked: Unacked::new(
            settings.connections.max_stream_unacked_bytes,
            settings.connections.max_unacked_bytes_total,
        ),
        vapid_cache_bytes: settings.security.vapid_cache_bytes,
    };
    let service_blocks = Arc::new(ServiceBlocks::default());
    service_blocks
        .reload(store.as_ref())
        .await
        .map_err(|source| StartError::Store {
            what: "sender block list",
            source,
        })?;
    service_blocks.keep_reloading(store.clone());
    let admin = settings
        .security
        .admin_token
        .as_deref()
        .map(|token| admin_service(store.clone(), service_blocks.clone(), token));
    let oidc = match &settings.security.oidc {
        Some(oidc) => Some(Arc::new(
            OidcAuthenticator::start(oidc.clone(), store.clone())
                .await
                .map_err(|error| StartError::IdentityProvider(error.into()))?,
        )),
        None => None,
    };
    let services = Services::build(
        Foundations {
            store: store.clone(),
            router,
            public_url,
            service_blocks,
            oidc,
            token_master: token_master(store.as_ref()).await?,
        },
        limits,
    );
    Ok((services, admin))
}
