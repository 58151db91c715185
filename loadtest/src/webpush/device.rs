//! A worker's devices in a standard-only run. Each opens its own WebSocket, says hello as a
//! new client, registers one channel restricted to the worker's VAPID key, and makes its
//! own subscription keys as a browser does; the body its messages will carry is encrypted
//! for those keys now, before the measured window, so the client spends the run on the
//! protocol rather than on crypto.
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::Context as _;
use push_sdk::crypto;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tonic::metadata::AsciiMetadataValue;

use super::SenderKey;
use super::socket::{PushService, PushSocket};
use crate::device::{DeviceLog, LiveDevice};
use crate::protocol::WorkerPlan;
use crate::submit::Target;
use crate::worker::joined_in_order;

/// A worker's devices, live, and how its senders reach them.
pub struct Devices {
    pub live: Vec<LiveDevice>,
    /// `targets[i]` is the endpoint of `live[i]`.
    pub targets: Vec<Target>,
    /// VAPID for the key every channel is restricted to, for the endpoints' origin.
    pub authorization: AsciiMetadataValue,
}

/// Connects and registers the plan's devices, `connect_concurrency` at a time.
pub async fn connect_all(
    plan: &WorkerPlan,
    delivered: &Arc<AtomicU64>,
    closing: watch::Receiver<bool>,
) -> anyhow::Result<Devices> {
    let service = PushService::resolve(&plan.server_url, plan.source_ip).await?;
    let sender = Arc::new(SenderKey::generate()?);
    // Idle devices still get keys (a browser's subscription has them) but no body.
    let payload_bytes = plan.load.as_ref().map(|load| load.payload_bytes);
    let permits = Arc::new(Semaphore::new(plan.connect_concurrency));
    let mut opening = JoinSet::new();
    for index in 0..plan.devices {
        let permit = permits.clone().acquire_owned().await?;
        let (service, sender, source) = (service.clone(), sender.clone(), plan.source_ip);
        let (delivered, closing) = (delivered.clone(), closing.clone());
        opening.spawn(async move {
            let _permit = permit;
            let mut socket = service.open(source).await?;
            let target = subscribe(&mut socket, &sender, payload_bytes).await?;
            let reader = tokio::spawn(read_and_ack(socket, delivered, closing));
            Ok((index, (LiveDevice::from_task(reader), target)))
        });
    }
    let (live, targets): (Vec<_>, Vec<_>) = joined_in_order(opening, plan.devices)
        .await?
        .into_iter()
        .unzip();
    let first = targets.first().context("no device connected")?;
    let authorization = sender.authorization(&first.endpoint)?;
    Ok(Devices {
        live,
        targets,
        authorization,
    })
}

/// `hello` as a new client and one `register`; the endpoint and a body for it.
async fn subscribe(
    socket: &mut PushSocket,
    sender: &SenderKey,
    payload_bytes: Option<usize>,
) -> anyhow::Result<Target> {
    socket.hello(None).await?;
    let channel_id = uuid::Uuid::new_v4().hyphenated().to_string();
    let endpoint = socket.register(&channel_id, &sender.register_key()).await?;
    let keys = crypto::generate_subscription_keys().context("subscription keys")?;
    let payload = match payload_bytes {
        Some(bytes) => crypto::encrypt(keys.public_key(), keys.auth_secret(), &vec![b'x'; bytes])
            .context("encrypting the test payload")?,
        None => Vec::new(),
    };
    Ok(Target { endpoint, payload })
}

/// Reads and acks until `closing`; a connection the service ends is a failure, and the
/// device stays counted without reconnecting (reconnecting would hide it).
async fn read_and_ack(
    mut socket: PushSocket,
    delivered: Arc<AtomicU64>,
    mut closing: watch::Receiver<bool>,
) -> DeviceLog {
    let mut log = DeviceLog::default();
    let failure = loop {
        let next = tokio::select! {
            _ = closing.wait_for(|closing| *closing) => return log,
            next = socket.next() => next,
        };
        let notification = match next {
            Ok(Some(notification)) => notification,
            Ok(None) => break "the service closed the WebSocket".to_owned(),
            Err(error) => break format!("{error:#}"),
        };
        log.deliveries
            .push((notification.version.clone(), Instant::now()));
        delivered.fetch_add(1, Ordering::Relaxed);
        if let Err(error) = socket.ack(&notification).await {
            break format!("ack not sent: {error:#}");
        }
    };
    log.failure = Some(failure);
    let _ = closing.wait_for(|closing| *closing).await;
    log
}
