//! The APNs bridge. Apple's service cannot be reached from tests, and
//! `apns-h2` cannot be pointed at another server, so the bridge's own logic
//! (request built, answers mapped) sits in front of a small [`ApnsTransport`]
//! trait: [`client::ApnsH2`] is the real one, tests use a fake.

pub mod client;
mod request;

use async_trait::async_trait;

use super::{Notice, Provider, ProviderError};
use crate::domain::{Bridge, now_millis};

pub use request::{ApnsRequest, Priority};

/// Why APNs did not take a request: its HTTP status and `reason`, or no
/// status when the connection itself failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApnsFailure {
    pub status: Option<u16>,
    pub reason: Option<String>,
}

#[async_trait]
pub trait ApnsTransport: Send + Sync + 'static {
    async fn post(&self, request: &ApnsRequest) -> Result<(), ApnsFailure>;
}

pub struct ApnsProvider<T> {
    transport: T,
    /// Shown if the app's Notification Service Extension cannot decrypt in time.
    alert_title: String,
}

impl<T: ApnsTransport> ApnsProvider<T> {
    pub fn new(transport: T, alert_title: impl Into<String>) -> Self {
        Self {
            transport,
            alert_title: alert_title.into(),
        }
    }
}

#[async_trait]
impl<T: ApnsTransport> Provider for ApnsProvider<T> {
    fn kind(&self) -> &'static str {
        "apns"
    }

    async fn send(&self, bridge: &Bridge, notice: &Notice) -> Result<(), ProviderError> {
        let Bridge::Apns {
            device_token,
            topic,
            sandbox,
        } = bridge
        else {
            return Err(ProviderError::Rejected("not an APNs bridge".into()));
        };
        let request = ApnsRequest::new(
            device_token,
            topic,
            *sandbox,
            notice,
            &self.alert_title,
            now_millis(),
        );
        self.transport.post(&request).await.map_err(classify)
    }
}

/// Apple's documented statuses and reasons, as what the bridge should do.
pub fn classify(failure: ApnsFailure) -> ProviderError {
    let reason = failure.reason.clone().unwrap_or_default();
    let detail = match failure.status {
        Some(status) => format!("APNs {status} {reason}"),
        None => format!("APNs unreachable: {reason}"),
    };
    match (failure.status, reason.as_str()) {
        (Some(410), _) | (_, "Unregistered" | "BadDeviceToken" | "DeviceTokenNotForTopic") => {
            ProviderError::TokenGone(detail)
        }
        (
            _,
            "ExpiredProviderToken"
            | "InvalidProviderToken"
            | "MissingProviderToken"
            | "BadCertificate"
            | "BadCertificateEnvironment"
            | "Forbidden"
            | "TopicDisallowed",
        )
        | (Some(403), _) => ProviderError::Auth(detail),
        (None | Some(429 | 500 | 502 | 503 | 504), _) => ProviderError::Retry {
            after: None,
            detail,
        },
        _ => ProviderError::Rejected(detail),
    }
}
