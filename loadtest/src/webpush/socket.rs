//! One browser's connection to a push service, in the protocol Firefox speaks (Mozilla's
//! WebSocket push protocol with `use_webpush`) and nothing else: `hello` (a new client sends
//! no `uaid`, a returning one its `uaid` and `channelIDs`), `register` for an endpoint, each
//! `notification` acked. A server's WebSocket pings are answered by tungstenite itself: the
//! pong goes out with the next read, and a device is always reading.
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context as _, bail};
use futures_util::{SinkExt as _, StreamExt as _};
use http::{HeaderValue, Uri, header};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::error::{Error, ProtocolError, SubProtocolError};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message};

use crate::client;

const SUBPROTOCOL: &str = "push-notification";
/// A `hello` or `register` answer slower than this fails the device.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);
/// Frames here are a few hundred bytes; tungstenite's 128 KiB default is for bulk data.
const READ_BUFFER: usize = 4 * 1024;

/// A push service's WebSocket URL, resolved once for every device of a worker.
#[derive(Clone)]
pub struct PushService {
    url: String,
    address: SocketAddr,
    /// Firefox offers the `push-notification` subprotocol; pushd requires it, while a server
    /// that does not echo it (autoconnect) makes tungstenite fail the handshake. The first
    /// refusal turns the offer off for every later connection.
    without_subprotocol: Arc<AtomicBool>,
}

impl PushService {
    pub async fn resolve(url: &str, source: IpAddr) -> anyhow::Result<Self> {
        let uri: Uri = url
            .parse()
            .with_context(|| format!("WebSocket URL {url:?}"))?;
        if uri.scheme_str() != Some("ws") {
            bail!("{url}: devices connect over ws:// (TLS is not supported)");
        }
        let authority = uri.authority().context("the WebSocket URL has no host")?;
        let port = authority.port_u16().unwrap_or(80);
        // `localhost` may resolve to ::1 first; the source address decides the family.
        let address = tokio::net::lookup_host((authority.host(), port))
            .await?
            .find(|address| address.is_ipv4() == source.is_ipv4())
            .with_context(|| format!("{authority} has no address reachable from {source}"))?;
        let path = uri.path_and_query().map_or("/", |path| path.as_str());
        Ok(PushService {
            url: format!("ws://{authority}{path}"),
            address,
            without_subprotocol: Arc::default(),
        })
    }

    /// A new TCP connection from `source`, upgraded to the push protocol.
    pub async fn open(&self, source: IpAddr) -> anyhow::Result<PushSocket> {
        loop {
            let offer = !self.without_subprotocol.load(Ordering::Relaxed);
            let tcp = client::tcp_from(source, self.address).await?.into_inner();
            let mut request = self.url.as_str().into_client_request()?;
            if offer {
                let protocol = HeaderValue::from_static(SUBPROTOCOL);
                request
                    .headers_mut()
                    .insert(header::SEC_WEBSOCKET_PROTOCOL, protocol);
            }
            let config = WebSocketConfig::default().read_buffer_size(READ_BUFFER);
            match tokio_tungstenite::client_async_with_config(request, tcp, Some(config)).await {
                Ok((socket, _)) => return Ok(PushSocket { socket }),
                Err(Error::Protocol(ProtocolError::SecWebSocketSubProtocolError(
                    SubProtocolError::NoSubProtocol,
                ))) if offer => self.without_subprotocol.store(true, Ordering::Relaxed),
                Err(error) => {
                    return Err(error)
                        .with_context(|| format!("WebSocket upgrade at {}", self.url));
                }
            }
        }
    }
}

/// A message for the device, as the service named it.
#[derive(Debug, Clone)]
pub struct Notification {
    pub channel_id: String,
    pub version: String,
}

pub struct PushSocket {
    socket: WebSocketStream<TcpStream>,
}

impl PushSocket {
    /// `hello`: as a new client, or as a returning one with its `uaid` and channels. The
    /// answer's `uaid` (a returning client may be handed a new one if the service forgot it).
    pub async fn hello(&mut self, returning: Option<(&str, &[String])>) -> anyhow::Result<String> {
        let mut hello = json!({"messageType": "hello", "use_webpush": true});
        if let Some((uaid, channel_ids)) = returning {
            hello["uaid"] = json!(uaid);
            hello["channelIDs"] = json!(channel_ids);
        }
        self.send(hello).await?;
        let answer = self.answer("hello", |_| true).await?;
        check_status(&answer, "hello")?;
        let uaid = answer["uaid"]
            .as_str()
            .context("hello answered without a uaid")?;
        Ok(uaid.to_owned())
    }

    /// `register`: a new channel, restricted to the sender whose public key is `key`. The
    /// endpoint URL senders POST to.
    pub async fn register(&mut self, channel_id: &str, key: &str) -> anyhow::Result<String> {
        let register = json!({"messageType": "register", "channelID": channel_id, "key": key});
        self.send(register).await?;
        let ours = |answer: &Value| answer["channelID"].as_str() == Some(channel_id);
        let answer = self.answer("register", ours).await?;
        check_status(&answer, "register")?;
        let endpoint = answer["pushEndpoint"].as_str();
        Ok(endpoint
            .context("register answered without a pushEndpoint")?
            .to_owned())
    }

    /// The next notification; `None` once the service closed the connection. Other messages
    /// (broadcasts, answers to pings) are skipped. Cancel-safe: nothing is read that is not
    /// returned or skipped in the same poll.
    pub async fn next(&mut self) -> anyhow::Result<Option<Notification>> {
        loop {
            let Some(frame) = self.next_json().await? else {
                return Ok(None);
            };
            if frame["messageType"] != "notification" {
                continue;
            }
            let field = |name: &str| frame[name].as_str().map(str::to_owned);
            let (Some(channel_id), Some(version)) = (field("channelID"), field("version")) else {
                bail!("a notification without channelID or version: {frame}");
            };
            return Ok(Some(Notification {
                channel_id,
                version,
            }));
        }
    }

    /// Acks one notification: code 100, delivered to the page.
    pub async fn ack(&mut self, notification: &Notification) -> anyhow::Result<()> {
        let update = json!({"channelID": notification.channel_id, "version": notification.version, "code": 100});
        self.send(json!({"messageType": "ack", "updates": [update]}))
            .await
    }

    /// Closes the connection as a browser going away does: a close frame, then the socket.
    pub async fn close(mut self) {
        let _ = self.socket.close(None).await;
    }

    async fn send(&mut self, message: Value) -> anyhow::Result<()> {
        let text = message.to_string();
        self.socket
            .send(Message::text(text))
            .await
            .context("sending")
    }

    /// The first `message_type` message `wanted` accepts; a notification first is an error,
    /// since a fresh connection has nothing it could be skipped for.
    async fn answer(
        &mut self,
        message_type: &str,
        wanted: impl Fn(&Value) -> bool,
    ) -> anyhow::Result<Value> {
        tokio::time::timeout(ANSWER_TIMEOUT, async {
            loop {
                let frame = self.next_json().await?;
                let frame =
                    frame.with_context(|| format!("closed before the {message_type} answer"))?;
                match frame["messageType"].as_str() {
                    Some(kind) if kind == message_type && wanted(&frame) => return Ok(frame),
                    Some("notification") => {
                        bail!("a notification before the {message_type} answer")
                    }
                    _ => continue,
                }
            }
        })
        .await
        .with_context(|| format!("no {message_type} answer within {ANSWER_TIMEOUT:?}"))?
    }

    /// The next JSON text message; `None` once closed.
    async fn next_json(&mut self) -> anyhow::Result<Option<Value>> {
        loop {
            match self.socket.next().await {
                Some(Ok(Message::Text(text))) => {
                    let value = serde_json::from_str(text.as_str());
                    return value.map(Some).with_context(|| format!("not JSON: {text}"));
                }
                Some(Ok(Message::Close(_))) | None => return Ok(None),
                Some(Ok(_)) => continue,
                Some(Err(tungstenite::Error::ConnectionClosed)) => return Ok(None),
                Some(Err(error)) => return Err(error).context("WebSocket failed"),
            }
        }
    }
}

/// A `status` other than 200 (when the service sends one) fails the step.
fn check_status(answer: &Value, step: &str) -> anyhow::Result<()> {
    match answer["status"].as_u64() {
        None | Some(200) => Ok(()),
        Some(status) => bail!("{step} answered with status {status}: {answer}"),
    }
}

#[cfg(test)]
mod tests;
