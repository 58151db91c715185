//! Outbound frames of a `Listen` stream and the batching of acks.
use std::time::Duration;

use push_proto::v1::client_frame::Frame;
use push_proto::v1::{Ack, ClientFrame, Hello, ServerFrame, SetMinUrgency, SetPresence};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::SdkError;
use crate::device::options::StreamSettings;

/// Frames queued towards the server; a handful is plenty since acks are batched.
pub(super) const OUTBOUND_CAPACITY: usize = 32;
/// Acks wait this long for company, so a burst of backlog costs few frames. Short, because
/// pushd can skip writing a live message whose ack arrives within its brief hold.
const ACK_DELAY: Duration = Duration::from_millis(5);
/// ...but never more than this many ids per frame.
const MAX_ACK_BATCH: usize = 64;
/// How long a closing stream waits for the server to read our last acks.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// Message ids handled but not yet acked, and when they must go out.
#[derive(Default)]
pub(super) struct AckBatch {
    ids: Vec<String>,
    flush_at: Option<Instant>,
}

impl AckBatch {
    /// Adds an id; true when the batch is full and should be sent now.
    pub(super) fn push(&mut self, message_id: String) -> bool {
        self.flush_at
            .get_or_insert_with(|| Instant::now() + ACK_DELAY);
        self.ids.push(message_id);
        self.ids.len() >= MAX_ACK_BATCH
    }

    pub(super) fn flush_at(&self) -> Option<Instant> {
        self.flush_at
    }
}

/// The sending half of one stream.
pub(super) struct Outbound {
    tx: Option<mpsc::Sender<ClientFrame>>,
}

impl Outbound {
    pub(super) fn new(tx: mpsc::Sender<ClientFrame>) -> Self {
        Outbound { tx: Some(tx) }
    }

    pub(super) async fn hello(&self, settings: StreamSettings) -> Result<(), SdkError> {
        self.send(Frame::Hello(Hello {
            presence: settings.presence.into(),
            min_urgency: settings.min_urgency.into(),
        }))
        .await
    }

    /// Sends whichever of presence and urgency threshold changed.
    pub(super) async fn update_settings(
        &self,
        sent: StreamSettings,
        wanted: StreamSettings,
    ) -> Result<(), SdkError> {
        if sent.presence != wanted.presence {
            self.send(Frame::Presence(SetPresence {
                presence: wanted.presence.into(),
            }))
            .await?;
        }
        if sent.min_urgency != wanted.min_urgency {
            self.send(Frame::MinUrgency(SetMinUrgency {
                min_urgency: wanted.min_urgency.into(),
            }))
            .await?;
        }
        Ok(())
    }

    /// Sends and clears the pending acks, if any.
    pub(super) async fn ack(&self, batch: &mut AckBatch) -> Result<(), SdkError> {
        batch.flush_at = None;
        if batch.ids.is_empty() {
            return Ok(());
        }
        let message_ids = std::mem::take(&mut batch.ids);
        self.send(Frame::Ack(Ack { message_ids })).await
    }

    /// Half-closes the stream and gives the server a moment to read what is queued (the last
    /// acks) and end its side. Dropping the call at once could reset the stream with those
    /// acks unsent, and the messages would be delivered again.
    pub(super) async fn close_gracefully(&mut self, inbound: &mut tonic::Streaming<ServerFrame>) {
        self.tx = None;
        let drain = async { while let Ok(Some(_)) = inbound.message().await {} };
        let _ = tokio::time::timeout(CLOSE_GRACE, drain).await;
    }

    async fn send(&self, frame: Frame) -> Result<(), SdkError> {
        let closed = || SdkError::Protocol("listen stream closed while sending".into());
        let tx = self.tx.as_ref().ok_or_else(closed)?;
        tx.send(ClientFrame { frame: Some(frame) })
            .await
            .map_err(|_| closed())
    }
}
