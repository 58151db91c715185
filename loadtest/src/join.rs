//! After a run, every delivery is matched to the submission it came from: that says what
//! arrived, what arrived twice, what never arrived, and how long each took.
//!
//! By message id when the sender's answer names what the device later sees: pushd's gRPC
//! reply and `201` body carry the id, and autopush's `Location` ends with the notification's
//! `version`. pushd's `Location` ends with a sealed handle instead, so a standard-only run
//! against pushd matches nothing by id; then each device's deliveries are paired with the
//! submissions to it in the order they were started. Counts are exact either way (a version
//! seen twice is a duplicate); latencies by order are exact only while the server keeps
//! order, and two messages in flight to one device at once may be swapped.
use std::collections::{HashMap, HashSet};
use std::time::Instant;

use crate::device::DeviceLog;
use crate::protocol::{JoinBy, LoadReport};
use crate::submit::{Accepted, Submissions};

/// Stream failure messages kept per worker.
const FAILURE_SAMPLES: usize = 5;

/// Matches every delivery to its submission; `logs[i]` is what target `i`'s device saw.
pub fn join(go: Instant, submissions: Submissions, logs: Vec<DeviceLog>) -> LoadReport {
    let mut report = LoadReport {
        accepted: submissions.accepted.len() as u64,
        submit_errors: submissions.errors,
        accept: submissions.accept,
        submit_elapsed_ms: since_ms(go, submissions.last_answer),
        ..LoadReport::default()
    };
    for failure in logs.iter().filter_map(|log| log.failure.as_ref()) {
        report.stream_failures += 1;
        if report.failure_samples.len() < FAILURE_SAMPLES {
            report.failure_samples.push(failure.clone());
        }
    }
    let accepted = &submissions.accepted;
    let by_id: HashMap<&str, usize> = accepted
        .iter()
        .enumerate()
        .map(|(index, message)| (message.id.as_str(), index))
        .collect();
    let delivered_ids = || logs.iter().flat_map(|log| &log.deliveries);
    let matched = if delivered_ids().any(|(id, _)| by_id.contains_key(id.as_str())) {
        report.latency_join = Some(JoinBy::MessageId);
        by_message_id(accepted.len(), &by_id, &logs)
    } else {
        if delivered_ids().next().is_some() {
            report.latency_join = Some(JoinBy::DeviceOrder);
        }
        by_device_order(accepted, &logs)
    };
    report.duplicates = matched.duplicates;
    report.unknown = matched.unknown;
    let mut last_delivery = None;
    for (message, arrived) in accepted.iter().zip(matched.arrived) {
        let Some(arrived) = arrived else {
            report.missing += 1;
            continue;
        };
        report.delivered += 1;
        let micros = arrived
            .saturating_duration_since(message.started)
            .as_micros();
        report.end_to_end.record(micros as u64);
        last_delivery = last_delivery.max(Some(arrived));
    }
    report.deliver_elapsed_ms = since_ms(go, last_delivery);
    report
}

/// The first arrival of each accepted message, and what could not be matched.
struct Matched {
    arrived: Vec<Option<Instant>>,
    duplicates: u64,
    unknown: u64,
}

impl Matched {
    fn new(accepted: usize) -> Self {
        Matched {
            arrived: vec![None; accepted],
            duplicates: 0,
            unknown: 0,
        }
    }

    fn arrive(&mut self, index: usize, at: Instant) {
        match &mut self.arrived[index] {
            Some(_) => self.duplicates += 1,
            first @ None => *first = Some(at),
        }
    }
}

fn by_message_id(accepted: usize, by_id: &HashMap<&str, usize>, logs: &[DeviceLog]) -> Matched {
    let mut matched = Matched::new(accepted);
    for (id, at) in logs.iter().flat_map(|log| &log.deliveries) {
        match by_id.get(id.as_str()) {
            Some(&index) => matched.arrive(index, *at),
            None => matched.unknown += 1,
        }
    }
    matched
}

/// Each device's n-th new version is the n-th message submitted to it.
fn by_device_order(accepted: &[Accepted], logs: &[DeviceLog]) -> Matched {
    let mut in_order: Vec<usize> = (0..accepted.len()).collect();
    in_order.sort_by_key(|&index| accepted[index].started);
    let mut queues = vec![Vec::new(); logs.len()];
    for index in in_order {
        if let Some(queue) = queues.get_mut(accepted[index].target) {
            queue.push(index);
        }
    }
    let mut matched = Matched::new(accepted.len());
    for (log, queue) in logs.iter().zip(&queues) {
        let mut versions = HashSet::with_capacity(log.deliveries.len());
        let mut next = queue.iter();
        for (version, at) in &log.deliveries {
            if !versions.insert(version.as_str()) {
                matched.duplicates += 1;
                continue;
            }
            match next.next() {
                Some(&index) => matched.arrive(index, *at),
                None => matched.unknown += 1,
            }
        }
    }
    matched
}

fn since_ms(go: Instant, at: Option<Instant>) -> f64 {
    at.map_or(0.0, |at| {
        at.saturating_duration_since(go).as_secs_f64() * 1000.0
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn sent(id: &str, target: usize, started: Instant) -> Accepted {
        let id = id.to_owned();
        Accepted {
            id,
            target,
            started,
        }
    }

    fn seen(deliveries: &[(&str, Instant)], failure: Option<&str>) -> DeviceLog {
        DeviceLog {
            deliveries: deliveries
                .iter()
                .map(|(id, at)| ((*id).to_owned(), *at))
                .collect(),
            failure: failure.map(str::to_owned),
        }
    }

    #[test]
    fn by_id_counts_every_kind_of_delivery() {
        let go = Instant::now();
        let at = |ms| go + Duration::from_millis(ms);
        let submissions = Submissions {
            accepted: vec![
                sent("a", 0, at(0)),
                sent("b", 1, at(1)),
                sent("c", 1, at(2)),
            ],
            last_answer: Some(at(3)),
            ..Submissions::default()
        };
        let logs = vec![
            seen(&[("a", at(2)), ("a", at(9))], None),
            seen(&[("b", at(5)), ("z", at(6))], Some("GoAway")),
        ];
        let report = join(go, submissions, logs);
        assert_eq!(report.latency_join, Some(JoinBy::MessageId));
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

    #[test]
    fn without_matching_ids_each_device_is_joined_in_order() {
        let go = Instant::now();
        let at = |ms| go + Duration::from_millis(ms);
        // Location handles that are not the versions the devices see.
        let submissions = Submissions {
            accepted: vec![
                sent("h2", 0, at(2)),
                sent("h1", 0, at(1)),
                sent("h3", 1, at(3)),
                sent("h4", 1, at(4)),
            ],
            ..Submissions::default()
        };
        let logs = vec![
            // The first version pairs with the earliest submission (h1), the repeat is a
            // duplicate, and a third new version is one nobody submitted.
            seen(
                &[
                    ("v1", at(11)),
                    ("v2", at(12)),
                    ("v1", at(13)),
                    ("v9", at(14)),
                ],
                None,
            ),
            seen(&[("v3", at(23))], None),
        ];
        let report = join(go, submissions, logs);
        assert_eq!(report.latency_join, Some(JoinBy::DeviceOrder));
        assert_eq!((report.delivered, report.duplicates), (3, 1));
        assert_eq!((report.unknown, report.missing), (1, 1));
        assert_eq!(report.end_to_end.max_micros(), 20_000, "h3: 3 → 23 ms");
        assert_eq!(report.deliver_elapsed_ms, 23.0);
    }

    #[test]
    fn nothing_delivered_is_all_missing_and_no_join() {
        let go = Instant::now();
        let submissions = Submissions {
            accepted: vec![sent("a", 0, go)],
            ..Submissions::default()
        };
        let report = join(go, submissions, vec![seen(&[], None)]);
        assert_eq!(report.latency_join, None);
        assert_eq!((report.delivered, report.missing), (0, 1));
    }
}
