//! One port, three fronts: a tower layer over the gRPC routes that sends every
//! request whose `content-type` is `application/grpc…` to gRPC, a WebSocket
//! upgrade to the WebSocket push protocol, and the rest to the RFC 8030 front. Without it, an HTTP POST that is not gRPC reached
//! tonic's fallback and got `200 OK` with `grpc-status: 12`, which web-push
//! libraries read as success: a message lost silently.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::{Request, Response};
use tonic::body::Body;
use tower::{Layer, Service};

use super::HttpFront;
use crate::websocket::WebSocketFront;

#[derive(Clone)]
pub(crate) struct FrontsLayer {
    pub(crate) http: HttpFront,
    pub(crate) websocket: WebSocketFront,
}

impl<S> Layer<S> for FrontsLayer {
    type Service = Fronts<S>;

    fn layer(&self, grpc: S) -> Self::Service {
        Fronts {
            grpc,
            http: self.http.clone(),
            websocket: self.websocket.clone(),
        }
    }
}

#[derive(Clone)]
pub(crate) struct Fronts<S> {
    grpc: S,
    http: HttpFront,
    websocket: WebSocketFront,
}

type HttpFuture = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

impl<S> Service<Request<Body>> for Fronts<S>
where
    S: Service<Request<Body>, Response = Response<Body>, Error = Infallible>,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = futures_util::future::Either<S::Future, HttpFuture>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.grpc.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        if is_grpc(&request) {
            return futures_util::future::Either::Left(self.grpc.call(request));
        }
        if crate::websocket::is_upgrade(&request) {
            let answer = self.websocket.accept(request);
            return futures_util::future::Either::Right(Box::pin(async move { Ok(answer) }));
        }
        let http = self.http.clone();
        futures_util::future::Either::Right(Box::pin(async move { Ok(http.handle(request).await) }))
    }
}

/// gRPC, gRPC-Web and their `+proto`/`+json` variants.
fn is_grpc<B>(request: &Request<B>) -> bool {
    request
        .headers()
        .get(http::header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/grpc"))
}
