//! Fan-out: who is subscribed to which stream, and each connection's bounded
//! outbound queue with the slow-consumer policy of PROTOCOL.md.
//!
//! A market-data message arrives here already encoded (`Utf8Bytes`); each
//! subscriber's queue gets a reference-counted clone, never a copy. A queue
//! holds at most `budget` bytes of market data: the message that would pass
//! it drops everything queued, and the connection gets a `lagged` notice,
//! then fresh state for its books, tickers and candles (the symbol tasks
//! send it, see `Push::Lagged`); the third lag within a minute closes the
//! connection with 1008. Responses and private events wait in a separate
//! queue that is never dropped and is sent first.

use std::collections::{BTreeSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rustc_hash::FxHashSet;
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::encode;
use crate::instrument::Instruments;
use crate::protocol::{Channel, StreamId};
use crate::types::SymbolId;

pub type ConnId = u64;

/// Why the server closes a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CloseReason {
    pub code: u16,
    pub reason: &'static str,
}

impl CloseReason {
    pub const SLOW_CONSUMER: CloseReason = CloseReason {
        code: 1008,
        reason: "slow consumer",
    };
    pub const TOO_BIG: CloseReason = CloseReason {
        code: 1009,
        reason: "message too big",
    };
    pub const PING_TIMEOUT: CloseReason = CloseReason {
        code: 1008,
        reason: "ping timeout",
    };
    pub const SHUTDOWN: CloseReason = CloseReason {
        code: 1001,
        reason: "server shutting down",
    };
}

/// The slow-consumer policy.
#[derive(Clone, Copy, Debug)]
pub struct LagPolicy {
    /// Bytes of market data a connection may have queued.
    pub budget: usize,
    /// Lags within `window` that close the connection.
    pub max_lags: usize,
    pub window: Duration,
}

impl Default for LagPolicy {
    fn default() -> Self {
        LagPolicy {
            budget: 4 << 20,
            max_lags: 3,
            window: Duration::from_secs(60),
        }
    }
}

/// What became of a market-data message pushed to one connection.
#[derive(Debug, PartialEq, Eq)]
pub enum Push {
    Queued,
    /// Not subscribed (any more), waiting for a resync of that symbol, or
    /// closing: dropped on purpose.
    Ignored,
    /// The budget overflowed: queued market data was dropped and `lagged`
    /// queued; these symbols' tasks must each send fresh state with
    /// `Outbox::push_resync`.
    Lagged(Vec<SymbolId>),
    /// Lagged too often: the connection is closing with 1008.
    SlowConsumer,
}

/// What a queued market-side frame is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Queued {
    Data(StreamId),
    /// The `lagged` notice (its losses are carried into the next one if it
    /// is dropped before it is sent).
    LagNotice,
    /// Another connection-level notice (a replay's `replay_end`).
    Notice,
}

impl Queued {
    fn stream(self) -> Option<StreamId> {
        match self {
            Queued::Data(stream) => Some(stream),
            Queued::LagNotice | Queued::Notice => None,
        }
    }
}

#[derive(Default)]
struct State {
    /// Responses and private events: never dropped, sent first.
    priority: VecDeque<Utf8Bytes>,
    /// Market data and the notices that go in order with it.
    market: VecDeque<(Queued, Utf8Bytes)>,
    market_bytes: usize,
    subscribed: FxHashSet<StreamId>,
    /// Symbols whose fresh state is on its way after a lag; their
    /// resyncing streams are dropped until it arrives.
    awaiting_resync: BTreeSet<SymbolId>,
    lags: VecDeque<Instant>,
    /// What the `lagged` notice still in `market` reported, so that a lag
    /// that drops it reports its losses too.
    pending_notice: Option<(u64, BTreeSet<StreamId>)>,
    close: Option<CloseReason>,
    /// Market-data messages dropped since the connection opened.
    dropped: u64,
}

/// One connection's outbound queues. Shared by the connection's tasks (which
/// drain it and manage its subscriptions) and by the symbol tasks (which
/// push market data into it); the mutex is held only to move a few
/// pointers, never while sending.
pub struct Outbox {
    pub id: ConnId,
    policy: LagPolicy,
    instruments: Arc<Instruments>,
    state: Mutex<State>,
    /// Wakes the connection's writer.
    wake: Notify,
}

/// What the writer takes out in one go.
#[derive(Debug, Default)]
pub struct Batch {
    pub frames: Vec<Utf8Bytes>,
    pub bytes: usize,
    /// Close the connection after sending `frames`.
    pub close: Option<CloseReason>,
}

impl Outbox {
    pub fn new(id: ConnId, policy: LagPolicy, instruments: Arc<Instruments>) -> Outbox {
        Outbox {
            id,
            policy,
            instruments,
            state: Mutex::new(State::default()),
            wake: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave the queues invalid
        // (every update is a single push or pop), so a poisoned lock is used
        // as it is.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Waits until there is something to write (or a close to send).
    pub async fn ready(&self) {
        self.wake.notified().await;
    }

    /// Queues a response or private event; these are never dropped.
    pub fn push_priority(&self, frame: Utf8Bytes) {
        let mut state = self.lock();
        if state.close.is_some() {
            return;
        }
        state.priority.push_back(frame);
        drop(state);
        self.wake.notify_one();
    }

    /// Queues a market-data message of `stream`, applying the budget.
    pub fn push_market(&self, stream: StreamId, frame: &Utf8Bytes) -> Push {
        let mut state = self.lock();
        if state.close.is_some()
            || !state.subscribed.contains(&stream)
            || (stream.channel.resyncs() && state.awaiting_resync.contains(&stream.symbol))
        {
            return Push::Ignored;
        }
        let len = frame.len();
        if state.market_bytes + len <= self.policy.budget {
            state.market_bytes += len;
            state
                .market
                .push_back((Queued::Data(stream), frame.clone()));
            drop(state);
            self.wake.notify_one();
            return Push::Queued;
        }
        let result = self.overflow(&mut state, stream);
        drop(state);
        self.wake.notify_one();
        result
    }

    /// The budget is full: drop the queued market data (and this message),
    /// count a lag, and either close or queue `lagged` and ask for resyncs.
    fn overflow(&self, state: &mut State, stream: StreamId) -> Push {
        let (mut dropped, mut lost) = state.pending_notice.take().unwrap_or_default();
        lost.extend(state.market.iter().filter_map(|(q, _)| q.stream()));
        lost.insert(stream);
        let newly_dropped = state
            .market
            .iter()
            .filter(|(q, _)| q.stream().is_some())
            .count() as u64
            + 1;
        dropped += newly_dropped;
        state.dropped += newly_dropped;
        state.market.clear();
        state.market_bytes = 0;
        let now = Instant::now();
        while state
            .lags
            .front()
            .is_some_and(|t| now.duration_since(*t) > self.policy.window)
        {
            state.lags.pop_front();
        }
        state.lags.push_back(now);
        if state.lags.len() >= self.policy.max_lags {
            state.close = Some(CloseReason::SLOW_CONSUMER);
            return Push::SlowConsumer;
        }
        let names = lost
            .iter()
            .filter_map(|s| self.symbol_name(s.symbol).map(|name| (s.channel, name)));
        let notice = encode::lagged(dropped, names);
        state.market_bytes += notice.len();
        state.market.push_back((Queued::LagNotice, notice));
        state.pending_notice = Some((dropped, lost));
        let mut symbols: Vec<SymbolId> = state
            .subscribed
            .iter()
            .filter(|s| s.channel.resyncs())
            .map(|s| s.symbol)
            .collect();
        symbols.sort_unstable();
        symbols.dedup();
        symbols.retain(|s| state.awaiting_resync.insert(*s));
        Push::Lagged(symbols)
    }

    fn symbol_name(&self, symbol: SymbolId) -> Option<&str> {
        self.instruments.by_id(symbol).map(|i| i.symbol.as_str())
    }

    /// Queues a connection-level notice in order with the market data (a
    /// replay's `replay_end` must follow the messages before it).
    pub fn push_notice(&self, frame: Utf8Bytes) {
        let mut state = self.lock();
        if state.close.is_some() {
            return;
        }
        state.market_bytes += frame.len();
        state.market.push_back((Queued::Notice, frame));
        drop(state);
        self.wake.notify_one();
    }

    /// Fresh state after a lag, from `symbol`'s task: queued only if the
    /// connection still awaits it, for the streams still subscribed.
    /// Fresh state that does not fit the budget is another lag.
    pub fn push_resync(&self, symbol: SymbolId, frames: &[(StreamId, Utf8Bytes)]) -> Push {
        let mut state = self.lock();
        if state.close.is_some() || !state.awaiting_resync.remove(&symbol) {
            return Push::Ignored;
        }
        let bytes: usize = frames
            .iter()
            .filter(|(s, _)| state.subscribed.contains(s))
            .map(|(_, f)| f.len())
            .sum();
        if let Some((stream, _)) = frames.first()
            && state.market_bytes + bytes > self.policy.budget
        {
            let result = self.overflow(&mut state, *stream);
            drop(state);
            self.wake.notify_one();
            return result;
        }
        for (stream, frame) in frames {
            if state.subscribed.contains(stream) {
                state.market_bytes += frame.len();
                state
                    .market
                    .push_back((Queued::Data(*stream), frame.clone()));
            }
        }
        drop(state);
        self.wake.notify_one();
        Push::Queued
    }

    /// The subscribed streams of one symbol, in channel order.
    pub fn streams_of(&self, symbol: SymbolId) -> Vec<StreamId> {
        let state = self.lock();
        Channel::EVERY
            .iter()
            .map(|&channel| StreamId { symbol, channel })
            .filter(|s| state.subscribed.contains(s))
            .collect()
    }

    /// Adds subscriptions (before the symbol tasks start sending them).
    pub fn subscribe(&self, streams: &[StreamId]) {
        let mut state = self.lock();
        state.subscribed.extend(streams.iter().copied());
    }

    /// Removes subscriptions and any of their messages still queued, so
    /// nothing of them follows `unsubscribed`.
    pub fn unsubscribe(&self, streams: &[StreamId]) {
        let mut state = self.lock();
        for stream in streams {
            state.subscribed.remove(stream);
        }
        let State {
            market,
            subscribed,
            market_bytes,
            ..
        } = &mut *state;
        market.retain(|(s, frame)| {
            let keep = s.stream().is_none_or(|s| subscribed.contains(&s));
            if !keep {
                *market_bytes -= frame.len();
            }
            keep
        });
    }

    /// Asks the writer to close the connection (after what is in the
    /// priority queue); market data still queued is dropped.
    pub fn close(&self, reason: CloseReason) {
        let mut state = self.lock();
        if state.close.is_none() {
            state.close = Some(reason);
        }
        state.market.clear();
        state.market_bytes = 0;
        state.pending_notice = None;
        drop(state);
        self.wake.notify_one();
    }

    pub fn closing(&self) -> Option<CloseReason> {
        self.lock().close
    }

    /// Takes up to `max_frames` frames (priority first) for the writer.
    pub fn drain(&self, max_frames: usize, batch: &mut Batch) {
        batch.frames.clear();
        batch.bytes = 0;
        let mut state = self.lock();
        while batch.frames.len() < max_frames {
            let Some(frame) = state.priority.pop_front() else {
                break;
            };
            batch.bytes += frame.len();
            batch.frames.push(frame);
        }
        if state.close.is_some() {
            if state.priority.is_empty() {
                batch.close = state.close;
            }
            return;
        }
        while batch.frames.len() < max_frames {
            let Some((stream, frame)) = state.market.pop_front() else {
                break;
            };
            if stream == Queued::LagNotice {
                state.pending_notice = None;
            }
            state.market_bytes -= frame.len();
            batch.bytes += frame.len();
            batch.frames.push(frame);
        }
        if !state.priority.is_empty() || !state.market.is_empty() {
            // More to do: make sure the writer comes back without waiting.
            drop(state);
            self.wake.notify_one();
        }
    }

    /// Whether the connection has any subscription.
    pub fn has_subscriptions(&self) -> bool {
        !self.lock().subscribed.is_empty()
    }

    /// Bytes of market data queued now.
    pub fn queued_bytes(&self) -> usize {
        self.lock().market_bytes
    }

    /// Market-data messages dropped by lags so far.
    pub fn dropped(&self) -> u64 {
        self.lock().dropped
    }
}

#[cfg(test)]
mod tests;
