//! The sender gate: a tower layer in front of `push.v1.Sender` that
//! identifies the caller and meters it by its key before the request body
//! is even read, so an unidentified or over-budget sender costs no body
//! decoding. The check itself is the sender service's
//! (`Submitter::identify`, given by the gRPC front); the handler finds the
//! verified sender in the request's extensions.

use std::sync::Arc;
use std::task::{Context, Poll};

use tonic::Status;
use tonic::server::NamedService;
use tower::{Layer, Service};

use crate::auth::VerifiedSender;

/// Identifies and meters the sender behind an `authorization` header.
pub(super) type Identify =
    Arc<dyn Fn(Option<&str>) -> Result<VerifiedSender, Status> + Send + Sync>;

#[derive(Clone)]
pub(crate) struct SenderGateLayer {
    pub identify: Identify,
}

impl<S> Layer<S> for SenderGateLayer {
    type Service = SenderGate<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SenderGate {
            inner,
            gate: self.clone(),
        }
    }
}

#[derive(Clone)]
pub(crate) struct SenderGate<S> {
    inner: S,
    gate: SenderGateLayer,
}

impl<S: NamedService> NamedService for SenderGate<S> {
    const NAME: &'static str = S::NAME;
}

type GateFuture<F> = futures_util::future::Either<
    std::future::Ready<Result<http::Response<tonic::body::Body>, std::convert::Infallible>>,
    F,
>;

impl<S, B> Service<http::Request<B>> for SenderGate<S>
where
    S: Service<
            http::Request<B>,
            Response = http::Response<tonic::body::Body>,
            Error = std::convert::Infallible,
        >,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = GateFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        let authorization = request
            .headers()
            .get("authorization")
            .and_then(|value| value.to_str().ok());
        match (self.gate.identify)(authorization) {
            Ok(sender) => {
                request.extensions_mut().insert(sender);
                futures_util::future::Either::Right(self.inner.call(request))
            }
            Err(refusal) => {
                futures_util::future::Either::Left(std::future::ready(Ok(refusal.into_http())))
            }
        }
    }
}
