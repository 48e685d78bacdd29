//! Latency histograms for `/metrics`, in Prometheus' shape: fixed buckets
//! in seconds, counted with atomics so that any task can observe without a
//! lock and the page can read at any time.

use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;

/// Upper bounds of the latency histograms' buckets, in seconds (100 us to
/// 10 s; Prometheus adds +Inf).
pub const LATENCY_BUCKETS: [f64; 15] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    10.0,
];

/// A Prometheus histogram of latencies: a counter per bucket (not
/// cumulative here; the page adds them up), the sum in nanoseconds and the
/// count. Lock-free: any task observes, `/metrics` reads.
#[derive(Debug, Default)]
pub struct LatencyHistogram {
    buckets: [AtomicU64; LATENCY_BUCKETS.len() + 1],
    sum_ns: AtomicU64,
    count: AtomicU64,
}

impl LatencyHistogram {
    pub fn observe(&self, elapsed: std::time::Duration) {
        let seconds = elapsed.as_secs_f64();
        let bucket = LATENCY_BUCKETS
            .iter()
            .position(|le| seconds <= *le)
            .unwrap_or(LATENCY_BUCKETS.len());
        self.buckets[bucket].fetch_add(1, Relaxed);
        let ns = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.sum_ns.fetch_add(ns, Relaxed);
        self.count.fetch_add(1, Relaxed);
    }

    /// The cumulative count at or under each bound (the last is +Inf), the
    /// sum in seconds, and the count.
    pub fn read(&self) -> (Vec<u64>, f64, u64) {
        let mut cumulative = Vec::with_capacity(self.buckets.len());
        let mut total = 0;
        for bucket in &self.buckets {
            total += bucket.load(Relaxed);
            cumulative.push(total);
        }
        let sum = self.sum_ns.load(Relaxed) as f64 / 1e9;
        (cumulative, sum, total.max(self.count.load(Relaxed)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_histogram_counts_each_latency_in_its_bucket_and_cumulates() {
        let h = LatencyHistogram::default();
        h.observe(Duration::from_micros(50));
        h.observe(Duration::from_micros(100));
        h.observe(Duration::from_millis(3));
        h.observe(Duration::from_secs(60));
        let (cumulative, sum, count) = h.read();
        assert_eq!(count, 4);
        assert_eq!(cumulative[0], 2, "<= 100 us");
        assert_eq!(cumulative[5], 3, "<= 5 ms");
        assert_eq!(cumulative[LATENCY_BUCKETS.len() - 1], 3, "<= 10 s");
        assert_eq!(cumulative[LATENCY_BUCKETS.len()], 4, "+Inf");
        assert!((sum - 60.00315).abs() < 1e-9, "{sum}");
    }
}
