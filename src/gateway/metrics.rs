//! Counters for `/metrics`: plain atomics, updated once per batch or per
//! event, never per subscriber (`http::prometheus` writes the page).

use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};

use hdrhistogram::Histogram;

use crate::fanout::Sent;
use crate::latency::LatencyHistogram;

/// How late the engine applies its simulated events after their scheduled
/// time, in microseconds (1 us to 60 s). The latency a client measures from
/// `ts` starts when the event was applied, so an engine running behind its
/// schedule is invisible there: this makes it visible.
pub fn lag_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("constant histogram bounds")
}

/// A live engine whose last heartbeat is older than this has stopped or
/// fallen behind (`/healthz` 503).
pub const ENGINE_BEHIND_MS: u64 = 5_000;

/// The symbols whose live engine last beat more than `ENGINE_BEHIND_MS`
/// before `now_ms` (a beat of 0: not a live engine).
pub fn engines_behind<'a>(
    now_ms: u64,
    beats: &[AtomicU64],
    symbols: impl Iterator<Item = &'a str>,
) -> Vec<&'a str> {
    symbols
        .zip(beats)
        .filter(|(_, beat)| {
            let at = beat.load(Relaxed);
            at > 0 && now_ms.saturating_sub(at) > ENGINE_BEHIND_MS
        })
        .map(|(symbol, _)| symbol)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_engine_is_behind_when_its_beat_is_over_five_seconds_old() {
        let beats = [
            AtomicU64::new(10_000),
            AtomicU64::new(4_000),
            AtomicU64::new(0),
        ];
        let names = ["A", "B", "REPLAY"];
        assert_eq!(
            engines_behind(9_000, &beats, names.into_iter()),
            Vec::<&str>::new()
        );
        assert_eq!(engines_behind(9_001, &beats, names.into_iter()), vec!["B"]);
        assert_eq!(
            engines_behind(16_000, &beats, names.into_iter()),
            vec!["A", "B"]
        );
    }
}

/// Events applied more than this late count in `late_events`.
pub const LATE_US: u64 = 1_000;

/// Where a replay is, for `/metrics` (zero when live); written by the
/// replay task only.
#[derive(Default)]
pub struct ReplayProgress {
    pub position_ts: AtomicU64,
    pub published: AtomicU64,
    pub pass: AtomicU64,
    /// Warnings recorded in the file (an import's source gaps) reached.
    pub warnings: AtomicU64,
}

pub struct Metrics {
    pub connections_opened: AtomicU64,
    pub connections_closed: AtomicU64,
    /// Messages and bytes written (by every connection's writes).
    pub sent: Arc<Sent>,
    pub lagged: AtomicU64,
    pub slow_consumer_disconnects: AtomicU64,
    /// Connections closed for flooding requests (1008).
    pub rate_limit_disconnects: AtomicU64,
    pub rejected_connections: AtomicU64,
    /// WebSocket upgrades refused at the per-address limit.
    pub rejected_per_address: AtomicU64,
    /// WebSocket upgrades refused at the per-address connection rate.
    pub rejected_connection_rate: AtomicU64,
    /// Subscriptions over all streams (the symbol tasks add and remove).
    pub subscriptions: AtomicU64,
    /// Engine events (inputs applied) per symbol.
    pub engine_events: Vec<AtomicU64>,
    /// When each live symbol's engine last beat (its heartbeat, every
    /// second), in the gateway clock's milliseconds (0: not live, never
    /// checked); `/healthz` is unhealthy when one is over
    /// `ENGINE_BEHIND_MS` old.
    pub engine_beat_ms: Vec<AtomicU64>,
    /// From an order (or cancel, amend) read off a connection to its
    /// answer queued: the checks, the engine, the journal's fdatasync.
    pub order_round_trip: LatencyHistogram,
    /// State snapshots written into the data directory while serving.
    pub snapshots: AtomicU64,
    /// Schedule lag of every simulated event since start (not the warm-up):
    /// each symbol task merges its own histogram in once a second, so the
    /// lock is taken once per symbol per second, never per event.
    pub schedule_lag: Mutex<Histogram<u64>>,
    /// Simulated events applied more than `LATE_US` after their time.
    pub late_events: AtomicU64,
    /// Cluster mode's bus (zeros for `serve`).
    pub bus: Arc<BusMetrics>,
}

impl Metrics {
    pub fn new(symbols: usize) -> Metrics {
        let zeros = || (0..symbols).map(|_| AtomicU64::new(0)).collect();
        Metrics {
            connections_opened: AtomicU64::new(0),
            connections_closed: AtomicU64::new(0),
            sent: Arc::default(),
            lagged: AtomicU64::new(0),
            slow_consumer_disconnects: AtomicU64::new(0),
            rate_limit_disconnects: AtomicU64::new(0),
            rejected_connections: AtomicU64::new(0),
            rejected_per_address: AtomicU64::new(0),
            rejected_connection_rate: AtomicU64::new(0),
            subscriptions: AtomicU64::new(0),
            engine_events: zeros(),
            engine_beat_ms: zeros(),
            order_round_trip: LatencyHistogram::default(),
            snapshots: AtomicU64::new(0),
            schedule_lag: Mutex::new(lag_histogram()),
            late_events: AtomicU64::new(0),
            bus: Arc::default(),
        }
    }
}

/// The bus's counters, for `/metrics` (atomics, bumped by whoever counts).
#[derive(Debug, Default)]
pub struct BusMetrics {
    /// 1 while connected to NATS.
    pub connected: AtomicU64,
    /// Times the connection to NATS was lost.
    pub disconnects: AtomicU64,
    /// Market-data messages handed to NATS (engine).
    pub published: AtomicU64,
    /// Market-data messages dropped because NATS could not take them as
    /// fast as they were made (engine); gateways see the gap and resync.
    pub publish_dropped: AtomicU64,
    /// Market-data messages received (gateway).
    pub received: AtomicU64,
    /// `seq` gaps seen on the bus (gateway).
    pub gaps: AtomicU64,
    /// Symbol states fetched from the engine: first interest and resyncs
    /// (gateway).
    pub state_fetches: AtomicU64,
    /// Requests to the engine that got no answer in time (gateway).
    pub request_timeouts: AtomicU64,
    /// Age of the newest message received, in nanoseconds: this
    /// process's clock at receipt minus the message's `ts` (the bus hop
    /// when engine and gateway share a clock, as on one machine; else that
    /// plus the clocks' offset) (gateway).
    pub last_lag_ns: AtomicU64,
}

impl BusMetrics {
    pub fn is_connected(&self) -> bool {
        self.connected.load(Relaxed) == 1
    }
}
