//! The figures a scenario prints: an ordered list of named values, shown as aligned text for
//! a person or as one JSON object for a script, from the same list so the two never differ.
use serde_json::{Map, Value};

use crate::histogram::Histogram;
use crate::procfs::CpuUsage;

/// Server threads listed in a CPU breakdown.
const TOP_THREADS: usize = 6;

pub struct Summary {
    scenario: &'static str,
    fields: Vec<(String, Value)>,
}

impl Summary {
    pub fn new(scenario: &'static str) -> Self {
        Summary {
            scenario,
            fields: vec![("scenario".into(), scenario.into())],
        }
    }

    pub fn add(&mut self, name: impl Into<String>, value: impl Into<Value>) {
        self.fields.push((name.into(), value.into()));
    }

    /// A float rounded to `digits` decimals, so text and JSON stay readable.
    pub fn add_f64(&mut self, name: impl Into<String>, value: f64, digits: i32) {
        let scale = 10f64.powi(digits);
        self.add(name, (value * scale).round() / scale);
    }

    /// p50/p99/p99.9/max of a latency histogram, in milliseconds.
    pub fn add_latency(&mut self, prefix: &str, latency: &Histogram) {
        for (label, q) in [("p50", 0.5), ("p99", 0.99), ("p999", 0.999)] {
            let millis = latency.quantile_micros(q) as f64 / 1000.0;
            self.add_f64(format!("{prefix}_{label}_ms"), millis, 3);
        }
        self.add_f64(
            format!("{prefix}_max_ms"),
            latency.max_micros() as f64 / 1000.0,
            3,
        );
    }

    /// Server CPU over a window, with the busiest threads (the cheap profile).
    pub fn add_cpu(&mut self, prefix: &str, usage: &CpuUsage) {
        self.add_f64(format!("{prefix}_cpu_seconds"), usage.cpu_seconds, 2);
        self.add_f64(format!("{prefix}_cores_busy"), usage.cores(), 2);
        let threads: Map<String, Value> = usage
            .threads
            .iter()
            .take(TOP_THREADS)
            .map(|(name, seconds)| (name.clone(), ((seconds * 100.0).round() / 100.0).into()))
            .collect();
        self.add(format!("{prefix}_cpu_seconds_by_thread"), threads);
    }

    pub fn print(&self, json: bool) {
        if json {
            let object: Map<String, Value> = self.fields.iter().cloned().collect();
            println!("{}", Value::Object(object));
            return;
        }
        println!("== {} ==", self.scenario);
        for (name, value) in self.fields.iter().skip(1) {
            let shown = match value {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            println!("  {name:<32} {shown}");
        }
    }
}

/// Median of a non-empty slice (the lower middle for an even count); 0 when empty.
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted
        .get(sorted.len().saturating_sub(1) / 2)
        .copied()
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_even_and_empty() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.0);
        assert_eq!(median(&[]), 0.0);
    }
}
