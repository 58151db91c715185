//! Mobile bridge settings: APNs and FCM credentials and the routing policy.

use std::time::Duration;

use super::{ConfigError, Overrides, defaults};
use crate::bridges::apns::client::ApnsCredentials;
use crate::bridges::policy::RoutingPolicy;
use crate::bridges::{BridgeSettings, FcmSettings};

pub(super) fn bridge_settings(
    flags: &Overrides,
    file: &Overrides,
) -> Result<BridgeSettings, ConfigError> {
    let pick = |flag: &Option<String>, value: &Option<String>| flag.clone().or(value.clone());
    let key_file = flags.apns_key_file.clone().or(file.apns_key_file.clone());
    let cert_file = flags.apns_cert_file.clone().or(file.apns_cert_file.clone());
    let apns = match (key_file, cert_file) {
        (Some(_), Some(_)) => return Err(ConfigError::ApnsKeyAndCertificate),
        (Some(key_file), None) => {
            let key_id = pick(&flags.apns_key_id, &file.apns_key_id);
            let team_id = pick(&flags.apns_team_id, &file.apns_team_id);
            let (Some(key_id), Some(team_id)) = (key_id, team_id) else {
                return Err(ConfigError::ApnsKeyIncomplete);
            };
            Some(ApnsCredentials::Token {
                key_file,
                key_id,
                team_id,
            })
        }
        (None, Some(p12_file)) => Some(ApnsCredentials::Certificate {
            p12_file,
            password: flags
                .apns_cert_password
                .as_ref()
                .or(file.apns_cert_password.as_ref())
                .map(|secret| secret.expose().to_owned())
                .unwrap_or_default(),
        }),
        (None, None) => None,
    };
    let fcm = flags
        .fcm_service_account
        .clone()
        .or(file.fcm_service_account.clone())
        .map(|service_account| FcmSettings {
            service_account,
            // None: google-fcm1's own, https://fcm.googleapis.com/.
            base_url: pick(&flags.fcm_base_url, &file.fcm_base_url),
        });
    let workers = flags
        .bridge_workers
        .or(file.bridge_workers)
        .unwrap_or(defaults::BRIDGE_WORKERS);
    if workers == 0 {
        return Err(ConfigError::NoBridgeWorkers);
    }
    let call_timeout = Duration::from_secs(
        flags
            .bridge_call_timeout_seconds
            .or(file.bridge_call_timeout_seconds)
            .unwrap_or(defaults::BRIDGE_CALL_TIMEOUT_SECONDS),
    );
    if call_timeout.is_zero() {
        return Err(ConfigError::Zero("bridge_call_timeout_seconds"));
    }
    let policy = RoutingPolicy::default();
    Ok(BridgeSettings {
        apns,
        apns_alert_title: pick(&flags.apns_alert_title, &file.apns_alert_title)
            .unwrap_or_else(|| defaults::APNS_ALERT_TITLE.into()),
        fcm,
        policy: RoutingPolicy {
            bridge_when_idle: flags
                .bridge_when_idle
                .or(file.bridge_when_idle)
                .unwrap_or(policy.bridge_when_idle),
            low_urgency_margin: flags
                .low_urgency_margin_seconds
                .or(file.low_urgency_margin_seconds)
                .map_or(policy.low_urgency_margin, Duration::from_secs),
        },
        workers,
        call_timeout,
    })
}
