//! The server: one TCP port for HTTP (`/`, `/healthz`, `/metrics`,
//! `/api/*`) and the WebSocket endpoint `/ws`. `docs/architecture.md` draws
//! the data flow; in short:
//!
//! - the **market side** (`market`): sources that own a market's state and
//!   publish its encoded messages: `live` (one task per symbol: engine,
//!   simulator, client orders) or `replay` (one task for a recording);
//! - the **seam** (`streams`): per symbol a `Hub` of subscribers, written
//!   once for every source, that sends initial state, resyncs lagging
//!   connections and fans messages out; `commands` is what connections ask
//!   of a symbol's task;
//! - the **connection side** (`connection`): per WebSocket a reader (with
//!   its trading requests) and a writer;
//! - around them: `http` (accept loop, routes, the embedded web UI),
//!   `shared` (state every task sees), `accounts`, `metrics`, `config`,
//!   `clock`, `rate`.
//!
//! `serve(listener, config, shutdown)` takes a bound listener, so tests bind
//! `127.0.0.1:0` and run many servers at once.

mod accounts;
mod binance;
pub mod bus;
mod clock;
mod commands;
mod config;
mod connection;
pub mod durability;
mod http;
mod market;
mod metrics;
mod rate;
mod shared;
mod streams;
pub mod tls;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use dashmap::DashMap;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, mpsc, watch};

use crate::fanout::Flusher;
use crate::protocol::Mode;
use crate::record::Header;
use crate::record::recorder::Recorder;
use accounts::Account;
use bus::follower::Follower;
use market::live::LiveTask;
use market::replay::{self, ReplayTask};
use shared::Shared;

pub use clock::Clock;
pub use config::{BusConfig, BusRole, Config, defaults};
pub use market::replay::options::{OpenedRecording, ReplayOptions};
pub use metrics::{Metrics, ReplayProgress};
/// The subscriber list of one stream (public for `benches/registry.rs`).
pub use streams::Subscribers;

/// Serves until `shutdown` completes, then sends every client `shutdown`
/// and close 1001, and waits (at most `shutdown_grace`) for them to go.
pub async fn serve(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    serve_with(listener, config, shutdown, || {}).await
}

/// `serve`, calling `ready` once the markets are recovered and running,
/// just before the first connection is accepted (the command line prints
/// its banner there, so a data directory that cannot be used fails first).
pub async fn serve_with(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send,
    ready: impl FnOnce() + Send,
) -> std::io::Result<()> {
    serve_boxed(listener, config, Box::pin(shutdown), Box::new(ready)).await
}

type Boxed<'a, T> = std::pin::Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// `serve_with`'s body behind a `dyn Future` made here, so that it is
/// compiled once, in this crate: polled directly, the generic function's
/// future was compiled again into every crate that started a server (about
/// 30 s of each test executable's build).
fn serve_boxed<'a>(
    listener: TcpListener,
    config: Config,
    shutdown: Boxed<'a, ()>,
    ready: Box<dyn FnOnce() + Send + 'a>,
) -> Boxed<'a, std::io::Result<()>> {
    Box::pin(serve_body(listener, config, shutdown, ready))
}

async fn serve_body<'a>(
    listener: TcpListener,
    config: Config,
    shutdown: Boxed<'a, ()>,
    ready: Box<dyn FnOnce() + Send + 'a>,
) -> std::io::Result<()> {
    if config.web_dir.is_none() && !http::embedded() {
        tracing::warn!(
            "this binary was built without the web UI (clients/web/dist was missing): / serves a placeholder"
        );
    }
    // Connections stop after the markets, so every private event the
    // markets queued reaches them before the shutdown notice.
    let (stop_tx, stop_rx) = watch::channel(false);
    let (stop_markets_tx, stop_markets_rx) = watch::channel(false);
    let clock = Clock::start();
    let instruments = Arc::new(config.instruments.clone());
    let mut symbol_tasks = Vec::new();
    let (handles, inboxes): (Vec<_>, Vec<_>) = instruments
        .iter()
        .map(|_| commands::symbol_channel())
        .unzip();
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
            paper: r.paper,
        },
    };
    // A replay's recording, opened once (by the caller, or here).
    let recording = match &config.replay {
        Some(r) => Some(match r.opened.as_ref().and_then(|o| o.take()) {
            Some(recording) => recording,
            None => {
                crate::record::open(&r.file).map_err(|e| std::io::Error::other(e.to_string()))?
            }
        }),
        None => None,
    };
    let metrics = Metrics::new(instruments.len());
    // Cluster mode: the bus first, so the engine's first message goes out.
    let bus = match &config.bus {
        Some(bus) => {
            let name = format!("tickwire {:?}", bus.role).to_lowercase();
            Some(bus::connect(&bus.url, &name, metrics.bus.clone()).await?)
        }
        None => None,
    };
    let role = config.bus.as_ref().map(|b| b.role);
    let bus_publisher = match (&bus, role) {
        (Some(client), Some(BusRole::Engine)) => Some(bus::publisher::Publisher::start(
            client.clone(),
            &instruments,
            metrics.bus.clone(),
        )),
        _ => None,
    };
    let shared = Arc::new(Shared {
        bus_publisher,
        bus: bus.clone(),
        bus_private: Default::default(),
        flusher: Flusher::default(),
        recorder,
        replay: ReplayProgress::default(),
        journal: std::sync::OnceLock::new(),
        connection_slots: Arc::new(Semaphore::new(config.max_connections)),
        accounts: config.accounts.iter().cloned().map(Account::new).collect(),
        metrics,
        config,
        instruments: instruments.clone(),
        mode,
        clock,
        connections: DashMap::new(),
        next_conn: AtomicU64::new(1),
        symbols: handles,
        binance_weights: Default::default(),
        per_address: Default::default(),
        new_connections: Default::default(),
        tls_peers: Default::default(),
    });
    // A market task that panics stops the server (a half-alive server is
    // worse than none: the journal recovers on restart).
    let (failed_tx, mut failed_rx) = mpsc::unbounded_channel::<String>();
    let mut live_tasks = Vec::new();
    let mut snapshots = None;
    match (&shared.config.replay, recording) {
        _ if role == Some(BusRole::Gateway) => {
            let client = bus.clone().ok_or_else(|| std::io::Error::other("no bus"))?;
            tokio::spawn(bus::gateway_alive(
                client.clone(),
                shared.bus_private.id().to_string(),
                stop_markets_rx.clone(),
            ));
            let starts = bus::engine_starts(client.clone());
            for ((id, instrument), inbox) in instruments.with_ids().zip(inboxes) {
                let (follower, states) =
                    Follower::new(id, instrument.clone(), shared.clone(), client.clone());
                let run = follower.run(states, inbox, starts.clone(), stop_markets_rx.clone());
                symbol_tasks.push(supervised(&instrument.symbol, failed_tx.clone(), run));
            }
        }
        (Some(options), Some(recording)) => {
            let task = ReplayTask::new(shared.clone(), options.clone(), recording);
            let inboxes = replay::Inboxes::merge(inboxes);
            let run = task.run(inboxes, stop_markets_rx.clone());
            symbol_tasks.push(supervised("the replay", failed_tx.clone(), run));
        }
        _ => {
            let recovered =
                durability::recover(&shared).map_err(|e| std::io::Error::other(e.to_string()))?;
            if let Some(s) = &recovered.snapshots {
                let _ = shared.journal.set(s.journal().clone());
            }
            snapshots = recovered.snapshots;
            for (symbol, inbox) in recovered.symbols.into_iter().zip(inboxes) {
                let name = shared
                    .instruments
                    .by_id(symbol.symbol)
                    .map(|i| i.symbol.clone());
                let task = LiveTask::new(symbol, shared.clone());
                let run = task.run(inbox, stop_markets_rx.clone());
                live_tasks.push(supervised(
                    &name.unwrap_or_default(),
                    failed_tx.clone(),
                    run,
                ));
            }
        }
    }
    if let (Some(client), Some(BusRole::Engine)) = (&bus, role) {
        tokio::spawn(bus::engine::answer_requests(
            client.clone(),
            shared.clone(),
            stop_markets_rx.clone(),
        ));
    }
    // Periodic snapshots, handed back at shutdown for the final one.
    let snapshot_task = snapshots.map(|snapshots| {
        tokio::spawn(periodic_snapshots(
            snapshots,
            shared.clone(),
            stop_markets_rx.clone(),
        ))
    });
    tracing::info!(address = %listener.local_addr()?, symbols = instruments.len(), tls = shared.config.tls.is_some(), "serving");
    // With TLS the public port terminates it and hands the plaintext to
    // this process's own plain listener on loopback (`tls`).
    let listener = match shared.config.tls.clone() {
        Some(config) => {
            let internal = TcpListener::bind("127.0.0.1:0").await?;
            tokio::spawn(tls::terminate(
                listener,
                internal.local_addr()?,
                config,
                shared.tls_peers.clone(),
                shared.config.header_timeout,
                stop_rx.clone(),
            ));
            internal
        }
        None => listener,
    };
    ready();

    // Every connection task holds a clone of `done_tx`; when all are gone,
    // `done_rx` returns None (mini-redis's shutdown pattern).
    let (done_tx, mut done_rx) = mpsc::channel::<()>(1);
    tokio::spawn(connection::ping_loop(shared.clone(), stop_rx.clone()));
    {
        let (shared, stop) = (shared.clone(), stop_rx.clone());
        tokio::spawn(async move { shared.flusher.run(stop).await });
    }
    let mut failure = None;
    let stop_serving = async {
        tokio::select! {
            _ = shutdown => {}
            Some(message) = failed_rx.recv() => failure = Some(message),
        }
    };
    http::accept_loop(
        listener,
        shared.clone(),
        stop_rx.clone(),
        done_tx,
        stop_serving,
    )
    .await;
    if let Some(message) = &failure {
        tracing::error!(%message, "a market task panicked: stopping the server (the journal recovers its state on restart)");
    }

    tracing::info!(connections = shared.connections.len(), "shutting down");
    // Markets first: each sends what it has queued (once durable) and
    // stops; then the final snapshot; then the connections, which send
    // what is queued for them, the notice, and close.
    let _ = stop_markets_tx.send(true);
    let snapshots = match snapshot_task {
        Some(task) => task.await.ok(),
        None => None,
    };
    let mut symbols = Vec::with_capacity(live_tasks.len());
    for task in live_tasks {
        if let Ok(Some(symbol)) = task.await {
            symbols.push(symbol);
        }
    }
    for task in symbol_tasks {
        let _ = task.await;
    }
    // No final snapshot without every symbol's state: the journal has it.
    if let Some(snapshots) = snapshots.filter(|_| failure.is_none())
        && let Err(e) = snapshots.finish(&shared, &symbols).await
    {
        tracing::error!(error = %e, "the final snapshot failed; the journal holds everything, the next start replays it");
    }
    let _ = stop_tx.send(true);
    let grace = shared.config.shutdown_grace;
    if tokio::time::timeout(grace, done_rx.recv()).await.is_err() {
        tracing::warn!(
            left = shared.connections.len(),
            "connections still open after the shutdown grace period"
        );
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
    match failure {
        Some(message) => Err(std::io::Error::other(format!(
            "{message}; the server stopped (restart it on the same data directory: the journal recovers every acknowledged order)"
        ))),
        None => Ok(()),
    }
}

/// Spawns a market task of `name`; if it panics, `failed` is told what
/// happened (the server stops) and its handle gives `None`.
fn supervised<T: Send + 'static>(
    name: &str,
    failed: mpsc::UnboundedSender<String>,
    task: impl Future<Output = T> + Send + 'static,
) -> tokio::task::JoinHandle<Option<T>> {
    use futures_util::FutureExt;
    let name = name.to_string();
    tokio::spawn(async move {
        match std::panic::AssertUnwindSafe(task).catch_unwind().await {
            Ok(value) => Some(value),
            Err(panic) => {
                let _ = failed.send(format!(
                    "the engine of {name} panicked: {}",
                    panic_message(&*panic)
                ));
                None
            }
        }
    })
}

/// What a panic said, when it said it with a string.
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".to_string())
}

/// Takes a snapshot every `state_snapshot_every` until the markets stop;
/// gives the snapshots back for the final one.
async fn periodic_snapshots(
    mut snapshots: durability::Snapshots,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) -> durability::Snapshots {
    let every = shared.config.state_snapshot_every;
    if every.is_zero() {
        while !*stop.borrow_and_update() {
            if stop.changed().await.is_err() {
                break;
            }
        }
        return snapshots;
    }
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tokio::select! {
            _ = stop.changed() => return snapshots,
            _ = tick.tick() => {
                if let Err(e) = snapshots.take(&shared).await {
                    tracing::error!(error = %e, "a snapshot failed; the journal still holds everything");
                }
            }
        }
    }
}

pub use crate::signal::interrupted as shutdown_signal;
