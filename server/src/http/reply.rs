//! The one place refusals become HTTP answers: the status code a web-push
//! library acts on (404/410 delete the subscription, 429 and 503 retry,
//! 413 shrink) and a JSON body saying what to change:
//! `{"code": 410, "error": "Gone", "message": "…"}`.

use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::Full;
use tonic::body::Body;

use super::headers::HeaderProblem;
use crate::domain::HeaderError;
use crate::store::StoreError;
use crate::submit::{SubmitError, retry_after_seconds};

/// How long a sender should wait when a device's queue is full: long enough
/// for the device to come back and ack, short enough not to lose the message.
const QUEUE_FULL_RETRY_SECONDS: u64 = 60;
/// How long to wait while the store or this node is unavailable.
const UNAVAILABLE_RETRY_SECONDS: u64 = 5;

pub type HttpResponse = Response<Body>;

/// A refusal: status, message, and the seconds to wait where retrying helps.
#[derive(Debug)]
pub struct Refusal {
    pub status: StatusCode,
    pub message: String,
    pub retry_after: Option<u64>,
    /// For 405: the methods the resource allows.
    pub allow: Option<&'static str>,
}

impl Refusal {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            retry_after: None,
            allow: None,
        }
    }

    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    pub fn into_response(self) -> HttpResponse {
        let body = serde_json::json!({
            "code": self.status.as_u16(),
            "error": self.status.canonical_reason().unwrap_or("Error"),
            "message": self.message,
        });
        let mut response = json(self.status, &body);
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if let Some(allow) = self.allow {
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static(allow));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("vapid"));
        }
        response
    }
}

impl From<HeaderProblem> for Refusal {
    fn from(problem: HeaderProblem) -> Self {
        let status = if problem.is_unsupported_media() {
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        } else {
            StatusCode::BAD_REQUEST
        };
        Refusal::new(status, problem.to_string())
    }
}

impl From<SubmitError> for Refusal {
    fn from(error: SubmitError) -> Self {
        let message = error.to_string();
        let status = match &error {
            SubmitError::Vapid(_) => StatusCode::UNAUTHORIZED,
            SubmitError::SenderBlocked | SubmitError::WrongKey | SubmitError::NotYourMessage => {
                StatusCode::FORBIDDEN
            }
            SubmitError::Payload(HeaderError::TooLarge(_)) => StatusCode::PAYLOAD_TOO_LARGE,
            SubmitError::Payload(_) | SubmitError::Topic(_) => StatusCode::BAD_REQUEST,
            SubmitError::MissingEndpoint
            | SubmitError::NotAnEndpoint
            | SubmitError::UnknownSubscription
            | SubmitError::UnknownMessage
            | SubmitError::NoReceipt => StatusCode::NOT_FOUND,
            SubmitError::Gone(_) => StatusCode::GONE,
            SubmitError::TooFast { wait, .. } => {
                return Refusal::new(StatusCode::TOO_MANY_REQUESTS, message)
                    .retry_after(retry_after_seconds(*wait));
            }
            SubmitError::Store(StoreError::QueueFull { .. }) => {
                return Refusal::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    format!("{message}; the device must connect and ack before more can be queued"),
                )
                .retry_after(QUEUE_FULL_RETRY_SECONDS);
            }
            SubmitError::Store(StoreError::Unavailable(_)) => {
                return Refusal::new(StatusCode::SERVICE_UNAVAILABLE, format!("{message}; retry"))
                    .retry_after(UNAVAILABLE_RETRY_SECONDS);
            }
            SubmitError::Store(_) => {
                tracing::error!(%error, "storage failure");
                return Refusal::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "storage failure; the message was not accepted",
                );
            }
        };
        Refusal::new(status, message)
    }
}

/// This node is shutting down: the sender should retry (another node, or
/// this one once it is back).
pub fn draining() -> Refusal {
    Refusal::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "this push service node is shutting down; retry",
    )
    .retry_after(UNAVAILABLE_RETRY_SECONDS)
}

pub fn json(status: StatusCode, body: &serde_json::Value) -> HttpResponse {
    let mut response = Response::new(Body::new(Full::new(bytes::Bytes::from(body.to_string()))));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

pub fn empty(status: StatusCode) -> HttpResponse {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    response
}
