//! One access token shared by every send to a push service, refreshed by
//! one caller at a time: sends that find it stale wait for that one
//! refresh (and share its answer, token or failure) instead of each
//! opening a connection to the token endpoint. A refresh that takes longer
//! than the call timeout is given up and counted.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum TokenError {
    /// Worth trying again: the endpoint did not answer in time.
    #[error("the {provider} token endpoint did not answer within {limit:?}")]
    TimedOut {
        provider: &'static str,
        limit: Duration,
    },
    /// The endpoint answered with a refusal, or the answer was unusable.
    #[error("getting a {provider} token failed: {detail}")]
    Failed {
        provider: &'static str,
        detail: String,
    },
}

#[derive(Default)]
struct Slot {
    /// The token and when to stop using it.
    token: Option<(String, Instant)>,
    /// How the last refresh ended, for the callers that waited for it.
    failure: Option<TokenError>,
}

pub(crate) struct SharedToken {
    provider: &'static str,
    limit: Duration,
    slot: Mutex<Slot>,
    /// Refreshes finished; bumped under the lock.
    refreshes: AtomicU64,
}

impl SharedToken {
    pub(crate) fn new(provider: &'static str, limit: Duration) -> Self {
        Self {
            provider,
            limit,
            slot: Mutex::new(Slot::default()),
            refreshes: AtomicU64::new(0),
        }
    }

    /// The current token, or one `refresh` fetched: `refresh` answers the
    /// token and until when it may be used. Its error is kept as text, for
    /// every caller that waited for it.
    pub(crate) async fn get<F, Fut, E>(&self, refresh: F) -> Result<String, TokenError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(String, Instant), E>>,
        E: std::fmt::Display,
    {
        let seen = self.refreshes.load(Ordering::Acquire);
        let mut slot = self.slot.lock().await;
        if let Some((token, _)) = slot
            .token
            .as_ref()
            .filter(|(_, until)| *until > Instant::now())
        {
            return Ok(token.clone());
        }
        // A refresh ran while this caller waited for the lock and failed:
        // its answer stands for everyone who waited.
        let refreshed_meanwhile = self.refreshes.load(Ordering::Acquire) != seen;
        if let Some(failure) = slot.failure.as_ref().filter(|_| refreshed_meanwhile) {
            return Err(failure.clone());
        }
        let outcome = match tokio::time::timeout(self.limit, refresh()).await {
            Ok(Ok(fresh)) => Ok(fresh),
            Ok(Err(error)) => Err(TokenError::Failed {
                provider: self.provider,
                detail: error.to_string(),
            }),
            Err(_) => {
                metrics::counter!("pushd_bridge_timeouts_total", "provider" => self.provider, "call" => "token")
                    .increment(1);
                Err(TokenError::TimedOut {
                    provider: self.provider,
                    limit: self.limit,
                })
            }
        };
        self.refreshes.fetch_add(1, Ordering::Release);
        match outcome {
            Ok((token, until)) => {
                *slot = Slot {
                    token: Some((token.clone(), until)),
                    failure: None,
                };
                Ok(token)
            }
            Err(failure) => {
                *slot = Slot {
                    token: None,
                    failure: Some(failure.clone()),
                };
                Err(failure)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;

    use super::*;

    const LIMIT: Duration = Duration::from_secs(10);

    /// `callers` concurrent gets through one [`SharedToken`], each refresh
    /// taking `takes` and answering `answer`; returns (refreshes, results).
    async fn race(
        callers: usize,
        takes: Duration,
        answer: Result<(), &'static str>,
    ) -> (usize, Vec<Result<String, TokenError>>) {
        let shared = Arc::new(SharedToken::new("fcm", LIMIT));
        let refreshes = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..callers {
            let (shared, refreshes, answer) = (shared.clone(), refreshes.clone(), answer);
            tasks.push(tokio::spawn(async move {
                shared
                    .get(|| async move {
                        refreshes.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(takes).await;
                        answer.map(|()| {
                            (
                                "tok".to_string(),
                                Instant::now() + Duration::from_secs(3600),
                            )
                        })
                    })
                    .await
            }));
        }
        let mut results = Vec::new();
        for task in tasks {
            results.push(task.await.expect("task"));
        }
        (refreshes.load(Ordering::SeqCst), results)
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_callers_share_one_refresh() {
        let (refreshes, results) = race(50, Duration::from_secs(1), Ok(())).await;
        assert_eq!(refreshes, 1);
        assert!(results.iter().all(|result| result.as_deref() == Ok("tok")));
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_refresh_is_shared_by_those_who_waited_for_it() {
        let (refreshes, results) = race(20, Duration::from_secs(1), Err("invalid_grant")).await;
        assert_eq!(refreshes, 1, "one refusal, not one per caller");
        assert!(
            results
                .iter()
                .all(|result| matches!(result, Err(TokenError::Failed { .. })))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_endpoint_that_never_answers_times_out_once_for_all_waiters() {
        let (refreshes, results) = race(20, Duration::from_secs(86_400), Ok(())).await;
        assert_eq!(refreshes, 1);
        assert!(
            results
                .iter()
                .all(|result| matches!(result, Err(TokenError::TimedOut { .. })))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_stale_token_is_refreshed_and_a_failure_is_not_kept() {
        let shared = SharedToken::new("fcm", LIMIT);
        let short = |token: &'static str| async move {
            Ok::<_, &str>((token.to_string(), Instant::now() + Duration::from_secs(60)))
        };
        assert_eq!(shared.get(|| short("first")).await.as_deref(), Ok("first"));
        assert_eq!(shared.get(|| short("unused")).await.as_deref(), Ok("first"));
        tokio::time::advance(Duration::from_secs(61)).await;
        let refused = shared
            .get(|| async { Err::<(String, Instant), _>("503") })
            .await;
        assert!(refused.is_err());
        assert_eq!(
            shared.get(|| short("second")).await.as_deref(),
            Ok("second"),
            "a later caller tries again"
        );
    }
}
