//! The task of one symbol: the single writer of its market. It steps the
//! simulator as engine time catches up with the clock, encodes each event
//! once, fans it out, and handles the subscription commands of that symbol,
//! so every initial state (a snapshot) is queued at the exact point of the
//! stream it belongs to.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::time::{MissedTickBehavior, interval, sleep_until};
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::Shared;
use super::trading::{RequestContext, TradeCommand};
use crate::encode;
use crate::engine::Output;
use crate::fanout::{ConnId, Outbox};
use crate::market::Market;
use crate::protocol::{Channel, StreamId};
use crate::stats::Interval;

/// How much simulated time a market has behind it when the server opens.
pub const WARM_UP: Duration = Duration::from_secs(30);

/// Most simulator steps taken before the task looks at its commands again.
const MAX_STEPS_PER_TURN: usize = 2048;

pub enum Command {
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
    Disconnect {
        conn: ConnId,
    },
    Trade(TradeCommand),
}

pub struct SymbolHandle {
    pub commands: mpsc::Sender<Command>,
    pub resyncs: mpsc::UnboundedSender<Arc<Outbox>>,
}

pub struct SymbolTask {
    pub(super) index: u16,
    pub(super) market: Market,
    pub(super) shared: Arc<Shared>,
    pub(super) out: Output,
    /// The client request whose input is being applied, if any.
    pub(super) request: Option<RequestContext>,
    /// Reused between inputs: the encoded messages of one input.
    frames: Vec<(Channel, u64, Utf8Bytes)>,
    checksum_scratch: String,
    /// The latest `ticker` and `candle` messages, resent as they are (same
    /// bytes, same seq) to new subscribers and lagging connections.
    latest_ticker: Option<Utf8Bytes>,
    latest_candle: [Option<Utf8Bytes>; 2],
    heartbeat_seq: u64,
    events_this_second: u64,
    /// Heartbeat ticks so far, for the recorder's periodic snapshots.
    seconds: u64,
}

fn interval_slot(interval: Interval) -> usize {
    match interval {
        Interval::OneSecond => 0,
        Interval::OneMinute => 1,
    }
}

impl SymbolTask {
    pub fn new(index: u16, market: Market, shared: Arc<Shared>) -> SymbolTask {
        SymbolTask {
            index,
            market,
            shared,
            out: Output::with_capacity(256),
            request: None,
            frames: Vec::with_capacity(16),
            checksum_scratch: String::with_capacity(512),
            latest_ticker: None,
            latest_candle: [None, None],
            heartbeat_seq: 0,
            events_this_second: 0,
            seconds: 0,
        }
    }

    fn stream(&self, channel: Channel) -> StreamId {
        StreamId {
            symbol: self.index,
            channel,
        }
    }

    pub async fn run(
        mut self,
        mut commands: mpsc::Receiver<Command>,
        mut resyncs: mpsc::UnboundedReceiver<Arc<Outbox>>,
        mut stop: watch::Receiver<bool>,
    ) {
        // Warm-up: the market starts `WARM_UP` in the past, so the first
        // client finds a full book; nobody is subscribed yet.
        while self.market.next_sim_at() <= self.shared.clock.now() {
            self.out.clear();
            self.market.step_sim(&mut self.out);
        }
        // A recording starts with the book, so a replay can build on it.
        if let Some(recorder) = &self.shared.recorder {
            let snapshot = encode::market_book_snapshot(&self.market, &mut self.checksum_scratch);
            recorder.snapshot(
                self.market.engine().now(),
                self.stream(Channel::Book),
                &snapshot,
            );
        }
        let mut heartbeat = interval(Duration::from_secs(1));
        heartbeat.set_missed_tick_behavior(MissedTickBehavior::Delay);
        heartbeat.tick().await;
        loop {
            let due = self.shared.clock.instant_of(self.market.next_sim_at());
            tokio::select! {
                biased;
                _ = stop.changed() => break,
                Some(command) = commands.recv() => self.handle(command),
                Some(outbox) = resyncs.recv() => self.resync(&outbox),
                _ = heartbeat.tick() => self.heartbeat(),
                _ = sleep_until(due.into()) => self.catch_up(),
            }
        }
    }

    /// Steps the simulator through every event that is due (a bounded
    /// number per turn, so commands are never starved).
    fn catch_up(&mut self) {
        let now = self.shared.clock.now();
        let mut steps = 0;
        while self.market.next_sim_at() <= now && steps < MAX_STEPS_PER_TURN {
            self.out.clear();
            self.market.step_sim_at(now, &mut self.out);
            self.publish_output();
            steps += 1;
        }
        self.shared.metrics.engine_events[self.index as usize].fetch_add(steps as u64, Relaxed);
        self.events_this_second += steps as u64;
    }

    /// Sends the private events of one input's events, then encodes and
    /// fans out its market data.
    pub(super) fn publish_output(&mut self) {
        self.private_events();
        let mut frames = std::mem::take(&mut self.frames);
        encode::market_data(
            &self.market,
            &self.out,
            &mut self.checksum_scratch,
            |channel, ts, frame| frames.push((channel, ts, frame)),
        );
        for (channel, ts, frame) in frames.drain(..) {
            match channel {
                Channel::Ticker => self.latest_ticker = Some(frame.clone()),
                Channel::Candles(interval) => {
                    self.latest_candle[interval_slot(interval)] = Some(frame.clone())
                }
                _ => {}
            }
            self.publish(channel, &frame);
            self.record(channel, ts, &frame);
        }
        self.frames = frames;
    }

    /// Hands a published message to the recorder, if the server records.
    fn record(&self, channel: Channel, ts: u64, frame: &Utf8Bytes) {
        if let Some(recorder) = &self.shared.recorder {
            recorder.message(ts, self.stream(channel), frame);
        }
    }

    fn publish(&self, channel: Channel, frame: &Utf8Bytes) {
        self.shared.publish(self.stream(channel), frame);
    }

    fn heartbeat(&mut self) {
        let metrics = &self.shared.metrics;
        metrics.engine_events_last_second[self.index as usize]
            .store(self.events_this_second, Relaxed);
        self.events_this_second = 0;
        self.heartbeat_seq += 1;
        let engine = self.market.engine();
        let ts = self.shared.clock.now().max(engine.now());
        let frame = encode::heartbeat(
            &self.market.instrument().symbol,
            self.heartbeat_seq,
            ts,
            engine.book_seq(),
            engine.trade_seq(),
            self.market.ticker().latest().0,
        );
        self.publish(Channel::Heartbeat, &frame);
        self.record(Channel::Heartbeat, ts, &frame);
        if let Some(recorder) = &self.shared.recorder {
            self.seconds += 1;
            if recorder.snapshot_every_s > 0
                && self.seconds.is_multiple_of(recorder.snapshot_every_s)
            {
                let snapshot =
                    encode::market_book_snapshot(&self.market, &mut self.checksum_scratch);
                recorder.snapshot(
                    self.market.engine().now(),
                    self.stream(Channel::Book),
                    &snapshot,
                );
            }
        }
    }

    /// The initial state of a stream, if it has one.
    fn initial_state(&mut self, channel: Channel) -> Option<Utf8Bytes> {
        let instrument = self.market.instrument();
        let engine = self.market.engine();
        match channel {
            Channel::Book => Some(encode::market_book_snapshot(
                &self.market,
                &mut self.checksum_scratch,
            )),
            Channel::Ticker => self.latest_ticker.clone(),
            Channel::Candles(interval) => Some(encode::candles_snapshot(
                instrument,
                self.market.candles(interval),
                engine.now(),
            )),
            Channel::Trades | Channel::Heartbeat => None,
        }
    }

    fn handle(&mut self, command: Command) {
        match command {
            Command::Subscribe { outbox, channels } => {
                for channel in channels {
                    let stream = self.stream(channel);
                    self.shared.registry.add(stream, &outbox);
                    if let Some(frame) = self.initial_state(channel) {
                        let push = outbox.push_market(stream, &frame);
                        self.shared.after_push(&outbox, push);
                    }
                }
            }
            Command::Unsubscribe { conn, channels } => {
                for channel in channels {
                    self.shared.registry.remove(self.stream(channel), conn);
                }
            }
            Command::Disconnect { conn } => {
                for channel in Channel::ALL {
                    self.shared.registry.remove(self.stream(channel), conn);
                }
            }
            Command::Trade(command) => self.trade(command),
        }
    }

    /// Fresh state for a lagging connection: a book snapshot, the newest
    /// ticker and candle, for the streams it has of this symbol.
    fn resync(&mut self, outbox: &Arc<Outbox>) {
        let mut frames = Vec::new();
        for stream in outbox.streams_of(self.index) {
            let frame = match stream.channel {
                Channel::Book => self.initial_state(Channel::Book),
                Channel::Ticker => self.latest_ticker.clone(),
                Channel::Candles(interval) => self.latest_candle[interval_slot(interval)].clone(),
                Channel::Trades | Channel::Heartbeat => None,
            };
            if let Some(frame) = frame {
                frames.push((stream, frame));
            }
        }
        let push = outbox.push_resync(self.index, &frames);
        self.shared.after_push(outbox, push);
    }
}
