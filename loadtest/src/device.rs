//! A simulated device's live `Listen` stream: its own TCP connection, `Hello` first, every
//! message acked, and the instant each message arrived written down for the latency join.
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Instant;

use anyhow::{Context as _, bail};
use push_proto::v1::device_client::DeviceClient;
use push_proto::v1::server_frame::Frame;
use push_proto::v1::{Ack, ClientFrame, Hello, Presence, ServerFrame, Urgency, client_frame};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_stream::Stream;
use tonic::Streaming;
use tonic::transport::Channel;

use crate::client::RegisteredDevice;

/// Most ids one Ack frame carries (the server refuses more than 1024).
const MAX_ACK_BATCH: usize = 512;

/// Frames a device sends: `Hello`, then acks. Ids that queued up while the connection was
/// busy go out as one frame, as a phone catching up would send them.
struct Outgoing {
    hello: Option<ClientFrame>,
    acks: mpsc::UnboundedReceiver<String>,
}

impl Stream for Outgoing {
    type Item = ClientFrame;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<ClientFrame>> {
        if let Some(hello) = self.hello.take() {
            return Poll::Ready(Some(hello));
        }
        let mut message_ids = Vec::new();
        match self
            .acks
            .poll_recv_many(cx, &mut message_ids, MAX_ACK_BATCH)
        {
            Poll::Ready(0) => Poll::Ready(None),
            Poll::Ready(_) => Poll::Ready(Some(ClientFrame {
                frame: Some(client_frame::Frame::Ack(Ack { message_ids })),
            })),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// An open stream: the server's frames, and where to put ids to ack.
pub struct OpenStream {
    /// Held so the device's connection lives exactly as long as its stream.
    _client: DeviceClient<Channel>,
    pub frames: Streaming<ServerFrame>,
    pub acks: mpsc::UnboundedSender<String>,
}

/// Starts `Listen` for `device` on `channel` (which should be the device's own connection).
pub async fn listen(channel: Channel, device: &RegisteredDevice) -> anyhow::Result<OpenStream> {
    let (acks, ack_queue) = mpsc::unbounded_channel();
    let hello = ClientFrame {
        frame: Some(client_frame::Frame::Hello(Hello {
            presence: Presence::Active as i32,
            min_urgency: Urgency::VeryLow as i32,
        })),
    };
    let outgoing = Outgoing {
        hello: Some(hello),
        acks: ack_queue,
    };
    let mut request = tonic::Request::new(outgoing);
    request
        .metadata_mut()
        .insert("authorization", device.authorization.clone());
    let mut client = DeviceClient::new(channel);
    let frames = client
        .listen(request)
        .await
        .with_context(|| format!("Listen for device {}", device.device_id))?
        .into_inner();
    Ok(OpenStream {
        _client: client,
        frames,
        acks,
    })
}

/// What one device saw during a run.
#[derive(Debug, Default)]
pub struct DeviceLog {
    /// `(message id, arrival)` for every message frame, duplicates included.
    pub deliveries: Vec<(String, Instant)>,
    /// Why the stream ended early, if it did.
    pub failure: Option<String>,
}

/// A device whose stream is open and read by a background task until `closing` turns true.
pub struct LiveDevice {
    task: JoinHandle<DeviceLog>,
}

impl LiveDevice {
    /// Opens the stream and waits for `BacklogDone`, so a connected device is truly live.
    pub async fn connect(
        channel: Channel,
        device: &RegisteredDevice,
        delivered: Arc<AtomicU64>,
        closing: watch::Receiver<bool>,
    ) -> anyhow::Result<LiveDevice> {
        let mut stream = listen(channel, device).await?;
        let mut log = DeviceLog::default();
        loop {
            match stream.frames.message().await {
                Ok(Some(ServerFrame {
                    frame: Some(Frame::BacklogDone(_)),
                })) => break,
                Ok(Some(frame)) => {
                    if let Some(unexpected) = record(&mut log, &stream.acks, &delivered, frame) {
                        bail!("device {}: {unexpected}", device.device_id);
                    }
                }
                Ok(None) => bail!(
                    "device {}: stream ended before BacklogDone",
                    device.device_id
                ),
                Err(status) => bail!("device {}: Listen failed: {status}", device.device_id),
            }
        }
        let task = tokio::spawn(read_until_closing(stream, log, delivered, closing));
        Ok(LiveDevice { task })
    }

    /// A device whose reader is `task` (a device on another protocol).
    pub fn from_task(task: JoinHandle<DeviceLog>) -> Self {
        LiveDevice { task }
    }

    /// Waits for the reader (after `closing` was set) and returns what it saw.
    pub async fn finish(self) -> DeviceLog {
        self.task.await.unwrap_or_else(|error| DeviceLog {
            deliveries: Vec::new(),
            failure: Some(format!("reader task failed: {error}")),
        })
    }
}

async fn read_until_closing(
    mut stream: OpenStream,
    mut log: DeviceLog,
    delivered: Arc<AtomicU64>,
    mut closing: watch::Receiver<bool>,
) -> DeviceLog {
    loop {
        let frame = tokio::select! {
            _ = closing.wait_for(|closing| *closing) => return log,
            frame = stream.frames.message() => frame,
        };
        let ended = match frame {
            Ok(Some(frame)) => {
                // A FrameError or GoAway is worth reporting; the stream may still go on.
                if let Some(note) = record(&mut log, &stream.acks, &delivered, frame) {
                    log.failure.get_or_insert(note);
                }
                continue;
            }
            Ok(None) => "the server ended the stream".to_owned(),
            Err(status) => format!("stream failed: {status}"),
        };
        log.failure.get_or_insert(ended);
        // Stay counted as a device until told to close; reconnecting would hide the failure.
        let _ = closing.wait_for(|closing| *closing).await;
        return log;
    }
}

/// Notes a message (and queues its ack); anything that should not happen comes back as text.
fn record(
    log: &mut DeviceLog,
    acks: &mpsc::UnboundedSender<String>,
    delivered: &AtomicU64,
    frame: ServerFrame,
) -> Option<String> {
    match frame.frame {
        Some(Frame::Message(message)) => {
            log.deliveries
                .push((message.message_id.clone(), Instant::now()));
            delivered.fetch_add(1, Ordering::Relaxed);
            let _ = acks.send(message.message_id);
            None
        }
        Some(Frame::BacklogDone(_)) => None,
        Some(Frame::GoAway(go_away)) => Some(format!(
            "GoAway reason {}: {}",
            go_away.reason, go_away.detail
        )),
        Some(Frame::Error(error)) => Some(format!("FrameError: {}", error.message)),
        None => Some("empty server frame".to_owned()),
    }
}
