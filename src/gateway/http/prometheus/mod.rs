//! The `/metrics` page, in Prometheus text format, from the server's
//! counters (`gateway::metrics`) and its connections' queues.

use std::fmt::Write as _;
use std::sync::atomic::Ordering::Relaxed;

use crate::gateway::shared::Shared;
use crate::latency::{LATENCY_BUCKETS, LatencyHistogram};

mod process;

/// One metric family of one sample, its HELP and TYPE lines first.
fn metric(out: &mut String, name: &str, kind: &str, help: &str, value: impl std::fmt::Display) {
    let _ = writeln!(
        out,
        "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
    );
}

/// A histogram of latencies in seconds.
fn histogram(out: &mut String, name: &str, help: &str, h: &LatencyHistogram) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
    let (cumulative, sum, count) = h.read();
    for (le, n) in LATENCY_BUCKETS.iter().zip(&cumulative) {
        let _ = writeln!(out, "{name}_bucket{{le=\"{le}\"}} {n}");
    }
    let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
    let _ = writeln!(out, "{name}_sum {sum:.9}\n{name}_count {count}");
}

/// How late the engine runs behind its simulated schedule: a summary since
/// start (quantile 1 is the maximum) and the count of events over 1 ms late.
fn schedule_lag(out: &mut String, shared: &Shared) {
    let name = "tickwire_engine_schedule_lag_seconds";
    let _ = writeln!(
        out,
        "# HELP {name} How long after its scheduled time the engine applied each simulated event (since start; quantile 1 is the maximum).\n# TYPE {name} summary"
    );
    let lag = shared
        .metrics
        .schedule_lag
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .clone();
    for q in [0.5, 0.99, 0.999, 1.0] {
        let us = if lag.is_empty() {
            0
        } else if q >= 1.0 {
            lag.max()
        } else {
            lag.value_at_quantile(q)
        };
        let _ = writeln!(out, "{name}{{quantile=\"{q}\"}} {:.6}", us as f64 / 1e6);
    }
    let sum = lag.mean() * lag.len() as f64 / 1e6;
    let _ = writeln!(out, "{name}_sum {sum:.6}\n{name}_count {}", lag.len());
    metric(
        out,
        "tickwire_engine_late_events_total",
        "counter",
        "Simulated events applied more than 1 ms after their scheduled time.",
        shared.metrics.late_events.load(Relaxed),
    );
}

/// The `/metrics` page.
pub fn render(shared: &Shared) -> String {
    let m = &shared.metrics;
    let mut out = String::with_capacity(4096);
    let (mut queued_sum, mut queued_max, mut dropped) = (0u64, 0u64, 0u64);
    for entry in shared.connections.iter() {
        let queued = entry.value().queued_bytes() as u64;
        queued_sum += queued;
        queued_max = queued_max.max(queued);
        dropped += entry.value().dropped();
    }
    metric(
        &mut out,
        "tickwire_connections",
        "gauge",
        "Open WebSocket connections.",
        shared.connections.len() as u64,
    );
    metric(
        &mut out,
        "tickwire_connections_opened_total",
        "counter",
        "WebSocket connections accepted.",
        m.connections_opened.load(Relaxed),
    );
    metric(
        &mut out,
        "tickwire_connections_closed_total",
        "counter",
        "WebSocket connections closed, for any reason.",
        m.connections_closed.load(Relaxed),
    );
    metric(
        &mut out,
        "tickwire_connections_rejected_total",
        "counter",
        "WebSocket upgrades refused at the connection cap.",
        m.rejected_connections.load(Relaxed),
    );
    metric(
        &mut out,
        "tickwire_connections_rejected_per_address_total",
        "counter",
        "WebSocket upgrades refused at the per-address limit (--max-connections-per-ip).",
        m.rejected_per_address.load(Relaxed),
    );
    metric(
        &mut out,
        "tickwire_connections_rejected_connection_rate_total",
        "counter",
        "WebSocket upgrades refused (429) at the per-address rate of new connections (--connection-rate-per-ip).",
        m.rejected_connection_rate.load(Relaxed),
    );
    metric(
        &mut out,
        "tickwire_subscriptions",
        "gauge",
        "Stream subscriptions over all connections.",
        m.subscriptions.load(Relaxed),
    );
    metric(
        &mut out,
        "tickwire_messages_sent_total",
        "counter",
        "WebSocket text messages sent.",
        m.sent.messages.load(Relaxed),
    );
    metric(
        &mut out,
        "tickwire_bytes_sent_total",
        "counter",
        "Payload bytes of the messages sent.",
        m.sent.bytes.load(Relaxed),
    );
    schedule_lag(&mut out, shared);
    metric(
        &mut out,
        "tickwire_snapshots_total",
        "counter",
        "State snapshots written into the data directory while serving.",
        m.snapshots.load(Relaxed),
    );
    if let Some(journal) = shared.journal.get() {
        let stats = &journal.stats;
        metric(
            &mut out,
            "tickwire_journal_fsyncs_total",
            "counter",
            "Group commits: fdatasync calls of the journal.",
            stats.fsyncs.load(Relaxed),
        );
        metric(
            &mut out,
            "tickwire_journal_records_total",
            "counter",
            "Journal records made durable.",
            stats.records.load(Relaxed),
        );
        metric(
            &mut out,
            "tickwire_journal_bytes_total",
            "counter",
            "Journal bytes made durable.",
            stats.bytes.load(Relaxed),
        );
        if let Some(batches) = stats.batch_sizes() {
            let name = "tickwire_journal_batch_records";
            let _ = writeln!(
                out,
                "# HELP {name} Records made durable by one fdatasync (group commit).\n# TYPE {name} summary"
            );
            for q in [0.5, 0.9, 0.99] {
                let _ = writeln!(
                    out,
                    "{name}{{quantile=\"{q}\"}} {}",
                    batches.value_at_quantile(q)
                );
            }
            let _ = writeln!(out, "{name}_sum {}", stats.records.load(Relaxed));
            let _ = writeln!(out, "{name}_count {}", batches.len());
        }
    }
    metric(
        &mut out,
        "tickwire_lagged_total",
        "counter",
        "Times a connection overflowed its market-data budget.",
        m.lagged.load(Relaxed),
    );
    metric(
        &mut out,
        "tickwire_slow_consumer_disconnects_total",
        "counter",
        "Connections closed with 1008 for lagging repeatedly.",
        m.slow_consumer_disconnects.load(Relaxed),
    );
    metric(
        &mut out,
        "tickwire_rate_limit_disconnects_total",
        "counter",
        "Connections closed (1008) for requests refused for the rate, too many within 10 s.",
        m.rate_limit_disconnects.load(Relaxed),
    );
    metric(
        &mut out,
        "tickwire_dropped_messages_open_connections",
        "gauge",
        "Market-data messages dropped by lags, over the open connections.",
        dropped,
    );
    metric(
        &mut out,
        "tickwire_outbound_queue_bytes",
        "gauge",
        "Market-data bytes queued, over all connections.",
        queued_sum,
    );
    metric(
        &mut out,
        "tickwire_outbound_queue_bytes_max",
        "gauge",
        "Market-data bytes queued on the fullest connection.",
        queued_max,
    );
    metric(
        &mut out,
        "tickwire_outbound_queue_budget_bytes",
        "gauge",
        "Market-data bytes a connection may queue.",
        shared.config.lag.budget as u64,
    );
    if shared.config.replay.is_some() {
        let r = &shared.replay;
        let position = r.position_ts.load(Relaxed) as f64 / 1e9;
        let _ = writeln!(
            out,
            "# HELP tickwire_replay_position_seconds Time (the recording's ts, in seconds since the epoch) of the last replayed message.\n# TYPE tickwire_replay_position_seconds gauge\ntickwire_replay_position_seconds {position:.9}"
        );
        let published = r.published.load(Relaxed);
        metric(
            &mut out,
            "tickwire_replay_published_total",
            "counter",
            "Recorded messages replayed.",
            published,
        );
        let pass = r.pass.load(Relaxed).max(1);
        metric(
            &mut out,
            "tickwire_replay_pass",
            "gauge",
            "Pass through the recording (looping replays).",
            pass,
        );
        let warnings = r.warnings.load(Relaxed);
        metric(
            &mut out,
            "tickwire_replay_warnings_total",
            "counter",
            "Warnings recorded in the file (gaps in an imported source) replayed past.",
            warnings,
        );
    }
    if let Some(recorder) = &shared.recorder {
        let written = recorder.written.load(Relaxed);
        metric(
            &mut out,
            "tickwire_recorded_messages_total",
            "counter",
            "Messages written to the recording.",
            written,
        );
        let dropped = recorder.dropped.load(Relaxed);
        let help = "Messages the recorder could not keep up with (missing from the recording).";
        metric(
            &mut out,
            "tickwire_recorder_dropped_total",
            "counter",
            help,
            dropped,
        );
    }
    let _ = writeln!(
        out,
        "# HELP tickwire_engine_events_total Engine inputs applied, per symbol.\n# TYPE tickwire_engine_events_total counter"
    );
    for (i, instrument) in shared.instruments.iter().enumerate() {
        let _ = writeln!(
            out,
            "tickwire_engine_events_total{{symbol=\"{}\"}} {}",
            instrument.symbol,
            m.engine_events[i].load(Relaxed)
        );
    }
    histogram(
        &mut out,
        "tickwire_order_round_trip_seconds",
        "From an order, cancel or amend taken off a connection to its answer queued on it (checks, engine, journal fdatasync).",
        &m.order_round_trip,
    );
    histogram(
        &mut out,
        "tickwire_publish_to_write_seconds",
        "How long market data waited in a connection's queue before the write that emptied it (the oldest message's wait; one connection in 8 sampled).",
        &m.sent.publish_to_write,
    );
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        metric(
            &mut out,
            "tickwire_tasks",
            "gauge",
            "Tasks alive on the server's runtime (connections, markets, timers).",
            runtime.metrics().num_alive_tasks() as u64,
        );
    }
    let _ = writeln!(
        out,
        "# HELP tickwire_build_info The build: version and profile.\n# TYPE tickwire_build_info gauge\ntickwire_build_info{{version=\"{}\",profile=\"{}\"}} 1",
        env!("CARGO_PKG_VERSION"),
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
    process::render(&mut out);
    if shared.config.bus.is_some() {
        bus(&mut out, shared);
    }
    out
}

/// Cluster mode's bus (`docs/cluster.md`).
fn bus(out: &mut String, shared: &Shared) {
    let b = &shared.metrics.bus;
    for (name, kind, help, value) in [
        (
            "tickwire_bus_connected",
            "gauge",
            "1 while connected to NATS.",
            b.connected.load(Relaxed),
        ),
        (
            "tickwire_bus_disconnects_total",
            "counter",
            "Times the connection to NATS was lost.",
            b.disconnects.load(Relaxed),
        ),
        (
            "tickwire_bus_published_total",
            "counter",
            "Market-data messages handed to NATS (engine).",
            b.published.load(Relaxed),
        ),
        (
            "tickwire_bus_publish_dropped_total",
            "counter",
            "Market-data messages dropped because NATS could not take them in time (engine; gateways resync).",
            b.publish_dropped.load(Relaxed),
        ),
        (
            "tickwire_bus_received_total",
            "counter",
            "Market-data messages received from the bus (gateway).",
            b.received.load(Relaxed),
        ),
        (
            "tickwire_bus_gaps_total",
            "counter",
            "Sequence gaps seen on the bus (gateway).",
            b.gaps.load(Relaxed),
        ),
        (
            "tickwire_bus_state_fetches_total",
            "counter",
            "Symbol states fetched from the engine: first interest and resyncs (gateway).",
            b.state_fetches.load(Relaxed),
        ),
        (
            "tickwire_bus_request_timeouts_total",
            "counter",
            "Requests to the engine unanswered in time (gateway).",
            b.request_timeouts.load(Relaxed),
        ),
    ] {
        metric(out, name, kind, help, value);
    }
    let _ = writeln!(
        out,
        "# HELP tickwire_bus_lag_seconds Age of the newest message received from the bus at receipt, by this process's clock against the message's ts (gateway).\n# TYPE tickwire_bus_lag_seconds gauge\ntickwire_bus_lag_seconds {:.6}",
        b.last_lag_ns.load(Relaxed) as f64 / 1e9
    );
}
