//! The server: one TCP port for HTTP (`/`, `/healthz`, `/metrics`,
//! `/api/instruments`) and the WebSocket endpoint `/ws`.
//!
//! Tasks:
//! - one **symbol task** per instrument (`symbol`): the single writer of that
//!   symbol's market, driving its simulator in step with the clock, encoding
//!   every event once and fanning it out; it also registers subscribers and
//!   sends them initial state, so a snapshot always sits exactly between the
//!   updates before and after it;
//! - per WebSocket connection a **reader** (`connection`: parses requests,
//!   enforces limits) and a **writer** (drains the connection's `Outbox`,
//!   feeds every ready frame, flushes once);
//! - the accept loop (`http`).
//!
//! `serve(listener, config, shutdown)` takes a bound listener, so tests bind
//! `127.0.0.1:0` and run many servers at once.

mod connection;
mod http;
mod metrics;
mod orders;
mod rate;
mod replay;
mod symbol;
mod trading;
mod web;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use dashmap::DashMap;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, mpsc, watch};

use crate::encode::Mode;
use crate::fanout::{ConnId, LagPolicy, Outbox, Push, Registry};
use crate::instrument::Instruments;
use crate::market::Market;
use crate::protocol::StreamId;
use crate::record::Header;
use crate::record::recorder::Recorder;
use crate::trading::Accounts;
use crate::types::UnixNanos;
use std::sync::atomic::Ordering::Relaxed;
use tokio_tungstenite::tungstenite::Utf8Bytes;

pub use metrics::Metrics;
pub use replay::{ReplayOptions, ReplayProgress};
use symbol::{Command, SymbolHandle};

/// Everything `serve` needs; `Config::new` gives PROTOCOL.md's defaults.
#[derive(Clone, Debug)]
pub struct Config {
    pub instruments: Instruments,
    pub accounts: Accounts,
    /// Authentication failures that close a connection (1008).
    pub max_auth_failures: u32,
    pub seed: u64,
    /// Largest client message (larger: close 1009).
    pub max_message_bytes: usize,
    pub max_subscriptions: usize,
    /// Requests per second per connection, and the burst allowed.
    pub requests_per_sec: f64,
    pub request_burst: f64,
    pub max_connections: usize,
    pub lag: LagPolicy,
    pub ping_interval: Duration,
    pub idle_timeout: Duration,
    /// How long a closing connection may take to deliver its close frame.
    pub close_timeout: Duration,
    /// How long shutdown waits for connections to close.
    pub shutdown_grace: Duration,
    /// Serve the web UI from this directory instead of the copy embedded in
    /// the binary (`--web-dir`, for trying a fresh build).
    pub web_dir: Option<PathBuf>,
    /// Record every published message into this file (`serve --record`).
    pub record: Option<PathBuf>,
    /// Seconds between the book snapshots in a recording.
    pub record_snapshot_every_s: u64,
    /// Serve a recording instead of the simulated markets (`instruments`
    /// must then be the recording's, or those of them to serve).
    pub replay: Option<ReplayOptions>,
}

impl Config {
    pub fn new(instruments: Instruments, seed: u64) -> Config {
        Config {
            accounts: Accounts::demo(&instruments),
            max_auth_failures: 3,
            instruments,
            seed,
            max_message_bytes: 64 << 10,
            max_subscriptions: 1000,
            requests_per_sec: 50.0,
            request_burst: 100.0,
            max_connections: 100_000,
            lag: LagPolicy::default(),
            ping_interval: Duration::from_secs(15),
            idle_timeout: Duration::from_secs(45),
            close_timeout: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(5),
            web_dir: None,
            record: None,
            record_snapshot_every_s: 10,
            replay: None,
        }
    }
}

/// Maps the monotonic clock onto Unix nanoseconds, fixed at start-up, so
/// engine time follows the clock without ever going back.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    started: Instant,
    started_unix: UnixNanos,
}

impl Clock {
    pub fn start() -> Clock {
        let unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        Clock {
            started: Instant::now(),
            started_unix: unix,
        }
    }

    pub fn now(&self) -> UnixNanos {
        self.started_unix + self.started.elapsed().as_nanos() as u64
    }

    pub fn instant_of(&self, ts: UnixNanos) -> Instant {
        self.started + Duration::from_nanos(ts.saturating_sub(self.started_unix))
    }
}

/// State shared by every task of one server.
pub struct Shared {
    pub config: Config,
    pub instruments: Arc<Instruments>,
    pub mode: Mode,
    pub clock: Clock,
    /// Subscribers by stream (each stream changed only by its symbol task).
    pub registry: Registry,
    /// Open WebSocket connections, for metrics and shutdown.
    pub connections: DashMap<ConnId, Arc<Outbox>>,
    pub metrics: Metrics,
    /// Trading state per account, in the order of `config.accounts`.
    accounts: Vec<trading::Account>,
    /// Where published messages are recorded, if they are.
    pub recorder: Option<Recorder>,
    /// Where a replay is (zero when live).
    pub replay: ReplayProgress,
    next_conn: AtomicU64,
    symbols: Vec<SymbolHandle>,
    /// Caps WebSocket connections: a permit moves into each.
    connection_slots: Arc<Semaphore>,
}

impl Shared {
    /// Index of a symbol in the instruments.
    pub fn symbol_index(&self, symbol: &str) -> Option<u16> {
        self.instruments
            .iter()
            .position(|i| i.symbol == symbol)
            .map(|i| i as u16)
    }

    pub fn symbol_name(&self, index: u16) -> &str {
        self.instruments
            .iter()
            .nth(index as usize)
            .map_or("?", |i| i.symbol.as_str())
    }

    /// Sends a command to a symbol task (waiting if its queue is full, which
    /// slows the requesting connection, not the market).
    async fn command(&self, symbol: u16, command: Command) {
        if let Some(handle) = self.symbols.get(symbol as usize) {
            let _ = handle.commands.send(command).await;
        }
    }

    /// Fans a market-data message out to the stream's subscribers.
    pub fn publish(&self, stream: StreamId, frame: &Utf8Bytes) {
        if let Some(subscribers) = self.registry.subscribers(stream) {
            for outbox in subscribers.iter() {
                self.after_push(outbox, outbox.push_market(stream, frame));
            }
        }
    }

    /// Follows up a push: a lag asks the symbols concerned for fresh state.
    pub fn after_push(&self, outbox: &Arc<Outbox>, push: Push) {
        match push {
            Push::Queued | Push::Ignored => {}
            Push::Lagged(symbols) => {
                self.metrics.lagged.fetch_add(1, Relaxed);
                for symbol in symbols {
                    self.request_resync(symbol, outbox);
                }
            }
            Push::SlowConsumer => {
                self.metrics.lagged.fetch_add(1, Relaxed);
                self.metrics.slow_consumer_disconnects.fetch_add(1, Relaxed);
                tracing::info!(conn = outbox.id, "closing a slow consumer");
            }
        }
    }

    /// Asks a symbol task for fresh state for a lagging connection.
    fn request_resync(&self, symbol: u16, outbox: &Arc<Outbox>) {
        if let Some(handle) = self.symbols.get(symbol as usize) {
            let _ = handle.resyncs.send(outbox.clone());
        }
    }
}

/// Serves until `shutdown` completes, then sends every client `shutdown`
/// and close 1001, and waits (at most `shutdown_grace`) for them to go.
pub async fn serve(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    if config.web_dir.is_none() && !web::embedded() {
        tracing::warn!(
            "this binary was built without the web UI (clients/web/dist was missing): / serves a placeholder"
        );
    }
    let (stop_tx, stop_rx) = watch::channel(false);
    let clock = Clock::start();
    let instruments = Arc::new(config.instruments.clone());
    let mut symbol_tasks = Vec::new();
    let mut handles = Vec::new();
    let mut receivers = Vec::new();
    for _ in instruments.iter() {
        let (commands, command_rx) = mpsc::channel(4096);
        // Unbounded, but holds at most one entry per lagging connection and
        // symbol: a connection awaiting a resync is not asked for another.
        let (resyncs, resync_rx) = mpsc::unbounded_channel();
        handles.push(SymbolHandle { commands, resyncs });
        receivers.push((command_rx, resync_rx));
    }
    let recorder = match &config.record {
        Some(path) => {
            let header = Header {
                instruments: config.instruments.clone(),
                seed: Some(config.seed),
                start: clock.now(),
                snapshot_every_s: config.record_snapshot_every_s,
            };
            let recorder = Recorder::start(path, header).map_err(|e| {
                std::io::Error::new(
                    e.kind(),
                    format!("cannot record into {}: {e}", path.display()),
                )
            })?;
            tracing::info!(file = %path.display(), "recording");
            Some(recorder)
        }
        None => None,
    };
    let mode = match &config.replay {
        None => Mode::Live,
        Some(r) => Mode::Replay {
            file: r.file.display().to_string(),
            speed: r.speed.map_or("max".to_string(), |s| s.to_string()),
        },
    };
    let recorded = match &config.replay {
        Some(r) => Some(
            crate::record::open(&r.file)
                .map_err(|e| std::io::Error::other(e.to_string()))?
                .header
                .instruments,
        ),
        None => None,
    };
    let shared = Arc::new(Shared {
        recorder,
        replay: ReplayProgress::default(),
        connection_slots: Arc::new(Semaphore::new(config.max_connections)),
        accounts: config
            .accounts
            .iter()
            .cloned()
            .map(trading::Account::new)
            .collect(),
        metrics: Metrics::new(instruments.len()),
        config,
        instruments: instruments.clone(),
        mode,
        clock,
        registry: Registry::default(),
        connections: DashMap::new(),
        next_conn: AtomicU64::new(1),
        symbols: handles,
    });
    match (&shared.config.replay, recorded) {
        (Some(options), Some(recorded)) => {
            // One task replays every symbol: each symbol's channels are
            // forwarded into its channels, tagged with the symbol.
            let (command_tx, command_all) = mpsc::channel(4096);
            let (resync_tx, resync_all) = mpsc::unbounded_channel();
            for (index, (mut command_rx, mut resync_rx)) in receivers.into_iter().enumerate() {
                let (command_tx, resync_tx) = (command_tx.clone(), resync_tx.clone());
                tokio::spawn(async move {
                    while let Some(command) = command_rx.recv().await {
                        if command_tx.send((index as u16, command)).await.is_err() {
                            break;
                        }
                    }
                });
                tokio::spawn(async move {
                    while let Some(outbox) = resync_rx.recv().await {
                        if resync_tx.send((index as u16, outbox)).is_err() {
                            break;
                        }
                    }
                });
            }
            let task = replay::ReplayTask::new(shared.clone(), options.clone(), &recorded);
            symbol_tasks.push(tokio::spawn(task.run(
                command_all,
                resync_all,
                stop_rx.clone(),
            )));
        }
        _ => {
            for (index, (instrument, (command_rx, resync_rx))) in
                instruments.iter().zip(receivers).enumerate()
            {
                let start = clock
                    .now()
                    .saturating_sub(symbol::WARM_UP.as_nanos() as u64);
                let market = Market::new(instrument.clone(), shared.config.seed, start);
                let task = symbol::SymbolTask::new(index as u16, market, shared.clone());
                symbol_tasks.push(tokio::spawn(task.run(
                    command_rx,
                    resync_rx,
                    stop_rx.clone(),
                )));
            }
        }
    }
    tracing::info!(address = %listener.local_addr()?, symbols = instruments.len(), "serving");

    // Every connection task holds a clone of `done_tx`; when all are gone,
    // `done_rx` returns None (mini-redis's shutdown pattern).
    let (done_tx, mut done_rx) = mpsc::channel::<()>(1);
    http::accept_loop(listener, shared.clone(), stop_rx.clone(), done_tx, shutdown).await;

    tracing::info!(connections = shared.connections.len(), "shutting down");
    let _ = stop_tx.send(true);
    let grace = shared.config.shutdown_grace;
    if tokio::time::timeout(grace, done_rx.recv()).await.is_err() {
        tracing::warn!(
            left = shared.connections.len(),
            "connections still open after the shutdown grace period"
        );
    }
    for task in symbol_tasks {
        let _ = task.await;
    }
    if let Some(recorder) = &shared.recorder {
        let recorder_done = tokio::task::spawn_blocking({
            let shared = shared.clone();
            move || {
                if let Some(recorder) = &shared.recorder {
                    recorder.finish();
                }
            }
        });
        let _ = recorder_done.await;
        tracing::info!(
            written = recorder.written.load(std::sync::atomic::Ordering::Relaxed),
            "recording finished"
        );
    }
    Ok(())
}

pub use crate::signal::interrupted as shutdown_signal;
