//! The operator's listener (`metrics_listen`): `/metrics` for Prometheus,
//! `/healthz` and `/readyz` for load balancers and Kubernetes probes.
//! Plain HTTP/1.1, kept apart from the public port so it can stay off the
//! internet and answer while the public port is saturated.

use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;

use super::Readiness;

/// Scrapes served at once, and the time one connection may take.
const MAX_SCRAPES: usize = 16;
const SCRAPE_TIMEOUT: Duration = Duration::from_secs(30);
const SCRAPE_HEADER_TIMEOUT: Duration = Duration::from_secs(5);

/// Serves the operator's endpoints until the task is dropped.
pub(crate) async fn serve_metrics(
    listener: TcpListener,
    handle: PrometheusHandle,
    readiness: Readiness,
) {
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
        let (handle, readiness) = (handle.clone(), readiness.clone());
        tokio::spawn(async move {
            let _permit = permit;
            let service =
                hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
                    let (handle, readiness) = (handle.clone(), readiness.clone());
                    async move {
                        let (status, body) =
                            respond(request.uri().path(), &handle, &readiness).await;
                        let mut response = Response::new(Full::new(Bytes::from(body)));
                        *response.status_mut() = status;
                        Ok::<_, std::convert::Infallible>(response)
                    }
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

async fn respond(
    path: &str,
    handle: &PrometheusHandle,
    readiness: &Readiness,
) -> (StatusCode, String) {
    match path {
        "/metrics" => (StatusCode::OK, handle.render()),
        // Answering at all is the liveness signal: this runs on the same
        // runtime as everything else, so a wedged runtime cannot answer.
        "/healthz" => (StatusCode::OK, "ok\n".into()),
        "/readyz" => match readiness.ready().await {
            Ok(()) => (StatusCode::OK, "ready\n".into()),
            Err(reason) => (StatusCode::SERVICE_UNAVAILABLE, format!("{reason}\n")),
        },
        _ => (
            StatusCode::NOT_FOUND,
            "not found; this listener serves /metrics, /healthz and /readyz\n".into(),
        ),
    }
}
