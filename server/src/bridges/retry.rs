//! Retries as a layer around any [`Provider`]: exponential backoff with full
//! jitter, `Retry-After` honoured, and a bound on attempts and on waiting,
//! after which the last error stands (the message stays stored either way).

use std::time::Duration;

use async_trait::async_trait;
use rand::Rng as _;

use super::{Notice, Provider, ProviderError};
use crate::domain::Bridge;

#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub first_backoff: Duration,
    /// Longest single wait; a `Retry-After` beyond it ends the retries.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            first_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempt + 1`, or None to stop.
    fn wait(&self, attempt: u32, retry_after: Option<Duration>) -> Option<Duration> {
        if attempt >= self.max_attempts {
            return None;
        }
        match retry_after {
            Some(after) if after > self.max_backoff => None,
            Some(after) => Some(after),
            None => {
                let ceiling = self
                    .first_backoff
                    .saturating_mul(1 << attempt.saturating_sub(1).min(16))
                    .min(self.max_backoff);
                let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
                Some(Duration::from_millis(rand::rng().random_range(0..=millis)))
            }
        }
    }
}

pub struct Retrying<P> {
    inner: P,
    policy: RetryPolicy,
}

impl<P: Provider> Retrying<P> {
    pub fn new(inner: P, policy: RetryPolicy) -> Self {
        Self { inner, policy }
    }
}

#[async_trait]
impl<P: Provider> Provider for Retrying<P> {
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }

    async fn send(&self, bridge: &Bridge, notice: &Notice) -> Result<(), ProviderError> {
        let mut attempt = 1;
        loop {
            match self.inner.send(bridge, notice).await {
                Err(ProviderError::Retry { after, detail }) => {
                    let Some(wait) = self.policy.wait(attempt, after) else {
                        return Err(ProviderError::Retry { after, detail });
                    };
                    metrics::counter!("pushd_bridge_retries_total", "provider" => self.kind())
                        .increment(1);
                    tracing::debug!(%detail, ?wait, attempt, "bridge send will be retried");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                outcome => return outcome,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use parking_lot::Mutex;

    use super::*;
    use crate::domain::Urgency;

    /// Answers with the scripted results in order, then OK.
    struct Scripted(Mutex<Vec<Result<(), ProviderError>>>);

    #[async_trait]
    impl Provider for Scripted {
        fn kind(&self) -> &'static str {
            "fcm"
        }
        async fn send(&self, _: &Bridge, _: &Notice) -> Result<(), ProviderError> {
            let mut script = self.0.lock();
            if script.is_empty() {
                Ok(())
            } else {
                script.remove(0)
            }
        }
    }

    fn retry(after: Option<u64>) -> Result<(), ProviderError> {
        Err(ProviderError::Retry {
            after: after.map(Duration::from_secs),
            detail: "503".into(),
        })
    }

    fn notice() -> Notice {
        Notice {
            message_id: "m".into(),
            subscription_id: "s".into(),
            urgency: Urgency::High,
            topic: None,
            expires_at: 0,
            body: super::super::NoticeBody::WakeUp,
        }
    }

    fn bridge() -> Bridge {
        Bridge::Fcm {
            registration_token: "t".into(),
            project_id: "p".into(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn retries_honour_retry_after_and_stop_at_the_bound() {
        let started = tokio::time::Instant::now();
        let provider = Retrying::new(
            Scripted(Mutex::new(vec![retry(Some(7)), retry(None)])),
            RetryPolicy::default(),
        );
        assert_eq!(provider.send(&bridge(), &notice()).await, Ok(()));
        assert!(
            started.elapsed() >= Duration::from_secs(7),
            "waited as told"
        );

        let hopeless = Retrying::new(
            Scripted(Mutex::new(vec![retry(None); 10])),
            RetryPolicy::default(),
        );
        assert!(matches!(
            hopeless.send(&bridge(), &notice()).await,
            Err(ProviderError::Retry { .. })
        ));
        let too_late = Retrying::new(
            Scripted(Mutex::new(vec![retry(Some(3600))])),
            RetryPolicy::default(),
        );
        assert!(too_late.send(&bridge(), &notice()).await.is_err());
        let gone = Retrying::new(
            Scripted(Mutex::new(vec![Err(ProviderError::TokenGone(
                "410".into(),
            ))])),
            RetryPolicy::default(),
        );
        assert!(matches!(
            gone.send(&bridge(), &notice()).await,
            Err(ProviderError::TokenGone(_))
        ));
    }
}
