//! A tower layer that answers a gRPC call still unanswered after
//! `request_timeout_seconds` with `DEADLINE_EXCEEDED`, freeing what it held
//! (a half-sent request body, the handler's task). Without it a client
//! could open a stream, send headers and nothing else, and hold it forever.
//!
//! Only the wait for the answer is bounded: a stream (`Listen`,
//! `WatchReceipts`) is answered at once and runs on. tonic's own
//! `Server::timeout` does the same but answers `CANCELLED`, which tells the
//! client nothing about what to change.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use http::{Request, Response};
use tonic::body::Body;
use tower::{Layer, Service};

#[derive(Clone, Copy)]
pub(crate) struct RequestDeadlineLayer {
    pub(crate) limit: Duration,
}

impl<S> Layer<S> for RequestDeadlineLayer {
    type Service = RequestDeadline<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestDeadline {
            inner,
            limit: self.limit,
        }
    }
}

#[derive(Clone)]
pub(crate) struct RequestDeadline<S> {
    inner: S,
    limit: Duration,
}

type Answer = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

impl<S> Service<Request<Body>> for RequestDeadline<S>
where
    S: Service<Request<Body>, Response = Response<Body>, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Answer;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let limit = self.limit;
        let answer = self.inner.call(request);
        Box::pin(async move {
            match tokio::time::timeout(limit, answer).await {
                Ok(answered) => answered,
                Err(_) => {
                    metrics::counter!("pushd_requests_timed_out_total").increment(1);
                    Ok(tonic::Status::deadline_exceeded(format!(
                        "the request was not complete within request_timeout_seconds ({} s); \
                         send a call's whole message at once",
                        limit.as_secs()
                    ))
                    .into_http())
                }
            }
        })
    }
}
