//! Counters for `/metrics`: plain atomics, updated once per batch or per
//! event, never per subscriber (`http::prometheus` writes the page).

use std::sync::atomic::AtomicU64;

/// Where a replay is, for `/metrics` (zero when live); written by the
/// replay task only.
#[derive(Default)]
pub struct ReplayProgress {
    pub position_ts: AtomicU64,
    pub published: AtomicU64,
    pub pass: AtomicU64,
}

pub struct Metrics {
    pub connections_opened: AtomicU64,
    pub connections_closed: AtomicU64,
    pub messages_sent: AtomicU64,
    pub bytes_sent: AtomicU64,
    pub lagged: AtomicU64,
    pub slow_consumer_disconnects: AtomicU64,
    pub rejected_connections: AtomicU64,
    /// Subscriptions over all streams (the symbol tasks add and remove).
    pub subscriptions: AtomicU64,
    /// Engine events (inputs applied) per symbol.
    pub engine_events: Vec<AtomicU64>,
    /// Engine events per symbol in the last whole second.
    pub engine_events_last_second: Vec<AtomicU64>,
    /// State snapshots written into the data directory while serving.
    pub snapshots: AtomicU64,
}

impl Metrics {
    pub fn new(symbols: usize) -> Metrics {
        let zeros = || (0..symbols).map(|_| AtomicU64::new(0)).collect();
        Metrics {
            connections_opened: AtomicU64::new(0),
            connections_closed: AtomicU64::new(0),
            messages_sent: AtomicU64::new(0),
            bytes_sent: AtomicU64::new(0),
            lagged: AtomicU64::new(0),
            slow_consumer_disconnects: AtomicU64::new(0),
            rejected_connections: AtomicU64::new(0),
            subscriptions: AtomicU64::new(0),
            engine_events: zeros(),
            engine_events_last_second: zeros(),
            snapshots: AtomicU64::new(0),
        }
    }
}
