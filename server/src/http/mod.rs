//! The RFC 8030 HTTP front, on the public listener beside gRPC
//! ([`FrontsLayer`] splits them by content type), so every web-push library
//! sends to pushd unchanged:
//!
//! - `POST <public url>/push/<token>`: a push message (TTL, Urgency, Topic,
//!   `Content-Encoding: aes128gcm`, VAPID). `201 Created`, `Location:
//!   <public url>/m/<handle>`, the granted `TTL`.
//! - `GET <public url>/push/<token>`: UnifiedPush server discovery.
//! - `DELETE <public url>/m/<handle>`: the same sender cancels a message no
//!   device has acked yet (`204`).
//! - `GET <public url>/m/<handle>`: the same sender reads the message's
//!   receipt, if it asked for one with `Prefer: respond-async` (`202`).
//!
//! It is a thin adapter: headers are read here ([`headers`]), every check
//! and routing decision is [`crate::submit`]'s, and refusals become status
//! codes and JSON bodies in one place ([`reply`]). Anything else gets a 404
//! or 405, never a 2xx.

pub mod headers;
mod push;
mod reply;
mod split;

use std::sync::Arc;
use std::time::Duration;

use http::{Method, Request, StatusCode, header};
use tokio::sync::watch;
use tonic::body::Body;

use crate::submit::Submitter;
pub(crate) use reply::HttpResponse;
use reply::Refusal;
pub(crate) use split::FrontsLayer;

/// The front's shared state; cheap to clone.
#[derive(Clone)]
pub(crate) struct HttpFront {
    inner: Arc<FrontParts>,
}

struct FrontParts {
    submitter: Submitter,
    /// True once the node drains: new messages get 503 and go elsewhere.
    draining: watch::Receiver<bool>,
    /// How long a push's body may take once its headers are in
    /// (`handshake_timeout_seconds`).
    body_deadline: Duration,
}

/// The resources this front serves, by the end of the path (so a
/// `public_url` with a path prefix works behind a proxy that keeps it).
enum Route {
    Endpoint(String),
    Message(String),
    Unknown,
}

fn route(path: &str) -> Route {
    let mut segments = path.trim_end_matches('/').rsplit('/');
    match (segments.next(), segments.next()) {
        (Some(token), Some("push")) if !token.is_empty() => Route::Endpoint(token.to_owned()),
        (Some(handle), Some("m")) if !handle.is_empty() => Route::Message(handle.to_owned()),
        _ => Route::Unknown,
    }
}

impl HttpFront {
    pub(crate) fn new(
        submitter: Submitter,
        draining: watch::Receiver<bool>,
        body_deadline: Duration,
    ) -> Self {
        Self {
            inner: Arc::new(FrontParts {
                submitter,
                draining,
                body_deadline,
            }),
        }
    }

    pub(crate) async fn handle(&self, request: Request<Body>) -> HttpResponse {
        let method = request.method().clone();
        let route = route(request.uri().path());
        if let (Route::Endpoint(token), &Method::POST) = (&route, &method) {
            let answer = self.push(token, request).await;
            return counted(answer.unwrap_or_else(Refusal::into_response));
        }
        let authorization = authorization(&request).map(str::to_owned);
        push::drain(request.into_body()).await;
        let answer = match (route, &method) {
            (Route::Endpoint(_), &Method::GET | &Method::HEAD) => Ok(push::discovery()),
            (Route::Message(handle), &Method::DELETE) => {
                self.cancel(&handle, authorization.as_deref()).await
            }
            (Route::Message(handle), &Method::GET) => {
                self.receipt(&handle, authorization.as_deref()).await
            }
            (Route::Endpoint(_), _) => Err(not_allowed("POST, GET")),
            (Route::Message(_), _) => Err(not_allowed("DELETE, GET")),
            (Route::Unknown, _) => Err(Refusal::new(
                StatusCode::NOT_FOUND,
                "no such resource: push endpoints are <public url>/push/<token>; gRPC calls need content-type application/grpc",
            )),
        };
        counted(answer.unwrap_or_else(Refusal::into_response))
    }

    fn is_draining(&self) -> bool {
        *self.inner.draining.borrow()
    }
}

fn counted(response: HttpResponse) -> HttpResponse {
    metrics::counter!("pushd_http_requests_total", "status" => response.status().as_str().to_owned())
        .increment(1);
    response
}

fn not_allowed(allowed: &'static str) -> Refusal {
    let mut refusal = Refusal::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("this resource allows {allowed}"),
    );
    refusal.allow = Some(allowed);
    refusal
}

fn authorization<B>(request: &Request<B>) -> Option<&str> {
    request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
}
