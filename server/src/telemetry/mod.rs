//! Logs (tracing), Prometheus metrics (the `metrics` crate), and the small
//! HTTP listener beside the public port that serves `/metrics` and the
//! health checks load balancers and Kubernetes probe (`/healthz`, `/readyz`).

mod catalog;
mod http;
mod logs;
mod readiness;

use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

pub(crate) use http::serve_metrics;
pub use logs::{LogFormat, init_logging};
pub(crate) use readiness::{CheckAnswer, Readiness, StoreCheck};

/// The process-wide recorder; installed once however often `run` is called.
pub(crate) fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            // Fails only if another recorder was installed first; then ours just sees nothing.
            if metrics::set_global_recorder(recorder).is_ok() {
                catalog::register();
            }
            handle
        })
        .clone()
}

/// Lets a log line through at most once per period, so an event a client
/// can cause thousands of times a second (a refused connection, a wrong
/// secret) is seen by the operator without flooding the log. Counting it is
/// the metric's job.
pub(crate) struct LogGate {
    period: std::time::Duration,
    last: parking_lot::Mutex<Option<std::time::Instant>>,
}

impl LogGate {
    pub(crate) const fn new(period: std::time::Duration) -> Self {
        Self {
            period,
            last: parking_lot::Mutex::new(None),
        }
    }

    /// True when the caller may log now.
    pub(crate) fn open(&self) -> bool {
        let mut last = self.last.lock();
        if last.is_some_and(|at| at.elapsed() < self.period) {
            return false;
        }
        *last = Some(std::time::Instant::now());
        true
    }
}
