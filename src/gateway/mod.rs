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
mod clock;
mod commands;
mod config;
mod connection;
mod http;
mod market;
mod metrics;
mod rate;
mod shared;
mod streams;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use dashmap::DashMap;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, mpsc, watch};

use crate::market::Market;
use crate::protocol::Mode;
use crate::record::Header;
use crate::record::recorder::Recorder;
use accounts::Account;
use market::live::{self, LiveTask};
use market::replay::{self, ReplayTask};
use shared::Shared;

pub use clock::Clock;
pub use config::{Config, defaults};
pub use market::replay::options::{OpenedRecording, ReplayOptions};
pub use metrics::{Metrics, ReplayProgress};
/// The subscriber list of one stream (public for `benches/registry.rs`).
pub use streams::Subscribers;

/// Serves until `shutdown` completes, then sends every client `shutdown`
/// and close 1001, and waits (at most `shutdown_grace`) for them to go.
pub async fn serve(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    if config.web_dir.is_none() && !http::embedded() {
        tracing::warn!(
            "this binary was built without the web UI (clients/web/dist was missing): / serves a placeholder"
        );
    }
    let (stop_tx, stop_rx) = watch::channel(false);
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
    let shared = Arc::new(Shared {
        recorder,
        replay: ReplayProgress::default(),
        connection_slots: Arc::new(Semaphore::new(config.max_connections)),
        accounts: config.accounts.iter().cloned().map(Account::new).collect(),
        metrics: Metrics::new(instruments.len()),
        config,
        instruments: instruments.clone(),
        mode,
        clock,
        connections: DashMap::new(),
        next_conn: AtomicU64::new(1),
        symbols: handles,
    });
    match (&shared.config.replay, recording) {
        (Some(options), Some(recording)) => {
            let task = ReplayTask::new(shared.clone(), options.clone(), recording);
            let inboxes = replay::Inboxes::merge(inboxes);
            symbol_tasks.push(tokio::spawn(task.run(inboxes, stop_rx.clone())));
        }
        _ => {
            for ((id, instrument), inbox) in instruments.with_ids().zip(inboxes) {
                let start = clock.now().saturating_sub(live::WARM_UP.as_nanos() as u64);
                let market = Market::new(instrument.clone(), shared.config.seed, start);
                let task = LiveTask::new(id, market, shared.clone());
                symbol_tasks.push(tokio::spawn(task.run(inbox, stop_rx.clone())));
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
