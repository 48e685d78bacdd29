//! `tickwire loadgen`: many WebSocket connections that subscribe and read,
//! measuring delivered messages and bytes, publish-to-receive latency from
//! each message's `ts`, `seq` gaps, `lagged` notices and disconnects; with
//! `traders`, connections that also send orders and time each one to its
//! `order_accepted`; with `server_pid`, the server's CPU and memory.
//!
//! Open loop: watchers only read, as fast as they can, and traders send on
//! a fixed schedule whatever the answers; nothing makes the server wait on
//! the generator. Messages are scanned for `type`, `symbol`, `seq` and `ts`
//! straight out of the read buffer (see `wire`), and the generator's own
//! CPU is reported, so a run that the generator limited says so.
//!
//! The measured window opens once every connection has its `subscribed`
//! answer (or after `settle_timeout`, without the unanswered ones; plus
//! half a second for the initial snapshots to pass), and lasts `duration`;
//! what is read after it closes (while the server's measures are taken) is
//! not counted.

mod dial;
mod fields;
mod poller;
pub mod probe;
mod report;
mod trader;
mod watcher;
mod wire;

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tokio::sync::watch;

pub use probe::{ProcSample, fetch_metrics, metric, sample};
pub use report::{LoadReport, ServerReport};
use watcher::{subscribe_request, watcher};

#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// `ws://IP:PORT/path`, or `wss://` with `tls_ca`.
    pub url: String,
    /// For `wss://`: the PEM certificate(s) to trust (the server's own, or
    /// the authority that signed it).
    pub tls_ca: Option<PathBuf>,
    /// Connections that subscribe and read.
    pub connections: usize,
    pub symbols: Vec<String>,
    pub channels: Vec<String>,
    /// The measured window.
    pub duration: Duration,
    /// Connections are opened evenly over this time first.
    pub ramp: Duration,
    /// Extra connections that authenticate and send orders (and read their
    /// symbol's ticker, to price them).
    pub traders: usize,
    /// Orders per second over all traders.
    pub orders_per_sec: f64,
    /// Account tokens, used by the traders in turn.
    pub tokens: Vec<String>,
    /// The server's process, for its CPU and memory from /proc.
    pub server_pid: Option<u32>,
    /// Print a line a second to stderr while running.
    pub progress: bool,
    /// Each watcher subscribes to one of `symbols`, in turn, instead of all.
    pub one_symbol_each: bool,
    /// How long after the ramp the window waits for every answer.
    pub settle_timeout: Duration,
    /// A view of the book (v1.1): its depth and interval.
    pub book_depth: Option<u32>,
    pub book_interval: Option<String>,
    /// Poll the HTTP API at this interval instead of subscribing (each
    /// connection follows one symbol's book and trades).
    pub poll: Option<Duration>,
}

impl LoadOptions {
    pub fn new(url: &str) -> LoadOptions {
        LoadOptions {
            url: url.to_string(),
            tls_ca: None,
            connections: 100,
            symbols: vec!["BTC-USD".into()],
            channels: vec!["book".into(), "trades".into(), "ticker".into()],
            duration: Duration::from_secs(10),
            ramp: Duration::from_secs(1),
            traders: 0,
            orders_per_sec: 0.0,
            tokens: Vec::new(),
            server_pid: None,
            progress: false,
            one_symbol_each: false,
            settle_timeout: Duration::from_secs(60),
            book_depth: None,
            book_interval: None,
            poll: None,
        }
    }
}

/// Counters every connection adds to, read by the progress line and by the
/// window's opening (relaxed atomics: each is only ever summed).
#[derive(Default)]
struct Live {
    /// Connections that got their `subscribed` (or failed for good).
    settled: AtomicU64,
    connected: AtomicU64,
    messages: AtomicU64,
    gaps: AtomicU64,
    lagged: AtomicU64,
    disconnects: AtomicU64,
    orders: AtomicU64,
    /// Nanoseconds after `base` at which the window opens (u64::MAX: not yet).
    window_open: AtomicU64,
    /// Nanoseconds after `base` at which the window closed (u64::MAX: not yet).
    window_close: AtomicU64,
}

/// The shared frame of one run.
struct RunContext {
    dialer: dial::Dialer,
    path: String,
    base: Instant,
    live: Live,
    stop: watch::Receiver<bool>,
    /// Publish-to-receive latency of every watcher: one histogram, not one
    /// per connection (20,000 of those would be half a gigabyte).
    latency: Mutex<Histogram<u64>>,
}

impl RunContext {
    /// Whether `now` is inside the measured window.
    fn measuring(&self, now: Instant) -> bool {
        let at = (now - self.base).as_nanos() as u64;
        at >= self.live.window_open.load(Relaxed) && at < self.live.window_close.load(Relaxed)
    }
}

/// Prints a line a second to stderr until `stop`.
async fn progress(ctx: Arc<RunContext>, total: usize, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    let mut last = (0, 0);
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            _ = tick.tick() => {}
        }
        let live = &ctx.live;
        let messages = live.messages.load(Relaxed);
        let orders = live.orders.load(Relaxed);
        let phase = if live.window_open.load(Relaxed) == u64::MAX {
            "connecting"
        } else {
            "measuring"
        };
        eprintln!(
            "loadgen {:>6.1}s {phase:<10} {}/{total} connected, {} msgs/s, {} orders/s, {} gaps, {} lagged, {} disconnects",
            ctx.base.elapsed().as_secs_f64(),
            live.connected.load(Relaxed),
            messages - last.0,
            orders - last.1,
            live.gaps.load(Relaxed),
            live.lagged.load(Relaxed),
            live.disconnects.load(Relaxed),
        );
        last = (messages, orders);
    }
}

/// Runs the load and reports what it saw.
pub async fn run(options: LoadOptions) -> Result<LoadReport, String> {
    let url = wire::parse_url(&options.url)?;
    let dialer = match (url.tls, &options.tls_ca) {
        (true, Some(ca)) => dial::Dialer::tls(url.addr, ca)?,
        (true, None) => {
            return Err(format!(
                "{}: wss:// needs --tls-ca FILE, the server's certificate (or the authority that signed it) in PEM",
                options.url
            ));
        }
        (false, Some(_)) => {
            return Err(format!(
                "{}: --tls-ca is for wss:// URLs; this one is plain ws://",
                options.url
            ));
        }
        (false, None) => dial::Dialer::plain(url.addr),
    };
    if options.traders > 0 && (options.tokens.is_empty() || options.orders_per_sec <= 0.0) {
        return Err("traders need --orders-per-sec above 0 and at least one --token".into());
    }
    if options.symbols.is_empty() || options.channels.is_empty() {
        return Err("give at least one symbol and one channel".into());
    }
    if options.connections + options.traders == 0 {
        return Err("nothing to do: no connections and no traders".into());
    }
    let server_before = match options.server_pid {
        Some(pid) => Some(probe::sample(pid).ok_or_else(|| {
            format!("cannot read /proc/{pid}: is the server's process id right?")
        })?),
        None => None,
    };
    let (stop_tx, stop) = watch::channel(false);
    let ctx = Arc::new(RunContext {
        dialer,
        path: url.path,
        base: Instant::now(),
        live: Live {
            window_open: AtomicU64::new(u64::MAX),
            window_close: AtomicU64::new(u64::MAX),
            ..Live::default()
        },
        stop: stop.clone(),
        latency: Mutex::new(report::histogram()),
    });
    let total = options.connections + options.traders;
    if options.progress {
        tokio::spawn(progress(ctx.clone(), total, stop.clone()));
    }
    // Every symbol to each connection, or one symbol each, in turn.
    let requests: Vec<Arc<str>> = if options.one_symbol_each {
        options
            .symbols
            .iter()
            .map(|s| subscribe_request(&options, std::slice::from_ref(s)).into())
            .collect()
    } else {
        vec![subscribe_request(&options, &options.symbols).into()]
    };
    let mut watchers = Vec::with_capacity(options.connections);
    let mut traders = Vec::with_capacity(options.traders);
    let mut pollers = Vec::new();
    let per_trader = options.orders_per_sec / options.traders.max(1) as f64;
    for i in 0..total {
        // Source addresses 127.0.0.1 to 127.0.0.250, so that many
        // connections do not run out of ephemeral ports.
        let source = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1 + (i % 250) as u8));
        let at = ctx.base + options.ramp.mul_f64(i as f64 / total as f64);
        let ctx = ctx.clone();
        if i < options.connections
            && let Some(interval) = options.poll
        {
            let plan = poller::PollPlan {
                symbol: options.symbols[i % options.symbols.len()].clone(),
                interval,
                depth: options.book_depth,
            };
            pollers.push(tokio::spawn(async move {
                tokio::time::sleep_until(at.into()).await;
                poller::poller(ctx, source, plan).await
            }));
        } else if i < options.connections {
            let request = requests[i % requests.len()].clone();
            watchers.push(tokio::spawn(async move {
                tokio::time::sleep_until(at.into()).await;
                watcher(ctx, source, request).await
            }));
        } else {
            let t = i - options.connections;
            let plan = trader::Plan {
                symbol: options.symbols[t % options.symbols.len().max(1)].clone(),
                token: options.tokens[t % options.tokens.len()].clone(),
                orders_per_sec: per_trader,
                index: t,
            };
            traders.push(tokio::spawn(async move {
                tokio::time::sleep_until(at.into()).await;
                trader::run(ctx, source, plan).await
            }));
        }
    }
    // The window opens when every connection is subscribed (or gave up),
    // half a second later for initial snapshots to pass.
    tokio::time::sleep_until((ctx.base + options.ramp).into()).await;
    let give_up = Instant::now() + options.settle_timeout;
    while ctx.live.settled.load(Relaxed) < total as u64 && Instant::now() < give_up {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Connections still waiting for an answer when the window opened.
    let unsettled = total.saturating_sub(ctx.live.settled.load(Relaxed) as usize);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let metrics_before = probe::fetch_metrics_via(&ctx.dialer).await;
    let proc_open = options.server_pid.and_then(probe::sample);
    let cpu_open = probe::sample(0).map_or(0.0, |s| s.cpu_seconds);
    let opened = Instant::now();
    ctx.live
        .window_open
        .store((opened - ctx.base).as_nanos() as u64, Relaxed);
    tokio::time::sleep(options.duration).await;
    let closed = Instant::now();
    let window_end_unix_ns = fields::now_ns();
    ctx.live
        .window_close
        .store((closed - ctx.base).as_nanos() as u64, Relaxed);
    let seconds = (closed - opened).as_secs_f64();
    let cpu_close = probe::sample(0).map_or(0.0, |s| s.cpu_seconds);
    let proc_close = options.server_pid.and_then(probe::sample);
    let metrics_after = probe::fetch_metrics_via(&ctx.dialer).await;
    let _ = stop_tx.send(true);

    let mut report = LoadReport::empty(options.connections, options.traders);
    report.seconds = seconds;
    report.window_end_unix_ns = window_end_unix_ns;
    report.unsettled = unsettled;
    report.cpu_seconds = cpu_close - cpu_open;
    for task in watchers {
        let Ok(w) = task.await else { continue };
        report.connected += usize::from(w.connected);
        report.messages += w.messages;
        report.bytes += w.bytes;
        report.gaps += w.gaps;
        report.lagged += w.lagged;
        report.errors += w.errors;
        report.subscribed += usize::from(w.subscribed);
        report.negative_latencies += w.negative_latencies;
        report.wire_bytes += w.wire_bytes;
        report.disconnects += u64::from(w.disconnected);
        if w.connected {
            report.count_connection(w.messages);
        }
    }
    for task in pollers {
        let Ok(p) = task.await else { continue };
        report.connected += usize::from(p.connected);
        report.subscribed += usize::from(p.connected && !p.disconnected);
        report.messages += p.updates;
        report.bytes += p.wire_bytes;
        report.wire_bytes += p.wire_bytes;
        report.missed += p.missed;
        report.polls += p.polls;
        report.errors += p.errors;
        report.negative_latencies += p.negative_latencies;
        report.disconnects += u64::from(p.disconnected);
        if p.connected {
            report.count_connection(p.updates);
        }
    }
    for task in traders {
        let Ok(t) = task.await else { continue };
        report.connected += usize::from(t.connected);
        report.disconnects += u64::from(t.disconnected);
        report.orders_sent += t.sent;
        report.orders_accepted += t.accepted;
        report.orders_unanswered += t.unanswered;
        for (code, n) in t.rejected {
            *report.orders_rejected.entry(code).or_default() += n;
        }
        let _ = report.order_rtt.add(&t.rtt);
    }
    report.latency = ctx
        .latency
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .clone();
    if let (Some(before), Some(open), Some(close)) = (server_before, proc_open, proc_close) {
        let sent = |body: &Option<String>| {
            body.as_deref()
                .and_then(|b| metric(b, "tickwire_messages_sent_total"))
        };
        let after = |name: &str| metrics_after.as_deref().and_then(|b| metric(b, name));
        let lag = "tickwire_engine_schedule_lag_seconds";
        let late = "tickwire_engine_late_events_total";
        report.server = Some(ServerReport {
            cpu_cores: (close.cpu_seconds - open.cpu_seconds) / seconds.max(1e-9),
            rss_before: before.rss_bytes,
            rss_after: close.rss_bytes,
            sent_per_sec: sent(&metrics_after)
                .zip(sent(&metrics_before))
                .map(|(a, b)| (a - b) / seconds.max(1e-9)),
            schedule_lag_p99_us: after(&format!("{lag}{{quantile=\"0.99\"}}")).map(|s| s * 1e6),
            schedule_lag_max_us: after(&format!("{lag}{{quantile=\"1\"}}")).map(|s| s * 1e6),
            late_events: after(late)
                .zip(metrics_before.as_deref().and_then(|b| metric(b, late)))
                .map(|(a, b)| a - b),
        });
    }
    Ok(report)
}
