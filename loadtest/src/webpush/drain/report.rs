//! The figures of a standard-only drain: totals over the rounds first (what arrived, what
//! did not, what came twice), then the times of the rounds in which everything arrived.
use std::collections::BTreeMap;

use serde_json::Value;

use super::Round;
use crate::cli::DrainArgs;
use crate::server::ServerUnderTest;
use crate::summary::{Summary, median};

pub(super) fn summary(server: &ServerUnderTest, args: &DrainArgs, rounds: &[Round]) -> Summary {
    let mut summary = Summary::new("drain");
    summary.add("server", server.url.clone());
    summary.add("devices_over", "webpush");
    summary.add("messages", args.messages);
    summary.add("rounds", args.rounds);
    summary.add("payload_plaintext_bytes", args.payload);
    let total = |count: fn(&Round) -> usize| rounds.iter().map(count).sum::<usize>();
    summary.add("posted", total(|round| round.posted));
    let mut submit_errors = BTreeMap::new();
    for (kind, count) in rounds.iter().flat_map(|round| &round.submit_errors) {
        *submit_errors.entry(kind.clone()).or_insert(0) += count;
    }
    summary.add(
        "submit_errors",
        serde_json::to_value(submit_errors).unwrap_or_default(),
    );
    summary.add("arrived", total(|round| round.arrived));
    summary.add("missing", total(|round| round.posted - round.arrived));
    summary.add("duplicates", total(|round| round.duplicates));
    summary.add("unknown_ids", total(|round| round.unknown));
    summary.add(
        "redelivered_after_reconnect",
        total(|round| round.redelivered),
    );
    summary.add(
        "arrived_on_recheck",
        total(|round| round.arrived_on_recheck),
    );
    summary.add(
        "uaid_changed_rounds",
        total(|round| usize::from(round.uaid_changed)),
    );
    summary.add("hello_retries", total(|round| round.hello_retries as usize));
    summary.add("message_join", joined(rounds));
    let complete: Vec<&Round> = rounds
        .iter()
        .filter(|round| round.last_message_ms.is_some())
        .collect();
    summary.add("rounds_complete", complete.len());
    let by_round: Vec<Value> = rounds
        .iter()
        .map(|round| {
            let rounded = |ms: f64| Value::from((ms * 100.0).round() / 100.0);
            round.last_message_ms.map_or(Value::Null, rounded)
        })
        .collect();
    summary.add("last_message_ms_by_round", by_round);
    let pick = |field: fn(&Round) -> Option<f64>| -> Vec<f64> {
        complete.iter().filter_map(|round| field(round)).collect()
    };
    for (name, values) in [
        ("connect_ms", pick(|round| Some(round.connected_ms))),
        ("first_message_ms", pick(|round| round.first_message_ms)),
        ("last_message_ms", pick(|round| round.last_message_ms)),
    ] {
        add_spread(&mut summary, name, &values);
    }
    summary
}

/// `<name>_min`, `_median` and `_max`; null when no round completed.
fn add_spread(summary: &mut Summary, name: &str, values: &[f64]) {
    if values.is_empty() {
        for end in ["min", "median", "max"] {
            summary.add(format!("{name}_{end}"), Value::Null);
        }
        return;
    }
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(0.0, f64::max);
    summary.add_f64(format!("{name}_min"), min, 2);
    summary.add_f64(format!("{name}_median"), median(values), 2);
    summary.add_f64(format!("{name}_max"), max, 2);
}

/// How the rounds matched versions to `Location` ids: one way, or `mixed`.
fn joined(rounds: &[Round]) -> &'static str {
    let mut ways = rounds
        .iter()
        .map(|round| round.join)
        .filter(|way| *way != "none");
    match ways.next() {
        None => "none",
        Some(first) if ways.all(|way| way == first) => first,
        Some(_) => "mixed",
    }
}
