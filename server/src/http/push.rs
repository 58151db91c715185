//! `POST /push/<token>` (RFC 8030 §5), `DELETE /m/<handle>` (§7.3-style
//! cancel) and `GET /push/<token>` (UnifiedPush discovery).

use std::time::Duration;

use http::{HeaderValue, Request, StatusCode, header};
use http_body_util::{BodyExt as _, LengthLimitError, Limited};
use tonic::body::Body;

use super::HttpFront;
use super::headers::{check_content_encoding, read_push_headers};
use super::reply::{self, HttpResponse, Refusal};
use crate::domain::MAX_PAYLOAD_BYTES;
use crate::submit::{Front, Submission};

impl HttpFront {
    pub(super) async fn push(
        &self,
        token: &str,
        request: Request<Body>,
    ) -> Result<HttpResponse, Refusal> {
        if let Some(length) = declared_length(&request)
            && length > MAX_PAYLOAD_BYTES as u64
        {
            return Err(too_large(&length.to_string()));
        }
        // The body first (it is small and bounded): an HTTP/2 answer sent
        // before the body arrived resets the stream, which some clients
        // report as a transport error instead of the answer.
        let (head, body) = request.into_parts();
        // A slow or stalled body cannot hold a request (and its buffer) longer.
        let payload = read_body(body, self.inner.body_deadline).await?;
        if self.is_draining() {
            return Err(reply::draining());
        }
        let get = |name: &str| head.headers.get(name).map(HeaderValue::as_bytes);
        check_content_encoding(get("content-encoding"))?;
        let wanted = read_push_headers(get("ttl"), get("urgency"), get("topic"))?;
        let authorization = head
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok());
        let sender = self.inner.submitter.identify(authorization)?;
        let submission = Submission {
            endpoint: token.to_owned(),
            payload,
            ttl_seconds: wanted.ttl_seconds,
            urgency: wanted.urgency,
            topic: wanted.topic,
            receipt: wants_receipt(&head.headers),
        };
        let submission_receipt = submission.receipt;
        let accepted = self
            .inner
            .submitter
            .submit(&sender, submission, Front::Http)
            .await?;
        // Web-push libraries read only the status and headers; the body says
        // what became of the message, as the gRPC answer does.
        // RFC 8030 §5.1: asking for a receipt makes the answer 202.
        let status = if submission_receipt {
            StatusCode::ACCEPTED
        } else {
            StatusCode::CREATED
        };
        let mut response = reply::json(
            status,
            &serde_json::json!({
                "message_id": accepted.message_id,
                "outcome": accepted.outcome.label(),
                "ttl_seconds": accepted.ttl_seconds,
                "devices": accepted.devices,
                "devices_full": accepted.devices_full,
            }),
        );
        let headers = response.headers_mut();
        if let Ok(location) = HeaderValue::from_str(&accepted.location) {
            headers.insert(header::LOCATION, location);
        }
        headers.insert("ttl", HeaderValue::from(accepted.ttl_seconds));
        Ok(response)
    }

    pub(super) async fn cancel(
        &self,
        handle: &str,
        authorization: Option<&str>,
    ) -> Result<HttpResponse, Refusal> {
        let sender = self.inner.submitter.identify(authorization)?;
        self.inner.submitter.cancel(&sender, handle).await?;
        Ok(reply::empty(StatusCode::NO_CONTENT))
    }

    /// `GET <Location>` by the key that sent it: the message's receipt.
    pub(super) async fn receipt(
        &self,
        handle: &str,
        authorization: Option<&str>,
    ) -> Result<HttpResponse, Refusal> {
        let sender = self.inner.submitter.identify(authorization)?;
        let receipt = self.inner.submitter.receipt(&sender, handle).await?;
        Ok(reply::json(
            StatusCode::OK,
            &serde_json::json!({
                "message_id": receipt.message_id,
                "state": receipt.state.label(),
                "updated_at_unix_ms": receipt.updated_at,
                "devices": receipt.copies.len(),
            }),
        ))
    }
}

/// `Prefer: respond-async` (RFC 8030 §5.1, RFC 7240) asks for a receipt.
fn wants_receipt(headers: &http::HeaderMap) -> bool {
    headers.get_all("prefer").iter().any(|value| {
        value.to_str().is_ok_and(|value| {
            value
                .split(',')
                .any(|preference| preference.trim().eq_ignore_ascii_case("respond-async"))
        })
    })
}

/// UnifiedPush application servers ask an endpoint this before using it.
pub(super) fn discovery() -> HttpResponse {
    reply::json(
        StatusCode::OK,
        &serde_json::json!({"unifiedpush": {"version": 1}}),
    )
}

fn declared_length<B>(request: &Request<B>) -> Option<u64> {
    request
        .headers()
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// 413, for a body of `size` (declared, or found while reading).
fn too_large(size: &str) -> Refusal {
    Refusal::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!(
            "payload is {size} bytes; the limit is {MAX_PAYLOAD_BYTES} (encrypted, with its aes128gcm header)"
        ),
    )
}

/// Reads and drops what a request without a use for its body sent (a
/// little, briefly), so the answer does not reset an HTTP/2 stream.
pub(super) async fn drain(body: Body) {
    let limited = Limited::new(body, 16 * 1024);
    let _ = tokio::time::timeout(Duration::from_secs(1), limited.collect()).await;
}

/// The body, at most [`MAX_PAYLOAD_BYTES`], within `deadline`.
async fn read_body(body: Body, deadline: Duration) -> Result<Vec<u8>, Refusal> {
    let limited = Limited::new(body, MAX_PAYLOAD_BYTES);
    let collected = tokio::time::timeout(deadline, limited.collect())
        .await
        .map_err(|_| {
            Refusal::new(
                StatusCode::REQUEST_TIMEOUT,
                "the body did not arrive in time; send it with the headers",
            )
        })?;
    match collected {
        Ok(collected) => Ok(collected.to_bytes().to_vec()),
        Err(error) if error.downcast_ref::<LengthLimitError>().is_some() => {
            Err(too_large(&format!("more than {MAX_PAYLOAD_BYTES}")))
        }
        Err(error) => Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            format!("the body could not be read: {error}"),
        )),
    }
}
