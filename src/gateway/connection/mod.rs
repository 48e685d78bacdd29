//! One WebSocket connection: a reader that parses and answers requests
//! (`reader`, with the trading requests in `trading`) and a writer task
//! (`writer`) that pings, closes, and writes only what a full socket left
//! (everything else is written by whoever queued it, see `fanout`). `io`
//! is the socket as tungstenite, which reads the client's frames, sees it.

mod binance;
mod binance_api;
mod io;
mod proxy;
mod reader;
mod remote;
mod trading;
mod writer;

pub use proxy::{Proxy, forwarded, forwarded_disconnect};
pub use writer::ping_loop;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use bytes::Bytes;
use futures_util::SinkExt;
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, mpsc, watch};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::Role;

use super::commands::{StreamCommand, SymbolCommand};
use super::rate::RateLimit;
use super::shared::Shared;
use crate::fanout::{CloseReason, Outbox, Wire};
use crate::protocol::StreamId;
use crate::types::SymbolId;

/// What a connection speaks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// tickwire's protocol (`/ws`).
    Native,
    /// Binance's market streams (`/binance/ws`: raw events; `/binance/
    /// stream`: combined), starting with the streams its URL names.
    Binance {
        combined: bool,
        streams: Vec<StreamId>,
    },
    /// Binance's WebSocket API (`/binance/ws-api/v3`).
    BinanceApi,
}

/// Serves one upgraded connection until it closes: `socket` after the
/// handshake, with `read` the bytes of it read already.
pub async fn run(
    socket: TcpStream,
    mut read: Bytes,
    shared: Arc<Shared>,
    stop: watch::Receiver<bool>,
    (_permit, _address, _done): (
        OwnedSemaphorePermit,
        crate::gateway::rate::AddressSlot,
        mpsc::Sender<()>,
    ),
    dialect: Dialect,
) {
    let id = shared.next_conn.fetch_add(1, Relaxed);
    let outbox = match dialect {
        Dialect::Native => Outbox::new(id, shared.config.lag, shared.instruments.clone()),
        // Binance closes a connection that cannot keep up (there is no
        // `lagged` in its dialect): the first overflow closes with 1008.
        Dialect::Binance { .. } | Dialect::BinanceApi => {
            let lag = crate::fanout::LagPolicy {
                max_lags: 1,
                ..shared.config.lag
            };
            Outbox::new(id, lag, shared.instruments.clone()).binance()
        }
    };
    let outbox = Arc::new(outbox);
    if let Some(spec) = &shared.config.faults {
        outbox.set_faults(Some(crate::faults::FaultPlan::new(spec.clone())));
    }
    let socket = Arc::new(socket);
    outbox.attach(Wire {
        socket: socket.clone(),
        sent: shared.metrics.sent.clone(),
    });
    let io = io::SocketIo {
        socket: socket.clone(),
        outbox: outbox.clone(),
    };
    let config = io::ws_config(&shared);
    // `read` is a view of hyper's 8 KiB read buffer: copied out (it is
    // almost always empty) and let go, or the buffer stays resident.
    let read = std::mem::take(&mut read).to_vec();
    // Boxed, like the end below: a task's state is sized for its largest
    // step, and an idle connection should carry only the serving step.
    let mut ws = Box::pin(WebSocketStream::from_partially_read(
        io,
        read,
        Role::Server,
        Some(config),
    ))
    .await;
    outbox.heard(shared.clock.uptime_ms());
    shared.connections.insert(id, outbox.clone());
    shared.metrics.connections_opened.fetch_add(1, Relaxed);
    tracing::info!(conn = id, "connection opened");

    let mut stopping = stop.clone();
    let writing = writer::write_loop(&socket, &outbox, &shared, stop);
    tokio::pin!(writing);
    let mut session = Session::new(shared.clone(), outbox.clone());
    match dialect {
        Dialect::Native => {}
        Dialect::Binance { combined, streams } => {
            session.binance = Some(combined);
            session.subscriptions.extend(streams.iter().copied());
            outbox.subscribe(&streams);
            session.register(&streams).await;
        }
        Dialect::BinanceApi => session.api = Some(Box::default()),
    }
    let client_left = {
        // A panic while reading (a request's handling) closes this
        // connection with 1011 and is logged; the rest of the server and
        // this connection's own clean-up (`finish`) go on.
        let reading = {
            use futures_util::FutureExt;
            std::panic::AssertUnwindSafe(session.read_loop(&mut ws)).catch_unwind()
        };
        tokio::pin!(reading);
        tokio::select! {
            read = &mut reading => {
                if let Err(panic) = read {
                    let message = crate::gateway::panic_message(&*panic);
                    tracing::error!(conn = id, %message, "a panic in a connection's task: closing it with 1011");
                    outbox.close(CloseReason::INTERNAL);
                }
                true
            }
            _ = &mut writing => {
                // The server closed: let the client answer the close frame
                // (a client that does not read gets dropped after the wait),
                // unless a fault closed it without one.
                if !outbox.aborted() {
                    let wait = tokio::time::timeout(shared.config.close_timeout, &mut reading);
                    tokio::select! {
                        _ = wait => {}
                        _ = stopping.wait_for(|stop| *stop) => {}
                    }
                }
                false
            }
        }
    };
    if client_left {
        // A client's close is answered with its own code: tungstenite
        // queued the answer and writes it (into the outbox) now.
        let _ = ws.flush().await;
        // The writing finishes what is queued (a close, an error).
        if outbox.closing().is_none() {
            outbox.close(CloseReason {
                code: 1000,
                reason: "",
            });
        }
        writing.await;
    }
    Box::pin(session.finish()).await;
}

/// The reader's state: subscriptions and limits of one connection.
struct Session {
    shared: Arc<Shared>,
    outbox: Arc<Outbox>,
    subscriptions: StreamSet,
    limit: RateLimit,
    scratch: Vec<u8>,
    /// The account this connection is authenticated as.
    account: Option<usize>,
    cancel_on_disconnect: bool,
    auth_failures: u32,
    /// Requests refused for the rate since `rate_limited_since` (the
    /// window's start): too many close the connection.
    rate_limited: u32,
    rate_limited_since: std::time::Instant,
    /// The connection speaks the Binance dialect: `Some(combined)`.
    binance: Option<bool>,
    /// The connection is to Binance's WebSocket API.
    /// Its user data subscriptions live in `gateway::binance::user`,
    /// beside the streams they run (the dialect's trading, which uses this
    /// module's `Proxy`, is not imported back here).
    api: Option<Box<crate::gateway::binance::user::UserStreams>>,
    /// A cluster gateway's connection: the account it is authenticated as
    /// on the engine (its requests are forwarded, `remote`).
    remote: Option<remote::Remote>,
    /// The engine has heard of this connection (a request was forwarded):
    /// it is told when the connection ends.
    known_to_engine: bool,
}

impl Session {
    fn new(shared: Arc<Shared>, outbox: Arc<Outbox>) -> Session {
        let limit = RateLimit::new(shared.config.requests_per_sec, shared.config.request_burst);
        Session {
            shared,
            outbox,
            subscriptions: StreamSet::default(),
            limit,
            account: None,
            cancel_on_disconnect: false,
            auth_failures: 0,
            rate_limited: 0,
            rate_limited_since: std::time::Instant::now(),
            binance: None,
            api: None,
            remote: None,
            known_to_engine: false,
            // Grows to the largest request on the first one.
            scratch: Vec::new(),
        }
    }

    /// The connection is over: its subscriptions, orders (cancel on
    /// disconnect) and registration go.
    async fn finish(mut self) {
        let id = self.outbox.id;
        for symbol in self.symbols() {
            let command = SymbolCommand::Streams(StreamCommand::Disconnect { conn: id });
            self.shared.command(symbol, command).await;
        }
        self.disconnected().await;
        self.remote_disconnected().await;
        let (shared, outbox) = (&self.shared, &self.outbox);
        shared.connections.remove(&id);
        // The socket closes once the reader and the writer are gone too.
        outbox.detach();
        shared.metrics.connections_closed.fetch_add(1, Relaxed);
        let reason = outbox
            .closing()
            .map(|c| c.reason)
            .filter(|r| !r.is_empty())
            .unwrap_or("closed by the client");
        tracing::info!(conn = id, reason, "connection closed");
    }

    /// The symbols this connection has streams of.
    fn symbols(&self) -> BTreeSet<SymbolId> {
        self.subscriptions.iter().map(|s| s.symbol).collect()
    }
}

/// A connection's subscriptions, in order. A connection has a few: a sorted
/// `Vec` holds them in one small allocation where a B-tree takes a node of
/// eleven (an idle connection's memory counts).
#[derive(Default)]
struct StreamSet(Vec<StreamId>);

impl StreamSet {
    fn contains(&self, stream: &StreamId) -> bool {
        self.0.binary_search(stream).is_ok()
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    fn iter(&self) -> impl Iterator<Item = &StreamId> {
        self.0.iter()
    }

    fn extend(&mut self, streams: impl IntoIterator<Item = StreamId>) {
        for stream in streams {
            if let Err(at) = self.0.binary_search(&stream) {
                self.0.insert(at, stream);
            }
        }
    }

    fn remove(&mut self, stream: &StreamId) {
        if let Ok(at) = self.0.binary_search(stream) {
            self.0.remove(at);
        }
    }
}
