//! Logs (tracing) and Prometheus metrics (the `metrics` crate), and the
//! small HTTP listener that serves `/metrics`.

use std::io::IsTerminal as _;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;

pub fn init_logging(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(filter))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .try_init();
}

/// The process-wide recorder; installed once however often `run` is called.
pub(crate) fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            // Fails only if another recorder was installed first; then ours just sees nothing.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// Scrapes served at once, and the time one connection may take.
const MAX_SCRAPES: usize = 16;
const SCRAPE_TIMEOUT: Duration = Duration::from_secs(30);
const SCRAPE_HEADER_TIMEOUT: Duration = Duration::from_secs(5);

/// Serves `GET /metrics` until the task is dropped.
pub(crate) async fn serve_metrics(listener: TcpListener, handle: PrometheusHandle) {
    let upkeep = handle.clone();
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(Duration::from_secs(5));
        loop {
            ticker.tick().await;
            upkeep.run_upkeep();
        }
    });
    // Scrapers are few; these bound what anyone who can reach the port may hold.
    let scrapes = Arc::new(tokio::sync::Semaphore::new(MAX_SCRAPES));
    loop {
        let Ok(permit) = scrapes.clone().acquire_owned().await else {
            return;
        };
        let Ok((stream, _)) = listener.accept().await else {
            // Out of descriptors, most likely: retrying at once would spin.
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let handle = handle.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let service =
                hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
                    let handle = handle.clone();
                    async move { Ok::<_, std::convert::Infallible>(respond(&request, &handle)) }
                });
            let connection = hyper::server::conn::http1::Builder::new()
                // A client that sends no request soon frees its place.
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(SCRAPE_HEADER_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service);
            let _ = tokio::time::timeout(SCRAPE_TIMEOUT, connection).await;
        });
    }
}

fn respond(
    request: &Request<hyper::body::Incoming>,
    handle: &PrometheusHandle,
) -> Response<Full<Bytes>> {
    let (status, body) = match request.uri().path() {
        "/metrics" => (StatusCode::OK, handle.render()),
        _ => (
            StatusCode::NOT_FOUND,
            "not found; metrics are at /metrics\n".to_string(),
        ),
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
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
