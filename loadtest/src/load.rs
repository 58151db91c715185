//! A worker's throughput run: submit to its own devices, wait for what was accepted to
//! arrive, then join submissions and deliveries ([`crate::join`]).
//!
//! The join happens after the run because a delivery can reach the device before the
//! `SubmitMessage` (or `201 Created`) answer reaches the sender (the server offers to the live
//! stream first and answers after the commit), so neither side can look the other up when it
//! happens.
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use push_proto::v1::sender_client::SenderClient;
use tokio::sync::watch;
use tonic::metadata::AsciiMetadataValue;

use crate::cli::DevicesOver;
use crate::client;
use crate::device::LiveDevice;
use crate::join::join;
use crate::protocol::{LoadPlan, LoadReport, SubmitOver, WorkerPlan};
use crate::submit::{self, Senders, SubmitPlan, Target};
use crate::submit_http::{HttpSenders, MessageIds};

/// How often the grace period checks whether everything arrived.
const ARRIVAL_POLL: Duration = Duration::from_millis(5);

/// Runs the load; `live[i]` is the device `targets[i]` reaches, and `authorization` the
/// VAPID header every submission carries.
pub async fn run(
    plan: &WorkerPlan,
    load: &LoadPlan,
    targets: Vec<Target>,
    authorization: AsciiMetadataValue,
    delivered: Arc<AtomicU64>,
    closing: watch::Sender<bool>,
    live: Vec<LiveDevice>,
) -> anyhow::Result<LoadReport> {
    let first_endpoint = &targets.first().context("no devices to send to")?.endpoint;
    let webpush = plan.devices_over == DevicesOver::Webpush;
    // A standard-only sender knows a subscription by its endpoint URL alone.
    let endpoint_origin = push_sdk::vapid::audience_for(first_endpoint);
    let url = match (webpush, &plan.submit_url) {
        (true, _) => endpoint_origin.context("endpoint origin")?,
        (false, Some(url)) => url.clone(),
        (false, None) => plan.server_url.clone(),
    };
    let url = url.as_str();
    let ids = match webpush {
        true => MessageIds::Location,
        false => MessageIds::ResponseBody,
    };
    let senders = match load.submit_over {
        SubmitOver::Grpc => {
            let mut senders = Vec::with_capacity(load.sender_channels);
            for _ in 0..load.sender_channels.max(1) {
                let channel = client::connect(url, plan.source_ip).await?;
                senders.push(SenderClient::new(channel));
            }
            Senders::Grpc(senders)
        }
        over => {
            // HTTP/1.1 has one request in flight per connection: one per window slot.
            let connections = match over {
                SubmitOver::Http1 => load.window,
                _ => load.sender_channels,
            };
            let value = authorization.to_str().context("authorization value")?;
            let source = plan.source_ip;
            let http = HttpSenders::connect(over, url, source, value, &targets, connections, ids);
            Senders::Http(http.await?)
        }
    };
    let submit_plan = SubmitPlan {
        targets: Arc::new(targets),
        senders,
        authorization,
        ttl_seconds: load.ttl_seconds,
        rate: load.rate,
        window: load.window,
        duration: Duration::from_millis(load.duration_ms),
    };
    let go = Instant::now();
    let submissions = submit::run(submit_plan, go).await;

    let expected = submissions.accepted.len() as u64;
    let grace_ends = Instant::now() + Duration::from_millis(load.grace_ms);
    while delivered.load(Ordering::Relaxed) < expected && Instant::now() < grace_ends {
        tokio::time::sleep(ARRIVAL_POLL).await;
    }
    let _ = closing.send(true);
    let mut logs = Vec::with_capacity(live.len());
    for device in live {
        logs.push(device.finish().await);
    }
    Ok(join(go, submissions, logs))
}
