//! State shared by every task of one server: the configuration, the open
//! connections, the accounts, the metrics, and the handles of the symbol
//! tasks. Who changes what is said field by field.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use dashmap::DashMap;
use tokio::sync::Semaphore;

use super::accounts::Account;
use super::clock::Clock;
use super::commands::{SymbolCommand, SymbolHandle};
use super::config::Config;
use super::metrics::Metrics;
use super::metrics::ReplayProgress;
use crate::fanout::{ConnId, Flusher, Outbox, Push};
use crate::instrument::{Instrument, Instruments};
use crate::protocol::Mode;
use crate::record::recorder::Recorder;
use crate::types::SymbolId;

pub struct Shared {
    pub config: Config,
    /// The instruments served (read-only).
    pub instruments: Arc<Instruments>,
    pub mode: Mode,
    pub clock: Clock,
    /// Open WebSocket connections, for metrics, replay notices and
    /// shutdown: each connection adds itself when it opens and removes
    /// itself when it ends.
    pub connections: DashMap<ConnId, Arc<Outbox>>,
    /// Counters for `/metrics` (atomics, updated by whoever counts).
    pub metrics: Metrics,
    /// Writes the market data the publishing tasks queued (its own task;
    /// they hand it the outboxes of each turn).
    pub flusher: Flusher,
    /// Trading state per account, in the order of `config.accounts`; each
    /// account locks its own state.
    pub accounts: Vec<Account>,
    /// Where published messages are recorded, if they are (its own thread
    /// writes; the symbol tasks hand it messages).
    pub recorder: Option<Recorder>,
    /// Cluster mode's engine: where published market data goes onto the
    /// bus (its own task publishes; the symbol tasks hand it messages).
    pub bus_publisher: Option<super::bus::publisher::Publisher>,
    /// Cluster mode's connection to NATS (`None` for `serve`).
    pub bus: Option<async_nats::Client>,
    /// A cluster gateway's accounts followed on the bus, for their
    /// connections here.
    pub bus_private: super::bus::private::PrivateRouter,
    /// Where a replay is (zero when live): written by the replay task.
    pub replay: ReplayProgress,
    /// The data directory's journal, set once after recovery (empty for
    /// an ephemeral or replaying server); read for `/metrics`.
    pub journal: std::sync::OnceLock<Arc<crate::journal::Journal>>,
    /// Connection ids, from 1 (after a restart, past every id the
    /// recovered orders remember).
    pub(super) next_conn: AtomicU64,
    /// How to reach each symbol's task, by symbol id (fixed at start).
    pub(super) symbols: Vec<SymbolHandle>,
    /// Caps WebSocket connections: a permit moves into each.
    pub(super) connection_slots: Arc<Semaphore>,
    /// The Binance dialect's REST weight per client and minute.
    pub(super) binance_weights: super::rate::Weights,
    /// WebSocket connections per client address.
    pub(super) per_address: Arc<super::rate::PerAddress>,
    /// New connections per address and second (see `NewConnections`).
    pub(super) new_connections: super::rate::NewConnections,
    /// The clients behind TLS connections' internal loopback connections.
    pub(super) tls_peers: Arc<super::tls::Peers>,
}

impl Shared {
    pub fn symbol_id(&self, symbol: &str) -> Option<SymbolId> {
        self.instruments.id_of(symbol)
    }

    pub fn instrument(&self, symbol: SymbolId) -> Option<&Instrument> {
        self.instruments.by_id(symbol)
    }

    pub fn symbol_name(&self, symbol: SymbolId) -> &str {
        self.instruments
            .by_id(symbol)
            .map_or("?", |i| i.symbol.as_str())
    }

    /// Sends a command to a symbol's task (waiting if its queue is full,
    /// which slows the requesting connection, not the market).
    pub async fn command(&self, symbol: SymbolId, command: SymbolCommand) {
        if let Some(handle) = self.symbols.get(symbol.index()) {
            let _ = handle.commands.send(command).await;
        }
    }

    /// An outbox without a socket, attached to `account`: it is sent every
    /// private event of the account, as a native connection of it would
    /// be, until it is detached (the Binance dialect's orders and user data
    /// streams read the account's events this way).
    pub fn account_outbox(&self, account: usize) -> Arc<Outbox> {
        self.account_outbox_as(account, self.new_conn_id())
    }

    /// A connection id never used before.
    pub fn new_conn_id(&self) -> crate::fanout::ConnId {
        self.next_conn.fetch_add(1, Relaxed)
    }

    /// `account_outbox` under a given connection id (a cluster gateway's
    /// connection, the same for each of its requests).
    pub fn account_outbox_as(&self, account: usize, id: crate::fanout::ConnId) -> Arc<Outbox> {
        let outbox = Arc::new(Outbox::new(id, self.config.lag, self.instruments.clone()));
        if let Some(a) = self.accounts.get(account) {
            a.attach(&outbox);
        }
        outbox
    }

    /// Follows up a push: a lag asks the symbols concerned for fresh state.
    pub fn after_push(&self, outbox: &Arc<Outbox>, push: Push) {
        match push {
            Push::Queued | Push::Ignored => {}
            Push::Lagged(symbols) => {
                self.metrics.lagged.fetch_add(1, Relaxed);
                for symbol in symbols {
                    if let Some(handle) = self.symbols.get(symbol.index()) {
                        let _ = handle.resyncs.send(outbox.clone());
                    }
                }
            }
            Push::SlowConsumer => {
                self.metrics.lagged.fetch_add(1, Relaxed);
                self.metrics.slow_consumer_disconnects.fetch_add(1, Relaxed);
                tracing::info!(conn = outbox.id, "closing a slow consumer");
            }
        }
    }
}
