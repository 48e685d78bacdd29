//! Cluster mode against `serve`, measured in the same run by the same
//! `tickwire loadgen`: (1) `serve` alone; (2) one engine, one gateway;
//! (3) one engine, two gateways, the load split between them. Processes
//! are pinned with taskset: the server or the gateway (the first) on core
//! 1, everything else (nats-server, the engine, the second gateway, the
//! generators) on core 0 — on this project's two-core machine there is no
//! core to spare, which the report says.
//!
//! ```text
//! cargo bench --bench cluster          # full: 100, then 1,000 connections, 15 s windows
//! ```
//!
//! Reported per run: messages delivered per second, latency p50/p99 (the
//! generator's: receipt against the message's `ts`, so in cluster mode it
//! includes the bus hop), gaps, lags. Under `cargo test` it runs small and
//! fails only if a run delivered nothing or saw a gap.

#[path = "support/mod.rs"]
mod support;

use std::process::{Child, Command, Stdio};

use support::{Proc, free_port, pinned, wait_for};

use serde_json::Value;

struct Plan {
    connections: usize,
    window_s: u64,
    rate_scale: f64,
}

fn tickwire(core: &str, args: &[&str], port: u16) -> Proc {
    let mut all: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    all.extend(["--listen".into(), format!("127.0.0.1:{port}")]);
    all.extend(["--max-connections".into(), "100000".into()]);
    let p = pinned(core, env!("CARGO_BIN_EXE_tickwire"), &all);
    wait_for(port);
    p
}

/// Generators, one per gateway port, run at once; their JSON reports.
fn load(plan: &Plan, ports: &[u16]) -> Vec<Value> {
    let each = plan.connections / ports.len();
    let children: Vec<Child> = ports
        .iter()
        .map(|port| {
            Command::new("taskset")
                .args(["-c", "0", env!("CARGO_BIN_EXE_tickwire"), "loadgen"])
                .args(["--url", &format!("ws://127.0.0.1:{port}/ws")])
                .args(["--connections", &each.to_string()])
                .args(["--duration", &format!("{}s", plan.window_s)])
                .args(["--ramp", "1s", "--json", "--quiet"])
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("loadgen")
        })
        .collect();
    children
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().expect("loadgen ran");
            serde_json::from_slice(&out.stdout).expect("loadgen's JSON")
        })
        .collect()
}

struct Row {
    name: &'static str,
    messages_per_sec: f64,
    p50: f64,
    p99: f64,
    gaps: u64,
    lagged: u64,
}

fn row(name: &'static str, reports: &[Value]) -> Row {
    let sum = |k: &str| reports.iter().filter_map(|r| r[k].as_f64()).sum::<f64>();
    let worst = |q: &str| {
        reports
            .iter()
            .filter_map(|r| r["latency_us"][q].as_f64())
            .fold(0.0, f64::max)
    };
    Row {
        name,
        messages_per_sec: sum("messages_per_sec"),
        p50: worst("p50"),
        p99: worst("p99"),
        gaps: sum("seq_gaps") as u64,
        lagged: sum("lagged") as u64,
    }
}

fn run(plan: &Plan) -> Vec<Row> {
    let scale = plan.rate_scale.to_string();
    let mut rows = Vec::new();

    let port = free_port();
    let serve = tickwire(
        "1",
        &[
            "serve",
            "--ephemeral",
            "--seed",
            "7",
            "--rate-scale",
            &scale,
        ],
        port,
    );
    rows.push(row("serve", &load(plan, &[port])));
    drop(serve);

    let nats_port = free_port();
    let nats = pinned(
        "0",
        "nats-server",
        &[
            "-a".into(),
            "127.0.0.1".into(),
            "-p".into(),
            nats_port.to_string(),
        ],
    );
    wait_for(nats_port);
    let url = format!("nats://127.0.0.1:{nats_port}");
    let engine_port = free_port();
    let engine = tickwire(
        "0",
        &[
            "engine",
            "--nats",
            &url,
            "--ephemeral",
            "--seed",
            "7",
            "--rate-scale",
            &scale,
        ],
        engine_port,
    );
    let (a, b) = (free_port(), free_port());
    let gateway_a = tickwire("1", &["gateway", "--nats", &url], a);
    rows.push(row("engine + 1 gateway", &load(plan, &[a])));
    let gateway_b = tickwire("0", &["gateway", "--nats", &url], b);
    rows.push(row("engine + 2 gateways", &load(plan, &[a, b])));
    drop((gateway_a, gateway_b, engine, nats));
    rows
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let plans = if full {
        // Light (the bus hop's own latency) and heavy.
        vec![
            Plan {
                connections: 100,
                window_s: 15,
                rate_scale: 1.0,
            },
            Plan {
                connections: 1000,
                window_s: 15,
                rate_scale: 1.0,
            },
        ]
    } else {
        vec![Plan {
            connections: 20,
            window_s: 1,
            rate_scale: 1.0,
        }]
    };
    for plan in &plans {
        let rows = run(plan);
        println!(
            "\n{} connections, all symbols, book+trades+ticker, {} s windows",
            plan.connections, plan.window_s
        );
        println!("| run | messages/s | p50 µs | p99 µs | gaps | lags |");
        println!("|---|---|---|---|---|---|");
        for r in &rows {
            println!(
                "| {} | {:.0} | {:.0} | {:.0} | {} | {} |",
                r.name, r.messages_per_sec, r.p50, r.p99, r.gaps, r.lagged
            );
        }
        for r in &rows {
            assert!(r.messages_per_sec > 0.0, "{}: nothing delivered", r.name);
            assert_eq!(r.gaps, 0, "{}: a gap", r.name);
        }
    }
}
