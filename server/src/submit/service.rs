//! The submit path itself: identify, check, resolve, fan out.

use std::sync::Arc;

use tracing::Instrument as _;

use super::fanout::Fanout;
use super::{Outcome, Router, SubmitError};
use crate::auth::{
    EndpointTokens, MessageCopy, MessageHandles, ServiceBlocks, TOKEN_CHARS, VapidVerifier,
    VerifiedSender,
};
use crate::domain::{
    QueuedMessage, ReceiptCopy, ReceiptState, SubscriptionRecord, Urgency, check_aes128gcm,
    check_topic, is_token, now_millis,
};
use crate::limits::RateLimits;
use crate::receipts::{Opening, Receipts};
use crate::store::{Store, SubscriptionCache};

/// Which front a submission came through; a label on the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Front {
    Grpc,
    Http,
}

impl Front {
    pub(crate) fn label(self) -> &'static str {
        match self {
            Front::Grpc => "grpc",
            Front::Http => "http",
        }
    }
}

/// One message as a sender hands it in, already off the wire.
#[derive(Debug, Clone)]
pub(crate) struct Submission {
    /// The subscription's endpoint URL, or just its last segment.
    pub(crate) endpoint: String,
    pub(crate) payload: Vec<u8>,
    pub(crate) ttl_seconds: u32,
    pub(crate) urgency: Urgency,
    pub(crate) topic: Option<String>,
    /// Keep a delivery receipt ([`crate::receipts`]).
    pub(crate) receipt: bool,
}

/// What the sender is told on success.
#[derive(Debug, Clone)]
pub(crate) struct Accepted {
    /// The first copy's id.
    pub(crate) message_id: String,
    /// The message's URL (`<public url>/m/<handle>`): the handle names
    /// every copy and the sending key.
    pub(crate) location: String,
    pub(crate) outcome: Outcome,
    /// The TTL applied: the one asked for, capped at the maximum.
    pub(crate) ttl_seconds: u32,
    pub(crate) devices: u32,
    pub(crate) devices_full: u32,
}

/// What the service is built from; every field is shared with the parts of
/// the server that also use it (the device services remove subscriptions
/// through the same cache).
pub(crate) struct SubmitterParts {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) subscriptions: Arc<SubscriptionCache>,
    pub(crate) vapid: Arc<VapidVerifier>,
    pub(crate) rates: Arc<RateLimits>,
    pub(crate) service_blocks: Arc<ServiceBlocks>,
    pub(crate) endpoint_tokens: Arc<EndpointTokens>,
    pub(crate) handles: Arc<MessageHandles>,
    pub(crate) router: Arc<Router>,
    pub(crate) receipts: Arc<Receipts>,
    pub(crate) max_ttl_seconds: u32,
    /// Start of message URLs, as of endpoint URLs.
    pub(crate) public_url: String,
}

/// Cheap to clone: every front holds one.
#[derive(Clone)]
pub(crate) struct Submitter {
    pub(super) inner: Arc<SubmitterParts>,
}

impl Submitter {
    pub(crate) fn new(parts: SubmitterParts) -> Self {
        Self {
            inner: Arc::new(parts),
        }
    }

    /// The sender behind an `authorization` header, metered by its verified
    /// key (not the `k=` a forger can copy): nobody spends another's budget.
    pub(crate) fn identify(
        &self,
        authorization: Option<&str>,
    ) -> Result<VerifiedSender, SubmitError> {
        let now = (now_millis() / 1000) as u64;
        let sender = self.inner.vapid.verify(authorization, now)?;
        self.inner
            .rates
            .sender(&sender.public_key)
            .map_err(|wait| SubmitError::too_fast("sender key", wait))?;
        Ok(sender)
    }

    /// Checks and routes one message; its trace starts here.
    pub(crate) async fn submit(
        &self,
        sender: &VerifiedSender,
        submission: Submission,
        front: Front,
    ) -> Result<Accepted, SubmitError> {
        let span = tracing::info_span!(
            target: crate::tracing_export::TARGET,
            "submit",
            front = front.label(),
            outcome = tracing::field::Empty,
        );
        let accepted = self
            .accept(sender, submission, front)
            .instrument(span.clone())
            .await;
        let outcome = match &accepted {
            Ok(accepted) => accepted.outcome.label(),
            Err(_) => "refused",
        };
        span.record("outcome", outcome);
        accepted
    }

    async fn accept(
        &self,
        sender: &VerifiedSender,
        submission: Submission,
        front: Front,
    ) -> Result<Accepted, SubmitError> {
        let parts = &self.inner;
        let now = now_millis();
        if parts.service_blocks.key_blocked(&sender.public_key)
            || parts.service_blocks.contact_blocked(&sender.subject)
        {
            return Err(SubmitError::SenderBlocked);
        }
        let token = token_of(&submission.endpoint)?;
        check_aes128gcm(&submission.payload)?;
        let topic = submission.topic.filter(|topic| !topic.is_empty());
        if let Some(topic) = &topic {
            check_topic(topic)?;
        }
        let subscription = self.subscription(token).await?;
        if subscription
            .app_server_key
            .as_ref()
            .is_some_and(|key| *key != sender.public_key)
        {
            return Err(SubmitError::WrongKey);
        }
        parts
            .rates
            .subscription(&subscription.id)
            .map_err(|wait| SubmitError::too_fast("subscription", wait))?;
        let ttl_seconds = submission.ttl_seconds.min(parts.max_ttl_seconds);
        let devices = self.recipients(&subscription).await?;
        let expires_at = now + i64::from(ttl_seconds) * 1000;
        let message = QueuedMessage {
            id: String::new(),
            device_id: String::new(),
            subscription_id: subscription.id.clone(),
            topic,
            urgency: submission.urgency,
            payload: submission.payload,
            received_at: now,
            expires_at,
        };
        let Fanout {
            copies,
            outcome,
            devices,
            devices_full,
        } = self.fan_out(message, devices, ttl_seconds == 0).await?;
        if outcome != Outcome::NotDelivered {
            metrics::counter!("pushd_messages_accepted_total", "front" => front.label())
                .increment(1);
        }
        if submission.receipt {
            self.open_receipt(sender, &subscription.id, &copies, outcome, expires_at)
                .await;
        }
        let handle = parts
            .handles
            .seal(&sender.public_key, &copies)
            .unwrap_or_default();
        Ok(Accepted {
            message_id: copies
                .first()
                .map(|copy| copy.message_id.clone())
                .unwrap_or_default(),
            location: format!("{}/m/{handle}", parts.public_url.trim_end_matches('/')),
            outcome,
            ttl_seconds,
            devices,
            devices_full,
        })
    }

    /// Files the receipt the sender asked for. The message is accepted
    /// already, so a failure here is logged and counted, not returned: the
    /// sender would retry and send the message twice.
    async fn open_receipt(
        &self,
        sender: &VerifiedSender,
        subscription_id: &str,
        copies: &[MessageCopy],
        outcome: Outcome,
        expires_at: i64,
    ) {
        let state = match outcome {
            Outcome::Delivered => ReceiptState::Delivered,
            Outcome::Stored => ReceiptState::Accepted,
            Outcome::NotDelivered => ReceiptState::Expired,
        };
        let opening = Opening {
            sender_key: &sender.public_key,
            subscription_id,
            copies: copies
                .iter()
                .map(|copy| ReceiptCopy {
                    device_id: copy.device_id.clone(),
                    message_id: copy.message_id.clone(),
                })
                .collect(),
            state,
            expires_at,
        };
        if let Err(error) = self.inner.receipts.open(opening).await {
            metrics::counter!("pushd_receipts_failed_total").increment(1);
            tracing::error!(%error, "filing a receipt failed; the message itself was accepted");
        }
    }

    /// The subscription a token names. A sealed token that does not open was
    /// never ours and is refused before any store read; one that opens but
    /// has no record was removed (gone, not unknown).
    async fn subscription(&self, token: &str) -> Result<SubscriptionRecord, SubmitError> {
        let parts = &self.inner;
        let (id, sealed) = if is_token(token) {
            (token.to_owned(), false)
        } else {
            let id = parts
                .endpoint_tokens
                .open(token)
                .ok_or(SubmitError::UnknownSubscription)?;
            (id, true)
        };
        match parts.subscriptions.get(&id).await? {
            Some(subscription) => Ok(subscription),
            None if sealed => Err(SubmitError::Gone(
                "no such subscription: it was removed; stop sending to it",
            )),
            None => Err(SubmitError::UnknownSubscription),
        }
    }
}

/// The token at the end of an endpoint URL (or the token itself).
pub(crate) fn token_of(endpoint: &str) -> Result<&str, SubmitError> {
    if endpoint.is_empty() {
        return Err(SubmitError::MissingEndpoint);
    }
    let token = endpoint
        .trim()
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default();
    let sealed = token.len() == TOKEN_CHARS
        && token
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_');
    if !sealed && !is_token(token) {
        return Err(SubmitError::NotAnEndpoint);
    }
    Ok(token)
}
