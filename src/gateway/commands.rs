//! What connections ask of a symbol's market: the one interface between
//! the connection side and every market source (live, replay, and next the
//! bus). Each symbol has one task that takes these in order, which is what
//! puts a subscriber's initial state at the exact point of its stream.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use crate::engine::NewOrder;
use crate::fanout::{ConnId, Outbox};
use crate::protocol::{Channel, RequestId};
use crate::types::{OrderId, Price, Qty};

/// Subscriptions of one symbol's streams (handled by `streams::Hub`).
pub enum StreamCommand {
    /// Register these channels (if new) and send each its initial state.
    Subscribe {
        outbox: Arc<Outbox>,
        channels: Vec<Channel>,
    },
    Unsubscribe {
        conn: ConnId,
        channels: Vec<Channel>,
    },
    /// The connection is gone: forget all its streams of this symbol.
    Disconnect { conn: ConnId },
    /// Asked by a cluster gateway's connection before it answers a
    /// subscription: `ready` is answered once every message the symbol
    /// publishes from then on reaches this gateway (an idle follower has
    /// subscribed on the bus and had the engine's answer to a request sent
    /// after it, the round trip that proves NATS has the subscription).
    /// A source in this process answers at once.
    Follow { ready: oneshot::Sender<()> },
    /// The symbol's state for a bus gateway (`bus::SymbolState`), at the
    /// point of the streams.
    State {
        reply: oneshot::Sender<crate::bus::SymbolState>,
    },
    /// A read of the polling API, answered at the point of the streams.
    Poll {
        query: PollQuery,
        reply: oneshot::Sender<PollAnswer>,
    },
}

/// A read of the polling API (`GET /api/book`, `/api/trades`,
/// `/api/ticker`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PollQuery {
    /// The top `depth` levels per side (all with `None`).
    Book {
        depth: Option<usize>,
    },
    /// Trades after `since` (the latest ones with `None`).
    Trades {
        since: Option<u64>,
    },
    Ticker,
    /// A REST read of the Binance dialect.
    Binance(BinanceQuery),
}

/// A REST read of the Binance dialect (`/binance/api/v3/...`) about one
/// symbol; times in ms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinanceQuery {
    Depth {
        limit: usize,
    },
    Trades {
        limit: usize,
    },
    AggTrades {
        limit: usize,
        from_id: Option<u64>,
        start: Option<u64>,
        end: Option<u64>,
    },
    Klines {
        interval: crate::stats::Interval,
        limit: usize,
        start: Option<u64>,
        end: Option<u64>,
    },
    Ticker24h,
    Price,
    BookTicker,
}

/// The answer's JSON body; `None` when there is nothing yet (no ticker).
pub type PollAnswer = Option<String>;

/// The client request being applied, so its events can answer it.
pub struct RequestContext {
    /// The account's index in the server's accounts.
    pub account: usize,
    pub conn: ConnId,
    pub outbox: Arc<Outbox>,
    pub id: RequestId,
    pub client_order_id: Option<String>,
    /// `disconnected` for cancel-on-disconnect, else the engine's reason.
    pub done_reason: Option<&'static str>,
    /// When the connection took the request (its answer's round trip is
    /// measured for `/metrics`); `None` for inputs that answer nobody.
    pub received: Option<std::time::Instant>,
}

impl RequestContext {
    /// The same requester, for inputs that answer no request of theirs
    /// (each order of a `cancel_all`).
    pub fn without_id(&self) -> RequestContext {
        RequestContext {
            account: self.account,
            conn: self.conn,
            outbox: self.outbox.clone(),
            id: None,
            client_order_id: None,
            done_reason: self.done_reason,
            received: None,
        }
    }
}

/// Orders and cancels, already checked for shape and grid by the
/// connection (`connection::trading`); the market applies its own rules.
pub enum TradeCommand {
    Order {
        context: RequestContext,
        order: NewOrder,
    },
    Cancel {
        context: RequestContext,
        order_id: OrderId,
    },
    /// A resting order's new price and/or total quantity (already on the
    /// instrument's grid).
    Amend {
        context: RequestContext,
        order_id: OrderId,
        price: Option<Price>,
        qty: Option<Qty>,
    },
    /// Cancels the account's open orders of this symbol (only those of
    /// `only_conn` if given); replies with the count.
    CancelAll {
        context: RequestContext,
        only_conn: Option<ConnId>,
        reply: Option<oneshot::Sender<usize>>,
    },
}

pub enum SymbolCommand {
    Streams(StreamCommand),
    Trade(TradeCommand),
    /// Stop between inputs for a snapshot: send the symbol's state, then
    /// wait for `resume` (see `durability::snapshots`).
    Pause {
        state: oneshot::Sender<crate::gateway::durability::state::SymbolState>,
        resume: oneshot::Receiver<()>,
    },
}

/// How connections reach one symbol's task.
pub struct SymbolHandle {
    pub commands: mpsc::Sender<SymbolCommand>,
    /// Lagging connections that wait for this symbol's fresh state.
    /// Unbounded, but holds at most one entry per lagging connection: a
    /// connection awaiting a resync of a symbol is not asked for another.
    pub resyncs: mpsc::UnboundedSender<Arc<Outbox>>,
}

/// The receiving ends of a `SymbolHandle`, for the task that serves it.
pub struct SymbolInbox {
    pub commands: mpsc::Receiver<SymbolCommand>,
    pub resyncs: mpsc::UnboundedReceiver<Arc<Outbox>>,
}

/// A handle and its inbox.
pub fn symbol_channel() -> (SymbolHandle, SymbolInbox) {
    let (commands, command_rx) = mpsc::channel(4096);
    let (resyncs, resync_rx) = mpsc::unbounded_channel();
    (
        SymbolHandle { commands, resyncs },
        SymbolInbox {
            commands: command_rx,
            resyncs: resync_rx,
        },
    )
}
