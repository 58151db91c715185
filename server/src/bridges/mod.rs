//! Mobile push bridges: waking phones that hold no stream through Apple's
//! (APNs) and Google's (FCM) push services, without opening the message.
//!
//! - [`Provider`] is the boundary: one per push service ([`apns`], [`fcm`]),
//!   each turning a [`Notice`] into that service's request and its answers
//!   into a [`ProviderError`];
//! - [`retry`] wraps a provider with bounded, jittered, `Retry-After`-aware
//!   retries, and [`timeout`] puts a deadline on each attempt, as layers;
//!   [`token`] makes concurrent sends share one access-token refresh;
//! - [`policy`] decides stream, bridge or wait from presence, urgency and TTL;
//! - [`dispatch`] records each bridged delivery in the store as a wake-up,
//!   sends it, forgets tokens a service says are gone, and counts every
//!   outcome; [`schedule`] sends the wake-ups that come due (after a wait,
//!   a restart, or while every worker was busy) with a bounded pool.

pub mod apns;
pub(crate) mod dispatch;
pub(crate) mod fcm;
mod fcm_auth;
mod notice;
pub mod policy;
pub mod retry;
pub(crate) mod schedule;
mod setup;
pub(crate) mod timeout;
pub(crate) mod token;

use std::time::Duration;

use async_trait::async_trait;

use crate::domain::Bridge;

pub use dispatch::Bridges;
pub use notice::Notice;
#[cfg(test)]
pub(crate) use notice::NoticeBody;
pub(crate) use notice::PROVIDER_PAYLOAD_LIMIT;
pub use schedule::WorkerPool;
pub(crate) use setup::{BridgeSettings, FcmSettings, start};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// The token no longer reaches the app (uninstalled, expired, wrong
    /// environment): the bridge is forgotten; the message stays stored.
    #[error("token is no longer valid: {0}")]
    TokenGone(String),
    /// Worth trying again later (429, 5xx, the connection failed).
    #[error("temporarily failed: {detail}")]
    Retry {
        after: Option<Duration>,
        detail: String,
    },
    /// Our credentials were refused: an operator must fix the configuration.
    #[error("credentials refused: {0}")]
    Auth(String),
    /// The service refused this notification and would refuse it again.
    #[error("refused: {0}")]
    Rejected(String),
}

impl ProviderError {
    /// The metric label of this outcome.
    pub(crate) fn label(&self) -> &'static str {
        match self {
            Self::TokenGone(_) => "token_gone",
            Self::Retry { .. } => "retry",
            Self::Auth(_) => "auth_failed",
            Self::Rejected(_) => "rejected",
        }
    }
}

/// One push service.
#[async_trait]
pub trait Provider: Send + Sync + 'static {
    /// "apns" or "fcm": which [`Bridge`] kind this provider serves.
    fn kind(&self) -> &'static str;
    async fn send(&self, bridge: &Bridge, notice: &Notice) -> Result<(), ProviderError>;
}
