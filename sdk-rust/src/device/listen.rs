//! The `Listen` loop: one stream at a time, reconnecting with backoff until shutdown or until
//! the server says another stream replaced this one.
//!
//! Delivery is at-least-once towards the app and exactly-once in the common case: a message is
//! handed to the handler, then recorded as seen, then acked. A crash in between means a
//! redelivery, which the seen table turns into a silent ack.
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use push_proto::v1::server_frame::Frame;
use push_proto::v1::{GoAwayReason, PushMessage};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_stream::wrappers::ReceiverStream;
use tracing::{debug, info, warn};

use super::DeviceClient;
use super::backoff::Backoff;
use super::options::{ListenEnd, ListenOptions, StreamSettings};
use crate::{Notification, SdkError};

mod frames;

use frames::{AckBatch, Outbound};

/// How one stream ended, when it ended without an error.
enum SessionEnd {
    Shutdown,
    Replaced,
    Revoked,
    Reconnect,
}

impl DeviceClient {
    /// Receives messages until `shutdown` completes or the stream is replaced, calling
    /// `handler` once per new message and acking each after `handler` returns.
    ///
    /// Connection failures are retried with backoff; errors that retrying cannot fix (a
    /// rejected credential, a broken keystore) are returned.
    pub async fn listen<H, Fut>(
        &self,
        mut handler: H,
        options: ListenOptions,
        shutdown: impl Future<Output = ()>,
    ) -> Result<ListenEnd, SdkError>
    where
        H: FnMut(Notification) -> Fut,
        Fut: Future<Output = ()>,
    {
        let mut shutdown = std::pin::pin!(shutdown);
        let mut backoff = Backoff::new(options.backoff_initial, options.backoff_max);
        let mut settings = options.settings.subscribe();
        loop {
            let started = Instant::now();
            match self
                .session(&mut handler, &mut settings, shutdown.as_mut())
                .await
            {
                Ok(SessionEnd::Shutdown) => return Ok(ListenEnd::Shutdown),
                Ok(SessionEnd::Replaced) => return Ok(ListenEnd::Replaced),
                Ok(SessionEnd::Revoked) => return Ok(ListenEnd::Revoked),
                Ok(SessionEnd::Reconnect) => info!("listen stream ended; reconnecting"),
                Err(err) if is_fatal(&err) => return Err(err),
                Err(err) => warn!(error = %err, "listen stream failed; reconnecting"),
            }
            if started.elapsed() >= options.healthy_after {
                backoff.reset();
            }
            let delay = backoff.next_delay();
            debug!(
                delay_ms = delay.as_millis() as u64,
                "waiting before reconnect"
            );
            tokio::select! {
                _ = shutdown.as_mut() => return Ok(ListenEnd::Shutdown),
                _ = tokio::time::sleep(delay) => {}
            }
        }
    }

    async fn session<H, Fut>(
        &self,
        handler: &mut H,
        settings: &mut watch::Receiver<StreamSettings>,
        mut shutdown: Pin<&mut impl Future<Output = ()>>,
    ) -> Result<SessionEnd, SdkError>
    where
        H: FnMut(Notification) -> Fut,
        Fut: Future<Output = ()>,
    {
        self.store.prune_seen(unix_now_ms())?;
        let (tx, rx) = mpsc::channel(frames::OUTBOUND_CAPACITY);
        let mut outbound = Outbound::new(tx);
        // Queued before the call starts, so Hello is the first frame the server reads.
        let mut sent_settings = *settings.borrow_and_update();
        outbound.hello(sent_settings).await?;
        let request = self.identity.authorize(ReceiverStream::new(rx))?;
        let mut grpc = self.grpc.clone();
        let mut inbound = tokio::select! {
            _ = shutdown.as_mut() => return Ok(SessionEnd::Shutdown),
            reply = grpc.listen(request) => reply?.into_inner(),
        };
        let mut acks = AckBatch::default();
        let mut settings_open = true;
        loop {
            let flush_at = acks.flush_at();
            tokio::select! {
                biased;
                _ = shutdown.as_mut() => {
                    outbound.ack(&mut acks).await?;
                    outbound.close_gracefully(&mut inbound).await;
                    return Ok(SessionEnd::Shutdown);
                }
                changed = settings.changed(), if settings_open => {
                    settings_open = changed.is_ok();
                    let wanted = *settings.borrow_and_update();
                    outbound.update_settings(sent_settings, wanted).await?;
                    sent_settings = wanted;
                }
                _ = tokio::time::sleep_until(flush_at.unwrap_or_else(Instant::now)), if flush_at.is_some() => {
                    outbound.ack(&mut acks).await?;
                }
                frame = inbound.message() => {
                    let Some(frame) = frame? else {
                        outbound.ack(&mut acks).await?;
                        return Ok(SessionEnd::Reconnect);
                    };
                    match frame.frame {
                        Some(Frame::Message(message)) => {
                            let message_id = message.message_id.clone();
                            self.deliver(message, handler).await?;
                            if acks.push(message_id) {
                                outbound.ack(&mut acks).await?;
                            }
                        }
                        Some(Frame::BacklogDone(done)) => {
                            debug!(sent = done.sent, "backlog delivered");
                            outbound.ack(&mut acks).await?;
                        }
                        Some(Frame::GoAway(go_away)) => {
                            outbound.ack(&mut acks).await?;
                            let reason = GoAwayReason::try_from(go_away.reason).unwrap_or(GoAwayReason::Unspecified);
                            info!(?reason, detail = %go_away.detail, "server sent GoAway");
                            match reason {
                                GoAwayReason::Replaced => return Ok(SessionEnd::Replaced),
                                GoAwayReason::Revoked => return Ok(SessionEnd::Revoked),
                                _ => {}
                            }
                            outbound.close_gracefully(&mut inbound).await;
                            return Ok(SessionEnd::Reconnect);
                        }
                        Some(Frame::Error(error)) => warn!(message = %error.message, "server rejected a frame"),
                        None => debug!("ignoring a server frame of an unknown kind"),
                    }
                }
            }
        }
    }

    /// Hands one message to the app unless it was seen before or cannot be opened. Either way
    /// the caller acks it: an undecryptable message would otherwise come back forever.
    async fn deliver<H, Fut>(&self, message: PushMessage, handler: &mut H) -> Result<(), SdkError>
    where
        H: FnMut(Notification) -> Fut,
        Fut: Future<Output = ()>,
    {
        let Some(notification) = self.open_message(message).await? else {
            return Ok(());
        };
        let message_id = notification.message_id.clone();
        handler(notification).await;
        self.store.mark_seen(&message_id, unix_now_ms())?;
        Ok(())
    }
}

/// Errors a reconnect cannot cure: the server refusing this device, or local storage failing.
fn is_fatal(err: &SdkError) -> bool {
    match err {
        SdkError::Status(status) => matches!(
            status.code(),
            tonic::Code::Unauthenticated
                | tonic::Code::PermissionDenied
                | tonic::Code::Unimplemented
        ),
        SdkError::Store(_) | SdkError::Crypto(_) => true,
        _ => false,
    }
}

pub(super) fn unix_now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_millis()
        .try_into()
        .unwrap_or(i64::MAX)
}
