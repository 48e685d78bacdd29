//! The replay source: instead of simulated markets, a recording, served
//! through the same registry, outboxes and protocol. One task replays every
//! symbol in the recorded order; a thread reads (and decompresses) the file
//! ahead of it. The task keeps, per symbol, the book (from the recorded
//! snapshots and updates), the latest ticker and candle messages and the
//! last 500 bars, so that a subscriber gets initial state at the current
//! replay point and lagging clients a resync, while every recorded message
//! goes out as the recorded bytes, with the recorded `seq` and `ts`.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, sleep_until};
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::Shared;
use super::symbol::Command;
use super::trading::TradeCommand;
use crate::book::Book;
use crate::encode;
use crate::fanout::Outbox;
use crate::instrument::Instrument;
use crate::protocol::{Channel, StreamId};
use crate::record::{self, Entry};
use crate::stats::{Interval, MAX_BARS};
use crate::types::{OrderId, Owner, Qty, Side, UnixNanos};

/// What `tickwire replay` was asked for.
#[derive(Clone, Debug)]
pub struct ReplayOptions {
    pub file: PathBuf,
    /// `None`: as fast as the clients read.
    pub speed: Option<f64>,
    /// Engine-time bounds of what is published (inclusive).
    pub from: Option<UnixNanos>,
    pub to: Option<UnixNanos>,
    pub repeat: bool,
    /// At max speed, the replay starts once this many connections have
    /// subscribed to something (with no reader, "as fast as the clients
    /// read" is not at all).
    pub wait_for: usize,
}

/// Where the replay is, for `/metrics`.
#[derive(Default)]
pub struct ReplayProgress {
    pub position_ts: AtomicU64,
    pub published: AtomicU64,
    pub pass: AtomicU64,
}

/// What the reading thread hands over.
enum Feed {
    Entry(Entry),
    /// The file ended (with a warning if its tail was cut short).
    End(Option<String>),
    Failed(String),
}

/// Reads the recording on a thread, again from the start for each pass.
fn start_reader(file: PathBuf, repeat: bool) -> mpsc::Receiver<Feed> {
    let (tx, rx) = mpsc::channel(4096);
    std::thread::spawn(move || {
        loop {
            let mut recording = match record::open(&file) {
                Ok(r) => r,
                Err(e) => {
                    let _ = tx.blocking_send(Feed::Failed(e.to_string()));
                    return;
                }
            };
            for entry in recording.by_ref() {
                let item = match entry {
                    Ok(entry) => Feed::Entry(entry),
                    Err(e) => Feed::Failed(e.to_string()),
                };
                let failed = matches!(item, Feed::Failed(_));
                if tx.blocking_send(item).is_err() || failed {
                    return;
                }
            }
            if tx
                .blocking_send(Feed::End(recording.truncated.take()))
                .is_err()
                || !repeat
            {
                return;
            }
        }
    });
    rx
}

/// One symbol's state at the replay point.
struct SymbolState {
    instrument: Instrument,
    book: Book,
    book_seq: u64,
    ts: UnixNanos,
    latest_ticker: Option<Utf8Bytes>,
    latest_candle: [Option<Utf8Bytes>; 2],
    candle_seq: [u64; 2],
    /// Bars as JSON objects, by start time, oldest first.
    bars: [VecDeque<(u64, String)>; 2],
}

impl SymbolState {
    fn new(instrument: Instrument) -> SymbolState {
        SymbolState {
            instrument,
            book: Book::default(),
            book_seq: 0,
            ts: 0,
            latest_ticker: None,
            latest_candle: [None, None],
            candle_seq: [0, 0],
            bars: [VecDeque::new(), VecDeque::new()],
        }
    }

    /// The book replica keeps one order per level; its id says the side and
    /// the price, so a level is replaced by id.
    fn level_id(side: Side, price: i64) -> OrderId {
        OrderId((price as u64) << 1 | u64::from(side == Side::Sell))
    }

    fn set_levels(&mut self, levels: &Value, side: Side) -> Result<(), String> {
        for level in levels.as_array().ok_or("levels are not a list")? {
            let price = level[0].as_str().ok_or("a level's price is not a string")?;
            let qty = level[1].as_str().ok_or("a level's qty is not a string")?;
            let price = self
                .instrument
                .parse_price(price)
                .map_err(|e| e.to_string())?;
            let id = Self::level_id(side, price.0);
            self.book.remove(id);
            if qty != "0" {
                let qty = self.instrument.parse_qty(qty).map_err(|e| e.to_string())?;
                self.book
                    .insert(id, Owner::SIM, side, price, qty, Qty::ZERO, 0);
            }
        }
        Ok(())
    }

    /// Follows one recorded message or snapshot.
    fn apply(&mut self, entry: &Entry) -> Result<(), String> {
        self.ts = self.ts.max(entry.ts);
        let interval_slot = |i: Interval| if i == Interval::OneSecond { 0 } else { 1 };
        match entry.channel {
            Channel::Book => {
                let v: Value = serde_json::from_str(&entry.json).map_err(|e| e.to_string())?;
                let seq = v["seq"].as_u64().ok_or("no seq")?;
                if v["type"] == "book_snapshot" {
                    self.book.clear();
                } else if seq <= self.book_seq {
                    return Ok(()); // already in the snapshot
                }
                self.set_levels(&v["bids"], Side::Buy)?;
                self.set_levels(&v["asks"], Side::Sell)?;
                self.book_seq = seq;
            }
            Channel::Ticker if !entry.snapshot => {
                self.latest_ticker = Some(Utf8Bytes::from(entry.json.clone()))
            }
            Channel::Candles(interval) if !entry.snapshot => {
                let slot = interval_slot(interval);
                let v: Value = serde_json::from_str(&entry.json).map_err(|e| e.to_string())?;
                let start = v["start"].as_u64().ok_or("no start")?;
                self.candle_seq[slot] = v["seq"].as_u64().ok_or("no seq")?;
                // The bar is the message's tail after its interval.
                let marker = format!("\"interval\":\"{}\",", interval.as_str());
                let tail = entry
                    .json
                    .split_once(&marker)
                    .map(|(_, t)| t)
                    .ok_or("no interval")?;
                let bar = format!("{{{tail}");
                let bars = &mut self.bars[slot];
                match bars.back_mut() {
                    Some((s, b)) if *s == start => *b = bar,
                    _ => {
                        if bars.len() == MAX_BARS {
                            bars.pop_front();
                        }
                        bars.push_back((start, bar));
                    }
                }
                self.latest_candle[slot] = Some(Utf8Bytes::from(entry.json.clone()));
            }
            _ => {}
        }
        Ok(())
    }

    fn book_snapshot(&self, scratch: &mut String) -> Utf8Bytes {
        let checksum = encode::book_checksum(&self.instrument, &self.book, scratch);
        encode::book_snapshot(
            &self.instrument,
            &self.book,
            self.book_seq,
            self.ts,
            checksum,
        )
    }

    /// The initial state of a stream at the replay point.
    fn initial_state(&self, channel: Channel, scratch: &mut String) -> Option<Utf8Bytes> {
        match channel {
            Channel::Book => Some(self.book_snapshot(scratch)),
            Channel::Ticker => self.latest_ticker.clone(),
            Channel::Candles(interval) => {
                let slot = if interval == Interval::OneSecond {
                    0
                } else {
                    1
                };
                let bars = self.bars[slot].iter().map(|(_, b)| b.as_str());
                Some(encode::candles_snapshot_from(
                    &self.instrument.symbol,
                    interval.as_str(),
                    self.candle_seq[slot],
                    self.ts,
                    bars,
                ))
            }
            Channel::Trades | Channel::Heartbeat => None,
        }
    }

    /// Fresh state after a lag: the book, the newest ticker and candle.
    fn resync_state(&self, channel: Channel, scratch: &mut String) -> Option<Utf8Bytes> {
        match channel {
            Channel::Book => Some(self.book_snapshot(scratch)),
            Channel::Ticker => self.latest_ticker.clone(),
            Channel::Candles(interval) => self.latest_candle[if interval == Interval::OneSecond {
                0
            } else {
                1
            }]
            .clone(),
            Channel::Trades | Channel::Heartbeat => None,
        }
    }
}

pub struct ReplayTask {
    /// Shown on an interactive terminal during `--max-speed` replays.
    progress: Option<indicatif::ProgressBar>,
    shared: Arc<Shared>,
    options: ReplayOptions,
    /// By server symbol index.
    symbols: Vec<SymbolState>,
    /// Recording symbol index to server symbol index (`None`: not served).
    map: Vec<Option<u16>>,
    scratch: String,
}

impl ReplayTask {
    pub fn new(
        shared: Arc<Shared>,
        options: ReplayOptions,
        recorded: &crate::instrument::Instruments,
    ) -> ReplayTask {
        let symbols = shared
            .instruments
            .iter()
            .map(|i| SymbolState::new(i.clone()))
            .collect();
        let map = recorded
            .iter()
            .map(|i| shared.symbol_index(&i.symbol))
            .collect();
        use std::io::IsTerminal;
        let progress = (options.speed.is_none() && std::io::stderr().is_terminal()).then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_message("replaying as fast as the clients read");
            bar
        });
        ReplayTask {
            progress,
            shared,
            options,
            symbols,
            map,
            scratch: String::with_capacity(1024),
        }
    }

    pub async fn run(
        mut self,
        mut commands: mpsc::Receiver<(u16, Command)>,
        mut resyncs: mpsc::UnboundedReceiver<(u16, Arc<Outbox>)>,
        mut stop: watch::Receiver<bool>,
    ) {
        let mut feed = start_reader(self.options.file.clone(), self.options.repeat);
        let mut origin: Option<(UnixNanos, Instant)> = None;
        let mut pass = 1u64;
        let mut announce_pass = false;
        let mut pending: Option<Entry> = None;
        let mut ended = false;
        // Until a pass reaches its first entry to publish (past the opening
        // snapshots and `--from`), the state is incomplete: commands wait.
        let mut catching_up = true;
        let far = Instant::now() + Duration::from_secs(86_400 * 365 * 10);
        loop {
            if pending.is_none() && !ended {
                // Take the next entry, serving commands while the reader works.
                tokio::select! {
                    biased;
                    _ = stop.changed() => return,
                    Some((symbol, command)) = commands.recv(), if !catching_up => { self.handle(symbol, command); continue; }
                    Some((symbol, outbox)) = resyncs.recv(), if !catching_up => { self.resync(symbol, &outbox); continue; }
                    item = feed.recv() => match item {
                        Some(Feed::Entry(entry)) => pending = Some(entry),
                        Some(Feed::End(warning)) => {
                            if let Some(warning) = warning {
                                tracing::warn!("{warning}");
                            }
                            if self.options.repeat {
                                pass += 1;
                                self.shared.replay.pass.store(pass, Relaxed);
                                self.symbols.iter_mut().for_each(|s| *s = SymbolState::new(s.instrument.clone()));
                                origin = None;
                                announce_pass = true;
                                catching_up = true;
                            } else {
                                ended = true;
                                catching_up = false;
                                if let Some(bar) = self.progress.take() {
                                    bar.finish_and_clear();
                                }
                                self.notify_all(&format!("{{\"type\":\"replay_end\",\"ts\":{}}}", self.position()));
                                tracing::info!("the recording has been replayed to its end");
                            }
                            continue;
                        }
                        Some(Feed::Failed(error)) => {
                            tracing::error!("{error}");
                            ended = true;
                            catching_up = false;
                            continue;
                        }
                        None => { ended = true; catching_up = false; continue; }
                    },
                }
            }
            if let Some(entry) = &pending
                && self.publishable(entry)
            {
                catching_up = false;
            }
            let due = match &pending {
                Some(entry) => self.due(entry, &mut origin),
                None => far,
            };
            if pending.is_some() && due <= Instant::now() {
                // Due already (max speed, or behind): no timer round trip,
                // but whatever commands are waiting first.
                if *stop.borrow() {
                    return;
                }
                if !catching_up {
                    while let Ok((symbol, command)) = commands.try_recv() {
                        self.handle(symbol, command);
                    }
                    while let Ok((symbol, outbox)) = resyncs.try_recv() {
                        self.resync(symbol, &outbox);
                    }
                }
                if let Some(entry) = pending.take() {
                    self.play_announced(entry, &mut announce_pass, pass).await;
                }
                continue;
            }
            tokio::select! {
                biased;
                _ = stop.changed() => return,
                Some((symbol, command)) = commands.recv(), if !catching_up => self.handle(symbol, command),
                Some((symbol, outbox)) = resyncs.recv(), if !catching_up => self.resync(symbol, &outbox),
                _ = sleep_until(due), if pending.is_some() => {
                    if let Some(entry) = pending.take() {
                        self.play_announced(entry, &mut announce_pass, pass).await;
                    }
                }
            }
        }
    }

    /// Plays an entry, announcing a new pass first if this is its first
    /// published entry.
    async fn play_announced(&mut self, entry: Entry, announce_pass: &mut bool, pass: u64) {
        if *announce_pass && self.publishable(&entry) {
            *announce_pass = false;
            self.announce_pass(pass);
        }
        self.play(entry).await;
    }

    fn position(&self) -> UnixNanos {
        self.shared.replay.position_ts.load(Relaxed)
    }

    fn publishable(&self, entry: &Entry) -> bool {
        !entry.snapshot
            && self
                .map
                .get(entry.symbol as usize)
                .copied()
                .flatten()
                .is_some()
            && self.options.from.is_none_or(|from| entry.ts >= from)
            && self.options.to.is_none_or(|to| entry.ts <= to)
    }

    /// When an entry goes out: recorded pacing divided by the speed, from
    /// the first published entry; entries before `--from` at once.
    fn due(&self, entry: &Entry, origin: &mut Option<(UnixNanos, Instant)>) -> Instant {
        let now = Instant::now();
        if !self.publishable(entry) {
            return now;
        }
        let Some(speed) = self.options.speed else {
            return now;
        };
        let (first_ts, started) = *origin.get_or_insert((entry.ts, now));
        let offset = entry.ts.saturating_sub(first_ts) as f64 / speed;
        started + Duration::from_nanos(offset as u64)
    }

    /// Applies an entry to its symbol's state and publishes it.
    async fn play(&mut self, entry: Entry) {
        let Some(symbol) = self.map.get(entry.symbol as usize).copied().flatten() else {
            return;
        };
        if self.options.to.is_some_and(|to| entry.ts > to) {
            return;
        }
        if let Err(e) = self.symbols[symbol as usize].apply(&entry) {
            tracing::warn!(line = entry.line, error = %e, "cannot follow a recorded message");
        }
        if !self.publishable(&entry) {
            return;
        }
        let stream = StreamId {
            symbol,
            channel: entry.channel,
        };
        if self.options.speed.is_none() {
            while self
                .shared
                .connections
                .iter()
                .filter(|c| c.value().has_subscriptions())
                .count()
                < self.options.wait_for
            {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            // As fast as the clients read: wait while any is half full.
            while self.busiest(stream) > self.shared.config.lag.budget / 2 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
        self.shared.replay.position_ts.store(entry.ts, Relaxed);
        let published = self.shared.replay.published.fetch_add(1, Relaxed) + 1;
        if let Some(bar) = &self.progress
            && published.is_multiple_of(4096)
        {
            bar.set_message(format!(
                "{published} messages replayed, at engine time {}",
                entry.ts
            ));
            bar.tick();
        }
        self.shared.publish(stream, &Utf8Bytes::from(entry.json));
    }

    fn busiest(&self, stream: StreamId) -> usize {
        self.shared.registry.subscribers(stream).map_or(0, |list| {
            list.iter().map(|o| o.queued_bytes()).max().unwrap_or(0)
        })
    }

    fn notify_all(&self, notice: &str) {
        let frame = Utf8Bytes::from(notice.to_string());
        for connection in self.shared.connections.iter() {
            connection.value().push_notice(frame.clone());
        }
    }

    /// A new pass of a looping replay: say so, then fresh state for every
    /// subscribed stream.
    fn announce_pass(&mut self, pass: u64) {
        self.notify_all(&format!("{{\"type\":\"replay_loop\",\"pass\":{pass}}}"));
        let connections: Vec<Arc<Outbox>> = self
            .shared
            .connections
            .iter()
            .map(|c| c.value().clone())
            .collect();
        for outbox in connections {
            for symbol in 0..self.symbols.len() as u16 {
                for stream in outbox.streams_of(symbol) {
                    if let Some(frame) = self.symbols[symbol as usize]
                        .initial_state(stream.channel, &mut self.scratch)
                    {
                        let push = outbox.push_market(stream, &frame);
                        self.shared.after_push(&outbox, push);
                    }
                }
            }
        }
    }

    fn handle(&mut self, symbol: u16, command: Command) {
        match command {
            Command::Subscribe { outbox, channels } => {
                for channel in channels {
                    let stream = StreamId { symbol, channel };
                    self.shared.registry.add(stream, &outbox);
                    if let Some(frame) =
                        self.symbols[symbol as usize].initial_state(channel, &mut self.scratch)
                    {
                        let push = outbox.push_market(stream, &frame);
                        self.shared.after_push(&outbox, push);
                    }
                }
            }
            Command::Unsubscribe { conn, channels } => {
                for channel in channels {
                    self.shared
                        .registry
                        .remove(StreamId { symbol, channel }, conn);
                }
            }
            Command::Disconnect { conn } => {
                for channel in Channel::ALL {
                    self.shared
                        .registry
                        .remove(StreamId { symbol, channel }, conn);
                }
            }
            Command::Trade(command) => {
                let context = match command {
                    TradeCommand::Order { context, .. } | TradeCommand::Cancel { context, .. } => {
                        Some(context)
                    }
                    TradeCommand::CancelAll { reply, .. } => {
                        if let Some(reply) = reply {
                            let _ = reply.send(0);
                        }
                        None
                    }
                };
                if let Some(context) = context {
                    let message = "this server replays a recording: orders are not taken";
                    context.outbox.push_priority(encode::error(
                        &context.id,
                        Some("order"),
                        "replay_mode",
                        message,
                        None,
                    ));
                }
            }
        }
    }

    fn resync(&mut self, symbol: u16, outbox: &Arc<Outbox>) {
        let state = &self.symbols[symbol as usize];
        let frames: Vec<(StreamId, Utf8Bytes)> = outbox
            .streams_of(symbol)
            .into_iter()
            .filter_map(|stream| {
                state
                    .resync_state(stream.channel, &mut self.scratch)
                    .map(|f| (stream, f))
            })
            .collect();
        let push = outbox.push_resync(symbol, &frames);
        self.shared.after_push(outbox, push);
    }
}
