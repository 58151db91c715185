//! Sending the RFC 8030 way: a `POST` to the subscription's endpoint URL
//! itself, as every web-push library does (`pushctl send --http`). The gRPC
//! [`crate::Sender`] stays the fast path; this one needs nothing but the
//! endpoint, and shows what a site backend with any library sees.
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde::Deserialize;

use crate::sender::{SendOptions, SendReceipt, encrypt_for, unix_now};
use crate::subscription::SubscriptionInfo;
use crate::vapid::{self, VapidKey};
use crate::{Outcome, SdkError, Urgency};

/// What pushd's `201`/`202` body says (web-push libraries ignore it).
#[derive(Deserialize)]
struct Accepted {
    message_id: String,
    outcome: String,
    ttl_seconds: u32,
    #[serde(default)]
    devices: u32,
    #[serde(default)]
    devices_full: u32,
}

/// Encrypts `plaintext` and POSTs it to the subscription's endpoint.
pub async fn send_http(
    key: &VapidKey,
    subject: &str,
    subscription: &SubscriptionInfo,
    plaintext: &[u8],
    options: &SendOptions,
) -> Result<SendReceipt, SdkError> {
    let body = encrypt_for(subscription, plaintext)?;
    let endpoint = &subscription.endpoint;
    let audience = vapid::audience_for(endpoint)?;
    let jwt = key.sign(&audience, subject, unix_now() + 12 * 3600)?;
    let mut request = http::Request::post(endpoint.as_str())
        .header("ttl", options.ttl_seconds)
        .header("content-encoding", "aes128gcm")
        .header("urgency", urgency_header(options.urgency))
        .header("authorization", key.authorization_header(&jwt));
    if let Some(topic) = &options.topic {
        request = request.header("topic", topic.as_str());
    }
    if options.receipt {
        request = request.header("prefer", "respond-async");
    }
    let request = request
        .body(Full::new(bytes::Bytes::from(body)))
        .map_err(|error| SdkError::Protocol(format!("building the request: {error}")))?;
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()
        .map_err(|error| SdkError::Protocol(format!("loading the system's CA roots: {error}")))?
        .https_or_http()
        .enable_http1()
        .build();
    let client = Client::builder(TokioExecutor::new()).build(connector);
    let response = client
        .request(request)
        .await
        .map_err(|error| SdkError::Http {
            status: 0,
            message: format!("no answer from {endpoint}: {error}"),
        })?;
    let status = response.status();
    let location = response
        .headers()
        .get("location")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let answer = response
        .into_body()
        .collect()
        .await
        .map(http_body_util::Collected::to_bytes)
        .unwrap_or_default();
    if !status.is_success() {
        let message = serde_json::from_slice::<serde_json::Value>(&answer)
            .ok()
            .and_then(|json| json["message"].as_str().map(str::to_owned))
            .unwrap_or_else(|| String::from_utf8_lossy(&answer).into_owned());
        return Err(SdkError::Http {
            status: status.as_u16(),
            message,
        });
    }
    let accepted: Accepted = serde_json::from_slice(&answer).map_err(|error| {
        SdkError::Protocol(format!(
            "the {status} answer's body is not pushd's JSON: {error}"
        ))
    })?;
    Ok(SendReceipt {
        message_id: accepted.message_id,
        outcome: match accepted.outcome.as_str() {
            "delivered" => Outcome::Delivered,
            "stored" => Outcome::Stored,
            "not_delivered" => Outcome::NotDelivered,
            _ => Outcome::Unspecified,
        },
        ttl_seconds: accepted.ttl_seconds,
        devices: accepted.devices,
        devices_full: accepted.devices_full,
        location,
    })
}

fn urgency_header(urgency: Urgency) -> &'static str {
    match urgency {
        Urgency::VeryLow => "very-low",
        Urgency::Low => "low",
        Urgency::High => "high",
        Urgency::Normal | Urgency::Unspecified => "normal",
    }
}
