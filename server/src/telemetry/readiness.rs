//! Whether this node should be sent traffic: not while it drains, and not
//! while its store does not answer.
//!
//! Probes come from every load balancer and kubelet, often several a
//! second; each asks the store at most once per [`REUSE_FOR`], and probes
//! arriving meanwhile (or while a check runs) get that answer. A store that
//! hangs holds a check [`CHECK_TIMEOUT`], no longer.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, watch};
// tokio's clock, so the tests can pause it.
use tokio::time::Instant;

const REUSE_FOR: Duration = Duration::from_secs(1);
/// Short of the 3 s probe timeout README.md suggests, so the probe reads
/// the reason instead of timing out itself.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// Asks the store whether it answers; the error says why not, for a person.
/// Built by the wiring, so this layer does not depend on the store's.
pub(crate) type StoreCheck = Arc<dyn Fn() -> CheckAnswer + Send + Sync>;
pub(crate) type CheckAnswer = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;

#[derive(Clone)]
pub(crate) struct Readiness {
    check: StoreCheck,
    draining: watch::Receiver<bool>,
    last: Arc<Mutex<Option<Checked>>>,
}

/// A store check's answer and when it was had.
struct Checked {
    at: Instant,
    answer: Result<(), String>,
}

impl Readiness {
    pub(crate) fn new(check: StoreCheck, draining: watch::Receiver<bool>) -> Self {
        Self {
            check,
            draining,
            last: Arc::new(Mutex::new(None)),
        }
    }

    /// Ok when ready, else the one-line reason.
    pub(crate) async fn ready(&self) -> Result<(), String> {
        if *self.draining.borrow() {
            return Err("draining: shutting down, finishing open streams and requests".into());
        }
        // Held across the check: probes arriving meanwhile wait for its answer.
        let mut last = self.last.lock().await;
        if let Some(checked) = last.as_ref()
            && checked.at.elapsed() < REUSE_FOR
        {
            return checked.answer.clone();
        }
        let answer = match tokio::time::timeout(CHECK_TIMEOUT, (self.check)()).await {
            Ok(Ok(())) => Ok(()),
            // One line: a probe's log shows the first line only.
            Ok(Err(error)) => Err(format!(
                "store unreachable: {}",
                error.split_whitespace().collect::<Vec<_>>().join(" ")
            )),
            Err(_) => Err(format!(
                "store unreachable: no answer within {} s",
                CHECK_TIMEOUT.as_secs()
            )),
        };
        *last = Some(Checked {
            at: Instant::now(),
            answer: answer.clone(),
        });
        answer
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// A check that counts its calls and answers as `answer` says: Some(ok)
    /// at once, None never.
    fn counting(answer: Option<bool>) -> (StoreCheck, Arc<AtomicUsize>) {
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = calls.clone();
        let check: StoreCheck = Arc::new(move || {
            counted.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move {
                match answer {
                    Some(true) => Ok(()),
                    Some(false) => Err("connection refused".to_string()),
                    None => std::future::pending().await,
                }
            }) as CheckAnswer
        });
        (check, calls)
    }

    #[tokio::test(start_paused = true)]
    async fn probes_within_a_second_share_one_store_check() {
        let (check, calls) = counting(Some(true));
        let (_drain, draining) = watch::channel(false);
        let readiness = Readiness::new(check, draining);
        for _ in 0..50 {
            assert_eq!(readiness.ready().await, Ok(()));
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        tokio::time::advance(REUSE_FOR).await;
        assert_eq!(readiness.ready().await, Ok(()));
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_store_that_fails_or_hangs_is_a_reason() {
        let (_drain, draining) = watch::channel(false);
        let failing = Readiness::new(counting(Some(false)).0, draining.clone());
        let reason = failing.ready().await.expect_err("failing store");
        assert!(reason.contains("connection refused"), "{reason}");
        let hanging = Readiness::new(counting(None).0, draining);
        let reason = hanging.ready().await.expect_err("hanging store");
        assert!(reason.contains("within 2 s"), "{reason}");
    }

    #[tokio::test(start_paused = true)]
    async fn draining_is_not_ready_without_asking_the_store() {
        let (check, calls) = counting(Some(true));
        let (drain, draining) = watch::channel(false);
        let readiness = Readiness::new(check, draining);
        drain.send(true).expect("receiver held");
        let reason = readiness.ready().await.expect_err("draining");
        assert!(reason.starts_with("draining"), "{reason}");
        assert_eq!(calls.load(Ordering::SeqCst), 0);
    }
}
