//! The life of one `Listen` stream: handshake, backlog replay, then live
//! messages, with client frames (acks, presence, urgency) read beside it.

use std::sync::Arc;
use std::time::Duration;

use push_proto::v1::{self as pb, client_frame, server_frame::Frame};
use tokio::sync::Semaphore;
use tokio_stream::StreamExt as _;
use tonic::Status;

use super::connection::{CloseReason, LiveConnection, Replayed};
use super::error::StreamError;
use super::hub::Hub;
use super::in_flight::Unacked;
use super::outbound::Outbound;
use super::routes::{RouteGuard, StreamRoutes};
use crate::domain::{Presence, Urgency, check_message_ids, now_millis};
use crate::store::{PendingQuery, Store, StoreResult};

/// Messages buffered per stream before live offers fall back to replay.
pub(crate) const OUTBOUND_CAPACITY: usize = 256;
const REPLAY_PAGE: usize = 256;
/// How often a replay stopped for room looks again without an ack.
const ROOM_RECHECK: Duration = Duration::from_secs(1);
/// Ack writes in flight per stream before reading the next frame waits.
const ACKS_IN_FLIGHT: usize = 8;

/// The device's frames, whatever front they came through (a gRPC stream,
/// or a WebSocket whose JSON the front turned into frames).
pub(crate) type Inbound =
    std::pin::Pin<Box<dyn tokio_stream::Stream<Item = Result<pb::ClientFrame, Status>> + Send>>;

async fn next_frame(inbound: &mut Inbound) -> Result<Option<pb::ClientFrame>, Status> {
    inbound.next().await.transpose()
}

#[derive(Clone)]
pub(crate) struct Session {
    pub(crate) hub: Arc<Hub>,
    pub(crate) store: Arc<dyn Store>,
    /// Set when nodes share a distributed store: streams claim their route.
    pub(crate) routes: Option<Arc<dyn StreamRoutes>>,
    pub(crate) handshake_timeout: Duration,
    /// Unacked messages a stream may hold before live offers wait for acks.
    pub(crate) max_in_flight: usize,
    /// Unacked bytes, per stream and for the node.
    pub(crate) unacked: Unacked,
}

impl Session {
    pub(crate) async fn run(self, device_id: String, mut inbound: Inbound, outbound: Outbound) {
        let hello =
            match tokio::time::timeout(self.handshake_timeout, next_frame(&mut inbound)).await {
                Err(_) => {
                    let wait = self.handshake_timeout.as_secs();
                    let _ = outbound
                        .send(Err(Box::new(StreamError::NoHello(wait))))
                        .await;
                    return;
                }
                Ok(Err(status)) => {
                    let malformed = StreamError::Malformed(status.message().to_owned());
                    let _ = outbound.send(Err(Box::new(malformed))).await;
                    return;
                }
                Ok(Ok(None)) => return,
                Ok(Ok(Some(pb::ClientFrame {
                    frame: Some(client_frame::Frame::Hello(hello)),
                }))) => hello,
                Ok(Ok(Some(_))) => {
                    let _ = outbound.send(Err(Box::new(StreamError::HelloFirst))).await;
                    return;
                }
            };
        let (Some(min_urgency), Some(presence)) = (
            Urgency::threshold_from_i32(hello.min_urgency),
            Presence::from_i32(hello.presence),
        ) else {
            let _ = outbound.send(Err(Box::new(StreamError::BadHello))).await;
            return;
        };
        let connection = Arc::new(LiveConnection::new(
            self.hub.next_connection(),
            device_id,
            outbound,
            min_urgency,
            presence,
            (self.max_in_flight, self.unacked.clone()),
        ));
        self.hub.register(connection.clone());
        // Before the backlog read; see the cluster module for why.
        let route = match self.claim_route(&connection).await {
            Ok(route) => route,
            Err(error) => {
                self.hub.unregister(&connection);
                tracing::warn!(%error, "claiming a stream's route failed");
                return connection.fail(StreamError::Route(error)).await;
            }
        };
        tracing::debug!(device_id = %connection.device_id, connection = connection.id, "stream opened");
        let reader = tokio::spawn(read_frames(connection.clone(), self.store.clone(), inbound));
        self.write_loop(&connection).await;
        reader.abort();
        self.hub.unregister(&connection);
        drop(route);
        tracing::debug!(device_id = %connection.device_id, connection = connection.id, "stream closed");
    }

    async fn claim_route(&self, connection: &LiveConnection) -> StoreResult<Option<RouteGuard>> {
        match &self.routes {
            Some(routes) => routes
                .claim(&connection.device_id, connection.opened_at_micros)
                .await
                .map(Some),
            None => Ok(None),
        }
    }

    async fn write_loop(&self, connection: &LiveConnection) {
        let mut backlog_done = false;
        loop {
            let replayed = tokio::select! {
                reason = connection.closed() => return say_goodbye(connection, reason).await,
                result = replay(connection, self.store.as_ref()) => result,
            };
            // With nothing unacked, no ack will come to restart a replay the
            // node's budget stopped: it looks again now and then instead.
            let recheck = matches!(replayed, Ok((_, Paused::ForRoom))) && connection.unacked() == 0;
            match replayed {
                // Also when the replay stopped for room: a client that waits
                // for this before acking would otherwise wait forever.
                Ok((sent, _)) if !backlog_done => {
                    backlog_done = true;
                    if !connection
                        .send_frame(Frame::BacklogDone(pb::BacklogDone { sent }))
                        .await
                    {
                        return;
                    }
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(%error, device_id = %connection.device_id, "replay failed; closing the stream so the device reconnects");
                    return connection.fail(StreamError::Replay(error)).await;
                }
            }
            let recheck = async {
                match recheck {
                    true => tokio::time::sleep(ROOM_RECHECK).await,
                    false => std::future::pending().await,
                }
            };
            tokio::select! {
                reason = connection.closed() => return say_goodbye(connection, reason).await,
                _ = connection.resync_requested() => {}
                _ = recheck => {}
                _ = connection.wait_outbound_closed() => return,
            }
        }
    }
}

async fn say_goodbye(connection: &LiveConnection, reason: CloseReason) {
    let (reason, detail) = match reason {
        CloseReason::Draining => (
            pb::GoAwayReason::Draining,
            "server is shutting down; reconnect",
        ),
        CloseReason::Replaced => (
            pb::GoAwayReason::Replaced,
            "a newer stream for this device took over",
        ),
        CloseReason::Revoked => (
            pb::GoAwayReason::Revoked,
            "this device was removed from its account; its credential no longer works",
        ),
        CloseReason::Ended => return,
    };
    let go_away = pb::GoAway {
        reason: reason as i32,
        detail: detail.into(),
    };
    let _ = connection.send_frame(Frame::GoAway(go_away)).await;
}

/// Whether a replay stopped before the end of the stored messages.
enum Paused {
    No,
    /// The stream's (or the node's) unacked bytes ran out.
    ForRoom,
}

/// Sends every stored message due to this device that the stream does not
/// already carry, oldest first, until its unacked bytes run out; returns
/// how many went out.
async fn replay(connection: &LiveConnection, store: &dyn Store) -> StoreResult<(u32, Paused)> {
    connection.replay_started();
    let replayed = replay_pages(connection, store).await;
    connection.replay_finished();
    replayed
}

async fn replay_pages(
    connection: &LiveConnection,
    store: &dyn Store,
) -> StoreResult<(u32, Paused)> {
    let mut after = None;
    let mut sent = 0;
    loop {
        let query = PendingQuery {
            device_id: connection.device_id.clone(),
            now: now_millis(),
            min_urgency: connection.min_urgency(),
            after: after.take(),
            limit: REPLAY_PAGE,
        };
        let page = store.pending(query).await?;
        for message in &page {
            match connection.send_replayed(message).await {
                Replayed::Sent => sent += 1,
                Replayed::NoRoom => return Ok((sent, Paused::ForRoom)),
                Replayed::Closed => return Ok((sent, Paused::No)),
            }
        }
        match page.last() {
            Some(last) if page.len() == REPLAY_PAGE => after = Some(last.id.clone()),
            _ => return Ok((sent, Paused::No)),
        }
    }
}

async fn read_frames(connection: Arc<LiveConnection>, store: Arc<dyn Store>, mut inbound: Inbound) {
    let acks_in_flight = Arc::new(Semaphore::new(ACKS_IN_FLIGHT));
    loop {
        match next_frame(&mut inbound).await {
            Ok(Some(frame)) => handle_frame(&connection, &store, &acks_in_flight, frame).await,
            Ok(None) => break,
            Err(status) => {
                if status.code() != tonic::Code::Cancelled {
                    connection
                        .fail(StreamError::Malformed(status.message().to_owned()))
                        .await;
                }
                break;
            }
        }
    }
    connection.close(CloseReason::Ended);
}

async fn handle_frame(
    connection: &Arc<LiveConnection>,
    store: &Arc<dyn Store>,
    acks_in_flight: &Arc<Semaphore>,
    frame: pb::ClientFrame,
) {
    use client_frame::Frame as Client;
    let problem = match frame.frame {
        None => Some("empty frame: set one of hello, ack, presence, min_urgency".to_string()),
        Some(Client::Hello(_)) => {
            Some("Hello was already received; send it once, first".to_string())
        }
        Some(Client::Ack(ack)) => match check_message_ids(&ack.message_ids)
            .map_err(|problem| format!("Ack refused: {problem}"))
        {
            Ok(()) => {
                start_ack(
                    connection.clone(),
                    store.clone(),
                    acks_in_flight.clone(),
                    ack.message_ids,
                )
                .await;
                None
            }
            Err(problem) => Some(problem),
        },
        Some(Client::Presence(set)) => match Presence::from_i32(set.presence) {
            Some(presence) => {
                // Back in use: messages that waited for it (low urgency while
                // away) are due now.
                if connection.set_presence(presence) != Presence::Active
                    && presence == Presence::Active
                {
                    connection.request_resync();
                }
                None
            }
            None => Some(format!("unknown presence value {}", set.presence)),
        },
        Some(Client::MinUrgency(set)) => match Urgency::threshold_from_i32(set.min_urgency) {
            Some(urgency) => {
                if connection.set_min_urgency(urgency) {
                    connection.request_resync();
                }
                None
            }
            None => Some(format!("unknown urgency value {}", set.min_urgency)),
        },
    };
    if let Some(message) = problem {
        connection
            .send_frame(Frame::Error(pb::FrameError { message }))
            .await;
    }
}

/// Writes an ack in the background so the next frame is read while it
/// commits; waiting for a permit first bounds the writes per stream. Ids
/// this stream never sent are dropped here: they cost the store nothing.
async fn start_ack(
    connection: Arc<LiveConnection>,
    store: Arc<dyn Store>,
    acks_in_flight: Arc<Semaphore>,
    message_ids: Vec<String>,
) {
    let (taken, delivered) = connection.take_acked(&message_ids);
    let ignored = message_ids.len() - taken.len();
    if ignored > 0 {
        metrics::counter!("pushd_acks_ignored_total").increment(ignored as u64);
    }
    if taken.is_empty() {
        return;
    }
    let Ok(permit) = acks_in_flight.acquire_owned().await else {
        return;
    };
    // One `ack` span per traced message, each in its message's trace, open
    // for the store write; the `deliver` spans end after them.
    let acking: Vec<tracing::Span> = delivered
        .iter()
        .map(|delivering| {
            tracing::info_span!(target: crate::tracing_export::TARGET, parent: delivering, "ack")
        })
        .collect();
    tokio::spawn(async move {
        let _permit = permit;
        let _spans = (acking, delivered);
        match store.ack(&connection.device_id, &taken).await {
            Ok(removed) => metrics::counter!("pushd_messages_acked_total").increment(removed),
            Err(error) => {
                tracing::warn!(%error, device_id = %connection.device_id, "ack failed; the messages will be delivered again");
            }
        }
        connection.ack_written(&taken);
    });
}
