//! What TLS costs: the same `tickwire loadgen` run against the server
//! serving `ws://` and serving `wss://` (`--tls-cert`, a self-signed
//! certificate made here), in alternation, each window on a server started
//! afresh with the same seed, so both see the same market. The server is
//! pinned to core 1, the generator to core 0.
//!
//! ```text
//! cargo bench --bench tls     # 200 and 1,000 watchers, 15 s windows, 3 pairs each
//! ```
//!
//! Reported per load: the watchers' p50/p99 (publish to receive), messages
//! delivered a second, the server's CPU (cores, and CPU microseconds per
//! thousand messages), and TLS / plain ratios. The generator decrypts too,
//! on its own core: its CPU is reported beside, since a generator that runs
//! out of core would show as server latency. Under `cargo test` it runs
//! small and fails only if a window delivered nothing, gapped, or did not
//! connect every watcher.

#[path = "support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;
use support::{Proc, free_port, median, pinned, wait_for};

#[derive(Clone, Copy)]
struct Plan {
    loads: &'static [usize],
    window_s: u64,
    pairs: usize,
}

/// A self-signed certificate for 127.0.0.1, as PEM files, removed on drop.
struct Certificate {
    dir: PathBuf,
}

impl Certificate {
    fn make() -> Certificate {
        let dir = std::env::temp_dir().join(format!("tickwire-tls-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        let made =
            rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).expect("a cert");
        std::fs::write(dir.join("cert.pem"), made.cert.pem()).expect("cert.pem");
        std::fs::write(dir.join("key.pem"), made.signing_key.serialize_pem()).expect("key.pem");
        Certificate { dir }
    }

    fn cert(&self) -> PathBuf {
        self.dir.join("cert.pem")
    }
}

impl Drop for Certificate {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A server on core 1, seed 7, plain or TLS.
fn server(port: u16, tls: Option<&Certificate>) -> Proc {
    let mut args: Vec<String> = ["serve", "--ephemeral", "--seed", "7", "--listen"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.push(format!("127.0.0.1:{port}"));
    if let Some(c) = tls {
        args.push("--tls-cert".into());
        args.push(c.cert().display().to_string());
        args.push("--tls-key".into());
        args.push(c.dir.join("key.pem").display().to_string());
    }
    let server = pinned("1", env!("CARGO_BIN_EXE_tickwire"), &args);
    wait_for(port);
    server
}

fn loadgen(port: u16, pid: u32, connections: usize, seconds: u64, ca: Option<&Path>) -> Value {
    let scheme = if ca.is_some() { "wss" } else { "ws" };
    let mut command = Command::new("taskset");
    command
        .args(["-c", "0", env!("CARGO_BIN_EXE_tickwire"), "loadgen"])
        .args(["--url", &format!("{scheme}://127.0.0.1:{port}/ws")])
        .args(["--connections", &connections.to_string()])
        .args(["--symbols", "BTC-USD,ETH-USD,SOL-USD,AAPL"])
        .args(["--duration", &format!("{seconds}s")])
        .args(["--ramp", "1s", "--json", "--quiet"])
        .args(["--server-pid", &pid.to_string()]);
    if let Some(ca) = ca {
        command.arg("--tls-ca").arg(ca);
    }
    let out = command.stderr(Stdio::null()).output().expect("loadgen ran");
    serde_json::from_slice(&out.stdout).expect("loadgen's JSON")
}

struct Window {
    tls: bool,
    connections: usize,
    p50_ms: f64,
    p99_ms: f64,
    delivered: f64,
    server_cores: f64,
    loadgen_cores: f64,
    gaps: u64,
    connected: u64,
}

impl Window {
    fn of(report: &Value, tls: bool, connections: usize) -> Window {
        let f = |v: &Value| v.as_f64().unwrap_or(f64::NAN);
        Window {
            tls,
            connections,
            p50_ms: f(&report["latency_us"]["p50"]) / 1e3,
            p99_ms: f(&report["latency_us"]["p99"]) / 1e3,
            delivered: f(&report["messages_per_sec"]),
            server_cores: f(&report["server"]["cpu_cores"]),
            loadgen_cores: f(&report["loadgen_cpu_cores"]),
            gaps: report["seq_gaps"].as_u64().unwrap_or(u64::MAX),
            connected: report["connected"].as_u64().unwrap_or(0),
        }
    }

    /// Server CPU microseconds per thousand messages delivered.
    fn cpu_per_k(&self) -> f64 {
        self.server_cores * 1e6 / (self.delivered / 1e3)
    }
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let plan = if full {
        Plan {
            loads: &[200, 1000],
            window_s: 15,
            pairs: 3,
        }
    } else {
        Plan {
            loads: &[10],
            window_s: 2,
            pairs: 1,
        }
    };
    let cert = Certificate::make();
    let mut windows = Vec::new();
    for &connections in plan.loads {
        for _ in 0..plan.pairs {
            for tls in [false, true] {
                let port = free_port();
                let server = server(port, tls.then_some(&cert));
                let ca = tls.then(|| cert.cert());
                let report = loadgen(
                    port,
                    server.0.id(),
                    connections,
                    plan.window_s,
                    ca.as_deref(),
                );
                drop(server);
                windows.push(Window::of(&report, tls, connections));
            }
        }
    }
    println!(
        "## TLS against plain ({} s windows, {} pairs a load, medians; server on core 1, generator on core 0)\n",
        plan.window_s, plan.pairs
    );
    println!(
        "| watchers | | p50 (ms) | p99 (ms) | delivered/s | server CPU (cores) | server CPU per 1k messages (us) | generator CPU (cores) |\n|---|---|---|---|---|---|---|---|"
    );
    for &connections in plan.loads {
        let pick = |tls: bool, f: fn(&Window) -> f64| {
            median(
                windows
                    .iter()
                    .filter(|w| w.tls == tls && w.connections == connections)
                    .map(f)
                    .collect(),
            )
        };
        for tls in [false, true] {
            println!(
                "| {connections} | {} | {:.2} | {:.2} | {:.0} | {:.2} | {:.1} | {:.2} |",
                if tls { "wss" } else { "ws" },
                pick(tls, |w| w.p50_ms),
                pick(tls, |w| w.p99_ms),
                pick(tls, |w| w.delivered),
                pick(tls, |w| w.server_cores),
                pick(tls, Window::cpu_per_k),
                pick(tls, |w| w.loadgen_cores),
            );
        }
        println!(
            "| {connections} | wss / ws | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
            pick(true, |w| w.p50_ms) / pick(false, |w| w.p50_ms),
            pick(true, |w| w.p99_ms) / pick(false, |w| w.p99_ms),
            pick(true, |w| w.delivered) / pick(false, |w| w.delivered),
            pick(true, |w| w.server_cores) / pick(false, |w| w.server_cores),
            pick(true, Window::cpu_per_k) / pick(false, Window::cpu_per_k),
            pick(true, |w| w.loadgen_cores) / pick(false, |w| w.loadgen_cores),
        );
    }
    for w in &windows {
        assert_eq!(
            w.connected, w.connections as u64,
            "a watcher did not connect"
        );
        assert!(w.delivered > 0.0, "a window delivered nothing");
        assert_eq!(w.gaps, 0, "a watcher's stream gapped");
    }
}
