//! Mobile bridge settings: APNs and FCM credentials and the routing policy.

use std::path::PathBuf;
use std::time::Duration;

use super::Overrides;
use crate::bridges::apns::client::ApnsCredentials;
use crate::bridges::policy::RoutingPolicy;

#[derive(Debug, Clone)]
pub struct BridgeSettings {
    pub apns: Option<ApnsCredentials>,
    pub apns_alert_title: String,
    pub fcm: Option<FcmSettings>,
    pub policy: RoutingPolicy,
    /// Provider calls in flight at most; more wait in the store.
    pub workers: usize,
    /// The deadline of each provider call and token fetch.
    pub call_timeout: Duration,
}

impl Default for BridgeSettings {
    fn default() -> Self {
        Self {
            apns: None,
            apns_alert_title: String::new(),
            fcm: None,
            policy: RoutingPolicy::default(),
            workers: DEFAULT_WORKERS,
            call_timeout: DEFAULT_CALL_TIMEOUT,
        }
    }
}

/// Enough for a busy node (each call is one HTTP/2 request, most answered
/// in well under a second) while bounding sockets and memory.
const DEFAULT_WORKERS: usize = 64;
/// Apple and Google answer in milliseconds; ten seconds rides out a slow
/// moment without holding a worker for long.
const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone)]
pub struct FcmSettings {
    pub service_account: PathBuf,
    pub base_url: Option<String>,
}

impl BridgeSettings {
    pub(super) fn resolve(flags: &Overrides, file: &Overrides) -> Result<Self, String> {
        let pick = |flag: &Option<String>, value: &Option<String>| flag.clone().or(value.clone());
        let key_file = flags.apns_key_file.clone().or(file.apns_key_file.clone());
        let cert_file = flags.apns_cert_file.clone().or(file.apns_cert_file.clone());
        let apns = match (key_file, cert_file) {
            (Some(_), Some(_)) => {
                return Err(
                    "set apns_key_file (token) or apns_cert_file (certificate), not both".into(),
                );
            }
            (Some(key_file), None) => {
                let key_id = pick(&flags.apns_key_id, &file.apns_key_id);
                let team_id = pick(&flags.apns_team_id, &file.apns_team_id);
                let (Some(key_id), Some(team_id)) = (key_id, team_id) else {
                    return Err("apns_key_file needs apns_key_id and apns_team_id (both in your Apple developer account)".into());
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
                base_url: pick(&flags.fcm_base_url, &file.fcm_base_url),
            });
        let workers = flags
            .bridge_workers
            .or(file.bridge_workers)
            .unwrap_or(DEFAULT_WORKERS);
        if workers == 0 {
            return Err(
                "bridge_workers must be at least 1 (provider calls in flight at once)".into(),
            );
        }
        let call_timeout = flags
            .bridge_call_timeout_seconds
            .or(file.bridge_call_timeout_seconds)
            .map_or(DEFAULT_CALL_TIMEOUT, Duration::from_secs);
        if call_timeout.is_zero() {
            return Err("bridge_call_timeout_seconds must be at least 1".into());
        }
        let defaults = RoutingPolicy::default();
        Ok(Self {
            apns,
            apns_alert_title: pick(&flags.apns_alert_title, &file.apns_alert_title)
                .unwrap_or_else(|| "New notification".into()),
            fcm,
            policy: RoutingPolicy {
                bridge_when_idle: flags
                    .bridge_when_idle
                    .or(file.bridge_when_idle)
                    .unwrap_or(defaults.bridge_when_idle),
                low_urgency_margin: flags
                    .low_urgency_margin_seconds
                    .or(file.low_urgency_margin_seconds)
                    .map_or(defaults.low_urgency_margin, Duration::from_secs),
            },
            workers,
            call_timeout,
        })
    }
}
