//! The soak: a real `tickwire serve` under the load generator's mixed load
//! for a long time, with everything that wears a server down at once.
//!
//! ```text
//! bash benches/soak.sh 30m      # writes target/soak/{soak.csv,soak.png,soak.md}
//! ```
//!
//! - **Mixed load, in windows**: `tickwire::loadgen` runs back to back,
//!   each window opening its watchers (every symbol: book, trades, ticker)
//!   and traders afresh and dropping them at its end, so the connection
//!   table churns every window; each window's gaps and unanswered orders
//!   are counted.
//! - **Churn**: a connection opened, subscribed, read once and dropped
//!   every 50 ms, without a close handshake half the time.
//! - **A slow client**: subscribes to every book and reads nothing for
//!   long stretches, so the server marks it lagging and at last closes it
//!   (`slow consumer`); it comes back each time.
//! - **An auditor**: an account sending market orders (alternating sides),
//!   which keeps every `order_accepted`, checks its private `seq` is
//!   gap-free, and asks `order_status` of every order it was acknowledged,
//!   two seconds after: each must be known. (The accounts keep 30 s of
//!   history, `history = "30s"`, so what the history holds is full within
//!   the warm-up and memory growth after it is not the history filling.)
//! - **A sampler**, every few seconds: the server's resident memory and
//!   open descriptors (`/proc`), its connections and tasks, and the p99 of
//!   its publish-to-write and order round-trip histograms over the last
//!   interval (`/metrics`).
//!
//! Fails (exit 1) when resident memory after the warm-up (a fifth of the
//! run, at least 60 s) grows by more than 10% (the median of the last
//! three samples against the largest of the first three after the
//! warm-up), when an acknowledged order is unknown,
//! an order unanswered, a private `seq` skipped, or any stream gapped.

mod audit;
mod plot;
mod sample;
#[path = "../support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tickwire::loadgen::{self, LoadOptions};
use tokio_tungstenite::tungstenite::Message;

/// Memory counts after the warm-up: the first fifth of the run, at least
/// 60 s. The history is full within 30 s, but the working set (the
/// allocator's arenas, the connection table's and the rings' capacity)
/// settles more slowly: the first 30-minute run climbed from 13 to 19.4 MiB
/// over its first 330 s and then stayed between 18.5 and 20.1 MiB.
fn warm_up(duration: Duration) -> Duration {
    (duration / 5).max(Duration::from_secs(60))
}

const SYMBOLS: [&str; 4] = ["BTC-USD", "ETH-USD", "SOL-USD", "AAPL"];
const TOKEN: &str = "soak-auditor";
const TRADER_TOKEN: &str = "soak-trader";
/// The accounts' history (finished orders, client order ids, fills kept):
/// short, so what it holds is full well within the warm-up, and growth
/// after it is not the history filling.
const HISTORY: &str = "30s";

struct Args {
    duration: Duration,
    tickwire: PathBuf,
    out: PathBuf,
}

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let mut duration = None;
    let mut tickwire = PathBuf::from("target/release/tickwire");
    let mut out = PathBuf::from("target/soak");
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--tickwire" => tickwire = args.next().ok_or("--tickwire FILE")?.into(),
            "--out" => out = args.next().ok_or("--out DIR")?.into(),
            text => {
                let ns = tickwire::record::parse_duration(text)?;
                duration = Some(Duration::from_nanos(ns));
            }
        }
    }
    let duration = duration.ok_or("usage: soak DURATION [--tickwire FILE] [--out DIR]")?;
    if duration < Duration::from_secs(90) {
        return Err("a soak runs at least 90s (60s of it is the warm-up)".into());
    }
    Ok(Args {
        duration,
        tickwire,
        out,
    })
}

/// The server, killed when dropped (also when the soak fails).
struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(args: &Args) -> Result<Server, String> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| e.to_string())?
        .port();
    let accounts = args.out.join("accounts.toml");
    std::fs::write(
        &accounts,
        format!(
            "[[account]]\nname = \"auditor\"\ntoken = \"{TOKEN}\"\norders_per_sec = 1000\nhistory = \"{HISTORY}\"\n\n\
             [[account]]\nname = \"traders\"\ntoken = \"{TRADER_TOKEN}\"\norders_per_sec = 1000\nhistory = \"{HISTORY}\"\n"
        ),
    )
    .map_err(|e| e.to_string())?;
    let data = args.out.join("data");
    let _ = std::fs::remove_dir_all(&data);
    let log = std::fs::File::create(args.out.join("server.log")).map_err(|e| e.to_string())?;
    let child = Command::new(&args.tickwire)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(["--max-connections", "100000", "--queue-budget", "262144"])
        .args(["--requests-per-sec", "1000", "--request-burst", "1000"])
        // State snapshots within the warm-up too (their buffers are part
        // of the working set), and every 15 s after.
        .args(["--state-snapshot-every", "15"])
        .arg("--accounts")
        .arg(&accounts)
        .arg("--data-dir")
        .arg(&data)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .map_err(|e| format!("{}: {e}", args.tickwire.display()))?;
    let server = Server { child, port };
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            return Err(format!("nothing listens on {port} after 30 s"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(server)
}

/// What the side tasks counted.
#[derive(Default)]
pub struct Counts {
    pub churned: AtomicU64,
    pub slow_closes: AtomicU64,
    pub slow_lagged: AtomicU64,
}

fn ws_url(port: u16) -> String {
    format!("ws://127.0.0.1:{port}/ws")
}

fn subscribe_all(channels: &str) -> String {
    format!(
        r#"{{"op":"subscribe","channels":[{channels}],"symbols":["{}"]}}"#,
        SYMBOLS.join("\",\"")
    )
}

/// A connection opened, subscribed, read once and dropped, in a loop.
async fn churn(port: u16, stop: Arc<AtomicBool>, counts: Arc<Counts>) {
    let request = subscribe_all(r#""book","trades""#);
    let mut n = 0u64;
    while !stop.load(Relaxed) {
        n += 1;
        if let Ok((mut ws, _)) = tokio_tungstenite::connect_async(ws_url(port)).await {
            let _ = ws.send(Message::text(request.clone())).await;
            let _ = tokio::time::timeout(Duration::from_secs(2), ws.next()).await;
            if n.is_multiple_of(2) {
                let _ = ws.close(None).await;
            } // else dropped: no close frame, the socket just goes
            counts.churned.fetch_add(1, Relaxed);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Subscribes to every book and trade stream through a 4 KiB receive
/// buffer and reads nothing for 50 s at a time (by then the server's
/// socket buffer and the connection's queue budget are full), then reads
/// what comes for 2 s, counting `lagged` notices; comes back after the
/// server closes it.
async fn slow_client(port: u16, stop: Arc<AtomicBool>, counts: Arc<Counts>) {
    let request = subscribe_all(r#""book","trades""#);
    while !stop.load(Relaxed) {
        let connect = async {
            let socket = tokio::net::TcpSocket::new_v4().ok()?;
            socket.set_recv_buffer_size(4096).ok()?;
            let stream = socket.connect(([127, 0, 0, 1], port).into()).await.ok()?;
            tokio_tungstenite::client_async(ws_url(port), stream)
                .await
                .ok()
        };
        let Some((mut ws, _)) = connect.await else {
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        };
        let _ = ws.send(Message::text(request.clone())).await;
        'connection: while !stop.load(Relaxed) {
            for _ in 0..50 {
                if stop.load(Relaxed) {
                    return;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            let sip = tokio::time::Instant::now() + Duration::from_secs(2);
            while let Ok(message) = tokio::time::timeout_at(sip, ws.next()).await {
                match message {
                    Some(Ok(Message::Text(t))) if t.contains("\"lagged\"") => {
                        counts.slow_lagged.fetch_add(1, Relaxed);
                    }
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                        counts.slow_closes.fetch_add(1, Relaxed);
                        break 'connection;
                    }
                    _ => {}
                }
            }
        }
    }
}

/// One window of the load generator's mixed load.
fn window(port: u16, seconds: u64) -> LoadOptions {
    let mut options = LoadOptions::new(&ws_url(port));
    options.connections = 200;
    options.symbols = SYMBOLS.iter().map(|s| s.to_string()).collect();
    options.duration = Duration::from_secs(seconds);
    options.ramp = Duration::from_secs(2);
    options.traders = 4;
    options.orders_per_sec = 40.0;
    options.tokens = vec![TRADER_TOKEN.to_string()];
    options.settle_timeout = Duration::from_secs(20);
    options
}

/// Totals over the windows.
#[derive(Default)]
struct Windows {
    runs: u64,
    gaps: u64,
    lagged: u64,
    messages: u64,
    orders_accepted: u64,
    orders_unanswered: u64,
    errors: Vec<String>,
}

async fn soak(args: Args) -> Result<Vec<String>, String> {
    std::fs::create_dir_all(&args.out).map_err(|e| e.to_string())?;
    let server = start_server(&args)?;
    let port = server.port;
    let stop = Arc::new(AtomicBool::new(false));
    let counts = Arc::new(Counts::default());
    let started = Instant::now();
    let warm_up = warm_up(args.duration);

    let sampler = tokio::spawn(sample::run(port, stop.clone()));
    let churner = tokio::spawn(churn(port, stop.clone(), counts.clone()));
    let slow = tokio::spawn(slow_client(port, stop.clone(), counts.clone()));
    // The load windows, and a 30 s warm-up before memory counts.
    let auditor = tokio::spawn(audit::run(ws_url(port), TOKEN, stop.clone()));

    let mut windows = Windows::default();
    // Windows of 20 s (plus ramp and drain) until the time is up.
    while started.elapsed() + Duration::from_secs(30) < args.duration {
        match loadgen::run(window(port, 20)).await {
            Ok(report) => {
                windows.runs += 1;
                windows.gaps += report.gaps;
                windows.lagged += report.lagged;
                windows.messages += report.messages;
                windows.orders_accepted += report.orders_accepted;
                windows.orders_unanswered += report.orders_unanswered;
            }
            Err(e) => windows.errors.push(e),
        }
    }
    if let Some(left) = args.duration.checked_sub(started.elapsed()) {
        tokio::time::sleep(left).await;
    }
    stop.store(true, Relaxed);
    let audit = auditor.await.map_err(|e| e.to_string())?;
    let samples = sampler.await.map_err(|e| e.to_string())?;
    let _ = churner.await;
    let _ = slow.await;
    drop(server);

    sample::write_csv(&args.out.join("soak.csv"), &samples).map_err(|e| e.to_string())?;
    plot::draw(&args.out.join("soak.png"), &samples, warm_up.as_secs_f64())?;

    let mut failures = Vec::new();
    let after: Vec<&sample::Sample> = samples
        .iter()
        .filter(|s| s.t >= warm_up.as_secs_f64())
        .collect();
    let growth = memory_growth(&after);
    match growth {
        Some((base, end)) if end > base * 1.10 => failures.push(format!(
            "resident memory grew {:.1}% after the warm-up ({:.1} MiB to {:.1} MiB)",
            (end / base - 1.0) * 100.0,
            base,
            end
        )),
        None => failures.push("too few samples after the warm-up".into()),
        _ => {}
    }
    if windows.gaps > 0 {
        failures.push(format!("{} gaps on the watchers' streams", windows.gaps));
    }
    if windows.orders_unanswered > 0 {
        failures.push(format!(
            "{} of the traders' orders unanswered",
            windows.orders_unanswered
        ));
    }
    if !windows.errors.is_empty() {
        failures.push(format!("load windows failed: {:?}", windows.errors));
    }
    failures.extend(audit.failures());

    let report = report(
        &args, &windows, &audit, &counts, &samples, growth, &failures,
    );
    std::fs::write(args.out.join("soak.md"), &report).map_err(|e| e.to_string())?;
    println!("{report}");
    Ok(failures)
}

/// The largest of the first three samples after the warm-up and the
/// median of the last three, in MiB.
fn memory_growth(after: &[&sample::Sample]) -> Option<(f64, f64)> {
    if after.len() < 6 {
        return None;
    }
    let base = after[..3].iter().map(|s| s.rss_mib).fold(0.0, f64::max);
    let mut last: Vec<f64> = after[after.len() - 3..].iter().map(|s| s.rss_mib).collect();
    last.sort_by(f64::total_cmp);
    Some((base, last[1]))
}

fn report(
    args: &Args,
    windows: &Windows,
    audit: &audit::Audit,
    counts: &Counts,
    samples: &[sample::Sample],
    growth: Option<(f64, f64)>,
    failures: &[String],
) -> String {
    let max = |f: fn(&sample::Sample) -> f64| samples.iter().map(f).fold(0.0, f64::max);
    let mut out = format!(
        "# Soak: {} s\n\n| | |\n|---|---|\n",
        args.duration.as_secs()
    );
    let rows = [
        (
            "load windows (200 watchers + 4 traders each)",
            windows.runs.to_string(),
        ),
        (
            "market-data messages read by the watchers",
            windows.messages.to_string(),
        ),
        ("gaps on the watchers' streams", windows.gaps.to_string()),
        ("lagged notices to the watchers", windows.lagged.to_string()),
        (
            "traders' orders accepted / unanswered",
            format!(
                "{} / {}",
                windows.orders_accepted, windows.orders_unanswered
            ),
        ),
        (
            "churned connections",
            counts.churned.load(Relaxed).to_string(),
        ),
        (
            "slow client: lagged notices read / closed by the server",
            format!(
                "{} / {}",
                counts.slow_lagged.load(Relaxed),
                counts.slow_closes.load(Relaxed)
            ),
        ),
        (
            "auditor: orders acknowledged / refused / checked / unknown",
            format!(
                "{} / {} / {} / {}",
                audit.acked.len(),
                audit.refused,
                audit.checked,
                audit.unknown.len()
            ),
        ),
        ("auditor: private seq gaps", audit.private_gaps.to_string()),
        (
            "resident memory after warm-up, first to last (MiB)",
            growth.map_or("-".into(), |(a, b)| {
                format!("{a:.1} to {b:.1} ({:+.1}%)", (b / a - 1.0) * 100.0)
            }),
        ),
        (
            "largest resident memory (MiB)",
            format!("{:.1}", max(|s| s.rss_mib)),
        ),
        ("most open descriptors", format!("{}", max(|s| s.fds))),
        (
            "longest stretch without a journal fdatasync (s)",
            format!("{:.0}", sample::longest_without_fsync(samples)),
        ),
        (
            "worst interval p99 publish-to-write (ms)",
            format!("{:.2}", max(|s| s.publish_p99_ms)),
        ),
        (
            "worst interval p99 order round trip (ms)",
            format!("{:.2}", max(|s| s.order_p99_ms)),
        ),
    ];
    for (what, value) in rows {
        out.push_str(&format!("| {what} | {value} |\n"));
    }
    if failures.is_empty() {
        out.push_str("\nPassed.\n");
    } else {
        out.push_str("\nFAILED:\n");
        for f in failures {
            out.push_str(&format!("- {f}\n"));
        }
    }
    out
}

fn main() {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("soak: {e}");
            std::process::exit(2);
        }
    };
    let out: &Path = &args.out.clone();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("soak: {e}");
            std::process::exit(2);
        }
    };
    match runtime.block_on(soak(args)) {
        Ok(failures) if failures.is_empty() => {}
        Ok(_) => std::process::exit(1),
        Err(e) => {
            eprintln!("soak ({}): {e}", out.display());
            std::process::exit(1);
        }
    }
}
