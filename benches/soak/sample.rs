//! The sampler: every few seconds, what the server says of itself on
//! `/metrics` (resident memory, descriptors, connections, tasks, and the
//! p99 of its latency histograms over the last interval).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::{Duration, Instant};

use tickwire::loadgen::probe::{fetch_metrics, metric};

use crate::support::{buckets, interval_p99};

pub const EVERY: Duration = Duration::from_secs(5);

#[derive(Clone, Debug, Default)]
pub struct Sample {
    /// Seconds since the soak began.
    pub t: f64,
    pub rss_mib: f64,
    pub fds: f64,
    pub connections: f64,
    pub tasks: f64,
    /// p99 over the interval before this sample, in ms (0: none observed).
    pub publish_p99_ms: f64,
    pub order_p99_ms: f64,
    /// The journal's group commits so far.
    pub fsyncs: f64,
}

pub async fn run(port: u16, stop: Arc<AtomicBool>) -> Vec<Sample> {
    let server = SocketAddr::from(([127, 0, 0, 1], port));
    let started = Instant::now();
    let mut samples = Vec::new();
    let mut last_publish = Vec::new();
    let mut last_order = Vec::new();
    let mut tick = tokio::time::interval(EVERY);
    while !stop.load(Relaxed) {
        tick.tick().await;
        let Some(body) = fetch_metrics(server).await else {
            continue;
        };
        let publish = buckets(&body, "tickwire_publish_to_write_seconds");
        let order = buckets(&body, "tickwire_order_round_trip_seconds");
        let value = |name| metric(&body, name).unwrap_or(f64::NAN);
        samples.push(Sample {
            t: started.elapsed().as_secs_f64(),
            rss_mib: value("process_resident_memory_bytes") / (1024.0 * 1024.0),
            fds: value("process_open_fds"),
            connections: value("tickwire_connections"),
            tasks: value("tickwire_tasks"),
            publish_p99_ms: interval_p99(&last_publish, &publish),
            order_p99_ms: interval_p99(&last_order, &order),
            fsyncs: value("tickwire_journal_fsyncs_total"),
        });
        (last_publish, last_order) = (publish, order);
    }
    samples
}

/// The longest time between two samples with the same count of journal
/// fdatasyncs while orders flowed (a stalled disk stalls every order).
pub fn longest_without_fsync(samples: &[Sample]) -> f64 {
    let mut longest: f64 = 0.0;
    let mut since: Option<&Sample> = None;
    for s in samples {
        match since {
            Some(first) if first.fsyncs == s.fsyncs => longest = longest.max(s.t - first.t),
            _ => since = Some(s),
        }
    }
    longest
}

pub fn write_csv(path: &Path, samples: &[Sample]) -> std::io::Result<()> {
    let mut out = String::from(
        "t_s,rss_mib,open_fds,connections,tasks,publish_to_write_p99_ms,order_round_trip_p99_ms,journal_fsyncs\n",
    );
    for s in samples {
        out.push_str(&format!(
            "{:.1},{:.2},{},{},{},{:.3},{:.3},{}\n",
            s.t,
            s.rss_mib,
            s.fds,
            s.connections,
            s.tasks,
            s.publish_p99_ms,
            s.order_p99_ms,
            s.fsyncs
        ));
    }
    std::fs::write(path, out)
}

#[cfg(test)]
mod tests {
    use crate::support::interval_p99;

    #[test]
    fn the_p99_of_an_interval_comes_from_bucket_deltas() {
        let before = [(0.001, 90.0), (0.01, 100.0), (f64::INFINITY, 100.0)];
        let now = [(0.001, 90.0), (0.01, 150.0), (f64::INFINITY, 200.0)];
        // 100 new: 0 under 1 ms, 50 under 10 ms, 50 above: p99 is +Inf.
        assert!(interval_p99(&before, &now).is_nan());
        // 100 new: 98 under 1 ms, all under 10 ms: p99 is the 10 ms bucket.
        let now = [(0.001, 188.0), (0.01, 200.0), (f64::INFINITY, 200.0)];
        assert_eq!(interval_p99(&before, &now), 10.0);
        // 99 under 1 ms: p99 is the 1 ms bucket.
        let now = [(0.001, 189.0), (0.01, 200.0), (f64::INFINITY, 200.0)];
        assert_eq!(interval_p99(&before, &now), 1.0);
        assert_eq!(interval_p99(&now, &now), 0.0);
    }
}
