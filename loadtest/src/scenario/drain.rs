//! `loadtest drain`: queue K messages for a device that is offline, then connect it as a
//! returning phone would (new TCP connection, `Listen`, `Hello`) and time until the K-th
//! message has arrived. Each round uses a fresh device, so no ack from an earlier round can
//! still be in the queue. With `--devices-over webpush` the standard-only version runs
//! instead ([`crate::webpush::drain`]).
use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use push_proto::v1::device_client::DeviceClient;
use push_proto::v1::sender_client::SenderClient;
use push_proto::v1::server_frame::Frame;
use push_proto::v1::{Outcome, SubmitMessageRequest, Urgency};
use tokio::task::JoinSet;
use tonic::metadata::AsciiMetadataValue;
use tonic::transport::Channel;

use crate::cli::{DevicesOver, DrainArgs};
use crate::client::{self, SubscribedDevice, authorized, vapid_authorization};
use crate::device;
use crate::server::ServerUnderTest;
use crate::summary::{Summary, median};

/// Submissions in flight while filling the queue.
const QUEUE_CONCURRENCY: usize = 64;

/// Milliseconds from "start connecting" to each milestone of one round.
#[derive(Debug, Default)]
struct Round {
    connected: f64,
    first_message: f64,
    last_message: f64,
    backlog_done: f64,
}

pub async fn run(args: DrainArgs) -> anyhow::Result<()> {
    if args.target.devices_over == DevicesOver::Webpush {
        return crate::webpush::drain::run(args).await;
    }
    let server = ServerUnderTest::resolve(&args.target).await?;
    let source = args.target.first_source_ip.into();
    let setup = client::connect(&server.url, source).await?;
    let sender = SenderClient::new(client::connect(&server.url, source).await?);
    let mut authorization = None;
    let mut rounds = Vec::with_capacity(args.rounds);
    for round in 0..args.rounds {
        let device =
            client::register_and_subscribe(DeviceClient::new(setup.clone()), args.payload).await?;
        let authorization = match &authorization {
            Some(value) => value,
            None => authorization.insert(vapid_authorization(&device.endpoint)?),
        };
        fill_queue(&sender, authorization, &device, args.messages).await?;
        let drain_timeout = Duration::from_secs(args.drain_timeout);
        let timed = tokio::time::timeout(
            drain_timeout,
            drain(&server.url, source, &device, args.messages),
        )
        .await
        .with_context(|| {
            format!(
                "round {round}: {} messages not drained within {drain_timeout:?}",
                args.messages
            )
        })??;
        eprintln!(
            "loadtest: round {round}: K-th message after {:.2} ms (connect {:.2} ms)",
            timed.last_message, timed.connected
        );
        rounds.push(timed);
    }

    let mut summary = Summary::new("drain");
    summary.add("server", server.url.clone());
    summary.add("messages", args.messages);
    summary.add("rounds", args.rounds);
    summary.add("payload_plaintext_bytes", args.payload);
    let pick = |field: fn(&Round) -> f64| rounds.iter().map(field).collect::<Vec<f64>>();
    for (name, values) in [
        ("connect_ms", pick(|r| r.connected)),
        ("first_message_ms", pick(|r| r.first_message)),
        ("last_message_ms", pick(|r| r.last_message)),
        ("backlog_done_ms", pick(|r| r.backlog_done)),
    ] {
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = values.iter().copied().fold(0.0, f64::max);
        summary.add_f64(format!("{name}_min"), min, 2);
        summary.add_f64(format!("{name}_median"), median(&values), 2);
        summary.add_f64(format!("{name}_max"), max, 2);
    }
    summary.print(args.target.json);
    Ok(())
}

/// Submits `count` messages while the device is offline; each must come back STORED.
async fn fill_queue(
    sender: &SenderClient<Channel>,
    authorization: &AsciiMetadataValue,
    device: &SubscribedDevice,
    count: usize,
) -> anyhow::Result<()> {
    let message = Arc::new(SubmitMessageRequest {
        endpoint: device.endpoint.clone(),
        payload: device.payload.clone(),
        ttl_seconds: 3600,
        urgency: Urgency::Normal as i32,
        topic: String::new(),
        receipt: false,
    });
    let mut calls = JoinSet::new();
    for sent in 0..count {
        if sent >= QUEUE_CONCURRENCY {
            check_stored(calls.join_next().await)?;
        }
        let (mut sender, message) = (sender.clone(), message.clone());
        let request = authorized(SubmitMessageRequest::clone(&message), authorization);
        calls.spawn(async move { sender.submit_message(request).await });
    }
    while let Some(answer) = calls.join_next().await {
        check_stored(Some(answer))?;
    }
    Ok(())
}

type Answer = Result<tonic::Response<push_proto::v1::SubmitMessageResponse>, tonic::Status>;

fn check_stored(answer: Option<Result<Answer, tokio::task::JoinError>>) -> anyhow::Result<()> {
    let reply = answer
        .context("no submission to join")?
        .context("submission task failed")?
        .context("SubmitMessage while filling the queue")?
        .into_inner();
    if reply.outcome != Outcome::Stored as i32 {
        bail!(
            "message {} for an offline device came back with outcome {}, not STORED",
            reply.message_id,
            reply.outcome
        );
    }
    Ok(())
}

/// Connects the device and reads until all `expected` messages and `BacklogDone` arrived.
async fn drain(
    server_url: &str,
    source: std::net::IpAddr,
    device: &SubscribedDevice,
    expected: usize,
) -> anyhow::Result<Round> {
    let start = Instant::now();
    let ms = |at: Instant| at.duration_since(start).as_secs_f64() * 1000.0;
    let channel = client::connect(server_url, source).await?;
    let mut round = Round {
        connected: ms(Instant::now()),
        ..Round::default()
    };
    let mut stream = device::listen(channel, &device.device).await?;
    let mut seen = HashSet::with_capacity(expected);
    loop {
        let frame = stream.frames.message().await.context("Listen")?;
        let now = Instant::now();
        match frame.and_then(|frame| frame.frame) {
            Some(Frame::Message(message)) => {
                if seen.is_empty() {
                    round.first_message = ms(now);
                }
                if !seen.insert(message.message_id.clone()) {
                    bail!("message {} was delivered twice", message.message_id);
                }
                if seen.len() == expected {
                    round.last_message = ms(now);
                }
                let _ = stream.acks.send(message.message_id);
            }
            Some(Frame::BacklogDone(done)) => {
                round.backlog_done = ms(now);
                if seen.len() != expected || done.sent as usize != expected {
                    bail!(
                        "BacklogDone after {} of {expected} queued messages (it says sent={})",
                        seen.len(),
                        done.sent
                    );
                }
                return Ok(round);
            }
            Some(other) => bail!("unexpected frame while draining: {other:?}"),
            None => bail!(
                "the stream ended after {} of {expected} messages",
                seen.len()
            ),
        }
    }
}
