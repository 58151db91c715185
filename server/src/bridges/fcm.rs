//! The FCM bridge: HTTP v1 through `google-fcm1`, authenticated with a
//! service account (OAuth2 through `yup-oauth2`). The FCM base URL and the
//! token URL (the service-account JSON's `token_uri`) can point elsewhere,
//! which is how the tests run it against servers on loopback.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use google_fcm1::api::{AndroidConfig, Message, SendMessageRequest};
use google_fcm1::{FirebaseCloudMessaging, common};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::Value;

use super::fcm_auth::FcmToken;
use super::token::TokenError;
use super::{Notice, PROVIDER_PAYLOAD_LIMIT, Provider, ProviderError};
use crate::domain::{Bridge, now_millis};

type Hub = FirebaseCloudMessaging<HttpsConnector<HttpConnector>>;

/// Why the FCM client could not be made from the service account.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FcmSetupError {
    #[error("reading FCM service account {}: {source}", path.display())]
    ServiceAccount {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("FCM service account: {0}")]
    Authenticator(#[source] std::io::Error),
    #[error("loading the system's TLS roots: {0}")]
    TlsRoots(#[source] std::io::Error),
}

pub(crate) struct FcmProvider {
    hub: Hub,
}

impl FcmProvider {
    /// Reads the service account and prepares the client; `base_url`
    /// replaces `https://fcm.googleapis.com/`.
    /// A token fetch waits at most `call_timeout` (see [`FcmToken`]).
    pub(crate) async fn new(
        service_account: &Path,
        base_url: Option<&str>,
        call_timeout: Duration,
    ) -> Result<Self, FcmSetupError> {
        let key = yup_oauth2::read_service_account_key(service_account)
            .await
            .map_err(|source| FcmSetupError::ServiceAccount {
                path: service_account.to_owned(),
                source,
            })?;
        let auth = yup_oauth2::ServiceAccountAuthenticator::builder(key)
            .build()
            .await
            .map_err(FcmSetupError::Authenticator)?;
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(FcmSetupError::TlsRoots)?
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .build();
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build(connector);
        let mut hub = FirebaseCloudMessaging::new(client, FcmToken::new(auth, call_timeout));
        if let Some(url) = base_url {
            let url = format!("{}/", url.trim_end_matches('/'));
            hub.base_url(url.clone());
            hub.root_url(url);
        }
        Ok(Self { hub })
    }
}

/// The FCM v1 message for `notice`: a data message (the app decrypts), with
/// TTL, priority and collapse key mapped from Web Push's.
pub(crate) fn message(token: &str, notice: &Notice) -> Message {
    let data = |notice: &Notice| -> HashMap<String, String> {
        notice
            .fields()
            .into_iter()
            .map(|(key, value)| (key.to_string(), value))
            .collect()
    };
    let mut fields = data(notice);
    let size: usize = fields
        .iter()
        .map(|(key, value)| key.len() + value.len())
        .sum();
    if size > PROVIDER_PAYLOAD_LIMIT {
        fields = data(&notice.wake_up());
    }
    let ttl = i64::try_from(notice.ttl_seconds(now_millis())).unwrap_or(i64::MAX);
    Message {
        token: Some(token.to_string()),
        data: Some(fields),
        android: Some(AndroidConfig {
            ttl: Some(chrono::Duration::seconds(ttl)),
            priority: Some(if notice.is_urgent() { "HIGH" } else { "NORMAL" }.into()),
            collapse_key: notice.topic.clone(),
            ..AndroidConfig::default()
        }),
        ..Message::default()
    }
}

#[async_trait]
impl Provider for FcmProvider {
    fn kind(&self) -> &'static str {
        "fcm"
    }

    async fn send(&self, bridge: &Bridge, notice: &Notice) -> Result<(), ProviderError> {
        let Bridge::Fcm {
            registration_token,
            project_id,
        } = bridge
        else {
            return Err(ProviderError::Rejected("not an FCM bridge".into()));
        };
        let request = SendMessageRequest {
            message: Some(message(registration_token, notice)),
            validate_only: None,
        };
        let mut answer = Answer::default();
        let result = self
            .hub
            .projects()
            .messages_send(request, &format!("projects/{project_id}"))
            .delegate(&mut answer)
            .doit()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error) => Err(classify(&error, &answer)),
        }
    }
}

/// What google-fcm1 drops from a failed call: the HTTP status and Retry-After.
#[derive(Default)]
struct Answer {
    status: Option<u16>,
    retry_after: Option<Duration>,
}

impl common::Delegate for Answer {
    fn http_failure(&mut self, response: &common::Response, _: Option<&Value>) -> common::Retry {
        self.status = Some(response.status().as_u16());
        self.retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().parse().ok())
            .map(Duration::from_secs);
        // Retries are ours (see retry.rs), with bounds and jitter.
        common::Retry::Abort
    }
}

/// FCM's documented error codes, as what the bridge should do.
fn classify(error: &common::Error, answer: &Answer) -> ProviderError {
    let (code, detail) = match error {
        common::Error::BadRequest(body) => (fcm_error_code(body), body.to_string()),
        common::Error::MissingToken(error)
            if matches!(
                error.downcast_ref::<TokenError>(),
                Some(TokenError::TimedOut { .. })
            ) =>
        {
            return ProviderError::Retry {
                after: None,
                detail: error.to_string(),
            };
        }
        common::Error::MissingToken(error) => {
            return ProviderError::Auth(format!("getting an OAuth token for FCM failed: {error}"));
        }
        common::Error::HttpError(error) => {
            return ProviderError::Retry {
                after: None,
                detail: format!("FCM unreachable: {error}"),
            };
        }
        other => (None, other.to_string()),
    };
    let detail = format!("FCM {} {}", answer.status.unwrap_or(0), detail);
    match (answer.status, code.as_deref()) {
        (_, Some("UNREGISTERED" | "SENDER_ID_MISMATCH")) | (Some(404), _) => {
            ProviderError::TokenGone(detail)
        }
        (_, Some("THIRD_PARTY_AUTH_ERROR")) | (Some(401 | 403), _) => ProviderError::Auth(detail),
        (_, Some("QUOTA_EXCEEDED" | "UNAVAILABLE" | "INTERNAL")) | (Some(429 | 500..=599), _) => {
            ProviderError::Retry {
                after: answer.retry_after,
                detail,
            }
        }
        _ => ProviderError::Rejected(detail),
    }
}

/// `error.details[].errorCode` of an FCM error body, else `error.status`.
fn fcm_error_code(body: &Value) -> Option<String> {
    let error = body.get("error")?;
    let from_details = error
        .get("details")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find_map(|detail| detail.get("errorCode").and_then(Value::as_str));
    from_details
        .or_else(|| error.get("status").and_then(Value::as_str))
        .map(str::to_string)
}
