//! A simulated device on the WebSocket push protocol (what Firefox speaks) instead of gRPC
//! `Listen`: its own TCP connection, `hello` with the device's credential as `uaid`, every
//! `notification` acked, arrivals written down like a gRPC device's.
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::{Context as _, bail};
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

use crate::client::{self, RegisteredDevice};
use crate::device::{DeviceLog, LiveDevice};

/// Opens the device's WebSocket, resumes the device by its credential, and reads (and acks)
/// until `closing` turns true.
pub async fn connect(
    server_url: &str,
    source: IpAddr,
    device: &RegisteredDevice,
    delivered: Arc<AtomicU64>,
    mut closing: watch::Receiver<bool>,
) -> anyhow::Result<LiveDevice> {
    let address: SocketAddr = server_url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .with_context(|| format!("{server_url} is not http://host:port"))?;
    let tcp = client::tcp_from(source, address).await?.into_inner();
    let mut request = format!("ws://{address}/").into_client_request()?;
    request
        .headers_mut()
        .insert("sec-websocket-protocol", "push-notification".parse()?);
    let (mut socket, _) = tokio_tungstenite::client_async(request, tcp)
        .await
        .with_context(|| format!("WebSocket upgrade for device {}", device.device_id))?;
    let credential = device
        .authorization
        .to_str()?
        .trim_start_matches("Bearer ")
        .to_owned();
    let hello = json!({"messageType": "hello", "uaid": credential, "use_webpush": true});
    socket.send(Message::text(hello.to_string())).await?;
    match socket.next().await {
        Some(Ok(Message::Text(text))) => {
            let reply: Value = serde_json::from_str(text.as_str())?;
            if reply["uaid"] != credential.as_str() {
                bail!(
                    "device {}: hello answered with another uaid",
                    device.device_id
                );
            }
        }
        other => bail!("device {}: no hello reply: {other:?}", device.device_id),
    }
    let task = tokio::spawn(async move {
        let mut log = DeviceLog::default();
        loop {
            let message = tokio::select! {
                _ = closing.wait_for(|closing| *closing) => return log,
                message = socket.next() => message,
            };
            let text = match message {
                Some(Ok(Message::Text(text))) => text,
                Some(Ok(_)) => continue,
                Some(Err(error)) => {
                    log.failure
                        .get_or_insert(format!("WebSocket failed: {error}"));
                    break;
                }
                None => {
                    log.failure
                        .get_or_insert("the server closed the WebSocket".into());
                    break;
                }
            };
            let Ok(frame) = serde_json::from_str::<Value>(text.as_str()) else {
                continue;
            };
            let Some(version) = frame["version"].as_str().map(str::to_owned) else {
                continue;
            };
            log.deliveries.push((version.clone(), Instant::now()));
            delivered.fetch_add(1, Ordering::Relaxed);
            let ack = json!({"messageType": "ack", "updates": [{"channelID": frame["channelID"], "version": version, "code": 100}]});
            if socket.send(Message::text(ack.to_string())).await.is_err() {
                log.failure.get_or_insert("ack not sent".into());
                break;
            }
        }
        // Stay counted until told to close, as a gRPC device does.
        let _ = closing.wait_for(|closing| *closing).await;
        log
    });
    Ok(LiveDevice::from_task(task))
}
