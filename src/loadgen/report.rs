//! What a load run measured, as a table for people or JSON for scripts.

use std::collections::BTreeMap;
use std::fmt::Write;

use hdrhistogram::Histogram;

/// Microseconds, 1 us to 60 s, 3 significant digits.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("constant histogram bounds")
}

/// Server-side measures over the measured window.
#[derive(Clone, Debug, Default)]
pub struct ServerReport {
    /// Server CPU in cores (from /proc/PID/stat).
    pub cpu_cores: f64,
    /// Resident memory before any connection, and at the window's end.
    pub rss_before: u64,
    pub rss_after: u64,
    /// Messages the server says it sent per second (tickwire's /metrics).
    pub sent_per_sec: Option<f64>,
    /// How late its engine applied simulated events (since the server
    /// started, from its /metrics), microseconds.
    pub schedule_lag_p99_us: Option<f64>,
    pub schedule_lag_max_us: Option<f64>,
    /// Events applied over 1 ms late within the window.
    pub late_events: Option<f64>,
}

#[derive(Debug)]
pub struct LoadReport {
    pub connections: usize,
    pub traders: usize,
    pub connected: usize,
    /// Length of the measured window (after every connection was opened).
    pub seconds: f64,
    /// When the window closed, wall clock (Unix nanoseconds).
    pub window_end_unix_ns: u64,
    pub messages: u64,
    pub bytes: u64,
    /// Fewest and most messages one watching connection received.
    pub min_per_connection: u64,
    pub max_per_connection: u64,
    /// Connections counted into the two above.
    counted: usize,
    pub gaps: u64,
    pub lagged: u64,
    pub disconnects: u64,
    /// `error` answers to the watchers' subscriptions.
    pub errors: u64,
    /// Connections with no answer to their subscription (or no trading
    /// start) after the settle timeout, when the window opened without them.
    pub unsettled: usize,
    /// Watchers that got their `subscribed` answer (pollers: that kept
    /// their connection).
    pub subscribed: usize,
    /// Bytes on the wire for the data: WebSocket payloads and frame
    /// headers, or HTTP requests and answers with their headers.
    pub wire_bytes: u64,
    /// Polling: updates the pollers never saw (book `seq`s skipped between
    /// polls, trade gaps), and the polls made.
    pub missed: u64,
    pub polls: u64,
    /// Messages read before their `ts` by the generator's clock (recorded
    /// as 1 us): clocks that disagree, said rather than hidden.
    pub negative_latencies: u64,
    /// Publish-to-receive latency (`ts` to the read), microseconds.
    pub latency: Histogram<u64>,
    pub orders_sent: u64,
    pub orders_accepted: u64,
    /// Rejections by error code.
    pub orders_rejected: BTreeMap<String, u64>,
    /// Orders never answered (within the drain after the window).
    pub orders_unanswered: u64,
    /// Order submitted to `order_accepted`, microseconds.
    pub order_rtt: Histogram<u64>,
    /// CPU seconds the generator itself used in the window.
    pub cpu_seconds: f64,
    pub server: Option<ServerReport>,
}

impl LoadReport {
    pub fn empty(connections: usize, traders: usize) -> LoadReport {
        LoadReport {
            connections,
            traders,
            connected: 0,
            seconds: 0.0,
            window_end_unix_ns: 0,
            messages: 0,
            bytes: 0,
            min_per_connection: 0,
            max_per_connection: 0,
            counted: 0,
            gaps: 0,
            lagged: 0,
            disconnects: 0,
            errors: 0,
            unsettled: 0,
            subscribed: 0,
            wire_bytes: 0,
            missed: 0,
            polls: 0,
            negative_latencies: 0,
            latency: histogram(),
            orders_sent: 0,
            orders_accepted: 0,
            orders_rejected: BTreeMap::new(),
            orders_unanswered: 0,
            order_rtt: histogram(),
            cpu_seconds: 0.0,
            server: None,
        }
    }

    /// Counts one connection's messages into the fewest and most.
    pub fn count_connection(&mut self, messages: u64) {
        let first = self.counted == 0;
        self.counted += 1;
        self.min_per_connection = if first {
            messages
        } else {
            self.min_per_connection.min(messages)
        };
        self.max_per_connection = self.max_per_connection.max(messages);
    }

    pub fn messages_per_sec(&self) -> f64 {
        self.messages as f64 / self.seconds.max(1e-9)
    }

    pub fn bytes_per_sec(&self) -> f64 {
        self.bytes as f64 / self.seconds.max(1e-9)
    }

    /// The generator's CPU use, in cores.
    pub fn cpu_cores(&self) -> f64 {
        self.cpu_seconds / self.seconds.max(1e-9)
    }

    /// True when the generator, not the server, may have been the limit.
    pub fn generator_bound(&self) -> bool {
        self.cpu_cores() > 0.9
    }

    /// Server memory per connection (watchers and traders), bytes.
    pub fn memory_per_connection(&self) -> Option<f64> {
        let server = self.server.as_ref()?;
        let grown = server.rss_after.saturating_sub(server.rss_before) as f64;
        (self.connected > 0).then(|| grown / self.connected as f64)
    }

    /// p50, p90, p99, p99.9 and max, named for JSON and for people.
    const PERCENTILES: [(&'static str, &'static str, f64); 5] = [
        ("p50", "p50", 0.5),
        ("p90", "p90", 0.9),
        ("p99", "p99", 0.99),
        ("p999", "p99.9", 0.999),
        ("max", "max", 1.0),
    ];

    fn at(h: &Histogram<u64>, q: f64) -> u64 {
        if q >= 1.0 {
            h.max()
        } else {
            h.value_at_quantile(q)
        }
    }

    fn percentiles_json(h: &Histogram<u64>) -> String {
        if h.is_empty() {
            return "null".to_string();
        }
        let fields: Vec<String> = Self::PERCENTILES
            .iter()
            .map(|(key, _, q)| format!("\"{key}\":{}", Self::at(h, *q)))
            .collect();
        format!("{{{}}}", fields.join(","))
    }

    fn percentiles_text(h: &Histogram<u64>) -> String {
        if h.is_empty() {
            return "none".to_string();
        }
        let fields: Vec<String> = Self::PERCENTILES
            .iter()
            .map(|(_, name, q)| format!("{name} {} us", Self::at(h, *q)))
            .collect();
        fields.join(", ")
    }

    pub fn to_json(&self) -> String {
        let mut s = String::with_capacity(1024);
        let _ = write!(
            s,
            "{{\"connections\":{},\"traders\":{},\"connected\":{},\"seconds\":{:.3},\"window_end_unix_ns\":{},\"messages\":{},\"bytes\":{},\"messages_per_sec\":{:.0},\"bytes_per_sec\":{:.0},\"messages_per_sec_per_connection\":{:.1},\"min_messages_per_connection\":{},\"max_messages_per_connection\":{},\"latency_us\":{},\"seq_gaps\":{},\"lagged\":{},\"disconnects\":{},\"errors\":{},\"unsettled\":{},\"subscribed\":{},\"negative_latencies\":{},\"wire_bytes\":{},\"wire_bytes_per_update\":{:.1},\"missed_updates\":{},\"polls\":{}",
            self.connections,
            self.traders,
            self.connected,
            self.seconds,
            self.window_end_unix_ns,
            self.messages,
            self.bytes,
            self.messages_per_sec(),
            self.bytes_per_sec(),
            self.messages_per_sec() / self.connected.saturating_sub(self.traders).max(1) as f64,
            self.min_per_connection,
            self.max_per_connection,
            Self::percentiles_json(&self.latency),
            self.gaps,
            self.lagged,
            self.disconnects,
            self.errors,
            self.unsettled,
            self.subscribed,
            self.negative_latencies,
            self.wire_bytes,
            self.wire_bytes as f64 / self.messages.max(1) as f64,
            self.missed,
            self.polls,
        );
        let rejected: Vec<String> = self
            .orders_rejected
            .iter()
            .map(|(code, n)| format!("\"{code}\":{n}"))
            .collect();
        let _ = write!(
            s,
            ",\"orders\":{{\"sent\":{},\"accepted\":{},\"rejected\":{{{}}},\"unanswered\":{},\"rtt_us\":{}}}",
            self.orders_sent,
            self.orders_accepted,
            rejected.join(","),
            self.orders_unanswered,
            Self::percentiles_json(&self.order_rtt)
        );
        let _ = write!(
            s,
            ",\"loadgen_cpu_cores\":{:.2},\"loadgen_bound\":{}",
            self.cpu_cores(),
            self.generator_bound()
        );
        match &self.server {
            Some(server) => {
                let or_null = |v: Option<f64>| v.map_or("null".to_string(), |v| format!("{v:.0}"));
                let _ = write!(
                    s,
                    ",\"server\":{{\"cpu_cores\":{:.2},\"rss_before_bytes\":{},\"rss_after_bytes\":{},\"memory_per_connection_bytes\":{:.0},\"sent_per_sec\":{},\"schedule_lag_p99_us\":{},\"schedule_lag_max_us\":{},\"late_events\":{}}}",
                    server.cpu_cores,
                    server.rss_before,
                    server.rss_after,
                    self.memory_per_connection().unwrap_or(0.0),
                    or_null(server.sent_per_sec),
                    or_null(server.schedule_lag_p99_us),
                    or_null(server.schedule_lag_max_us),
                    or_null(server.late_events),
                );
            }
            None => s.push_str(",\"server\":null"),
        }
        s.push('}');
        s
    }

    pub fn to_table(&self) -> String {
        let mut t = String::new();
        let watchers = self.connected.saturating_sub(self.traders).max(1) as f64;
        let _ = writeln!(
            t,
            "connections          {} of {} ({} traders)",
            self.connected,
            self.connections + self.traders,
            self.traders
        );
        let _ = writeln!(t, "measured for         {:.2} s", self.seconds);
        let _ = writeln!(
            t,
            "delivered            {:.0} msgs/s, {:.1} MB/s; per connection {:.1} msgs/s (fewest {}, most {} in the window)",
            self.messages_per_sec(),
            self.bytes_per_sec() / 1e6,
            self.messages_per_sec() / watchers,
            self.min_per_connection,
            self.max_per_connection
        );
        let _ = writeln!(
            t,
            "latency (ts to read) {}; {} read before their ts (counted as 1 us)",
            Self::percentiles_text(&self.latency),
            self.negative_latencies
        );
        let _ = writeln!(
            t,
            "integrity            {} seq gaps, {} lagged notices, {} disconnects, {} errors, {} unanswered ({} of {} watchers subscribed)",
            self.gaps,
            self.lagged,
            self.disconnects,
            self.errors,
            self.unsettled,
            self.subscribed,
            self.connections
        );
        let _ = writeln!(
            t,
            "on the wire          {:.1} bytes per update received ({} bytes){}",
            self.wire_bytes as f64 / self.messages.max(1) as f64,
            self.wire_bytes,
            if self.polls > 0 {
                format!(
                    "; {} polls, {} updates missed between polls",
                    self.polls, self.missed
                )
            } else {
                String::new()
            }
        );
        if self.traders > 0 {
            let rejected: u64 = self.orders_rejected.values().sum();
            let _ = writeln!(
                t,
                "orders               {} sent, {} accepted, {} rejected {:?}, {} unanswered",
                self.orders_sent,
                self.orders_accepted,
                rejected,
                self.orders_rejected,
                self.orders_unanswered
            );
            let _ = writeln!(
                t,
                "order round trip     {}",
                Self::percentiles_text(&self.order_rtt)
            );
        }
        let limited = if self.generator_bound() {
            " (busy: the generator may have been the bottleneck)"
        } else {
            ""
        };
        let _ = writeln!(
            t,
            "loadgen CPU          {:.2} cores{limited}",
            self.cpu_cores()
        );
        if let Some(server) = &self.server {
            let _ = writeln!(
                t,
                "server CPU           {:.2} cores; RSS {:.1} MiB -> {:.1} MiB, {:.0} bytes per connection",
                server.cpu_cores,
                server.rss_before as f64 / 1048576.0,
                server.rss_after as f64 / 1048576.0,
                self.memory_per_connection().unwrap_or(0.0)
            );
            if let Some(sent) = server.sent_per_sec {
                let _ = writeln!(t, "server sent          {sent:.0} msgs/s (its /metrics)");
            }
            if let (Some(p99), Some(max)) = (server.schedule_lag_p99_us, server.schedule_lag_max_us)
            {
                let _ = writeln!(
                    t,
                    "engine behind        schedule lag p99 {p99:.0} us, max {max:.0} us since start; {} events over 1 ms late in the window",
                    server.late_events.unwrap_or(0.0)
                );
            }
        }
        t
    }
}
