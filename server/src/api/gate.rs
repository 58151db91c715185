//! The sender gate: a tower layer in front of `push.v1.Sender` that
//! identifies the caller by VAPID and meters it by its key before the
//! request body is even read. The handler finds the verified sender in the
//! request's extensions. Refusing by the verified key (not the `k=` a
//! forger can copy) means nobody can spend another sender's budget.

use std::sync::Arc;
use std::task::{Context, Poll};

use tonic::server::NamedService;
use tower::{Layer, Service};

use super::rate::{RateLimits, too_fast};
use super::status;
use crate::auth::VapidVerifier;

#[derive(Clone)]
pub struct SenderGateLayer {
    pub vapid: Arc<VapidVerifier>,
    pub limits: Arc<RateLimits>,
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
pub struct SenderGate<S> {
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
        let now = crate::domain::now_millis() as u64 / 1000;
        let refusal = match self.gate.vapid.verify(authorization, now) {
            Err(error) => status::from_vapid(error),
            Ok(sender) => match self.gate.limits.sender(&sender.public_key) {
                Ok(()) => {
                    request.extensions_mut().insert(sender);
                    return futures_util::future::Either::Right(self.inner.call(request));
                }
                Err(wait) => too_fast("sender key", wait),
            },
        };
        futures_util::future::Either::Left(std::future::ready(Ok(refusal.into_http())))
    }
}
