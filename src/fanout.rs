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
//!
//! Writes go straight to the socket (`wire`): a response or private event
//! is written at once by the task that made it; market data is written by
//! one `Flusher` task for all connections, handed the connections each
//! publishing turn touched (`Unflushed`), so whatever every symbol queued
//! for a connection meanwhile goes in one write, with one wake-up per
//! turn rather than one per connection. Only when the socket is full does
//! the connection's own task take over, woken when the socket drains.
//!
//! `faulting`: a connection's faults on demand (testing clients), applied
//! where its market data is queued.

mod faulting;
mod flusher;
mod wire;

use std::collections::{BTreeSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rustc_hash::FxHashSet;
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use faulting::{Faulting, is_snapshot, stalled};
pub use flusher::{Flusher, Unflushed};
pub use wire::{Sent, Wire, Written};

use crate::encode;
use crate::faults::{Action, corrupt_checksum};
use crate::instrument::Instruments;
use crate::protocol::{Channel, StreamId};
use crate::types::SymbolId;

pub type ConnId = u64;

/// One connection in this many has its queueing time measured
/// (`Sent::publish_to_write`): a clock read per batch on every connection
/// would cost more than the figure is worth.
pub const PUBLISH_SAMPLE: ConnId = 8;

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
    /// Too many requests refused for the request rate (a flood).
    pub const RATE_LIMIT: CloseReason = CloseReason {
        code: 1008,
        reason: "rate limit exceeded",
    };
    pub const PING_TIMEOUT: CloseReason = CloseReason {
        code: 1008,
        reason: "ping timeout",
    };
    pub const SHUTDOWN: CloseReason = CloseReason {
        code: 1001,
        reason: "server shutting down",
    };
    /// The socket failed (reset, broken pipe): nothing more can be sent.
    pub const LOST: CloseReason = CloseReason {
        code: 1006,
        reason: "connection lost",
    };
    /// The server failed handling the connection (a panic, caught).
    pub const INTERNAL: CloseReason = CloseReason {
        code: 1011,
        reason: "internal error",
    };
    /// A fault closed the connection without a close frame.
    pub const ABRUPT: CloseReason = CloseReason {
        code: 1006,
        reason: "closed abruptly (a fault)",
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

/// A frame of the priority queue.
enum Out {
    /// A response or private event (framed as text when written).
    Text(Utf8Bytes),
    /// Frames already framed: a ping, a pong, a close.
    Raw(Bytes),
}

#[derive(Default)]
struct State {
    /// Responses and private events: never dropped, sent first.
    priority: VecDeque<Out>,
    /// Market data and the notices that go in order with it.
    market: VecDeque<(Queued, Utf8Bytes)>,
    market_bytes: usize,
    /// When the market queue last went from empty to not (sampled
    /// connections only: `PUBLISH_SAMPLE`), for `Sent::publish_to_write`.
    market_since: Option<Instant>,
    subscribed: FxHashSet<StreamId>,
    /// Symbols whose fresh state is on its way after a lag; their
    /// resyncing streams are dropped until it arrives.
    awaiting_resync: BTreeSet<SymbolId>,
    lags: VecDeque<Instant>,
    /// What the `lagged` notice still in `market` reported, so that a lag
    /// that drops it reports its losses too.
    pending_notice: Option<(u64, BTreeSet<StreamId>)>,
    close: Option<CloseReason>,
    /// Send the market data still queued before closing (a shutdown).
    drain_first: bool,
    /// Market-data messages dropped since the connection opened.
    dropped: u64,
    /// The socket, once the connection is attached to one.
    wire: Option<Wire>,
    /// A frame the socket took only part of; it goes on before anything.
    partial: Option<Box<wire::Partial>>,
    /// The socket took less than it was given: the writer task waits for
    /// it to drain, and nobody else tries until then.
    blocked: bool,
    /// Market data is queued that a publishing task will write at the end
    /// of its turn (it has this outbox in its `Unflushed`).
    dirty: bool,
    /// The close frame is queued or written: nothing follows it.
    close_sent: bool,
    /// A fault schedule for this connection's market data (client tests;
    /// `crate::faults`). Boxed: most connections have none.
    faults: Option<Box<Faulting>>,
}

impl State {
    /// Queues a connection-level notice in order with the market data;
    /// false once closing.
    fn queue_notice(&mut self, frame: Utf8Bytes) -> bool {
        if self.close.is_some() {
            return false;
        }
        self.market_bytes += frame.len();
        self.market.push_back((Queued::Notice, frame));
        true
    }
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
    /// When the client was last heard from, in the gateway clock's
    /// milliseconds: written by the connection's reader, read by the pinger.
    heard_ms: AtomicU64,
    /// The connection speaks tickwire's protocol (false: the Binance
    /// dialect, which is sent no native notices). Fixed at creation.
    native: bool,
}

/// What `drain` takes out in one go (a connection with no socket: the
/// benches and tests look at its queue this way).
#[derive(Debug, Default)]
pub struct Batch {
    pub frames: Vec<Utf8Bytes>,
    pub bytes: usize,
    /// Close the connection after sending `frames`.
    pub close: Option<CloseReason>,
}

/// What queueing a market-data message asks of the publishing task.
pub struct Queueing {
    pub push: Push,
    /// The outbox had nothing waiting for a write: the task must `flush`
    /// it before its turn ends.
    pub flush: bool,
}

impl Outbox {
    pub fn new(id: ConnId, policy: LagPolicy, instruments: Arc<Instruments>) -> Outbox {
        Outbox {
            id,
            policy,
            instruments,
            state: Mutex::new(State::default()),
            wake: Notify::new(),
            heard_ms: AtomicU64::new(0),
            native: true,
        }
    }

    /// The outbox of a connection speaking the Binance dialect.
    pub fn binance(mut self) -> Outbox {
        self.native = false;
        self
    }

    /// Whether the connection speaks tickwire's own protocol.
    pub fn native(&self) -> bool {
        self.native
    }

    /// The client was heard from at `ms`.
    pub fn heard(&self, ms: u64) {
        self.heard_ms.store(ms, Relaxed);
    }

    pub fn last_heard_ms(&self) -> u64 {
        self.heard_ms.load(Relaxed)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave the queues invalid
        // (every update is a single push or pop), so a poisoned lock is used
        // as it is.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Connects the outbox to its socket: from now on, queued frames are
    /// written to it.
    pub fn attach(&self, wire: Wire) {
        self.lock().wire = Some(wire);
    }

    /// Lets go of the socket (the connection is over).
    pub fn detach(&self) {
        let mut state = self.lock();
        state.wire = None;
        state.close_sent = true;
    }

    /// Waits until the writer has something to do: a close to send, a full
    /// socket to wait for, a connection without a socket to drain.
    pub async fn ready(&self) {
        self.wake.notified().await;
    }

    /// Writes what is queued now unless the writer task owns the socket
    /// (it is full); hands the rest to the writer task.
    fn write_now(&self, mut state: MutexGuard<'_, State>) {
        if state.wire.is_none() || stalled(&mut state).is_some() {
            drop(state);
            self.wake.notify_one();
            return;
        }
        let was_blocked = state.blocked;
        let written = if was_blocked {
            Written::Blocked
        } else {
            wire::write(&mut state)
        };
        let closing = state.close.is_some();
        drop(state);
        if (written == Written::Blocked && !was_blocked) || written == Written::Closed || closing {
            self.wake.notify_one();
        }
    }

    /// Writes what publishing tasks queued (see `Unflushed`).
    pub fn flush(&self) {
        let mut state = self.lock();
        state.dirty = false;
        self.write_now(state);
    }

    /// The writer task's write: what is queued, also when the socket was
    /// full before (the writer waited for it to drain).
    pub fn write_queued(&self) -> Written {
        let mut state = self.lock();
        if state.wire.is_none() {
            return if state.close_sent {
                Written::Closed
            } else {
                Written::Idle
            };
        }
        if stalled(&mut state).is_some() {
            return Written::Idle;
        }
        state.blocked = false;
        wire::write(&mut state)
    }

    /// Queues a response or private event (never dropped) and writes it.
    pub fn push_priority(&self, frame: Utf8Bytes) {
        let mut state = self.lock();
        if state.close.is_some() {
            return;
        }
        state.priority.push_back(Out::Text(frame));
        self.write_now(state);
    }

    /// Queues frames framed already (a ping; tungstenite's pongs and close
    /// answers) and writes them. Nothing goes after a close frame.
    pub fn push_raw(&self, frames: Bytes) {
        let mut state = self.lock();
        if state.close_sent {
            return;
        }
        if wire::has_close(&frames) {
            state.close_sent = true;
        }
        state.priority.push_back(Out::Raw(frames));
        self.write_now(state);
    }

    /// Queues a market-data message of `stream`, applying the budget, and
    /// has the writer task write it. Publishing tasks use `Unflushed`.
    pub fn push_market(&self, stream: StreamId, frame: &Utf8Bytes) -> Push {
        let queued = self.queue_market(stream, frame);
        if queued.push != Push::Ignored {
            self.wake.notify_one();
        }
        queued.push
    }

    /// Queues a market-data message of `stream`, applying the budget; the
    /// caller writes it with `flush` when `flush` says so.
    pub fn queue_market(&self, stream: StreamId, frame: &Utf8Bytes) -> Queueing {
        let mut state = self.lock();
        if state.close.is_some()
            || !state.subscribed.contains(&stream)
            || (stream.channel.resyncs() && state.awaiting_resync.contains(&stream.symbol))
        {
            return Queueing {
                push: Push::Ignored,
                flush: false,
            };
        }
        let mut copies = 1;
        let mut frame = std::borrow::Cow::Borrowed(frame);
        // Faults act on a stream's messages, never on the initial state a
        // client needs to recover (a lost snapshot models nothing real).
        if state.faults.is_some() && !is_snapshot(&frame) {
            match self.fault(&mut state, stream, &frame) {
                Action::Deliver | Action::Stall(_) => {}
                Action::Duplicate => copies = 2,
                Action::Corrupt => {
                    if let Some(wrong) = corrupt_checksum(frame.as_str()) {
                        frame = std::borrow::Cow::Owned(Utf8Bytes::from(wrong));
                    }
                }
                Action::Lagged => {
                    let push = self.overflow(&mut state, stream);
                    drop(state);
                    self.wake.notify_one();
                    return Queueing { push, flush: false };
                }
                Action::Drop | Action::Reorder | Action::Close(_) | Action::Shutdown => {
                    drop(state);
                    self.wake.notify_one();
                    return Queueing {
                        push: Push::Ignored,
                        flush: false,
                    };
                }
            }
        }
        let len = frame.len() * copies;
        let push = if state.market_bytes + len <= self.policy.budget {
            if state.market.is_empty() && self.id.is_multiple_of(PUBLISH_SAMPLE) {
                state.market_since = Some(Instant::now());
            }
            state.market_bytes += len;
            for _ in 0..copies {
                state
                    .market
                    .push_back((Queued::Data(stream), frame.as_ref().clone()));
            }
            // A message `reorder` held back goes after its stream's next.
            if let Some(f) = &mut state.faults
                && f.held.as_ref().is_some_and(|(s, _)| *s == stream)
                && let Some((held_stream, held)) = f.held.take()
            {
                state.market_bytes += held.len();
                state.market.push_back((Queued::Data(held_stream), held));
            }
            Push::Queued
        } else {
            self.overflow(&mut state, stream)
        };
        let flush = !state.dirty && !state.blocked && state.close.is_none();
        state.dirty |= flush;
        if push == Push::SlowConsumer {
            drop(state);
            self.wake.notify_one();
        }
        Queueing { push, flush }
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
        if !self.native {
            return;
        }
        let mut state = self.lock();
        if state.queue_notice(frame) {
            self.write_now(state);
        }
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
            self.write_now(state);
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
        self.write_now(state);
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

    /// Closes the connection after what is in the priority queue; market
    /// data still queued is dropped.
    pub fn close(&self, reason: CloseReason) {
        let mut state = self.lock();
        if state.close.is_none() {
            state.close = Some(reason);
        }
        state.drain_first = false;
        state.market.clear();
        state.market_bytes = 0;
        state.pending_notice = None;
        self.write_now(state);
    }

    /// The server is shutting down: sends what is queued (responses and
    /// private events first, then market data), then `notice`, then closes
    /// with 1001. Nothing queued after this is sent.
    pub fn shut_down(&self, notice: Utf8Bytes) {
        let mut state = self.lock();
        if state.close.is_some() || (self.native && !state.queue_notice(notice)) {
            return;
        }
        state.close = Some(CloseReason::SHUTDOWN);
        state.drain_first = true;
        self.write_now(state);
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
            // Raw frames (pings, pongs) come only from a socket's reader.
            if let Out::Text(frame) = frame {
                batch.bytes += frame.len();
                batch.frames.push(frame);
            }
        }
        if state.close.is_some() && !state.drain_first {
            if state.priority.is_empty() {
                batch.close = state.close;
            }
            return;
        }
        let draining = state.drain_first;
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
        if draining && state.priority.is_empty() && state.market.is_empty() {
            batch.close = state.close;
        }
        if !state.priority.is_empty() || !state.market.is_empty() {
            // More to do: make sure the writer comes back without waiting.
            drop(state);
            self.wake.notify_one();
        }
    }

    /// Every stream the connection is subscribed to (the symbol tasks
    /// may not have registered each yet), in no particular order.
    pub fn subscribed_streams(&self) -> Vec<StreamId> {
        self.lock().subscribed.iter().copied().collect()
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
