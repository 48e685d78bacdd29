//! The Binance dialect's streams of one symbol (`crate::binance`), beside
//! the native ones in the symbol's hub: made from what the native streams
//! publish, each event encoded once and shared by every subscriber.
//!
//! - `@trade` and `@aggTrade` follow the trades stream (ids are its `seq`);
//! - `@depth` and `@depth@100ms` gather the book stream's level changes
//!   between ticks: `U`/`u` are the first and last book `seq` they cover,
//!   so they chain with REST `depth`'s `lastUpdateId`; a window with book
//!   messages is always sent, so `U` is always the last `u` + 1;
//! - `@depthN`, `@bookTicker` read an `L2Book` kept in step with the book
//!   stream (as the native views do) while any of them, or a diff depth
//!   stream, has a subscriber;
//! - `@kline_<i>` follows the candle streams (a bar that ends is sent once
//!   more, closed, before the next); `@ticker` and `@miniTicker` send the
//!   ticker stream's latest figures once a second when they changed.
//!
//! Binance sends no initial state on its streams (a client fetches REST
//! `depth`): a subscriber gets the stream's next event.

pub mod rest;

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::MarketState;
use super::subscribers::Subscribers;
use crate::binance::events::{self, DepthDiff, Figures, Top};
use crate::binance::names::stream_name;
use crate::binance::native;
use crate::binance::{Framed, Speed, Stream};
use crate::book::l2::{L2Book, Levels};
use crate::encode;
use crate::engine::LevelChange;
use crate::fanout::{ConnId, Outbox, Unflushed};
use crate::gateway::shared::Shared;
use crate::instrument::Instrument;
use crate::protocol::{Channel, StreamId};
use crate::stats::Interval;
use crate::types::{Price, Qty, Side, SymbolId, UnixNanos};

/// The level changes of a diff depth stream since its last event.
#[derive(Default)]
struct Window {
    bids: BTreeMap<Price, Qty>,
    asks: BTreeMap<Price, Qty>,
    /// The first and last book `seq` in the window.
    seqs: Option<(u64, u64)>,
}

pub struct BinanceStreams {
    symbol: SymbolId,
    /// The symbol as Binance writes it (`BTCUSD`).
    name: String,
    /// By `Framed::index`: each stream's raw and combined subscribers.
    subscribers: [Subscribers; Framed::COUNT],
    /// Each stream's full name (`btcusd@trade`), for combined frames.
    names: [String; Stream::COUNT],
    /// The published book, while a stream that follows it has subscribers.
    book: Option<L2Book>,
    /// `seq` and `ts` of the last book message followed.
    book_at: (u64, UnixNanos),
    windows: [Window; 2],
    /// Partial depth streams whose book changed since they last sent.
    partial_dirty: [bool; Stream::COUNT],
    /// What `@bookTicker` last sent.
    top: Option<[Option<(Price, Qty)>; 2]>,
    /// The last `candle` message of each interval (its bar is sent once
    /// more, closed, when the next bar starts).
    bars: [Option<Utf8Bytes>; Interval::ALL.len()],
    /// The ticker's figures changed since `@ticker` last sent.
    ticker: Option<Figures>,
    ticks: u64,
    scratch: [Levels; 2],
}

fn speed_index(speed: Speed) -> usize {
    match speed {
        Speed::Ms100 => 0,
        Speed::S1 => 1,
    }
}

impl BinanceStreams {
    pub fn new(symbol: SymbolId, instrument: &Instrument) -> BinanceStreams {
        BinanceStreams {
            symbol,
            name: instrument.binance_symbol(),
            subscribers: Default::default(),
            names: Stream::ALL.map(|s| stream_name(instrument, s)),
            book: None,
            book_at: (0, 0),
            windows: Default::default(),
            partial_dirty: [false; Stream::COUNT],
            top: None,
            bars: Default::default(),
            ticker: None,
            ticks: 0,
            scratch: Default::default(),
        }
    }

    fn has(&self, stream: Stream) -> bool {
        [false, true]
            .into_iter()
            .any(|combined| !self.subscribers[Framed { stream, combined }.index()].is_empty())
    }

    /// Whether a stream that follows the book has a subscriber (each
    /// published book update's level changes are needed then).
    pub fn follows_book(&self) -> bool {
        self.book.is_some()
    }

    pub fn subscribers(&self, framed: Framed) -> &[Arc<Outbox>] {
        self.subscribers[framed.index()].as_slice()
    }

    /// Adds a subscriber (false if it was there). Subscriptions are handled
    /// when the market and its streams agree, so the book is the stream's.
    pub fn add(&mut self, state: &impl MarketState, framed: Framed, outbox: &Arc<Outbox>) -> bool {
        let stream = framed.stream;
        if stream.follows_book() && self.book.is_none() {
            let at = state.book();
            self.book = Some(L2Book::from_book(at.book));
            self.book_at = (at.seq, at.ts);
            self.top = None;
        }
        if matches!(stream, Stream::Ticker | Stream::MiniTicker)
            && let Some(quote) = state.latest().quote()
            && let Some(ticker) = native::read::<native::Ticker>(quote.as_str())
        {
            // The figures go out at the next second, to every subscriber.
            self.ticker = Some(Figures::of(state.instrument(), &ticker));
        }
        if !self.has(stream) {
            if let Stream::Depth(speed) = stream {
                self.windows[speed_index(speed)] = Window::default();
            }
            self.partial_dirty[stream.index()] = true;
        }
        self.subscribers[framed.index()].add(outbox)
    }

    /// Removes a subscriber; false if it was not there.
    pub fn remove(&mut self, framed: Framed, conn: ConnId) -> bool {
        let removed = self.subscribers[framed.index()].remove(conn);
        if removed && !Stream::ALL.iter().any(|s| s.follows_book() && self.has(*s)) {
            self.book = None;
        }
        removed
    }

    fn fan_out(
        &self,
        shared: &Shared,
        unflushed: &mut Unflushed,
        framed: Framed,
        frame: &Utf8Bytes,
    ) {
        let id = StreamId {
            symbol: self.symbol,
            channel: Channel::Binance(framed),
        };
        for outbox in self.subscribers[framed.index()].as_slice() {
            shared.after_push(outbox, unflushed.push(outbox, id, frame));
        }
    }

    /// Encodes the event with `write`, then sends it to the stream's raw
    /// subscribers as it is and to its combined ones wrapped, each frame
    /// made once.
    fn send(
        &mut self,
        shared: &Shared,
        unflushed: &mut Unflushed,
        stream: Stream,
        write: impl FnOnce(&mut String, &str),
    ) {
        let mut text = String::with_capacity(256);
        write(&mut text, &self.name);
        let raw = Framed {
            stream,
            combined: false,
        };
        let combined = Framed {
            stream,
            combined: true,
        };
        if !self.subscribers[combined.index()].is_empty() {
            let name = &self.names[stream.index()];
            let mut wrapped = String::with_capacity(text.len() + name.len() + 22);
            wrapped.push_str("{\"stream\":\"");
            wrapped.push_str(name);
            wrapped.push_str("\",\"data\":");
            wrapped.push_str(&text);
            wrapped.push('}');
            self.fan_out(shared, unflushed, combined, &encode::frame(wrapped));
        }
        if !self.subscribers[raw.index()].is_empty() {
            self.fan_out(shared, unflushed, raw, &encode::frame(text));
        }
    }

    /// Follows a published `trade` message.
    pub fn trade(&mut self, shared: &Shared, unflushed: &mut Unflushed, frame: &Utf8Bytes) {
        if !self.has(Stream::Trade) && !self.has(Stream::AggTrade) {
            return;
        }
        let Some(trade) = native::read::<native::Trade>(frame.as_str()) else {
            return;
        };
        if self.has(Stream::Trade) {
            self.send(shared, unflushed, Stream::Trade, |out, name| {
                events::trade(out, name, &trade)
            });
        }
        if self.has(Stream::AggTrade) {
            self.send(shared, unflushed, Stream::AggTrade, |out, name| {
                events::agg_trade(out, name, &trade)
            });
        }
    }

    /// Follows a message of the ticker stream (a market `status` is not a
    /// ticker and is skipped).
    pub fn ticker(&mut self, instrument: &Instrument, frame: &Utf8Bytes) {
        if !self.has(Stream::Ticker) && !self.has(Stream::MiniTicker) {
            return;
        }
        if let Some(ticker) = native::read::<native::Ticker>(frame.as_str()) {
            self.ticker = Some(Figures::of(instrument, &ticker));
        }
    }

    /// Follows a published `candle` message.
    pub fn candle(
        &mut self,
        shared: &Shared,
        unflushed: &mut Unflushed,
        interval: Interval,
        frame: &Utf8Bytes,
    ) {
        let stream = Stream::Kline(interval);
        if !self.has(stream) {
            self.bars[interval.index()] = None;
            return;
        }
        let Some(candle) = native::read::<native::Candle>(frame.as_str()) else {
            return;
        };
        let spec = (interval.as_str(), interval.nanos());
        if let Some(last) = self.bars[interval.index()].take()
            && let Some(ended) = native::read::<native::Candle>(last.as_str())
            && ended.start != candle.start
        {
            self.send(shared, unflushed, stream, |out, name| {
                events::kline(out, name, spec, ended.ts, &ended.bar(), true)
            });
        }
        let bar = candle.bar();
        self.send(shared, unflushed, stream, |out, name| {
            events::kline(out, name, spec, candle.ts, &bar, false)
        });
        self.bars[interval.index()] = Some(frame.clone());
    }

    /// Follows a published book message: its level changes at `seq`.
    pub fn book(
        &mut self,
        shared: &Shared,
        unflushed: &mut Unflushed,
        instrument: &Instrument,
        seq: u64,
        changes: &[LevelChange],
        ts: UnixNanos,
    ) {
        let Some(book) = &mut self.book else { return };
        for c in changes {
            book.set(c.side, c.price, c.qty);
        }
        let top = [book.best(Side::Buy), book.best(Side::Sell)];
        self.book_at = (seq, ts);
        for speed in [Speed::Ms100, Speed::S1] {
            if !self.has(Stream::Depth(speed)) {
                continue;
            }
            let window = &mut self.windows[speed_index(speed)];
            for c in changes {
                let side = match c.side {
                    Side::Buy => &mut window.bids,
                    Side::Sell => &mut window.asks,
                };
                side.insert(c.price, c.qty);
            }
            window.seqs = Some(match window.seqs {
                Some((first, _)) => (first, seq),
                None => (seq, seq),
            });
        }
        for dirty in &mut self.partial_dirty {
            *dirty = true;
        }
        if self.has(Stream::BookTicker) && self.top != Some(top) {
            self.top = Some(top);
            let top = Top {
                bid: top[0],
                ask: top[1],
            };
            self.send(shared, unflushed, Stream::BookTicker, |out, name| {
                events::book_ticker(out, instrument, name, seq, &top)
            });
        }
    }

    /// The book was rebuilt (a replay's new pass or recorded snapshot): the
    /// streams follow it from here. A diff depth subscriber sees the jump
    /// in `U` and fetches a fresh snapshot, as on Binance after a gap.
    pub fn reload(&mut self, book: &crate::book::Book, seq: u64, ts: UnixNanos) {
        if self.book.is_some() {
            self.book = Some(L2Book::from_book(book));
            self.book_at = (seq, ts);
            self.windows = Default::default();
        }
    }

    /// One tick of the 100 ms clock: the streams whose period is up send.
    pub fn tick(&mut self, shared: &Shared, unflushed: &mut Unflushed, instrument: &Instrument) {
        self.ticks += 1;
        let second = self.ticks.is_multiple_of(Speed::S1.ticks() as u64);
        let due = |speed: Speed| speed == Speed::Ms100 || second;
        for speed in [Speed::Ms100, Speed::S1] {
            if due(speed) && self.has(Stream::Depth(speed)) {
                self.send_window(shared, unflushed, instrument, speed);
            }
        }
        for stream in Stream::ALL {
            if let Stream::Partial(levels, speed) = stream
                && due(speed)
                && self.has(stream)
                && std::mem::take(&mut self.partial_dirty[stream.index()])
                && let Some(book) = &self.book
            {
                for (i, side) in [Side::Buy, Side::Sell].into_iter().enumerate() {
                    book.top(side, Some(levels.count()), &mut self.scratch[i]);
                }
                let scratch = std::mem::take(&mut self.scratch);
                let seq = self.book_at.0;
                self.send(shared, unflushed, stream, |out, _| {
                    events::partial_depth(out, instrument, seq, &scratch[0], &scratch[1])
                });
                self.scratch = scratch;
            }
        }
        if second && let Some(figures) = self.ticker.take() {
            if self.has(Stream::Ticker) {
                self.send(shared, unflushed, Stream::Ticker, |out, name| {
                    events::ticker(out, name, &figures)
                });
            }
            if self.has(Stream::MiniTicker) {
                self.send(shared, unflushed, Stream::MiniTicker, |out, name| {
                    events::mini_ticker(out, name, &figures)
                });
            }
        }
    }

    fn send_window(
        &mut self,
        shared: &Shared,
        unflushed: &mut Unflushed,
        instrument: &Instrument,
        speed: Speed,
    ) {
        let window = std::mem::take(&mut self.windows[speed_index(speed)]);
        let Some((first, last)) = window.seqs else {
            return;
        };
        let bids: Vec<(Price, Qty)> = window.bids.iter().rev().map(|(p, q)| (*p, *q)).collect();
        let asks: Vec<(Price, Qty)> = window.asks.iter().map(|(p, q)| (*p, *q)).collect();
        let diff = DepthDiff {
            ts: self.book_at.1,
            first,
            last,
            bids: &bids,
            asks: &asks,
        };
        self.send(shared, unflushed, Stream::Depth(speed), |out, name| {
            events::depth_update(out, instrument, name, &diff)
        });
    }
}
