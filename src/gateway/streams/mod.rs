//! The connection side of the seam, written once for every market source:
//! one `Hub` per symbol holds the subscribers of each of the symbol's
//! streams, sends a new subscriber its stream's initial state, sends a
//! lagging connection fresh state, and fans published messages out.
//!
//! A source (the live engine, a replay, next the bus) owns the market's
//! state and implements `MarketState`: what a book snapshot, a candles
//! snapshot and the latest ticker and candle are right now. The hub decides
//! which of them a stream gets when (PROTOCOL.md: on subscribe, the book
//! snapshot, the latest ticker, the candles snapshot; after a lag, the book
//! snapshot and the newest ticker and candle). The hub lives in the task
//! that publishes the symbol, so initial state is always queued at the
//! exact point of its stream.

mod binance;
mod poll;
mod subscribers;
mod views;

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::commands::{PollQuery, StreamCommand};
use super::shared::Shared;
use crate::book::Book;
use crate::bus::SymbolState;
use crate::engine::LevelChange;
use crate::fanout::{ConnId, Outbox, Unflushed};
use crate::instrument::Instrument;
use crate::protocol::{Channel, StreamId};
use crate::stats::Interval;
use crate::types::{SymbolId, UnixNanos};
use binance::BinanceStreams;
use poll::RecentTrades;
pub use subscribers::Subscribers;
use views::Views;

/// What a market source knows of one symbol at the current point of its
/// streams.
pub trait MarketState {
    /// The whole book now, at the book stream's last `seq`.
    fn book_snapshot(&mut self) -> Utf8Bytes;
    /// The kept bars of `interval`, at that candle stream's last `seq`.
    fn candles_snapshot(&mut self, interval: Interval) -> Utf8Bytes;
    /// The last `ticker` and `candle` messages published.
    fn latest(&self) -> &Latest;
    fn instrument(&self) -> &Instrument;
    /// The book now, at the book stream's last `seq` (asked only when
    /// subscriptions and polls are handled, when the two agree).
    fn book(&self) -> BookAt<'_>;
}

/// A book with its stream position.
pub struct BookAt<'a> {
    pub book: &'a Book,
    pub seq: u64,
    pub ts: UnixNanos,
}

/// The last `ticker` and `candle` (per interval) messages of a symbol,
/// resent as they are (same bytes, same `seq`) to new subscribers and
/// lagging connections.
#[derive(Default)]
pub struct Latest {
    /// The ticker stream's last message: a ticker, or a market `status`
    /// (a subscriber during a halt learns of it first).
    ticker: Option<Utf8Bytes>,
    /// The last ticker itself, for polling.
    quote: Option<Utf8Bytes>,
    candles: [Option<Utf8Bytes>; Interval::ALL.len()],
}

impl Latest {
    /// Keeps `frame` if it is of the ticker stream or a candle.
    pub fn remember(&mut self, channel: Channel, frame: &Utf8Bytes) {
        match channel {
            Channel::Ticker => {
                if !is_status(frame.as_str()) {
                    self.quote = Some(frame.clone());
                }
                self.ticker = Some(frame.clone());
            }
            Channel::Candles(interval) => self.candles[interval.index()] = Some(frame.clone()),
            _ => {}
        }
    }

    /// The ticker stream's last message (its initial state).
    pub fn ticker(&self) -> Option<&Utf8Bytes> {
        self.ticker.as_ref()
    }

    /// The last ticker.
    pub fn quote(&self) -> Option<&Utf8Bytes> {
        self.quote.as_ref()
    }

    pub fn candle(&self, interval: Interval) -> Option<&Utf8Bytes> {
        self.candles[interval.index()].as_ref()
    }
}

/// Whether a message of the ticker stream is a market `status` (tickwire
/// writes `type` first; a recording written by hand may not).
pub fn is_status(text: &str) -> bool {
    match text.strip_prefix("{\"type\":\"") {
        Some(rest) => rest.starts_with("status\""),
        None => text.contains("\"type\":\"status\""),
    }
}

/// One symbol's subscribers, by stream; the book's views with theirs.
pub struct Hub {
    symbol: SymbolId,
    streams: [Subscribers; Channel::ALL.len()],
    views: Views,
    /// The Binance dialect's streams, made from the native ones.
    binance: BinanceStreams,
    /// The last trades published, for `GET /api/trades`.
    trades: RecentTrades,
    /// `seq` and `ts` of the last book message published (a polled book's
    /// `ts` is its last change's, as on the stream).
    last_book: Option<(u64, UnixNanos)>,
    /// The connections given market data since the last `flush`.
    unflushed: Unflushed,
}

impl Hub {
    pub fn new(symbol: SymbolId, instrument: &Instrument) -> Hub {
        Hub {
            symbol,
            streams: Default::default(),
            views: Views::new(symbol),
            binance: BinanceStreams::new(symbol, instrument),
            trades: RecentTrades::default(),
            last_book: None,
            unflushed: Unflushed::default(),
        }
    }

    fn stream(&self, channel: Channel) -> StreamId {
        StreamId {
            symbol: self.symbol,
            channel,
        }
    }

    /// The initial state of a stream for a new subscriber, if it has one.
    fn initial_state(
        &mut self,
        state: &mut impl MarketState,
        channel: Channel,
    ) -> Option<Utf8Bytes> {
        match channel {
            Channel::Book => Some(state.book_snapshot()),
            Channel::BookView(view) => Some(self.views.snapshot(state.instrument(), view)),
            Channel::Ticker => state.latest().ticker().cloned(),
            Channel::Candles(interval) => Some(state.candles_snapshot(interval)),
            // Binance's streams have no initial state (REST has it).
            Channel::Trades | Channel::Heartbeat | Channel::Binance(_) => None,
        }
    }

    /// Fresh state after a lag: the book, the newest ticker and candle.
    fn fresh_state(&mut self, state: &mut impl MarketState, channel: Channel) -> Option<Utf8Bytes> {
        match channel {
            Channel::Candles(interval) => state.latest().candle(interval).cloned(),
            other => self.initial_state(state, other),
        }
    }

    fn add(&mut self, state: &impl MarketState, channel: Channel, outbox: &Arc<Outbox>) -> bool {
        match channel {
            Channel::BookView(view) => {
                let at = state.book();
                self.views.add(view, outbox, at.book, at.ts)
            }
            Channel::Binance(framed) => self.binance.add(state, framed, outbox),
            _ => self.streams[channel.index()].add(outbox),
        }
    }

    pub fn handle(
        &mut self,
        shared: &Shared,
        state: &mut impl MarketState,
        command: StreamCommand,
    ) {
        match command {
            StreamCommand::Subscribe { outbox, channels } => {
                for channel in channels {
                    if self.add(state, channel, &outbox) {
                        shared.metrics.subscriptions.fetch_add(1, Relaxed);
                    }
                    // Again for a stream already subscribed: that is the
                    // protocol's resync.
                    if let Some(frame) = self.initial_state(state, channel) {
                        let push = self.unflushed.push(&outbox, self.stream(channel), &frame);
                        shared.after_push(&outbox, push);
                    }
                }
            }
            StreamCommand::Unsubscribe { conn, channels } => {
                for channel in channels {
                    self.remove(shared, channel, conn);
                }
            }
            StreamCommand::Disconnect { conn } => {
                for channel in Channel::EVERY {
                    self.remove(shared, channel, conn);
                }
            }
            StreamCommand::Follow { ready } => {
                let _ = ready.send(());
            }
            StreamCommand::State { reply } => {
                let _ = reply.send(self.state_for_bus(state));
            }
            StreamCommand::Poll {
                query: PollQuery::Binance(query),
                reply,
            } => {
                let _ = reply.send(Some(binance::rest::answer(state, &self.trades, query)));
            }
            StreamCommand::Poll { query, reply } => {
                let _ = reply.send(poll::answer(state, &self.trades, self.last_book, query));
            }
        }
    }

    /// What a bus gateway needs to serve this symbol from now on, at the
    /// point of the streams (`bus::state`).
    fn state_for_bus(&mut self, state: &mut impl MarketState) -> SymbolState {
        let mut out = SymbolState::default();
        out.push(Channel::Book, state.book_snapshot().as_str());
        let latest = state.latest();
        if let Some(quote) = latest.quote()
            && latest.ticker() != Some(quote)
        {
            out.push(Channel::Ticker, quote.as_str());
        }
        if let Some(ticker) = latest.ticker() {
            out.push(Channel::Ticker, ticker.as_str());
        }
        for interval in Interval::ALL {
            let channel = Channel::Candles(interval);
            out.push(channel, state.candles_snapshot(interval).as_str());
            if let Some(candle) = state.latest().candle(interval) {
                out.push(channel, candle.as_str());
            }
        }
        for trade in self.trades.all() {
            out.push(Channel::Trades, trade.as_str());
        }
        out
    }

    /// The `seq` of the newest trade this hub published or kept.
    pub fn last_trade_seq(&self) -> Option<u64> {
        self.trades.last_seq()
    }

    /// A trade published before this hub followed the symbol (a bus
    /// gateway's starting state), kept for polling and sent to nobody;
    /// one already kept is skipped.
    pub fn remember_trade(&mut self, frame: &Utf8Bytes) {
        let seq = poll::seq_of(frame.as_str());
        if seq.is_some() && seq > self.trades.last_seq() {
            self.trades.remember(frame);
        }
    }

    /// A connection-level notice to every connection subscribed to any of
    /// the symbol's streams, once each, in order with its market data.
    pub fn notify(&self, frame: &Utf8Bytes) {
        let mut told = std::collections::BTreeSet::new();
        for outbox in self.every_subscriber() {
            if told.insert(outbox.id) {
                outbox.push_notice(frame.clone());
            }
        }
    }

    /// Whether this hub has registered `conn` as a subscriber of `channel`.
    pub fn has_subscriber(&self, channel: Channel, conn: ConnId) -> bool {
        self.subscribers(channel)
            .iter()
            .any(|outbox| outbox.id == conn)
    }

    /// Each subscriber of each stream (a connection once per stream).
    pub fn every_subscriber(&self) -> impl Iterator<Item = &Arc<Outbox>> {
        Channel::EVERY
            .into_iter()
            .flat_map(|channel| self.subscribers(channel))
    }

    /// Whether any stream of the symbol has a subscriber.
    pub fn has_subscribers(&self) -> bool {
        Channel::EVERY
            .iter()
            .any(|channel| !self.subscribers(*channel).is_empty())
    }

    fn remove(&mut self, shared: &Shared, channel: Channel, conn: ConnId) {
        let removed = match channel {
            Channel::BookView(view) => self.views.remove(view, conn),
            Channel::Binance(framed) => self.binance.remove(framed, conn),
            _ => self.streams[channel.index()].remove(conn),
        };
        if removed {
            shared.metrics.subscriptions.fetch_sub(1, Relaxed);
        }
    }

    /// Fresh state for a lagging connection, for the streams it has of this
    /// symbol.
    pub fn resync(&mut self, shared: &Shared, state: &mut impl MarketState, outbox: &Arc<Outbox>) {
        let mut frames = Vec::new();
        for stream in outbox.streams_of(self.symbol) {
            if let Some(frame) = self.fresh_state(state, stream.channel) {
                frames.push((stream, frame));
            }
        }
        let push = outbox.push_resync(self.symbol, &frames);
        shared.after_push(outbox, push);
    }

    /// Every subscriber of every stream gets its initial state again (a
    /// replay that starts a new pass).
    pub fn restart(&mut self, shared: &Shared, state: &mut impl MarketState) {
        let at = state.book();
        self.views.reload(at.book, at.ts);
        self.binance.reload(at.book, at.seq, at.ts);
        for channel in Channel::EVERY {
            if self.subscribers(channel).is_empty() {
                continue;
            }
            if let Some(frame) = self.initial_state(state, channel) {
                self.fan_out(shared, channel, &frame);
            }
        }
    }

    /// The book was rebuilt from a recorded snapshot (replay): the views
    /// follow it from there.
    pub fn reload_book(&mut self, state: &impl MarketState) {
        let at = state.book();
        self.views.reload(at.book, at.ts);
        self.binance.reload(at.book, at.seq, at.ts);
    }

    fn subscribers(&self, channel: Channel) -> &[Arc<Outbox>] {
        match channel {
            Channel::BookView(view) => self.views.subscribers(view),
            Channel::Binance(framed) => self.binance.subscribers(framed),
            _ => self.streams[channel.index()].as_slice(),
        }
    }

    /// Fans a market-data message out to the stream's subscribers (a
    /// heartbeat with the `seq` of the book's views added), and has the
    /// Binance streams follow it.
    pub fn publish(
        &mut self,
        shared: &Shared,
        instrument: &Instrument,
        channel: Channel,
        frame: &Utf8Bytes,
    ) {
        match channel {
            Channel::Heartbeat => {
                let frame = self.views.heartbeat(frame);
                self.fan_out(shared, channel, &frame);
            }
            Channel::Trades => {
                self.trades.remember(frame);
                self.fan_out(shared, channel, frame);
                self.binance.trade(shared, &mut self.unflushed, frame);
            }
            Channel::Ticker => {
                self.fan_out(shared, channel, frame);
                self.binance.ticker(instrument, frame);
            }
            Channel::Candles(interval) => {
                self.fan_out(shared, channel, frame);
                self.binance
                    .candle(shared, &mut self.unflushed, interval, frame);
            }
            _ => self.fan_out(shared, channel, frame),
        }
    }

    /// Fans a `book_update` out, and moves the book's views by its level
    /// changes.
    pub fn publish_book(
        &mut self,
        shared: &Shared,
        instrument: &Instrument,
        frame: &Utf8Bytes,
        changes: &[LevelChange],
        ts: UnixNanos,
    ) {
        self.fan_out(shared, Channel::Book, frame);
        self.last_book = poll::seq_of(frame.as_str()).map(|seq| (seq, ts));
        self.views
            .follow(shared, &mut self.unflushed, instrument, changes, ts);
        if let Some((seq, _)) = self.last_book {
            self.binance
                .book(shared, &mut self.unflushed, instrument, seq, changes, ts);
        }
    }

    /// Whether any view of the book has a subscriber (it then needs each
    /// published book update's level changes).
    pub fn has_views(&self) -> bool {
        self.views.active() || self.binance.follows_book()
    }

    /// The throttle clock of the book's views and the Binance streams
    /// (every `Throttle::TICK_MS`).
    pub fn tick(&mut self, shared: &Shared, instrument: &Instrument) {
        self.views.tick(shared, &mut self.unflushed, instrument);
        self.binance.tick(shared, &mut self.unflushed, instrument);
    }

    fn fan_out(&mut self, shared: &Shared, channel: Channel, frame: &Utf8Bytes) {
        let stream = self.stream(channel);
        let subscribers = match channel {
            Channel::BookView(view) => self.views.subscribers(view),
            Channel::Binance(framed) => self.binance.subscribers(framed),
            _ => self.streams[channel.index()].as_slice(),
        };
        for outbox in subscribers {
            shared.after_push(outbox, self.unflushed.push(outbox, stream, frame));
        }
    }

    /// Hands the connections given market data since the last call to the
    /// flusher, which writes each one's queue in one write: the publishing
    /// task calls it when its turn is over (a message is never held longer
    /// than the turn that made it).
    pub fn flush(&mut self, shared: &Shared) {
        shared.flusher.hand_over(&mut self.unflushed);
    }

    /// The most market data any subscriber of the stream has queued (a
    /// replay at full speed waits for its readers).
    pub fn busiest(&self, channel: Channel) -> usize {
        self.subscribers(channel)
            .iter()
            .map(|o| o.queued_bytes())
            .max()
            .unwrap_or(0)
    }
}
