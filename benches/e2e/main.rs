//! End to end, over real sockets: tickwire against the servers users would
//! pick instead (a Node `ws` fan-out, and a naive Rust fan-out in the shape
//! of the tokio-tungstenite chat example), each measured in the same run by
//! the same `tickwire loadgen`, with the server pinned to core 0 and the
//! generator to core 1 (`taskset`). The peers play a `tickwire simulate`
//! recording of the same seed and rate, so they send the same messages at
//! the same rates to the same subscriptions.
//!
//! ```text
//! bash benches/run.sh          # or: cargo bench --bench e2e
//! ```
//!
//! Scenarios: (1) 1,000 connections, all symbols, book+trades+ticker,
//! default rates (with a fourth server: the naive peer encoding once per
//! subscriber); (2) flat out: 100 such connections while the event rate
//! rises, until p99 passes 10 ms, then two bisection steps between the last
//! good rate and the first bad one; (3) 20,000 idle-but-subscribed
//! connections (the heartbeat of one symbol): memory per connection;
//! (4) 100 traders sending orders while 1,000 connections watch (tickwire
//! only: the peers do not trade); (5) and (6) the book's views and HTTP
//! polling (`polling.rs`); (7) scenario 1 again with tickwire given two
//! cores, one worker thread and two (on a machine of two cores the
//! generator shares them). Writes `target/bench/e2e.md`, `e2e.png` and
//! `e2e.json`.
//!
//! Under `cargo test` (no `--bench` argument) it runs every scenario small
//! and quick, writes `e2e-smoke.*`, and fails if any run of any server went
//! wrong (a connection unanswered, an error, a gap, a lag, a disconnect, a
//! server behind its feed): the harness itself is tested, not the speed.
//!
//! The peers play their recording once (they stop when it runs out rather
//! than restarting `seq`, and say when), so each feed covers the whole
//! run, which fails if a feed ran out inside its window: the ramp, the
//! generator's longest wait for subscription answers (`settle_s`, after
//! which it measures without the unanswered connections and says how many),
//! the window, and room to spare. "Offered" counts only the connections
//! that got their subscription answer.

mod polling;
mod procs;
mod report;

use std::fmt::Write;

use procs::{Kind, Load, Paths, Placement};

/// The sizes of one run of every scenario.
pub struct Plan {
    pub full: bool,
    pub watchers: usize,
    pub sweep_connections: usize,
    pub sweep_scales: Vec<f64>,
    pub idle_connections: usize,
    pub traders: usize,
    pub orders_per_sec: f64,
    pub window_s: u64,
    pub sweep_window_s: u64,
    pub ramp_s: u64,
    pub idle_ramp_s: u64,
    /// The generator's longest wait for subscription answers.
    pub settle_s: u64,
    /// Bisection steps near each server's limit in the sweep.
    pub refine_steps: usize,
    /// Client counts of the WebSocket-against-polling comparison.
    pub polling_clients: Vec<usize>,
}

impl Plan {
    fn new(full: bool) -> Plan {
        // A connection is one descriptor in the server and one in the
        // generator; keep clear of the open-file limit.
        let fd_room = procs::open_file_limit().saturating_sub(200) as usize;
        if full {
            Plan {
                full,
                watchers: 1000,
                sweep_connections: 100,
                sweep_scales: vec![1.0, 1.33, 2.0, 5.0, 10.0, 20.0, 33.0, 50.0, 70.0, 100.0],
                idle_connections: 20_000.min(fd_room),
                traders: 100,
                orders_per_sec: 200.0,
                window_s: 10,
                sweep_window_s: 5,
                ramp_s: 3,
                idle_ramp_s: 20,
                settle_s: 20,
                refine_steps: 2,
                polling_clients: vec![100, 1000],
            }
        } else {
            Plan {
                full,
                watchers: 20,
                sweep_connections: 10,
                sweep_scales: vec![1.0, 5.0],
                idle_connections: 200.min(fd_room),
                traders: 4,
                orders_per_sec: 40.0,
                window_s: 1,
                sweep_window_s: 1,
                ramp_s: 1,
                idle_ramp_s: 1,
                settle_s: 5,
                refine_steps: 0,
                polling_clients: vec![10],
            }
        }
    }

    /// Seconds of feed a peer needs for one run: the ramp, the longest
    /// wait for subscription answers, half a second for snapshots, the
    /// window, and room for the generator's start and its closing measures.
    fn feed_seconds(&self, ramp_s: u64, window_s: u64) -> u64 {
        ramp_s + self.settle_s + 1 + window_s + 20
    }
}

const ALL_SYMBOLS: &str = "BTC-USD,ETH-USD,SOL-USD,AAPL";

/// One measured run.
#[derive(Clone, Debug)]
pub struct Run {
    pub scenario: &'static str,
    pub kind: Kind,
    pub scale: f64,
    /// Messages per second the feed offers these subscriptions.
    pub offered: f64,
    pub load: Load,
    /// How the clients follow the market (scenarios 5 and 6).
    pub mode: &'static str,
}

impl Run {
    /// Delivered less than 95% of what was offered to the connections it
    /// answered, or left connections unanswered: the server fell behind.
    pub fn behind(&self) -> bool {
        self.load.delivered() < 0.95 * self.offered || self.load.unanswered() > 0
    }
}

/// One server under one load.
pub struct Job {
    pub scenario: &'static str,
    pub kind: Kind,
    pub scale: f64,
    pub load: Vec<String>,
    pub server_extra: Vec<String>,
    pub ramp_s: u64,
    pub window_s: u64,
    pub placement: Placement,
}

fn measure(paths: &Paths, plan: &Plan, job: Job) -> Result<Run, String> {
    let Job {
        scenario,
        kind,
        scale,
        load: load_args,
        server_extra,
        ramp_s,
        window_s,
        placement,
    } = job;
    // tickwire simulates live; the peers play this. It also says what a
    // connection is offered: a server that falls behind delivers less.
    let feed = paths.feed(scale, plan.feed_seconds(ramp_s, window_s))?;
    let value = |flag: &str| {
        load_args
            .iter()
            .position(|a| a == flag)
            .and_then(|i| load_args.get(i + 1))
            .cloned()
            .unwrap_or_default()
    };
    let symbols = value("--symbols");
    let mut per_connection = procs::offered_rate(&feed, &symbols, &value("--channels"))?;
    if load_args.iter().any(|a| a == "--one-symbol-each") {
        // Watchers spread evenly: on average a quarter of the four symbols.
        per_connection /= symbols.split(',').count() as f64;
    }
    let tag = match server_extra.iter().position(|a| a == "--workers") {
        Some(i) => format!(
            "{scenario}-{}-x{scale}-w{}",
            kind.slug(),
            server_extra.get(i + 1).map_or("", |w| w.as_str())
        ),
        None => format!("{scenario}-{}-x{scale}", kind.slug()),
    };
    let mut server = paths.start(
        kind,
        scale,
        &feed,
        (&server_extra, placement),
        &format!("{tag}-server"),
    )?;
    let mut all = load_args;
    all.extend([
        "--duration".into(),
        format!("{window_s}s"),
        "--ramp".into(),
        format!("{ramp_s}s"),
        "--settle-timeout".into(),
        format!("{}s", plan.settle_s),
    ]);
    let load = paths.loadgen(&server, (&all, placement), &format!("{tag}-loadgen"))?;
    if let Some(status) = server.exited() {
        return Err(format!(
            "{} exited during the run ({status}); see target/bench/logs/{tag}-server.log",
            kind.name()
        ));
    }
    drop(server);
    // A peer's feed must outlast the window.
    if let Some(ran_out) = paths.feed_ran_out(&format!("{tag}-server"))
        && ran_out < load.f(&["window_end_unix_ns"]) as u64
    {
        return Err(format!(
            "{}'s feed ran out before the window closed: make feed_seconds longer",
            kind.name()
        ));
    }
    // Only connections that were answered are offered anything. A view of
    // the book or a poll sends less by design: nothing to compare.
    let derived = all
        .iter()
        .any(|a| a == "--poll" || a == "--book-depth" || a == "--book-interval");
    let offered = if derived {
        0.0
    } else {
        per_connection * load.f(&["subscribed"])
    };
    eprintln!(
        "e2e {scenario:<8} {:<10} x{scale:<6.3} {:>10.0} msgs/s (offered {offered:.0})  p50 {:>8.2} ms  p99 {:>8.2} ms  server {:.2} cores  loadgen {:.2} cores  gaps/lags/disconnects {}  unanswered {}",
        kind.name(),
        load.delivered(),
        load.latency_ms("p50"),
        load.latency_ms("p99"),
        load.f(&["server", "cpu_cores"]),
        load.f(&["loadgen_cpu_cores"]),
        load.problems(),
        load.unanswered()
    );
    Ok(Run {
        scenario,
        kind,
        scale,
        offered,
        load,
        mode: "",
    })
}

pub fn watch_args(connections: usize, symbols: &str, channels: &str) -> Vec<String> {
    vec![
        "--connections".into(),
        connections.to_string(),
        "--symbols".into(),
        symbols.into(),
        "--channels".into(),
        channels.into(),
    ]
}

fn run_all(paths: &Paths, plan: &Plan) -> Result<Vec<Run>, String> {
    let mut runs = Vec::new();
    // 1. Many connections at the default rates.
    for kind in Kind::EVERY {
        let load = watch_args(plan.watchers, ALL_SYMBOLS, "book,trades,ticker");
        runs.push(measure(
            paths,
            plan,
            Job {
                scenario: "watchers",
                kind,
                scale: 1.0,
                load,
                server_extra: vec![],
                ramp_s: plan.ramp_s,
                window_s: plan.window_s,
                placement: Placement::OneCore,
            },
        )?);
    }
    // 2. Flat out: the rate rises until p99 passes 10 ms (or the run loses
    //    messages, falls behind, or the generator is the limit); then a few
    //    bisection steps between the last good rate and the first bad one,
    //    so "most msgs/s under a p99" is not an artefact of a big step.
    for kind in Kind::ALL {
        let sweep_run = |scale: f64| {
            let load = watch_args(plan.sweep_connections, ALL_SYMBOLS, "book,trades,ticker");
            measure(
                paths,
                plan,
                Job {
                    scenario: "sweep",
                    kind,
                    scale,
                    load,
                    server_extra: vec![],
                    ramp_s: 1,
                    window_s: plan.sweep_window_s,
                    placement: Placement::OneCore,
                },
            )
        };
        let failed = |run: &Run| {
            run.load.latency_ms("p99") > 10.0
                || run.load.problems() > 0
                || run.behind()
                || run.load.loadgen_bound()
        };
        let mut good: Option<f64> = None;
        let mut bad: Option<f64> = None;
        for &scale in &plan.sweep_scales {
            let run = sweep_run(scale)?;
            let done = failed(&run);
            runs.push(run);
            if done && plan.full {
                bad = Some(scale);
                break;
            }
            good = Some(scale);
        }
        if let (Some(mut low), Some(mut high)) = (good, bad) {
            for _ in 0..plan.refine_steps {
                let scale = ((low * high).sqrt() * 100.0).round() / 100.0;
                if scale <= low || scale >= high {
                    break;
                }
                let run = sweep_run(scale)?;
                if failed(&run) {
                    high = scale;
                } else {
                    low = scale;
                }
                runs.push(run);
            }
        }
    }
    // 3. Idle but subscribed: memory per connection.
    for kind in Kind::ALL {
        let load = watch_args(plan.idle_connections, "BTC-USD", "heartbeat");
        runs.push(measure(
            paths,
            plan,
            Job {
                scenario: "idle",
                kind,
                scale: 1.0,
                load,
                server_extra: vec![],
                ramp_s: plan.idle_ramp_s,
                window_s: plan.window_s,
                placement: Placement::OneCore,
            },
        )?);
    }
    // 4. Traders and watchers together (tickwire only).
    let accounts = paths.out.join("e2e-accounts.toml");
    let mut file = String::new();
    let mut tokens = Vec::new();
    for i in 0..plan.traders {
        let token = format!("bench-trader-token-{i:03}");
        let _ = writeln!(file, "[[account]]\nname = \"trader{i:03}\"");
        let _ = writeln!(file, "token = \"{token}\"\norders_per_sec = 100000\n");
        tokens.push(token);
    }
    std::fs::write(&accounts, file).map_err(|e| e.to_string())?;
    // Each watcher follows one market, as a trading screen does: with all
    // four, 1,000 watchers alone keep the server's core busy (scenario 1).
    let mut load = watch_args(plan.watchers, ALL_SYMBOLS, "book,trades,ticker");
    load.extend([
        "--one-symbol-each".into(),
        "--traders".into(),
        plan.traders.to_string(),
        "--orders-per-sec".into(),
        plan.orders_per_sec.to_string(),
        "--token".into(),
        tokens.join(","),
    ]);
    let extra = vec!["--accounts".to_string(), accounts.display().to_string()];
    runs.push(measure(
        paths,
        plan,
        Job {
            scenario: "trading",
            kind: Kind::Tickwire,
            scale: 1.0,
            load,
            server_extra: extra,
            ramp_s: plan.ramp_s,
            window_s: plan.window_s,
            placement: Placement::OneCore,
        },
    )?);
    // 5 and 6. Fewer messages for the same information: the book's views,
    //    and WebSockets against HTTP polling (tickwire alone).
    runs.extend(polling::run_all(paths, plan, measure)?);
    // 7. One core or two: scenario 1 again, tickwire given two cores, with
    //    one worker thread and with two.
    if paths.pin {
        for workers in ["1", "2"] {
            let mut run = measure(
                paths,
                plan,
                Job {
                    scenario: "cores",
                    kind: Kind::Tickwire,
                    scale: 1.0,
                    load: watch_args(plan.watchers, ALL_SYMBOLS, "book,trades,ticker"),
                    server_extra: vec!["--workers".into(), workers.into()],
                    ramp_s: plan.ramp_s,
                    window_s: plan.window_s,
                    placement: Placement::TwoCores,
                },
            )?;
            run.mode = if workers == "1" {
                "two cores, one worker"
            } else {
                "two cores, two workers"
            };
            runs.push(run);
        }
    }
    Ok(runs)
}

/// What the smoke run (under `cargo test`) must show: every server answered
/// every connection, without errors, and delivered without losing anything.
/// Whether it kept up with its feed is speed, which the report shows
/// ("fell behind") and a test must not assert: under CPU load the slow
/// peer (encode per subscriber) fell behind and failed the suite.
fn check(runs: &[Run]) -> Result<(), String> {
    for run in runs {
        let l = &run.load;
        let what = format!("{} {} x{}", run.scenario, run.kind.name(), run.scale);
        let wanted = l.f(&["connections"]) + l.f(&["traders"]);
        if l.f(&["connected"]) != wanted {
            return Err(format!(
                "{what}: connected {} of {wanted}",
                l.f(&["connected"])
            ));
        }
        if l.unanswered() > 0 {
            return Err(format!(
                "{what}: connections unanswered or refused: {}",
                l.json
            ));
        }
        if l.f(&["messages"]) <= 0.0 {
            return Err(format!("{what}: no messages"));
        }
        if l.problems() > 0 {
            return Err(format!("{what}: gaps, lags or disconnects: {}", l.json));
        }
        if l.f(&["server", "rss_after_bytes"]).is_nan() {
            return Err(format!("{what}: no server measures"));
        }
    }
    let trading = runs
        .iter()
        .find(|r| r.scenario == "trading")
        .ok_or("no trading run")?;
    if trading.load.f(&["orders", "accepted"]).is_nan()
        || trading.load.f(&["orders", "accepted"]) <= 0.0
    {
        return Err(format!("no order was accepted: {}", trading.load.json));
    }
    Ok(())
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let plan = Plan::new(full);
    let result = Paths::find().and_then(|paths| {
        let runs = run_all(&paths, &plan)?;
        let name = if full { "e2e" } else { "e2e-smoke" };
        report::write(&paths, &plan, &runs, name)?;
        if !full {
            check(&runs)?;
        }
        Ok(paths.out.join(format!("{name}.md")))
    });
    match result {
        Ok(table) => println!("e2e: wrote {}", table.display()),
        Err(e) => {
            eprintln!("e2e: {e}");
            std::process::exit(1);
        }
    }
}
