//! [`Sender`]: the site-backend side. Encrypts for a subscription, identifies itself with
//! VAPID, and submits through `push.v1.Sender/SubmitMessage`.
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use push_proto::v1::sender_client::SenderClient;
use push_proto::v1::{Outcome, SubmitMessageRequest, Urgency};
use tonic::transport::Channel;

use crate::channel::{self, UNARY_TIMEOUT};
use crate::subscription::SubscriptionInfo;
use crate::token_cache::TokenCache;
use crate::vapid::{self, VapidKey};
use crate::{SdkError, crypto};

/// Per-message delivery options (RFC 8030 §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendOptions {
    /// Seconds the server keeps the message for an offline device; 0 means now or never.
    pub ttl_seconds: u32,
    pub urgency: Urgency,
    /// A newer message with the same topic replaces an undelivered older one.
    pub topic: Option<String>,
    /// Keep a delivery receipt (see `WatchReceipts` and `GET <location>`).
    pub receipt: bool,
}

impl Default for SendOptions {
    fn default() -> Self {
        SendOptions {
            ttl_seconds: 86_400,
            urgency: Urgency::Normal,
            topic: None,
            receipt: false,
        }
    }
}

/// What the server did with an accepted message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendReceipt {
    pub message_id: String,
    pub outcome: Outcome,
    /// The TTL the server applied (the requested one, possibly capped).
    pub ttl_seconds: u32,
    /// Devices that got a copy: 1, or each approved device of an account subscription.
    pub devices: u32,
    /// Account subscriptions: devices whose queue was full and got no copy.
    pub devices_full: u32,
    /// The message's URL: `DELETE` cancels it, `GET` shows its receipt.
    pub location: String,
}

/// A connection to pushd as one application server. Cheap to clone; clones share the
/// connection and the token cache.
#[derive(Clone)]
pub struct Sender {
    client: SenderClient<Channel>,
    server_url: String,
    key: Arc<VapidKey>,
    subject: Arc<str>,
    tokens: Arc<TokenCache>,
}

impl Sender {
    /// Connects to `server_url` (e.g. `http://127.0.0.1:8070`). `subject` is the operator
    /// contact put in every token's `sub` claim (`mailto:` or `https:`).
    pub async fn connect(
        server_url: &str,
        key: VapidKey,
        subject: impl Into<String>,
    ) -> Result<Sender, SdkError> {
        let subject = subject.into();
        if !(subject.starts_with("mailto:") || subject.starts_with("https:")) {
            return Err(SdkError::InvalidSubject(subject));
        }
        let channel = channel::endpoint(server_url)?
            .connect()
            .await
            .map_err(|source| SdkError::Connect {
                url: server_url.to_owned(),
                source,
            })?;
        Ok(Sender {
            client: SenderClient::new(channel),
            server_url: server_url.to_owned(),
            key: Arc::new(key),
            subject: subject.into(),
            tokens: Arc::default(),
        })
    }

    /// Encrypts `plaintext` for `subscription` and submits it.
    pub async fn send(
        &self,
        subscription: &SubscriptionInfo,
        plaintext: &[u8],
        options: SendOptions,
    ) -> Result<SendReceipt, SdkError> {
        let body = encrypt_for(subscription, plaintext)?;
        self.send_encrypted(&subscription.endpoint, body, options)
            .await
    }

    /// Submits an already encrypted `aes128gcm` body. `endpoint` is the subscription's
    /// endpoint URL or its bare token.
    pub async fn send_encrypted(
        &self,
        endpoint: &str,
        body: Vec<u8>,
        options: SendOptions,
    ) -> Result<SendReceipt, SdkError> {
        // RFC 8292 wants the endpoint's origin as audience; a bare token has none, so the
        // server we talk to stands in for it.
        let audience =
            vapid::audience_for(endpoint).or_else(|_| vapid::audience_for(&self.server_url))?;
        let jwt = self
            .tokens
            .token(&self.key, &audience, &self.subject, unix_now())?;
        let message = SubmitMessageRequest {
            endpoint: endpoint.to_owned(),
            payload: body,
            ttl_seconds: options.ttl_seconds,
            urgency: options.urgency.into(),
            topic: options.topic.unwrap_or_default(),
            receipt: options.receipt,
        };
        let mut request = channel::authorized(message, &self.key.authorization_header(&jwt))?;
        request.set_timeout(UNARY_TIMEOUT);
        let reply = self
            .client
            .clone()
            .submit_message(request)
            .await?
            .into_inner();
        Ok(SendReceipt {
            message_id: reply.message_id,
            outcome: Outcome::try_from(reply.outcome).unwrap_or(Outcome::Unspecified),
            ttl_seconds: reply.ttl_seconds,
            devices: reply.devices,
            devices_full: reply.devices_full,
            location: reply.location,
        })
    }
}

/// The `aes128gcm` body of `plaintext` for a checked subscription.
pub(crate) fn encrypt_for(
    subscription: &SubscriptionInfo,
    plaintext: &[u8],
) -> Result<Vec<u8>, SdkError> {
    subscription.validate()?;
    Ok(crypto::encrypt(
        &subscription.p256dh_bytes()?,
        &subscription.auth_bytes()?,
        plaintext,
    )?)
}

pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}
