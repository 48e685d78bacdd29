//! A client that sends as fast as it can, against everyone else's latency:
//! the same `tickwire loadgen` (watchers of every symbol's book, trades
//! and ticker) measured alone and beside a flooder, in alternation, on the
//! same server. The server is pinned to core 1, the generator and the
//! flooder to core 0 (this project's machine has two cores: the flooder
//! competes with the generator too, which the report says).
//!
//! ```text
//! cargo bench --bench flood      # 200 watchers, 15 s windows, 3 pairs
//! ```
//!
//! The flooder writes `ping` requests on one connection as fast as its
//! socket takes them and reads what comes back: pongs while its request
//! budget lasts (`--requests-per-sec`, default 50 a second, burst 100),
//! then `rate_limited` errors, until the server closes it (1008 at the
//! hundredth refusal within 10 s); then it connects again, at once. Reported: the watchers' p50/p99 with and
//! without it, their ratio, and what the flooder sent and got.
//! `cargo bench --bench flood -- --connection-rate-per-ip 10` runs the
//! server with that limit on new connections per address. Under
//! `cargo test` it runs small and fails only if a window delivered nothing
//! or gapped, or if the flooder was never limited.

#[path = "support/mod.rs"]
mod support;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use support::{buckets, free_port, interval_p99, median, pinned, wait_for};
use tickwire::loadgen::probe::fetch_metrics;
use tokio_tungstenite::tungstenite::Message;

#[derive(Clone, Copy)]
struct Plan {
    connections: usize,
    window_s: u64,
    pairs: usize,
}

/// What the flooder sent and got back.
#[derive(Default)]
struct Flood {
    sent: AtomicU64,
    pongs: AtomicU64,
    limited: AtomicU64,
    other_errors: AtomicU64,
    /// Times the server closed the flooder (it connects again).
    closes: AtomicU64,
    /// Connections refused with an HTTP status (429 at the server's
    /// `--connection-rate-per-ip`); it tries again at once.
    refused: AtomicU64,
}

/// One connection flooding until the server closes it; returns when it
/// is closed or told to stop.
async fn flood_once(port: u16, stop: &AtomicBool, flood: &Arc<Flood>) {
    let ws = match tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{port}/ws")).await {
        Ok((ws, _)) => ws,
        Err(tokio_tungstenite::tungstenite::Error::Http(_)) => {
            flood.refused.fetch_add(1, Relaxed);
            return;
        }
        Err(_) => {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            return;
        }
    };
    let closed = Arc::new(AtomicBool::new(false));
    let (mut write, mut read) = ws.split();
    let reader = {
        let (flood, closed) = (flood.clone(), closed.clone());
        tokio::spawn(async move {
            while let Some(message) = read.next().await {
                match message {
                    Ok(Message::Text(t)) if t.contains("\"pong\"") => {
                        flood.pongs.fetch_add(1, Relaxed);
                    }
                    Ok(Message::Text(t)) if t.contains("rate_limited") => {
                        flood.limited.fetch_add(1, Relaxed);
                    }
                    Ok(Message::Text(_)) => {
                        flood.other_errors.fetch_add(1, Relaxed);
                    }
                    Ok(Message::Close(_)) | Err(_) => break,
                    Ok(_) => {}
                }
            }
            closed.store(true, Relaxed);
        })
    };
    let ping = Message::text(r#"{"op":"ping"}"#);
    'flood: while !stop.load(Relaxed) && !closed.load(Relaxed) {
        // Batches of 64 frames, flushed: as fast as the socket takes them.
        for _ in 0..64 {
            if write.feed(ping.clone()).await.is_err() {
                break 'flood;
            }
        }
        if write.flush().await.is_err() {
            break;
        }
        flood.sent.fetch_add(64, Relaxed);
        tokio::task::yield_now().await;
    }
    if !stop.load(Relaxed) {
        flood.closes.fetch_add(1, Relaxed);
    }
    let _ = write.close().await;
    reader.abort();
}

/// Floods, and connects again each time the server closes it.
async fn flood(port: u16, stop: Arc<AtomicBool>, flood: Arc<Flood>) {
    while !stop.load(Relaxed) {
        flood_once(port, &stop, &flood).await;
    }
}

fn loadgen(port: u16, plan: &Plan) -> Value {
    let out = Command::new("taskset")
        .args(["-c", "0", env!("CARGO_BIN_EXE_tickwire"), "loadgen"])
        .args(["--url", &format!("ws://127.0.0.1:{port}/ws")])
        .args(["--connections", &plan.connections.to_string()])
        .args(["--symbols", "BTC-USD,ETH-USD,SOL-USD,AAPL"])
        .args(["--duration", &format!("{}s", plan.window_s)])
        .args(["--ramp", "1s", "--json", "--quiet"])
        .stderr(Stdio::null())
        .output()
        .expect("loadgen ran");
    serde_json::from_slice(&out.stdout).expect("loadgen's JSON")
}

fn pin_this_process_to_core_0() {
    let pid = std::process::id().to_string();
    let _ = Command::new("taskset")
        .args(["-a", "-p", "-c", "0", &pid])
        .stdout(Stdio::null())
        .status();
}

struct Window {
    flooded: bool,
    /// The server's own p99 of publish-to-write over the window (ms, a
    /// bucket bound): its view, whatever the generator's core suffered.
    server_p99: f64,
    p50: f64,
    p99: f64,
    delivered: f64,
    gaps: u64,
}

fn window(report: &Value, flooded: bool, server_p99: f64) -> Window {
    Window {
        flooded,
        server_p99,
        p50: report["latency_us"]["p50"].as_f64().unwrap_or(f64::NAN),
        p99: report["latency_us"]["p99"].as_f64().unwrap_or(f64::NAN),
        delivered: report["messages_per_sec"].as_f64().unwrap_or(0.0),
        gaps: report["seq_gaps"].as_u64().unwrap_or(0),
    }
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let plan = if full {
        Plan {
            connections: 200,
            window_s: 15,
            pairs: 3,
        }
    } else {
        Plan {
            connections: 20,
            window_s: 2,
            pairs: 1,
        }
    };
    // `-- --connection-rate-per-ip R`: the server limits new connections
    // per address (the flooder reconnects at once whenever it is closed).
    let argv: Vec<String> = std::env::args().collect();
    let connection_rate = argv
        .iter()
        .position(|a| a == "--connection-rate-per-ip")
        .and_then(|at| argv.get(at + 1))
        .cloned()
        .unwrap_or_else(|| "0".to_string());
    pin_this_process_to_core_0();
    let port = free_port();
    let args: Vec<String> = [
        "serve",
        "--ephemeral",
        "--seed",
        "7",
        "--listen",
        &format!("127.0.0.1:{port}"),
        "--connection-rate-per-ip",
        &connection_rate,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let _server = pinned("1", env!("CARGO_BIN_EXE_tickwire"), &args);
    wait_for(port);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let totals = Arc::new(Flood::default());
    let mut windows = Vec::new();
    let publish = |runtime: &tokio::runtime::Runtime| {
        let body = runtime
            .block_on(fetch_metrics(std::net::SocketAddr::from((
                [127, 0, 0, 1],
                port,
            ))))
            .unwrap_or_default();
        buckets(&body, "tickwire_publish_to_write_seconds")
    };
    for _ in 0..plan.pairs {
        let before = publish(&runtime);
        let report = loadgen(port, &plan);
        let server_p99 = interval_p99(&before, &publish(&runtime));
        windows.push(window(&report, false, server_p99));
        let before = publish(&runtime);
        let stop = Arc::new(AtomicBool::new(false));
        let flooder = runtime.spawn(flood(port, stop.clone(), totals.clone()));
        // The generator runs in its own process; the flooder on this
        // thread's runtime meanwhile.
        let report = runtime.block_on(async {
            let report = tokio::task::spawn_blocking(move || loadgen(port, &plan));
            report.await.expect("loadgen")
        });
        stop.store(true, Relaxed);
        let _ = runtime.block_on(flooder);
        let server_p99 = interval_p99(&before, &publish(&runtime));
        windows.push(window(&report, true, server_p99));
    }
    let pick = |flooded: bool, f: fn(&Window) -> f64| {
        median(
            windows
                .iter()
                .filter(|w| w.flooded == flooded)
                .map(f)
                .collect(),
        )
    };
    let (p50_alone, p99_alone) = (pick(false, |w| w.p50), pick(false, |w| w.p99));
    let (p50_flood, p99_flood) = (pick(true, |w| w.p50), pick(true, |w| w.p99));
    println!(
        "## A flooding client against {} watchers ({} s windows, {} pairs; medians; --connection-rate-per-ip {connection_rate})\n",
        plan.connections, plan.window_s, plan.pairs
    );
    println!(
        "| | watchers' p50 (ms) | p99 (ms) | delivered/s | server's publish-to-write p99 (ms, bucket bound) |\n|---|---|---|---|---|"
    );
    for flooded in [false, true] {
        println!(
            "| {} | {:.2} | {:.2} | {:.0} | {} |",
            if flooded { "with the flooder" } else { "alone" },
            pick(flooded, |w| w.p50) / 1e3,
            pick(flooded, |w| w.p99) / 1e3,
            pick(flooded, |w| w.delivered),
            pick(flooded, |w| w.server_p99),
        );
    }
    println!(
        "\np99 with / without: {:.2}; p50: {:.2}",
        p99_flood / p99_alone,
        p50_flood / p50_alone
    );
    let sent = totals.sent.load(Relaxed);
    let limited = totals.limited.load(Relaxed);
    println!(
        "the flooder sent {sent} pings: {} pongs, {limited} rate_limited, {} other answers; the server closed it {} times (it connected again each time) and refused {} of its connections (429)",
        totals.pongs.load(Relaxed),
        totals.other_errors.load(Relaxed),
        totals.closes.load(Relaxed),
        totals.refused.load(Relaxed),
    );
    println!(
        "(server on core 1; the generator and the flooder share core 0: on two cores there is none to spare)"
    );
    for w in &windows {
        assert!(w.delivered > 0.0, "a window delivered nothing");
        assert_eq!(w.gaps, 0, "a watcher's stream gapped");
    }
    assert!(limited > 0, "the flooder was never rate-limited");
}
