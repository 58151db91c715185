//! Connections and the one-off calls that prepare a simulated device: register, subscribe,
//! and encrypt the payload its messages will carry.
//!
//! Every connection is bound to a chosen 127.0.0.x source address: one address has ~28,000
//! ephemeral ports towards one server port, so spreading workers over addresses keeps the
//! port space out of the measurement.
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hyper_util::rt::TokioIo;
use push_proto::v1::device_client::DeviceClient;
use push_proto::v1::{RegisterRequest, SubscribeRequest};
use push_sdk::crypto;
use push_sdk::vapid::{self, VapidKey};
use tokio::net::{TcpSocket, TcpStream};
use tonic::metadata::{AsciiMetadataValue, MetadataValue};
use tonic::transport::{Channel, Endpoint};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
/// Deadline for unary calls; a server that stalls fails the run instead of hanging it.
pub const UNARY_TIMEOUT: Duration = Duration::from_secs(30);

/// A new HTTP/2 connection from `source` to `server_url`.
pub async fn connect(server_url: &str, source: IpAddr) -> anyhow::Result<Channel> {
    let endpoint = Endpoint::from_shared(server_url.to_owned())
        .with_context(|| format!("server url {server_url:?}"))?
        .local_address(Some(source))
        .tcp_nodelay(true)
        .connect_timeout(CONNECT_TIMEOUT)
        // What the SDK's devices do: a ping every 30 s lets them notice a dead path.
        .http2_keep_alive_interval(Duration::from_secs(30))
        .keep_alive_timeout(Duration::from_secs(10));
    endpoint
        .connect()
        .await
        .with_context(|| format!("connecting to {server_url} from {source}"))
}

/// A plain TCP connection from `source` to `server`, without Nagle's delay (for HTTP).
pub async fn tcp_from(source: IpAddr, server: SocketAddr) -> anyhow::Result<TokioIo<TcpStream>> {
    let socket = match server {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    socket.bind(SocketAddr::new(source, 0))?;
    let stream = tokio::time::timeout(CONNECT_TIMEOUT, socket.connect(server))
        .await
        .with_context(|| format!("connecting to {server} from {source}: timed out"))?
        .with_context(|| format!("connecting to {server} from {source}"))?;
    stream.set_nodelay(true)?;
    Ok(TokioIo::new(stream))
}

/// The `authorization` header for one fresh VAPID key, valid for 12 hours for the origin of
/// `endpoint` (what RFC 8292 says the audience is).
pub fn vapid_authorization(endpoint: &str) -> anyhow::Result<AsciiMetadataValue> {
    let key = VapidKey::generate().context("generating a VAPID key")?;
    signed_authorization(&key, endpoint)
}

/// The `authorization` header for `key`, valid for 12 hours for the origin of `endpoint`.
pub fn signed_authorization(key: &VapidKey, endpoint: &str) -> anyhow::Result<AsciiMetadataValue> {
    let audience = vapid::audience_for(endpoint).context("VAPID audience")?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .context("clock before 1970")?
        .as_secs();
    let jwt = key
        .sign(&audience, "mailto:loadtest@localhost", now + 12 * 3600)
        .context("signing the VAPID token")?;
    metadata_value(&key.authorization_header(&jwt))
}

/// A request carrying `authorization: <value>`, with the unary deadline.
pub fn authorized<T>(message: T, authorization: &AsciiMetadataValue) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", authorization.clone());
    request.set_timeout(UNARY_TIMEOUT);
    request
}

/// The `authorization` metadata value for `text`.
pub fn metadata_value(text: &str) -> anyhow::Result<AsciiMetadataValue> {
    MetadataValue::try_from(text).context("authorization value is not ASCII metadata")
}

/// A registered device: what it needs to open its stream.
#[derive(Debug, Clone)]
pub struct RegisteredDevice {
    pub device_id: String,
    /// `Bearer <credential>`.
    pub authorization: AsciiMetadataValue,
}

/// A subscription, plus a message body already encrypted for it, so the run measures the
/// server and not client-side crypto.
#[derive(Debug, Clone)]
pub struct SubscribedDevice {
    pub device: RegisteredDevice,
    pub endpoint: String,
    pub payload: Vec<u8>,
}

pub async fn register(mut client: DeviceClient<Channel>) -> anyhow::Result<RegisteredDevice> {
    let mut request = tonic::Request::new(RegisterRequest {});
    request.set_timeout(UNARY_TIMEOUT);
    let issued = client
        .register(request)
        .await
        .context("Register")?
        .into_inner();
    Ok(RegisteredDevice {
        authorization: metadata_value(&format!("Bearer {}", issued.credential))?,
        device_id: issued.device_id,
    })
}

/// Registers a device and gives it one subscription, open to any sender.
pub async fn register_and_subscribe(
    client: DeviceClient<Channel>,
    plaintext_len: usize,
) -> anyhow::Result<SubscribedDevice> {
    let device = register(client.clone()).await?;
    let keys = crypto::generate_subscription_keys().context("generating subscription keys")?;
    let wanted = SubscribeRequest {
        app_server_key: Vec::new(),
        p256dh: URL_SAFE_NO_PAD.encode(keys.public_key()),
        auth: URL_SAFE_NO_PAD.encode(keys.auth_secret()),
        for_account: false,
    };
    let reply = client
        .clone()
        .subscribe(authorized(wanted, &device.authorization))
        .await
        .context("Subscribe")?
        .into_inner();
    let endpoint = reply
        .subscription
        .context("Subscribe answered without a subscription")?
        .endpoint;
    let plaintext = vec![b'x'; plaintext_len];
    let payload = crypto::encrypt(keys.public_key(), keys.auth_secret(), &plaintext)
        .context("encrypting the test payload")?;
    Ok(SubscribedDevice {
        device,
        endpoint,
        payload,
    })
}
