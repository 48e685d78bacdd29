//! One WebSocket connection: a reader that parses and answers requests, and
//! a writer that drains the connection's `Outbox`, feeds every ready frame
//! and flushes once per batch.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{OwnedSemaphorePermit, mpsc, watch};
use tokio::time::{MissedTickBehavior, interval_at, timeout};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::error::{CapacityError, Error as WsError};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

use super::Shared;
use super::rate::RateLimit;
use super::symbol::Command;
use crate::encode;
use crate::fanout::{Batch, CloseReason, Outbox};
use crate::protocol::{self, Channel, Request, RequestError, RequestId, StreamId, StreamSelection};
use crate::stats::Interval;

/// Frames taken from the outbox per write; the rest waits its turn, so the
/// bytes held by the writer stay small next to the queue's budget.
const MAX_BATCH_FRAMES: usize = 256;

/// Serves one upgraded connection until it closes.
pub async fn run<S>(
    ws: WebSocketStream<S>,
    shared: Arc<Shared>,
    stop: watch::Receiver<bool>,
    _permit: OwnedSemaphorePermit,
    _done: mpsc::Sender<()>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let id = shared.next_conn.fetch_add(1, Relaxed);
    let outbox = Arc::new(Outbox::new(
        id,
        shared.config.lag,
        shared.instruments.clone(),
    ));
    shared.connections.insert(id, outbox.clone());
    shared.metrics.connections_opened.fetch_add(1, Relaxed);
    tracing::info!(conn = id, "connection opened");

    let (sink, stream) = ws.split();
    // Milliseconds since `opened` at which the client was last heard from.
    let opened = Instant::now();
    let last_heard = Arc::new(AtomicU64::new(0));
    let mut stopping = stop.clone();
    let mut writer = tokio::spawn(write_loop(
        sink,
        outbox.clone(),
        shared.clone(),
        stop,
        opened,
        last_heard.clone(),
    ));
    let mut session = Session::new(shared.clone(), outbox.clone());
    {
        let reading = session.read_loop(stream, opened, &last_heard);
        tokio::pin!(reading);
        tokio::select! {
            _ = &mut reading => {
                // The writer finishes what is queued (a close, an error) and stops.
                if outbox.closing().is_none() {
                    outbox.close(CloseReason { code: 1000, reason: "" });
                }
                let _ = (&mut writer).await;
            }
            _ = &mut writer => {
                // The server closed: let the client answer the close frame
                // (a client that does not read gets dropped after the wait).
                let wait = tokio::time::timeout(shared.config.close_timeout, &mut reading);
                tokio::select! {
                    _ = wait => {}
                    _ = stopping.wait_for(|stop| *stop) => {}
                }
            }
        }
    }
    for symbol in session.symbols() {
        shared
            .command(symbol, Command::Disconnect { conn: id })
            .await;
    }
    session.disconnected().await;
    shared.connections.remove(&id);
    shared.metrics.connections_closed.fetch_add(1, Relaxed);
    let reason = outbox
        .closing()
        .map(|c| c.reason)
        .filter(|r| !r.is_empty())
        .unwrap_or("closed by the client");
    tracing::info!(conn = id, reason, "connection closed");
}

/// The reader's state: subscriptions and limits of one connection.
pub(super) struct Session {
    pub(super) shared: Arc<Shared>,
    pub(super) outbox: Arc<Outbox>,
    subscriptions: BTreeSet<StreamId>,
    limit: RateLimit,
    scratch: Vec<u8>,
    /// The account this connection is authenticated as.
    pub(super) account: Option<usize>,
    pub(super) cancel_on_disconnect: bool,
    pub(super) auth_failures: u32,
}

impl Session {
    fn new(shared: Arc<Shared>, outbox: Arc<Outbox>) -> Session {
        let limit = RateLimit::new(shared.config.requests_per_sec, shared.config.request_burst);
        Session {
            shared,
            outbox,
            subscriptions: BTreeSet::new(),
            limit,
            account: None,
            cancel_on_disconnect: false,
            auth_failures: 0,
            // Grows to the largest request on the first one.
            scratch: Vec::new(),
        }
    }

    /// The symbols this connection has streams of.
    fn symbols(&self) -> BTreeSet<u16> {
        self.subscriptions.iter().map(|s| s.symbol).collect()
    }

    async fn read_loop<S>(
        &mut self,
        mut stream: SplitStream<WebSocketStream<S>>,
        opened: Instant,
        last_heard: &AtomicU64,
    ) where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        while let Some(message) = stream.next().await {
            last_heard.store(opened.elapsed().as_millis() as u64, Relaxed);
            match message {
                // Boxed: the request's future (subscribe, order...) is the
                // largest part of a connection's state, and an idle
                // connection should not carry it between requests.
                Ok(Message::Text(text)) => Box::pin(self.request(&text)).await,
                Ok(Message::Binary(_)) => self.reply_error(
                    &None,
                    None,
                    &RequestError::new(
                        "unsupported_frame",
                        "binary frames are not supported: send JSON text frames",
                    ),
                ),
                Ok(Message::Close(_)) => break,
                Ok(_) => {} // ping (answered by tungstenite), pong
                Err(WsError::Capacity(CapacityError::MessageTooLong { size, max_size })) => {
                    tracing::info!(conn = self.outbox.id, size, max_size, "message too big");
                    self.outbox.close(CloseReason::TOO_BIG);
                    break;
                }
                Err(e) => {
                    tracing::debug!(conn = self.outbox.id, error = %e, "read error");
                    break;
                }
            }
        }
    }

    pub(super) fn reply_error(&self, id: &RequestId, op: Option<&str>, error: &RequestError) {
        self.outbox
            .push_priority(encode::error(id, op, error.code, &error.message, None));
    }

    async fn request(&mut self, text: &str) {
        let parsed = protocol::parse(text, &mut self.scratch);
        let (id, op) = (&parsed.id, parsed.op.as_deref());
        if let Err(retry_after_ms) = self.limit.take() {
            let message = format!(
                "more than {} requests per second (burst {}); retry after {retry_after_ms} ms",
                self.shared.config.requests_per_sec, self.shared.config.request_burst
            );
            self.outbox.push_priority(encode::error(
                id,
                op,
                "rate_limited",
                &message,
                Some(retry_after_ms),
            ));
            return;
        }
        let request = match parsed.request {
            Ok(r) => r,
            Err(e) => return self.reply_error(id, op, &e),
        };
        let result = match request {
            Request::Subscribe(selection) => self.subscribe(id, &selection).await,
            Request::Unsubscribe(selection) => self.unsubscribe(id, &selection).await,
            Request::Instruments => {
                let frame = encode::instruments(id, &self.shared.instruments, &self.shared.mode);
                self.outbox.push_priority(frame);
                Ok(())
            }
            Request::Ping => {
                self.outbox
                    .push_priority(encode::pong(id, self.shared.clock.now()));
                Ok(())
            }
            Request::Auth {
                token,
                cancel_on_disconnect,
            } => self.auth(id, &token, cancel_on_disconnect),
            Request::Order(order) => self.order(id, order).await,
            Request::Cancel { symbol, order } => self.cancel(id, &symbol, order).await,
            Request::CancelAll { symbol } => self.cancel_all(id, symbol.as_deref()).await,
            Request::OpenOrders { symbol } => self.open_orders(id, symbol.as_deref()),
            Request::Account => self.account(id),
        };
        if let Err(e) = result {
            self.reply_error(id, op, &e);
        }
    }

    /// The streams a selection names; every name must be known.
    fn streams(
        &self,
        selection: &StreamSelection,
        subscribing: bool,
    ) -> Result<Vec<StreamId>, RequestError> {
        let mut symbols = Vec::with_capacity(selection.symbols.len());
        for name in &selection.symbols {
            let index = self.shared.symbol_index(name).ok_or_else(|| {
                RequestError::new(
                    "unknown_symbol",
                    format!("unknown symbol {name:?}; the instruments request lists them"),
                )
            })?;
            symbols.push(index);
        }
        let mut channels = Vec::with_capacity(selection.channels.len() + 1);
        for name in &selection.channels {
            match name.as_str() {
                "book" => channels.push(Channel::Book),
                "trades" => channels.push(Channel::Trades),
                "ticker" => channels.push(Channel::Ticker),
                "heartbeat" => channels.push(Channel::Heartbeat),
                "candles" => match (selection.interval, subscribing) {
                    (Some(interval), _) => channels.push(Channel::Candles(interval)),
                    (None, true) => channels.push(Channel::Candles(Interval::OneMinute)),
                    (None, false) => {
                        channels.extend(Interval::ALL.map(Channel::Candles));
                    }
                },
                other => {
                    return Err(RequestError::new(
                        "unknown_channel",
                        format!(
                            "unknown channel {other:?}; channels are book, trades, ticker, candles and heartbeat"
                        ),
                    ));
                }
            }
        }
        let mut streams: Vec<StreamId> = symbols
            .iter()
            .flat_map(|&symbol| {
                channels
                    .iter()
                    .map(move |&channel| StreamId { symbol, channel })
            })
            .collect();
        streams.sort_unstable();
        streams.dedup();
        Ok(streams)
    }

    fn subscription_list(&self, kind: &str, id: &RequestId) -> Utf8Bytes {
        let shared = &self.shared;
        encode::subscriptions(
            kind,
            id,
            self.subscriptions
                .iter()
                .map(|s| (s.channel, shared.symbol_name(s.symbol))),
        )
    }

    async fn subscribe(
        &mut self,
        id: &RequestId,
        selection: &StreamSelection,
    ) -> Result<(), RequestError> {
        let streams = self.streams(selection, true)?;
        let new: Vec<StreamId> = streams
            .iter()
            .filter(|s| !self.subscriptions.contains(s))
            .copied()
            .collect();
        let limit = self.shared.config.max_subscriptions;
        if self.subscriptions.len() + new.len() > limit {
            return Err(RequestError::new(
                "too_many_subscriptions",
                format!(
                    "this would make {} subscriptions; a connection may have at most {limit}",
                    self.subscriptions.len() + new.len()
                ),
            ));
        }
        self.subscriptions.extend(new.iter().copied());
        self.outbox.subscribe(&new);
        self.outbox
            .push_priority(self.subscription_list("subscribed", id));
        // Each symbol's task registers its streams and queues their initial
        // state (again, for streams already subscribed: that is the resync).
        for symbol in streams.iter().map(|s| s.symbol).collect::<BTreeSet<_>>() {
            let channels = streams
                .iter()
                .filter(|s| s.symbol == symbol)
                .map(|s| s.channel)
                .collect();
            let command = Command::Subscribe {
                outbox: self.outbox.clone(),
                channels,
            };
            self.shared.command(symbol, command).await;
        }
        Ok(())
    }

    async fn unsubscribe(
        &mut self,
        id: &RequestId,
        selection: &StreamSelection,
    ) -> Result<(), RequestError> {
        let streams = self.streams(selection, false)?;
        let gone: Vec<StreamId> = streams
            .iter()
            .filter(|s| self.subscriptions.contains(s))
            .copied()
            .collect();
        for stream in &gone {
            self.subscriptions.remove(stream);
        }
        self.outbox.unsubscribe(&gone);
        self.outbox
            .push_priority(self.subscription_list("unsubscribed", id));
        for symbol in gone.iter().map(|s| s.symbol).collect::<BTreeSet<_>>() {
            let channels = gone
                .iter()
                .filter(|s| s.symbol == symbol)
                .map(|s| s.channel)
                .collect();
            self.shared
                .command(
                    symbol,
                    Command::Unsubscribe {
                        conn: self.outbox.id,
                        channels,
                    },
                )
                .await;
        }
        Ok(())
    }
}

type Sink<S> = SplitSink<WebSocketStream<S>, Message>;

/// Writes one batch: feed every frame, then one flush.
async fn write_batch<S>(sink: &mut Sink<S>, frames: &mut Vec<Utf8Bytes>) -> Result<(), WsError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    for frame in frames.drain(..) {
        sink.feed(Message::Text(frame)).await?;
    }
    sink.flush().await
}

/// Sends a close frame, giving up after `limit` (a client that does not read
/// never gets it; the connection is dropped anyway).
async fn send_close<S>(sink: &mut Sink<S>, reason: CloseReason, limit: Duration)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let frame = CloseFrame {
        code: CloseCode::from(reason.code),
        reason: reason.reason.into(),
    };
    let _ = timeout(limit, sink.send(Message::Close(Some(frame)))).await;
}

async fn write_loop<S>(
    mut sink: Sink<S>,
    outbox: Arc<Outbox>,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
    opened: Instant,
    last_heard: Arc<AtomicU64>,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let config = &shared.config;
    let mut ping = interval_at(
        (Instant::now() + config.ping_interval).into(),
        config.ping_interval,
    );
    ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut batch = Batch::default();
    loop {
        tokio::select! {
            _ = outbox.ready() => {}
            _ = stop.changed() => {
                shutdown(&mut sink, &shared).await;
                return;
            }
            _ = ping.tick() => {
                let silent = opened.elapsed().saturating_sub(Duration::from_millis(last_heard.load(Relaxed)));
                if silent > config.idle_timeout {
                    outbox.close(CloseReason::PING_TIMEOUT);
                } else if sink.send(Message::Ping(Default::default())).await.is_err() {
                    return;
                }
            }
        }
        loop {
            outbox.drain(MAX_BATCH_FRAMES, &mut batch);
            if batch.frames.is_empty() && batch.close.is_none() {
                break;
            }
            let (count, bytes) = (batch.frames.len() as u64, batch.bytes as u64);
            // A slow client can block the write; a close or a shutdown must
            // not wait for it.
            let written = {
                let write = write_batch(&mut sink, &mut batch.frames);
                tokio::pin!(write);
                // Once a close is asked for, the write in progress gets the
                // close timeout to finish (a client that does not read
                // never lets it).
                let mut deadline: Option<tokio::time::Instant> = None;
                let far = tokio::time::Instant::now() + Duration::from_secs(86_400 * 365);
                loop {
                    tokio::select! {
                        result = &mut write => break Some(result),
                        _ = outbox.ready(), if deadline.is_none() => {
                            if outbox.closing().is_some() {
                                deadline = Some(tokio::time::Instant::now() + config.close_timeout);
                            }
                        }
                        _ = tokio::time::sleep_until(deadline.unwrap_or(far)), if deadline.is_some() => break None,
                        _ = stop.changed() => break None,
                    }
                }
            };
            match written {
                Some(Ok(())) => {
                    shared.metrics.messages_sent.fetch_add(count, Relaxed);
                    shared.metrics.bytes_sent.fetch_add(bytes, Relaxed);
                }
                Some(Err(_)) => return,
                None if *stop.borrow() => {
                    shutdown(&mut sink, &shared).await;
                    return;
                }
                None => {
                    if let Some(reason) = outbox.closing() {
                        send_close(&mut sink, reason, config.close_timeout).await;
                    }
                    return;
                }
            }
            if let Some(reason) = batch.close.take() {
                send_close(&mut sink, reason, config.close_timeout).await;
                return;
            }
        }
    }
}

/// Tells the client the server is going away, then closes with 1001.
async fn shutdown<S>(sink: &mut Sink<S>, shared: &Shared)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let notice = Message::Text(encode::shutdown(shared.clock.now()));
    let limit = shared
        .config
        .close_timeout
        .min(shared.config.shutdown_grace);
    if timeout(limit, sink.feed(notice)).await.is_ok() {
        send_close(sink, CloseReason::SHUTDOWN, limit).await;
    }
}
