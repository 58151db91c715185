//! `loadtest throughput`: N live devices over W workers, submissions at a fixed or maximal
//! rate with VAPID on. Reports delivered msgs/s, end-to-end latency and server CPU per
//! message; server CPU is read only around the measured window, so setup is not charged.
use std::time::Duration;

use anyhow::bail;

use super::{SETUP_TIMEOUT, slowest};
use crate::cli::{DevicesOver, Rate, ThroughputArgs};
use crate::fleet::{self, Fleet};
use crate::procfs::{CpuUsage, total_cpu_seconds};
use crate::protocol::{Command, Event, JoinBy, LoadPlan, LoadReport, SubmitOver};
use crate::server::ServerUnderTest;
use crate::summary::Summary;

pub async fn run(args: ThroughputArgs) -> anyhow::Result<()> {
    if !(1..=push_sdk::crypto::MAX_PLAINTEXT_LEN).contains(&args.payload) {
        bail!(
            "--payload must be 1..={} bytes",
            push_sdk::crypto::MAX_PLAINTEXT_LEN
        );
    }
    let submit_over = args.submit_over();
    if args.target.devices_over == DevicesOver::Webpush {
        // Standard-only devices have nothing but an endpoint URL, on its own origin.
        if submit_over == SubmitOver::Grpc || args.submit_to.is_some() {
            bail!(
                "webpush devices are sent to over RFC 8030 HTTP at their endpoint: use --submit-over http1|http2, without --submit-to"
            );
        }
    }
    let mut server = ServerUnderTest::resolve(&args.target).await?;
    let workers = args.workers.clamp(1, args.devices.max(1));
    let load = LoadPlan {
        rate: match args.rate {
            Rate::Max => None,
            Rate::PerSecond(total) => Some(total / workers as f64),
        },
        window: args.window,
        duration_ms: args.duration * 1000,
        payload_bytes: args.payload,
        sender_channels: args.sender_channels,
        ttl_seconds: args.ttl,
        grace_ms: args.grace * 1000,
        submit_over,
    };
    let mut plans = fleet::plan(&server.url, &args.target, args.devices, workers, Some(load))?;
    for plan in &mut plans {
        plan.submit_url.clone_from(&args.submit_to);
    }
    let mut fleet = Fleet::start(plans).await?;
    fleet.next_events(SETUP_TIMEOUT).await?;
    fleet.tell(Command::Connect).await?;
    let connected = fleet.next_events(SETUP_TIMEOUT).await?;
    server.check_alive()?;
    eprintln!(
        "loadtest: {} devices live on {} workers ({} ms); running for {} s",
        args.devices,
        workers,
        slowest(&connected),
        args.duration
    );

    // The client shares the machine with the server; its CPU says how much was left over.
    let worker_pids = fleet.pids();
    let client_before = total_cpu_seconds(&worker_pids);
    let before = server.sample()?;
    fleet.tell(Command::Go).await?;
    let run_timeout = Duration::from_secs(args.duration + args.grace + 120);
    let events = fleet.next_events(run_timeout).await;
    let after = server.sample()?;
    let client_cpu = total_cpu_seconds(&worker_pids) - client_before;
    server.check_alive()?;
    let mut report = LoadReport::default();
    for event in events? {
        if let Event::Report(worker_report) = event {
            report.merge(&worker_report);
        }
    }
    fleet.stop().await?;

    let mut summary = Summary::new("throughput");
    summary.add("server", server.url.clone());
    summary.add("server_pids", server.pids.clone());
    if let Some(submit_to) = &args.submit_to {
        summary.add("submitted_to", submit_to.clone());
    }
    summary.add("devices_over", args.target.devices_over.name());
    summary.add("submit_over", submit_over.name());
    summary.add("devices", args.devices);
    summary.add("workers", workers);
    summary.add(
        "rate_target",
        match args.rate {
            Rate::Max => format!("max (window {} per worker)", args.window),
            Rate::PerSecond(rate) => format!("{rate} msgs/s"),
        },
    );
    summary.add("duration_s", args.duration);
    summary.add("payload_plaintext_bytes", args.payload);
    summary.add("ttl_seconds", args.ttl);
    describe(&mut summary, &report);
    if let (Some(before), Some(after)) = (before, after) {
        let usage = CpuUsage::between(&before, &after);
        let per_message = usage.cpu_seconds * 1e6 / report.delivered.max(1) as f64;
        summary.add_f64("server_cpu_us_per_msg", per_message, 1);
        summary.add_cpu("server", &usage);
        summary.add_f64("server_rss_mib", after.rss_kib as f64 / 1024.0, 1);
    }
    summary.add_f64("client_cpu_seconds", client_cpu, 2);
    summary.print(args.target.json);
    if report.missing > 0 || report.stream_failures > 0 {
        bail!(
            "{} accepted messages never arrived and {} streams failed: see above",
            report.missing,
            report.stream_failures
        );
    }
    Ok(())
}

fn describe(summary: &mut Summary, report: &LoadReport) {
    let per_second = |count: u64, millis: f64| {
        if millis > 0.0 {
            count as f64 * 1000.0 / millis
        } else {
            0.0
        }
    };
    summary.add("accepted", report.accepted);
    summary.add_f64(
        "accepted_per_s",
        per_second(report.accepted, report.submit_elapsed_ms),
        0,
    );
    summary.add("delivered", report.delivered);
    summary.add_f64(
        "delivered_per_s",
        per_second(report.delivered, report.deliver_elapsed_ms),
        0,
    );
    summary.add("latency_join", JoinBy::name(report.latency_join));
    summary.add("missing", report.missing);
    summary.add("duplicates", report.duplicates);
    summary.add("unknown_ids", report.unknown);
    summary.add(
        "submit_errors",
        serde_json::to_value(&report.submit_errors).unwrap_or_default(),
    );
    summary.add("stream_failures", report.stream_failures);
    if !report.failure_samples.is_empty() {
        summary.add("stream_failure_samples", report.failure_samples.clone());
    }
    summary.add_latency("end_to_end", &report.end_to_end);
    summary.add_f64(
        "end_to_end_mean_ms",
        report.end_to_end.mean_micros() / 1000.0,
        3,
    );
    summary.add_latency("accept", &report.accept);
}
