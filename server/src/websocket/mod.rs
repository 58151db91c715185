//! The WebSocket push protocol Firefox speaks (`dom.push.serverURL`), on
//! the public port at `/` with subprotocol `push-notification`: one more
//! front over the device API and its delivery session, like gRPC `Listen`.
//!
//! The client's `uaid` is the device credential (a bearer secret, stored
//! hashed), and its `channelID` is the subscription id (a UUID's 16 bytes
//! are exactly a subscription id's), so nothing new is stored.

use std::time::Duration;

use http::{HeaderValue, Request, Response, StatusCode, header};
use hyper_util::rt::TokioIo;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tonic::body::Body;

use crate::device::{Devices, Subscriptions};

pub mod channel;
pub mod frames;
mod session;

pub(crate) const SUBPROTOCOL: &str = "push-notification";
/// Largest frame a client may send: a register or an ack batch is far smaller.
const MAX_MESSAGE_BYTES: usize = 64 * 1024;

#[derive(Clone)]
pub(crate) struct WebSocketFront {
    devices: Devices,
    subscriptions: Subscriptions,
    handshake_timeout: Duration,
}

impl WebSocketFront {
    pub(crate) fn new(
        devices: Devices,
        subscriptions: Subscriptions,
        handshake_timeout: Duration,
    ) -> Self {
        Self {
            devices,
            subscriptions,
            handshake_timeout,
        }
    }

    /// Answers an upgrade request: `101` and the session on the upgraded
    /// connection, or `400` saying what is missing.
    pub(crate) fn accept(&self, mut request: Request<Body>) -> Response<Body> {
        let Some(key) = request.headers().get(header::SEC_WEBSOCKET_KEY).cloned() else {
            return refuse("a WebSocket upgrade needs Sec-WebSocket-Key");
        };
        if request.uri().path() != "/" {
            return refuse("the push protocol is served at /");
        }
        let offered = request
            .headers()
            .get_all(header::SEC_WEBSOCKET_PROTOCOL)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .any(|protocol| protocol.trim() == SUBPROTOCOL);
        if !offered {
            return refuse("offer the push-notification subprotocol");
        }
        let peer = request
            .extensions()
            .get::<tonic::transport::server::TcpConnectInfo>()
            .and_then(tonic::transport::server::TcpConnectInfo::remote_addr);
        let upgrade = hyper::upgrade::on(&mut request);
        let front = self.clone();
        tokio::spawn(async move {
            match upgrade.await {
                Ok(upgraded) => {
                    // Small buffers: a client is mostly idle, and tungstenite's
                    // defaults (128 KiB each way) would be most of an idle
                    // client's memory. The read buffer is zero-filled to its size,
                    // so all of it is resident: 1 KiB holds a client's frames
                    // (hello, register, acks: a few hundred bytes) and grows for a
                    // larger one; 4 KiB cost 3 kB more per idle client with the
                    // same throughput (BENCHMARKS.md). Frames are written as they come.
                    let config = WebSocketConfig::default()
                        .read_buffer_size(1024)
                        .write_buffer_size(0)
                        .max_write_buffer_size(MAX_MESSAGE_BYTES)
                        .max_message_size(Some(MAX_MESSAGE_BYTES))
                        .max_frame_size(Some(MAX_MESSAGE_BYTES));
                    let socket = WebSocketStream::from_raw_socket(
                        TokioIo::new(upgraded),
                        Role::Server,
                        Some(config),
                    )
                    .await;
                    session::run(socket, &front, peer).await;
                }
                Err(error) => tracing::debug!(%error, "WebSocket upgrade failed"),
            }
        });
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        let headers = response.headers_mut();
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        headers.insert(
            header::SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_static(SUBPROTOCOL),
        );
        if let Ok(accept) = HeaderValue::from_str(&derive_accept_key(key.as_bytes())) {
            headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
        }
        response
    }
}

/// A GET asking to upgrade to WebSocket.
pub(crate) fn is_upgrade<B>(request: &Request<B>) -> bool {
    request.method() == http::Method::GET
        && request
            .headers()
            .get(header::UPGRADE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.eq_ignore_ascii_case("websocket"))
}

fn refuse(why: &'static str) -> Response<Body> {
    let mut response = Response::new(Body::new(http_body_util::Full::new(bytes::Bytes::from(
        why,
    ))));
    *response.status_mut() = StatusCode::BAD_REQUEST;
    response
}
