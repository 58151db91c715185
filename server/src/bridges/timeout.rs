//! A deadline on every provider call, as a layer around any [`Provider`]
//! (inside [`Retrying`], so each attempt has its own): a push service that
//! never answers costs a worker this long, not forever. A call that runs
//! out is a [`ProviderError::Retry`], counted in
//! `pushd_bridge_timeouts_total{call="send"}`.
//!
//! [`Retrying`]: super::retry::Retrying

use std::time::Duration;

use async_trait::async_trait;

use super::{Notice, Provider, ProviderError};
use crate::domain::Bridge;

pub(crate) struct TimedOut<P> {
    inner: P,
    limit: Duration,
}

impl<P: Provider> TimedOut<P> {
    pub(crate) fn new(inner: P, limit: Duration) -> Self {
        Self { inner, limit }
    }
}

#[async_trait]
impl<P: Provider> Provider for TimedOut<P> {
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }

    async fn send(&self, bridge: &Bridge, notice: &Notice) -> Result<(), ProviderError> {
        match tokio::time::timeout(self.limit, self.inner.send(bridge, notice)).await {
            Ok(outcome) => outcome,
            Err(_) => {
                metrics::counter!("pushd_bridge_timeouts_total", "provider" => self.kind(), "call" => "send")
                    .increment(1);
                Err(ProviderError::Retry {
                    after: None,
                    detail: format!("{} did not answer within {:?}", self.kind(), self.limit),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bridges::NoticeBody;
    use crate::domain::Urgency;

    struct Silent;

    #[async_trait]
    impl Provider for Silent {
        fn kind(&self) -> &'static str {
            "apns"
        }
        async fn send(&self, _: &Bridge, _: &Notice) -> Result<(), ProviderError> {
            std::future::pending().await
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_that_never_answers_ends_as_a_retry() {
        let bridge = Bridge::Apns {
            device_token: "a1".into(),
            topic: "org.example".into(),
            sandbox: true,
        };
        let notice = Notice {
            message_id: "m".into(),
            subscription_id: "s".into(),
            urgency: Urgency::High,
            topic: None,
            expires_at: 0,
            body: NoticeBody::WakeUp,
        };
        let timed = TimedOut::new(Silent, Duration::from_secs(10));
        assert!(matches!(
            timed.send(&bridge, &notice).await,
            Err(ProviderError::Retry { .. })
        ));
    }
}
