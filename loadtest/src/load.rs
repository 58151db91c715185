//! A worker's throughput run: submit to its own devices, wait for what was accepted to
//! arrive, then join submissions and deliveries by message id.
//!
//! The join happens after the run because a delivery can reach the device before the
//! `SubmitMessage` (or `201 Created`) answer reaches the sender (the server offers to the live
//! stream first and answers after the commit), so neither side can look the other up when it
//! happens.
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use push_proto::v1::sender_client::SenderClient;
use tokio::sync::watch;

use crate::client;
use crate::device::{DeviceLog, LiveDevice};
use crate::protocol::{LoadPlan, LoadReport, SubmitOver, WorkerPlan};
use crate::submit::{self, Senders, Submissions, SubmitPlan, Target};
use crate::submit_http::HttpSenders;

/// How often the grace period checks whether everything arrived.
const ARRIVAL_POLL: Duration = Duration::from_millis(5);
/// Stream failure messages kept per worker.
const FAILURE_SAMPLES: usize = 5;

pub async fn run(
    plan: &WorkerPlan,
    load: &LoadPlan,
    targets: Vec<Target>,
    delivered: Arc<AtomicU64>,
    closing: watch::Sender<bool>,
    live: Vec<LiveDevice>,
) -> anyhow::Result<LoadReport> {
    let first_endpoint = &targets.first().context("no devices to send to")?.endpoint;
    let authorization = client::vapid_authorization(first_endpoint)?;
    let url = plan.submit_url.as_deref().unwrap_or(&plan.server_url);
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
            let http =
                HttpSenders::connect(over, url, plan.source_ip, value, &targets, connections);
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

/// Matches every delivery to its submission.
fn join(go: Instant, submissions: Submissions, logs: Vec<DeviceLog>) -> LoadReport {
    let mut report = LoadReport {
        accepted: submissions.accepted.len() as u64,
        submit_errors: submissions.errors,
        accept: submissions.accept,
        submit_elapsed_ms: since_ms(go, submissions.last_answer),
        ..LoadReport::default()
    };
    // message id → (submission start, delivered yet?)
    let mut pending: HashMap<String, (Instant, bool)> = submissions
        .accepted
        .into_iter()
        .map(|(id, started)| (id, (started, false)))
        .collect();
    let mut last_delivery = None;
    for log in logs {
        if let Some(failure) = log.failure {
            report.stream_failures += 1;
            if report.failure_samples.len() < FAILURE_SAMPLES {
                report.failure_samples.push(failure);
            }
        }
        for (id, arrived) in log.deliveries {
            match pending.get_mut(&id) {
                Some((started, seen @ false)) => {
                    *seen = true;
                    report.delivered += 1;
                    let micros = arrived.saturating_duration_since(*started).as_micros();
                    report.end_to_end.record(micros as u64);
                    last_delivery = last_delivery.max(Some(arrived));
                }
                Some((_, true)) => report.duplicates += 1,
                None => report.unknown += 1,
            }
        }
    }
    report.missing = pending.values().filter(|(_, seen)| !seen).count() as u64;
    report.deliver_elapsed_ms = since_ms(go, last_delivery);
    report
}

fn since_ms(go: Instant, at: Option<Instant>) -> f64 {
    at.map_or(0.0, |at| {
        at.saturating_duration_since(go).as_secs_f64() * 1000.0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_join_counts_every_kind_of_delivery() {
        let go = Instant::now();
        let at = |ms| go + Duration::from_millis(ms);
        let submissions = Submissions {
            accepted: vec![
                ("a".into(), at(0)),
                ("b".into(), at(1)),
                ("c".into(), at(2)),
            ],
            last_answer: Some(at(3)),
            ..Submissions::default()
        };
        let logs = vec![
            DeviceLog {
                deliveries: vec![("a".into(), at(2)), ("a".into(), at(9))],
                failure: None,
            },
            DeviceLog {
                deliveries: vec![("b".into(), at(5)), ("z".into(), at(6))],
                failure: Some("GoAway".into()),
            },
        ];
        let report = join(go, submissions, logs);
        assert_eq!(
            (report.accepted, report.delivered, report.duplicates),
            (3, 2, 1)
        );
        assert_eq!(
            (report.unknown, report.missing, report.stream_failures),
            (1, 1, 1)
        );
        assert_eq!(report.end_to_end.max_micros(), 4_000);
        assert_eq!(report.deliver_elapsed_ms, 5.0);
    }
}
