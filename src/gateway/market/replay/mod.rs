//! The replay source: instead of simulated markets, a recording, served
//! through the same hubs, outboxes and protocol. One task replays every
//! symbol in the recorded order (`reader` reads the file on a thread ahead
//! of it); per symbol a `replica` keeps the state at the replay point for
//! initial state and resyncs, while every recorded message goes out as the
//! recorded bytes, with the recorded `seq` and `ts`.

mod paper;
mod reader;
pub mod replica;

pub mod options;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, sleep_until};
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::error_code::ErrorCode;
use crate::fanout::Outbox;
use crate::gateway::commands::{SymbolCommand, SymbolInbox, TradeCommand};
use crate::gateway::shared::Shared;
use crate::gateway::streams::{Hub, MarketState};
use crate::instrument::Instruments;
use crate::protocol::{Channel, Throttle};
use crate::record::{Entry, Recording};
use crate::types::{SymbolId, UnixNanos};
use options::ReplayOptions;
use reader::Feed;
use replica::Replica;

/// One task for every symbol: each symbol's inbox is forwarded into one,
/// tagged with the symbol.
pub struct Inboxes {
    commands: mpsc::Receiver<(SymbolId, SymbolCommand)>,
    resyncs: mpsc::UnboundedReceiver<(SymbolId, Arc<Outbox>)>,
}

impl Inboxes {
    pub fn merge(inboxes: Vec<SymbolInbox>) -> Inboxes {
        let (command_tx, commands) = mpsc::channel(4096);
        let (resync_tx, resyncs) = mpsc::unbounded_channel();
        for (index, mut inbox) in inboxes.into_iter().enumerate() {
            let symbol = SymbolId(index as u16);
            let (command_tx, resync_tx) = (command_tx.clone(), resync_tx.clone());
            tokio::spawn(async move {
                while let Some(command) = inbox.commands.recv().await {
                    if command_tx.send((symbol, command)).await.is_err() {
                        break;
                    }
                }
            });
            tokio::spawn(async move {
                while let Some(outbox) = inbox.resyncs.recv().await {
                    if resync_tx.send((symbol, outbox)).is_err() {
                        break;
                    }
                }
            });
        }
        Inboxes { commands, resyncs }
    }
}

/// Entries published at full speed before what they queued is written
/// (one write per connection for them all); a paced replay writes whenever
/// it waits, so before its next entry is due.
const PLAYS_PER_FLUSH: usize = 64;

pub struct ReplayTask {
    /// Shown on an interactive terminal during `--max-speed` replays.
    progress: Option<indicatif::ProgressBar>,
    shared: Arc<Shared>,
    options: ReplayOptions,
    /// The first pass's recording, already open.
    first: Option<Recording>,
    /// By server symbol id.
    replicas: Vec<Replica>,
    hubs: Vec<Hub>,
    /// Entries published since the hubs were last flushed.
    unflushed_plays: usize,
    /// Recording symbol index to server symbol id (`None`: not served).
    map: Vec<Option<SymbolId>>,
    /// With `--paper`: the clients' orders against the replayed market.
    paper: Option<paper::Paper>,
    /// Whether `wait_for` readers are subscribed (`awaits_readers`); `None`:
    /// to be counted again, a command having changed the subscriptions.
    readers_ready: Option<bool>,
}

impl ReplayTask {
    /// `recording` is open, its header read; `recorded` its instruments.
    pub fn new(shared: Arc<Shared>, options: ReplayOptions, recording: Recording) -> ReplayTask {
        let recorded: &Instruments = &recording.header.instruments;
        let map = recorded
            .iter()
            .map(|i| shared.symbol_id(&i.symbol))
            .collect();
        let replicas = shared
            .instruments
            .iter()
            .map(|i| Replica::new(i.clone()))
            .collect();
        let hubs = shared
            .instruments
            .with_ids()
            .map(|(id, i)| Hub::new(id, i))
            .collect();
        use std::io::IsTerminal;
        let progress = (options.speed.is_none() && std::io::stderr().is_terminal()).then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_message("replaying as fast as the clients read");
            bar
        });
        let paper = options
            .paper
            .then(|| paper::Paper::new(&shared.instruments));
        ReplayTask {
            progress,
            shared,
            options,
            first: Some(recording),
            replicas,
            hubs,
            unflushed_plays: 0,
            map,
            paper,
            readers_ready: None,
        }
    }

    pub async fn run(mut self, mut inboxes: Inboxes, mut stop: watch::Receiver<bool>) {
        let mut feed = reader::start(
            self.options.file.clone(),
            self.first.take(),
            self.options.repeat,
        );
        let mut origin: Option<(UnixNanos, Instant)> = None;
        let mut pass = 1u64;
        let mut announce_pass = false;
        let mut pending: Option<Entry> = None;
        let mut ended = false;
        // Until a pass reaches its first entry to publish (past the opening
        // snapshots and `--from`), the state is incomplete: commands wait.
        let mut catching_up = true;
        let far = Instant::now() + Duration::from_secs(86_400 * 365 * 10);
        let mut throttle = tokio::time::interval(Duration::from_millis(Throttle::TICK_MS));
        throttle.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            if pending.is_none() && !ended {
                if feed.is_empty() {
                    // The reader is behind: what was published goes now.
                    self.flush();
                }
                // Take the next entry, serving commands while the reader works.
                tokio::select! {
                    biased;
                    _ = stop.changed() => return,
                    Some((symbol, command)) = inboxes.commands.recv(), if !catching_up => {
                        self.handle(symbol, command);
                        continue;
                    }
                    Some((symbol, outbox)) = inboxes.resyncs.recv(), if !catching_up => {
                        self.resync(symbol, &outbox);
                        continue;
                    }
                    _ = throttle.tick() => {
                        self.tick_views();
                        continue;
                    }
                    item = feed.recv() => match item {
                        Some(Feed::Entry(entry)) => pending = Some(entry),
                        // In its place: after the entry before it played.
                        Some(Feed::Warning(warning)) => {
                            tracing::warn!("recorded warning: {warning}");
                            self.shared.replay.warnings.fetch_add(1, Relaxed);
                            continue;
                        }
                        Some(Feed::End(warning)) => {
                            if let Some(warning) = warning {
                                tracing::warn!("{warning}");
                            }
                            if self.options.repeat {
                                pass += 1;
                                self.shared.replay.pass.store(pass, Relaxed);
                                for replica in &mut self.replicas {
                                    *replica = replica.cleared();
                                }
                                origin = None;
                                announce_pass = true;
                                catching_up = true;
                            } else {
                                ended = true;
                                catching_up = false;
                                if let Some(bar) = self.progress.take() {
                                    bar.finish_and_clear();
                                }
                                let ts = self.shared.replay.position_ts.load(Relaxed);
                                self.notify_all(format!("{{\"type\":\"replay_end\",\"ts\":{ts}}}"));
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
                        None => {
                            ended = true;
                            catching_up = false;
                            continue;
                        }
                    },
                }
            }
            if let Some(entry) = &pending
                && self.publishable(entry)
            {
                catching_up = false;
            }
            // At max speed, a publishable entry waits for its readers,
            // commands served meanwhile (only a command changes who is
            // subscribed): a connection counts once the hubs have its
            // subscriptions, so none misses the start.
            let waiting = pending.as_ref().is_some_and(|e| self.awaits_readers(e));
            let due = match &pending {
                Some(_) if waiting => far,
                Some(entry) => self.due(entry, &mut origin),
                None => far,
            };
            if pending.is_some() && !waiting && due <= Instant::now() {
                // Due already (max speed, or behind): no timer round trip,
                // but whatever commands are waiting first.
                if *stop.borrow() {
                    return;
                }
                if !catching_up {
                    while let Ok((symbol, command)) = inboxes.commands.try_recv() {
                        self.handle(symbol, command);
                    }
                    while let Ok((symbol, outbox)) = inboxes.resyncs.try_recv() {
                        self.resync(symbol, &outbox);
                    }
                }
                if let Some(entry) = pending.take() {
                    self.play_announced(entry, &mut announce_pass, pass).await;
                }
                continue;
            }
            self.flush();
            tokio::select! {
                biased;
                _ = stop.changed() => return,
                Some((symbol, command)) = inboxes.commands.recv(), if !catching_up => {
                    self.handle(symbol, command);
                }
                Some((symbol, outbox)) = inboxes.resyncs.recv(), if !catching_up => {
                    self.resync(symbol, &outbox);
                }
                _ = throttle.tick() => self.tick_views(),
                _ = sleep_until(due), if pending.is_some() && !waiting => {
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

    fn served(&self, entry: &Entry) -> Option<SymbolId> {
        self.map.get(entry.symbol as usize).copied().flatten()
    }

    fn publishable(&self, entry: &Entry) -> bool {
        !entry.snapshot
            && self.served(entry).is_some()
            && self.options.from.is_none_or(|from| entry.ts >= from)
            && self.options.to.is_none_or(|to| entry.ts <= to)
    }

    /// Whether `entry` waits for readers: at max speed, until `wait_for`
    /// connections are subscribed and the hubs have registered every
    /// stream each asked for (a subscription to several symbols reaches
    /// their hubs one by one). Counted again only after a command changed
    /// who is subscribed.
    fn awaits_readers(&mut self, entry: &Entry) -> bool {
        let wanted = self.options.wait_for;
        if self.options.speed.is_some() || wanted == 0 || !self.publishable(entry) {
            return false;
        }
        if let Some(ready) = self.readers_ready {
            return !ready;
        }
        // Stops at the `wanted`-th reader: counting every one after each
        // command would cost the square of the subscribers.
        let mut seen = BTreeSet::new();
        let ready = self
            .hubs
            .iter()
            .flat_map(|hub| hub.every_subscriber())
            .filter(|outbox| seen.insert(outbox.id) && self.registered_whole(outbox))
            .take(wanted)
            .count();
        self.readers_ready = Some(ready >= wanted);
        ready < wanted
    }

    /// Whether the hubs have registered every stream `outbox` subscribed to.
    fn registered_whole(&self, outbox: &Outbox) -> bool {
        outbox.subscribed_streams().iter().all(|stream| {
            self.hubs
                .get(stream.symbol.index())
                .is_some_and(|hub| hub.has_subscriber(stream.channel, outbox.id))
        })
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

    /// Applies an entry to its symbol's replica and publishes it.
    async fn play(&mut self, entry: Entry) {
        let Some(symbol) = self.served(&entry) else {
            return;
        };
        if self.options.to.is_some_and(|to| entry.ts > to) {
            return;
        }
        let replica = &mut self.replicas[symbol.index()];
        if let Err(e) = replica.apply(&entry) {
            tracing::warn!(line = entry.line, error = %e, "cannot follow a recorded message");
        }
        if entry.channel == Channel::Book && replica.rebuilt() {
            self.hubs[symbol.index()].reload_book(&*replica);
        }
        let replayed = self.paper.as_ref().and_then(|paper| match entry.channel {
            Channel::Book if replica.rebuilt() => Some(paper::Replayed::Rebuilt),
            Channel::Book => Some(paper::Replayed::Changes),
            Channel::Trades if !entry.snapshot => paper.read_trade(symbol, &entry.json),
            Channel::Ticker => paper::read_status(&entry.json),
            _ => None,
        });
        let ts = entry.ts;
        if self.publishable(&entry) {
            self.publish(symbol, entry).await;
        }
        if let Some(replayed) = replayed {
            self.paper_follows(symbol, ts, replayed);
        }
    }

    /// What a replayed message does to the paper orders, after it went
    /// out (so a fill never reaches a client before the trade behind it).
    fn paper_follows(&mut self, symbol: SymbolId, ts: UnixNanos, replayed: paper::Replayed) {
        let Some(paper) = &mut self.paper else {
            return;
        };
        if paper.has_orders(symbol) {
            for hub in &mut self.hubs {
                hub.flush(&self.shared);
            }
            self.unflushed_plays = 0;
        }
        let replica = &self.replicas[symbol.index()];
        let (book, changes) = (replica.book().book, replica.book_changes());
        paper.replayed(&self.shared, symbol, ts, replayed, book, changes);
    }

    /// Publishes a played entry through its hub, at the pace asked for.
    async fn publish(&mut self, symbol: SymbolId, entry: Entry) {
        let hub = &self.hubs[symbol.index()];
        if self.options.speed.is_none() {
            // As fast as the clients read: wait while any is half full.
            if hub.busiest(entry.channel) > self.shared.config.lag.budget / 2 {
                self.flush();
                while self.hubs[symbol.index()].busiest(entry.channel)
                    > self.shared.config.lag.budget / 2
                {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
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
        let (hub, replica) = (
            &mut self.hubs[symbol.index()],
            &self.replicas[symbol.index()],
        );
        let frame = Utf8Bytes::from(entry.json);
        if entry.channel == Channel::Book {
            let (instrument, changes) = (replica.instrument(), replica.book_changes());
            hub.publish_book(&self.shared, instrument, &frame, changes, entry.ts);
        } else {
            hub.publish(&self.shared, replica.instrument(), entry.channel, &frame);
        }
        self.unflushed_plays += 1;
        if self.unflushed_plays >= PLAYS_PER_FLUSH {
            self.flush();
        }
    }

    /// Writes what every hub published since the last time to the sockets.
    fn flush(&mut self) {
        for hub in &mut self.hubs {
            hub.flush(&self.shared);
        }
        self.unflushed_plays = 0;
    }

    /// The throttle clock of every symbol's book views.
    fn tick_views(&mut self) {
        for (hub, replica) in self.hubs.iter_mut().zip(&self.replicas) {
            hub.tick(&self.shared, replica.instrument());
        }
    }

    /// A connection-level notice, in order with the market data.
    fn notify_all(&self, notice: String) {
        let frame = Utf8Bytes::from(notice);
        for connection in self.shared.connections.iter() {
            connection.value().push_notice(frame.clone());
        }
    }

    /// A new pass of a looping replay: say so, then fresh state for every
    /// subscribed stream.
    fn announce_pass(&mut self, pass: u64) {
        self.notify_all(format!("{{\"type\":\"replay_loop\",\"pass\":{pass}}}"));
        for (hub, replica) in self.hubs.iter_mut().zip(&mut self.replicas) {
            hub.restart(&self.shared, replica);
        }
    }

    fn handle(&mut self, symbol: SymbolId, command: SymbolCommand) {
        let (Some(hub), Some(replica)) = (
            self.hubs.get_mut(symbol.index()),
            self.replicas.get_mut(symbol.index()),
        ) else {
            return;
        };
        match command {
            SymbolCommand::Streams(command) => {
                self.readers_ready = None;
                hub.handle(&self.shared, replica, command)
            }
            SymbolCommand::Trade(command) => match &mut self.paper {
                Some(paper) => {
                    // Orders take the replay's time: the same file, speed
                    // and order timings give the same fills.
                    let at = replica.book();
                    paper.command(&self.shared, symbol, command, at.ts, at.book);
                }
                None => refuse_trading(command),
            },
            // A replay keeps no journal: nothing to snapshot.
            SymbolCommand::Pause { .. } => {}
        }
    }

    fn resync(&mut self, symbol: SymbolId, outbox: &Arc<Outbox>) {
        if let (Some(hub), Some(replica)) = (
            self.hubs.get_mut(symbol.index()),
            self.replicas.get_mut(symbol.index()),
        ) {
            hub.resync(&self.shared, replica, outbox);
        }
    }
}

/// A replay takes no orders: each is answered `replay_mode`.
fn refuse_trading(command: TradeCommand) {
    let message = "this server replays a recording: orders are not taken";
    crate::gateway::market::orders::refuse_all(command, ErrorCode::ReplayMode, message);
}
