//! `loadtest drain --devices-over webpush`: a browser registers a channel and goes away, K
//! messages are POSTed to its endpoint, and it comes back (`hello` with its `uaid` and
//! `channelIDs`); the time until the K-th arrived is the figure. Each round uses a fresh
//! device.
//!
//! Nothing is assumed: after the K-th message the device keeps listening for a moment (a
//! second copy is a duplicate), goes away, and comes back once more, where anything it had
//! acked that arrives again is a redelivery. Every round is reported with what arrived.
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use anyhow::bail;

use super::SenderKey;
use super::socket::{PushService, PushSocket};
use super::tally::{Seen, Tally};
use crate::cli::DrainArgs;
use crate::server::{ServerUnderTest, websocket_url};

mod away;
mod report;

use away::{Away, go_away, post};

/// How long a device listens on after its last expected message, for duplicates.
const LINGER: Duration = Duration::from_secs(1);
/// How long the device listens when it comes back the second time, for redeliveries.
const RECHECK: Duration = Duration::from_secs(2);
/// A service may still be closing the device's previous connection when it comes back
/// (autoconnect then refuses the `hello`); a browser retries, and so does this.
const HELLO_ATTEMPTS: u32 = 5;
const HELLO_RETRY: Duration = Duration::from_millis(200);

/// One round as it happened; times in ms from the start of coming back.
#[derive(Debug, Default)]
struct Round {
    posted: usize,
    submit_errors: BTreeMap<String, u64>,
    arrived: usize,
    duplicates: usize,
    unknown: usize,
    redelivered: usize,
    arrived_on_recheck: usize,
    uaid_changed: bool,
    hello_retries: u32,
    join: &'static str,
    connected_ms: f64,
    first_message_ms: Option<f64>,
    /// `None` when not all posted messages arrived within the drain timeout.
    last_message_ms: Option<f64>,
}

pub async fn run(args: DrainArgs) -> anyhow::Result<()> {
    let server = ServerUnderTest::resolve(&args.target).await?;
    let source = IpAddr::V4(args.target.first_source_ip);
    let service = PushService::resolve(&websocket_url(&server.url), source).await?;
    let sender = SenderKey::generate()?;
    let drain_timeout = Duration::from_secs(args.drain_timeout);
    let mut rounds = Vec::with_capacity(args.rounds);
    for round in 0..args.rounds {
        let away = go_away(&service, source, &sender, args.payload).await?;
        let authorization = sender.authorization(&away.target.endpoint)?;
        let (posted, submit_errors) =
            post(&away.target, authorization.to_str()?, source, args.messages).await?;
        let mut timed = come_back(&service, source, &away, &posted, drain_timeout).await?;
        timed.submit_errors = submit_errors;
        eprintln!(
            "loadtest: round {round}: {} of {} posted messages arrived, last after {} (connect {:.2} ms)",
            timed.arrived,
            timed.posted,
            timed
                .last_message_ms
                .map_or("never".to_owned(), |ms| format!("{ms:.2} ms")),
            timed.connected_ms
        );
        rounds.push(timed);
    }
    let missing: usize = rounds.iter().map(|r| r.posted - r.arrived).sum();
    report::summary(&server, &args, &rounds).print(args.target.json);
    if missing > 0 {
        bail!("{missing} accepted messages never arrived: see above");
    }
    Ok(())
}

/// The device comes back and reads until every posted message arrived (or the timeout),
/// lingers for duplicates, goes away, and comes back once more for redeliveries.
async fn come_back(
    service: &PushService,
    source: IpAddr,
    away: &Away,
    posted: &[String],
    drain_timeout: Duration,
) -> anyhow::Result<Round> {
    let start = Instant::now();
    let ms = |at: Instant| at.duration_since(start).as_secs_f64() * 1000.0;
    let (mut socket, uaid, retries) = return_to(service, source, away).await?;
    let mut round = Round {
        posted: posted.len(),
        uaid_changed: uaid != away.uaid,
        hello_retries: retries,
        connected_ms: ms(Instant::now()),
        ..Round::default()
    };
    let mut tally = Tally::new(posted);
    let deadline = tokio::time::Instant::from_std(start + drain_timeout);
    let mut linger_until = None;
    loop {
        let until = linger_until.unwrap_or(deadline);
        let Ok(next) = tokio::time::timeout_at(until, socket.next()).await else {
            break;
        };
        let Some(notification) = next? else {
            break;
        };
        let now = Instant::now();
        if tally.see(&notification.version) == Seen::New {
            round.first_message_ms.get_or_insert(ms(now));
            if tally.complete() {
                round.last_message_ms = Some(ms(now));
                linger_until = Some((now + LINGER).into());
            }
        }
        socket.ack(&notification).await?;
    }
    socket.close().await;

    let (mut socket, _, retries) = return_to(service, source, away).await?;
    round.hello_retries += retries;
    let recheck_ends = tokio::time::Instant::now() + RECHECK;
    while let Ok(next) = tokio::time::timeout_at(recheck_ends, socket.next()).await {
        let Some(notification) = next? else {
            break;
        };
        if tally.was_seen(&notification.version) {
            round.redelivered += 1;
        } else if tally.see(&notification.version) == Seen::New {
            round.arrived_on_recheck += 1;
        }
        socket.ack(&notification).await?;
    }
    socket.close().await;
    round.arrived = tally.arrived;
    round.duplicates = tally.duplicates;
    round.unknown = tally.unknown;
    round.join = tally.join();
    Ok(round)
}

/// A new connection and a returning `hello`: the socket, the `uaid` answered, and how many
/// attempts failed first.
async fn return_to(
    service: &PushService,
    source: IpAddr,
    away: &Away,
) -> anyhow::Result<(PushSocket, String, u32)> {
    let returning = Some((away.uaid.as_str(), away.channel_ids.as_slice()));
    let mut failed = 0;
    loop {
        let mut socket = service.open(source).await?;
        match socket.hello(returning).await {
            Ok(uaid) => return Ok((socket, uaid, failed)),
            Err(error) if failed + 1 < HELLO_ATTEMPTS => {
                eprintln!("loadtest: returning hello failed ({error:#}); retrying");
                failed += 1;
                tokio::time::sleep(HELLO_RETRY).await;
            }
            Err(error) => return Err(error.context("the returning hello")),
        }
    }
}
