//! The one place refusals become HTTP answers (the status code from
//! [`ErrorCode::http`]): the status code a web-push
//! library acts on (404/410 delete the subscription, 429 and 503 retry,
//! 413 shrink) and a JSON body saying what to change:
//! `{"code": 410, "error": "Gone", "message": "…"}`.

use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::Full;
use tonic::body::Body;

use super::headers::HeaderProblem;
use crate::error::{ErrorCode, ServiceError, UNAVAILABLE_RETRY};
use crate::submit::{SubmitError, retry_after_seconds};

pub(crate) type HttpResponse = Response<Body>;

/// A refusal: status, message, and the seconds to wait where retrying helps.
#[derive(Debug)]
pub(crate) struct Refusal {
    pub(crate) status: StatusCode,
    pub(crate) message: String,
    pub(crate) retry_after: Option<u64>,
    /// For 405: the methods the resource allows.
    pub(crate) allow: Option<&'static str>,
}

impl Refusal {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            retry_after: None,
            allow: None,
        }
    }

    pub(crate) fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    pub(crate) fn into_response(self) -> HttpResponse {
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
        let code = error.code();
        if code == ErrorCode::Internal {
            tracing::error!(%error, "internal failure");
        }
        let refusal = Refusal::new(code.http(), error.public_message());
        match error.retry_after() {
            Some(wait) => refusal.retry_after(retry_after_seconds(wait)),
            None => refusal,
        }
    }
}

/// This node is shutting down: the sender should retry (another node, or
/// this one once it is back).
pub(crate) fn draining() -> Refusal {
    Refusal::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "this push service node is shutting down; retry",
    )
    .retry_after(retry_after_seconds(UNAVAILABLE_RETRY))
}

pub(crate) fn json(status: StatusCode, body: &serde_json::Value) -> HttpResponse {
    let mut response = Response::new(Body::new(Full::new(bytes::Bytes::from(body.to_string()))));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

pub(crate) fn empty(status: StatusCode) -> HttpResponse {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    response
}
