//! A latency histogram in microseconds that workers can ship to the coordinator and the
//! coordinator can merge.
//!
//! Percentiles cannot be averaged across processes, so every worker sends its whole
//! distribution. Buckets are log-linear: exact below 128 µs, then 64 buckets per power of two,
//! which keeps every reported value within 1.6% of the truth in a few kilobytes of JSON.
use serde::{Deserialize, Serialize};

/// Values below this are counted exactly.
const LINEAR_LIMIT: u64 = 128;
/// Sub-buckets per power of two above [`LINEAR_LIMIT`] (6 bits of mantissa).
const SUB_BUCKET_BITS: u32 = 6;
const SUB_BUCKETS: u64 = 1 << SUB_BUCKET_BITS;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Histogram {
    /// Count per bucket, indexed by [`bucket_of`]; only as long as the largest value needs.
    buckets: Vec<u64>,
    count: u64,
    sum_micros: u64,
    min_micros: u64,
    max_micros: u64,
}

impl Histogram {
    pub fn record(&mut self, micros: u64) {
        let index = bucket_of(micros);
        if self.buckets.len() <= index {
            self.buckets.resize(index + 1, 0);
        }
        self.buckets[index] += 1;
        self.min_micros = if self.count == 0 {
            micros
        } else {
            self.min_micros.min(micros)
        };
        self.max_micros = self.max_micros.max(micros);
        self.count += 1;
        self.sum_micros = self.sum_micros.saturating_add(micros);
    }

    pub fn merge(&mut self, other: &Histogram) {
        if other.count == 0 {
            return;
        }
        if self.buckets.len() < other.buckets.len() {
            self.buckets.resize(other.buckets.len(), 0);
        }
        for (mine, theirs) in self.buckets.iter_mut().zip(&other.buckets) {
            *mine += theirs;
        }
        self.min_micros = if self.count == 0 {
            other.min_micros
        } else {
            self.min_micros.min(other.min_micros)
        };
        self.max_micros = self.max_micros.max(other.max_micros);
        self.count += other.count;
        self.sum_micros = self.sum_micros.saturating_add(other.sum_micros);
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn max_micros(&self) -> u64 {
        self.max_micros
    }

    pub fn mean_micros(&self) -> f64 {
        if self.count == 0 {
            return 0.0;
        }
        self.sum_micros as f64 / self.count as f64
    }

    /// The value at quantile `q` (0..=1): the upper edge of the bucket holding that rank,
    /// capped at the largest value seen, so a reported p99 is never optimistic.
    pub fn quantile_micros(&self, q: f64) -> u64 {
        if self.count == 0 {
            return 0;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.count as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (index, count) in self.buckets.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return upper_edge(index).min(self.max_micros);
            }
        }
        self.max_micros
    }
}

fn bucket_of(micros: u64) -> usize {
    if micros < LINEAR_LIMIT {
        return micros as usize;
    }
    let exponent = 63 - micros.leading_zeros();
    let mantissa = (micros >> (exponent - SUB_BUCKET_BITS)) & (SUB_BUCKETS - 1);
    let octave = u64::from(exponent - LINEAR_LIMIT.trailing_zeros());
    (LINEAR_LIMIT + octave * SUB_BUCKETS + mantissa) as usize
}

/// The largest value that lands in bucket `index`.
fn upper_edge(index: usize) -> u64 {
    let index = index as u64;
    if index < LINEAR_LIMIT {
        return index;
    }
    let octave = (index - LINEAR_LIMIT) / SUB_BUCKETS;
    let mantissa = (index - LINEAR_LIMIT) % SUB_BUCKETS;
    let exponent = octave as u32 + LINEAR_LIMIT.trailing_zeros();
    let width = 1u64 << (exponent - SUB_BUCKET_BITS);
    (1u64 << exponent) + mantissa * width + width - 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_every_value_in_order() {
        for micros in [0, 1, 127, 128, 129, 255, 256, 1000, 65_535, 1 << 40] {
            let index = bucket_of(micros);
            assert!(upper_edge(index) >= micros, "{micros}");
            if index > 0 {
                assert!(upper_edge(index - 1) < micros, "{micros}");
            }
        }
    }

    #[test]
    fn quantiles_are_within_two_percent_and_merge() {
        let mut low = Histogram::default();
        let mut high = Histogram::default();
        for micros in 1..=5_000 {
            low.record(micros);
        }
        for micros in 5_001..=10_000 {
            high.record(micros);
        }
        low.merge(&high);
        assert_eq!(low.count(), 10_000);
        for (q, exact) in [(0.5, 5_000.0), (0.99, 9_900.0), (0.999, 9_990.0)] {
            let got = low.quantile_micros(q) as f64;
            assert!((got - exact).abs() / exact < 0.02, "q{q}: {got} vs {exact}");
        }
        assert_eq!(low.quantile_micros(1.0), 10_000);
        assert_eq!(Histogram::default().quantile_micros(0.5), 0);
    }
}
