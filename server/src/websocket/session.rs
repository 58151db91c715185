//! One client's connection: `hello` (a returning `uaid` resumes its device,
//! a new client gets a device whose credential is its `uaid`), then the
//! device's delivery session, its messages sent as `notification`s and the
//! client's `ack`s fed back to it, with `register`/`unregister` answered
//! beside it. A mistake closes this connection with a reason, nobody else's.

use std::net::SocketAddr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures_util::{SinkExt as _, StreamExt as _};
use push_proto::v1::{self as pb, server_frame::Frame};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tonic::Status;

use super::WebSocketFront;
use super::channel;
use super::frames::{self, ClientMessage, FrameError};
use crate::domain::{MAX_MESSAGE_IDS, is_message_id, now_millis};
use crate::error::{ApiError, ErrorCode, ServiceError};

/// Close codes (RFC 6455): never 4774, which stops Firefox reconnecting.
const NORMAL: u16 = 1000;
const GOING_AWAY: u16 = 1001;
const PROTOCOL_ERROR: u16 = 1002;
const UNSUPPORTED: u16 = 1003;
const INVALID_DATA: u16 = 1007;
const SERVER_ERROR: u16 = 1011;
const TRY_AGAIN_LATER: u16 = 1013;

type Frames = mpsc::Sender<Result<pb::ClientFrame, Status>>;

pub(crate) async fn run<S>(
    mut socket: WebSocketStream<S>,
    front: &WebSocketFront,
    peer: Option<SocketAddr>,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let uaid = match tokio::time::timeout(front.handshake_timeout, next_message(&mut socket)).await
    {
        Ok(Some(Ok(ClientMessage::Hello { uaid }))) => uaid,
        Ok(Some(Ok(_))) => return close(&mut socket, PROTOCOL_ERROR, "send hello first").await,
        Ok(Some(Err(problem))) => {
            return close(&mut socket, INVALID_DATA, &problem.to_string()).await;
        }
        Ok(None) => return,
        Err(_) => return close(&mut socket, PROTOCOL_ERROR, "no hello in time").await,
    };
    // Boxed here and below: a future holds room for its largest state, and
    // these (registration, subscribing) would otherwise widen every idle
    // client's task for as long as it is connected.
    let (device_id, uaid) = match Box::pin(device(front, uaid, peer)).await {
        Ok(device) => device,
        Err((code, why)) => return close(&mut socket, code, &why).await,
    };
    if socket
        .send(Message::text(frames::hello(&uaid)))
        .await
        .is_err()
    {
        return;
    }
    tracing::debug!(%device_id, "WebSocket client said hello");
    let (frames, inbound) = mpsc::channel(16);
    let _ = frames.send(Ok(hello())).await;
    let inbound = Box::pin(ReceiverStream::new(inbound));
    let mut outbound = front.devices.open_session(device_id.clone(), inbound);
    loop {
        tokio::select! {
            incoming = socket.next() => {
                let text = match incoming {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Binary(_))) => {
                        return close(&mut socket, UNSUPPORTED, "messages are JSON text").await;
                    }
                    Some(Ok(Message::Close(_)) | Err(_)) | None => return,
                    Some(Ok(_)) => continue,
                };
                let reply = match frames::parse(text.as_str()) {
                    Ok(message) => Box::pin(answer(front, &device_id, &frames, message)).await,
                    Err(problem) => return close(&mut socket, INVALID_DATA, &problem.to_string()).await,
                };
                match reply {
                    Ok(Some(reply)) => {
                        if socket.send(Message::text(reply)).await.is_err() {
                            return;
                        }
                    }
                    Ok(None) => {}
                    Err((code, why)) => return close(&mut socket, code, why).await,
                }
            }
            frame = outbound.next() => {
                let frame = match frame {
                    Some(Ok(pb::ServerFrame { frame: Some(frame) })) => frame,
                    Some(Ok(_)) => continue,
                    Some(Err(error)) => {
                        return close(&mut socket, SERVER_ERROR, &error.to_string()).await;
                    }
                    None => return close(&mut socket, GOING_AWAY, "stream ended").await,
                };
                match frame {
                    Frame::Message(message) => {
                        if socket.send(Message::text(notification(&message))).await.is_err() {
                            return;
                        }
                    }
                    Frame::GoAway(go_away) => {
                        let code = match go_away.reason() {
                            pb::GoAwayReason::Replaced => NORMAL,
                            _ => GOING_AWAY,
                        };
                        return close(&mut socket, code, &go_away.detail).await;
                    }
                    Frame::BacklogDone(_) | Frame::Error(_) => {}
                }
            }
        }
    }
}

/// The device a `uaid` resumes, or a new one when there is none (or one
/// this server does not know: the client then starts afresh, as it should).
async fn device(
    front: &WebSocketFront,
    uaid: Option<String>,
    peer: Option<SocketAddr>,
) -> Result<(String, String), (u16, String)> {
    if let Some(uaid) = uaid {
        match front.devices.device_of(&uaid).await {
            Ok(device_id) => return Ok((device_id, uaid)),
            Err(error) if error.code() == ErrorCode::Unauthenticated => {}
            Err(error) => return Err((TRY_AGAIN_LATER, error.public_message())),
        }
    }
    let peer = peer.map(|peer| peer.ip());
    match front.devices.register_with_credential(peer).await {
        Ok(issued) => Ok((issued.device_id, issued.credential)),
        Err(error) => Err((TRY_AGAIN_LATER, error.public_message())),
    }
}

fn hello() -> pb::ClientFrame {
    pb::ClientFrame {
        frame: Some(pb::client_frame::Frame::Hello(pb::Hello::default())),
    }
}

/// The reply to one client message, if it has one.
async fn answer(
    front: &WebSocketFront,
    device_id: &str,
    frames: &Frames,
    message: ClientMessage,
) -> Result<Option<String>, (u16, &'static str)> {
    match message {
        ClientMessage::Hello { .. } => Err((PROTOCOL_ERROR, "hello was already received")),
        ClientMessage::Ping => Ok(Some("{}".into())),
        ClientMessage::Nack | ClientMessage::BroadcastSubscribe => Ok(None),
        ClientMessage::Register { channel_id, key } => {
            tracing::debug!(%device_id, %channel_id, "WebSocket register");
            let status = match register(front, device_id, &channel_id, key).await {
                Ok(endpoint) => {
                    return Ok(Some(frames::registered(&channel_id, 200, Some(&endpoint))));
                }
                Err(status) => status,
            };
            Ok(Some(frames::registered(&channel_id, status, None)))
        }
        ClientMessage::Unregister { channel_id } => {
            tracing::debug!(%device_id, %channel_id, "WebSocket unregister");
            let status = match channel::subscription_id(&channel_id) {
                None => 400,
                Some(id) => match front
                    .subscriptions
                    .unsubscribe_channel(device_id, &id)
                    .await
                {
                    Ok(_) => 200,
                    Err(error) => http_status(&error),
                },
            };
            Ok(Some(frames::unregistered(&channel_id, status)))
        }
        ClientMessage::Ack { versions } => {
            // Versions are our message ids; anything else is no message of ours.
            let message_ids: Vec<String> = versions
                .into_iter()
                .filter(|version| is_message_id(version))
                .take(MAX_MESSAGE_IDS)
                .collect();
            if !message_ids.is_empty() {
                let ack = pb::client_frame::Frame::Ack(pb::Ack { message_ids });
                let _ = frames.send(Ok(pb::ClientFrame { frame: Some(ack) })).await;
            }
            Ok(None)
        }
    }
}

/// The endpoint of the channel's subscription, or the status to answer.
async fn register(
    front: &WebSocketFront,
    device_id: &str,
    channel_id: &str,
    key: Option<String>,
) -> Result<String, u16> {
    let id = channel::subscription_id(channel_id).ok_or(400u16)?;
    let key = match key.filter(|key| !key.is_empty()) {
        // Firefox sends it with `=` padding.
        Some(key) => Some(
            URL_SAFE_NO_PAD
                .decode(key.trim_end_matches('='))
                .map_err(|_| 400u16)?,
        ),
        None => None,
    };
    front
        .subscriptions
        .subscribe_channel(device_id, &id, key)
        .await
        .map_err(|error| http_status(&error))
}

/// The status number a `register`/`unregister` reply carries.
fn http_status(error: &ApiError) -> u16 {
    error.code().http().as_u16()
}

fn notification(message: &pb::PushMessage) -> String {
    let channel_id = channel::channel_id(&message.subscription_id).unwrap_or_default();
    let ttl = (message.expires_at_unix_ms - now_millis()).max(0) / 1000;
    let data = URL_SAFE_NO_PAD.encode(&message.payload);
    frames::notification(&channel_id, &message.message_id, ttl, &data)
}

async fn next_message<S>(
    socket: &mut WebSocketStream<S>,
) -> Option<Result<ClientMessage, FrameError>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    loop {
        match socket.next().await? {
            Ok(Message::Text(text)) => return Some(frames::parse(text.as_str())),
            Ok(Message::Binary(_)) => return Some(Err(FrameError::Binary)),
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => continue,
        }
    }
}

async fn close<S>(socket: &mut WebSocketStream<S>, code: u16, reason: &str)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    // A close reason is at most 123 bytes.
    let reason: String = reason.chars().take(100).collect();
    let frame = CloseFrame {
        code: code.into(),
        reason: reason.into(),
    };
    let _ = socket.close(Some(frame)).await;
}
