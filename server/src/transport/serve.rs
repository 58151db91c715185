//! Serving the public port's connections: HTTP/1.1 (with upgrades, for the
//! WebSocket push protocol) and HTTP/2 on one listener, every limit of a
//! connection set here in one place, and a drain that lets connections
//! finish what they have started.
//!
//! pushd runs hyper itself rather than through tonic's `Server`, which
//! serves HTTP/1.1 without upgrades (so no WebSocket) and, with a grace
//! set, cuts old connections without a `GOAWAY`.

use std::convert::Infallible;
use std::future::Future;
use std::time::Duration;

use http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::sync::watch;
use tokio_stream::{Stream, StreamExt as _};
use tonic::body::Body;
use tonic::transport::server::Connected as _;
use tower::{Service, ServiceExt as _};

use super::PublicStream;

/// What every connection is served with.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConnectionLimits {
    pub(crate) max_streams: u32,
    /// Streams pushd may reset for a client's protocol errors before it
    /// closes the connection.
    pub(crate) max_local_resets: usize,
    /// After this a connection is asked to close (`GOAWAY`); the cut after
    /// the grace is the connection's own deadline ([`super::Lifetime`]).
    pub(crate) max_age: Option<Duration>,
    pub(crate) keepalive_interval: Duration,
    pub(crate) keepalive_timeout: Duration,
    /// Time an HTTP/1.1 client has to send a request's headers.
    pub(crate) header_read_timeout: Duration,
    /// Bytes HTTP/2 buffers per stream for a client that reads slowly.
    pub(crate) max_send_buffer: usize,
}

/// Serves `connections` with `service` until `shutdown` resolves, then asks
/// each connection to finish and returns once all have closed.
pub(crate) async fn serve<S>(
    connections: impl Stream<Item = std::io::Result<PublicStream>>,
    service: S,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) where
    S: Service<Request<Body>, Response = Response<Body>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    let builder = builder(limits);
    // Each connection holds a receiver; the sender closing its channel is the drain.
    let (drain, draining) = watch::channel(false);
    let mut connections = std::pin::pin!(connections);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            _ = &mut shutdown => break,
            next = connections.next() => match next {
                Some(Ok(stream)) => stream,
                Some(Err(error)) => {
                    tracing::debug!(%error, "a connection failed before it was served");
                    continue;
                }
                None => break,
            },
        };
        let peer = stream.connect_info();
        let service = service
            .clone()
            .map_request(move |mut request: Request<Incoming>| {
                // What `tonic::Request::remote_addr` reads.
                request.extensions_mut().insert(peer.clone());
                request.map(Body::new)
            });
        tokio::spawn(serve_one(
            builder.clone(),
            stream,
            TowerToHyperService::new(service),
            limits.max_age,
            draining.clone(),
        ));
    }
    let _ = drain.send(true);
    drop(draining);
    drain.closed().await;
}

fn builder(limits: ConnectionLimits) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(limits.max_streams)
        .max_local_error_reset_streams(limits.max_local_resets)
        .keep_alive_interval(limits.keepalive_interval)
        .keep_alive_timeout(limits.keepalive_timeout)
        .max_send_buf_size(limits.max_send_buffer);
    builder
}

async fn serve_one<S>(
    builder: auto::Builder<TokioExecutor>,
    stream: PublicStream,
    service: S,
    max_age: Option<Duration>,
    mut draining: watch::Receiver<bool>,
) where
    S: hyper::service::Service<Request<Incoming>, Response = Response<Body>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
    let mut connection = std::pin::pin!(connection);
    let aged = async {
        match max_age {
            Some(age) => tokio::time::sleep(age).await,
            None => std::future::pending().await,
        }
    };
    let mut aged = std::pin::pin!(aged);
    let mut asked_to_close = false;
    loop {
        tokio::select! {
            served = connection.as_mut() => {
                if let Err(error) = served {
                    tracing::debug!(%error, "connection ended");
                }
                return;
            }
            _ = &mut aged, if !asked_to_close => {
                asked_to_close = true;
                connection.as_mut().graceful_shutdown();
            }
            _ = draining.wait_for(|draining| *draining), if !asked_to_close => {
                asked_to_close = true;
                connection.as_mut().graceful_shutdown();
            }
        }
    }
}
