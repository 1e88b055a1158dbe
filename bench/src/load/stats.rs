//! Latency samples, outcomes, and the figures printed for a scenario.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

/// What one client recorded for one kind of request.
#[derive(Debug, Default, Clone)]
pub struct Recorder {
    /// Latencies in microseconds of the requests that did what they should.
    pub samples: Vec<u64>,
    /// Count per outcome (`ok`, `out_of_stock`, `http_500`, …).
    pub outcomes: BTreeMap<String, u64>,
    /// Requests that failed unexpectedly.
    pub errors: u64,
}

impl Recorder {
    pub fn ok(&mut self, elapsed: Duration) {
        self.samples
            .push(u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX));
        *self.outcomes.entry("ok".into()).or_default() += 1;
    }

    /// An answer that is correct but not a success (e.g. `out_of_stock` for a sold-out item):
    /// counted, its latency kept apart.
    pub fn refused(&mut self, outcome: &str) {
        *self.outcomes.entry(outcome.to_owned()).or_default() += 1;
    }

    pub fn error(&mut self, outcome: &str) {
        self.errors += 1;
        *self.outcomes.entry(outcome.to_owned()).or_default() += 1;
    }

    pub fn merge(&mut self, other: Recorder) {
        self.samples.extend(other.samples);
        for (k, v) in other.outcomes {
            *self.outcomes.entry(k).or_default() += v;
        }
        self.errors += other.errors;
    }

    pub fn summary(&self, name: &str, elapsed: Duration) -> Summary {
        Summary::of(name, &self.samples, elapsed, self.errors, &self.outcomes)
    }
}

/// The figures of one row of the table. Times are milliseconds.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub name: String,
    pub count: u64,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub median_ms: f64,
    pub errors: u64,
    pub outcomes: BTreeMap<String, u64>,
    /// What else the row needs saying (repetitions, items matched, …).
    pub note: String,
}

impl Summary {
    pub fn of(
        name: &str,
        samples: &[u64],
        elapsed: Duration,
        errors: u64,
        outcomes: &BTreeMap<String, u64>,
    ) -> Summary {
        let mut sorted = samples.to_vec();
        sorted.sort_unstable();
        let ms = |q: f64| percentile(&sorted, q) as f64 / 1000.0;
        let secs = elapsed.as_secs_f64();
        Summary {
            name: name.to_owned(),
            count: sorted.len() as u64,
            per_second: if secs > 0.0 {
                sorted.len() as f64 / secs
            } else {
                0.0
            },
            p50_ms: ms(0.50),
            p90_ms: ms(0.90),
            p99_ms: ms(0.99),
            max_ms: sorted.last().map_or(0.0, |m| *m as f64 / 1000.0),
            median_ms: ms(0.50),
            errors,
            outcomes: outcomes.clone(),
            note: String::new(),
        }
    }

    /// A row for a few timed repetitions of one operation.
    pub fn of_repetitions(name: &str, samples: &[Duration], note: String) -> Summary {
        let micros: Vec<u64> = samples
            .iter()
            .map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
            .collect();
        let total: Duration = samples.iter().sum();
        let mut s = Summary::of(name, &micros, total, 0, &BTreeMap::new());
        s.note = note;
        s
    }

    pub fn with_note(mut self, note: impl Into<String>) -> Summary {
        self.note = note.into();
        self
    }
}

/// The nearest-rank percentile of sorted samples (`q` in 0..=1); 0 for no samples.
pub fn percentile(sorted: &[u64], q: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let samples: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&samples, 0.50), 50);
        assert_eq!(percentile(&samples, 0.90), 90);
        assert_eq!(percentile(&samples, 0.99), 99);
        assert_eq!(percentile(&samples, 1.0), 100);
        assert_eq!(percentile(&[7], 0.99), 7);
        assert_eq!(percentile(&[], 0.5), 0);
    }

    #[test]
    fn recorders_merge_and_summarise() {
        let mut a = Recorder::default();
        a.ok(Duration::from_millis(2));
        a.refused("out_of_stock");
        let mut b = Recorder::default();
        b.ok(Duration::from_millis(4));
        b.error("http_500");
        a.merge(b);
        let s = a.summary("x", Duration::from_secs(2));
        assert_eq!(s.count, 2);
        assert!((s.per_second - 1.0).abs() < 1e-9);
        assert!((s.max_ms - 4.0).abs() < 1e-9);
        assert_eq!(s.errors, 1);
        assert_eq!(s.outcomes.get("out_of_stock"), Some(&1));
        assert_eq!(s.outcomes.get("ok"), Some(&2));
    }
}
