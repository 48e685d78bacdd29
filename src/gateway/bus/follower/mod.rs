//! A gateway's task for one symbol: it follows the symbol's subjects on the
//! bus while anyone is interested (subscribe on first interest, unsubscribe
//! a while after the last), keeps the symbol's state (the replay's
//! `Replica`, from the engine's state and every message after it) so a new
//! subscriber needs no round trip, and fans each message out through the
//! same `Hub` as every other source, unchanged.
//!
//! Every message's `seq` is checked: one already had is skipped, a gap
//! fetches the symbol's state again and gives every subscriber fresh
//! initial state (as a lagging client gets). Losing NATS or the engine
//! stops the streams with a `stream_interrupted` notice; they resume with
//! `stream_resumed` and fresh initial state. Connections stay open.

use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use futures_util::{FutureExt, StreamExt};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::bus::{self, Interruption, Seen, StreamSeqs, SymbolState, subjects};
use crate::error_code::ErrorCode;
use crate::fanout::{ConnId, Outbox};
use crate::gateway::commands::{StreamCommand, SymbolCommand, SymbolInbox, TradeCommand};
use crate::gateway::market::replay::replica::Replica;
use crate::gateway::shared::Shared;
use crate::gateway::streams::{Hub, MarketState};
use crate::instrument::Instrument;
use crate::protocol::{Channel, Throttle};
use crate::types::SymbolId;

mod state;

/// How long a symbol nobody is interested in stays followed (a client that
/// reconnects, a poll after a poll, find it ready).
const LINGER: Duration = Duration::from_secs(10);
/// Messages buffered while the state is being fetched, at most; past it
/// the fetch starts again.
const MAX_BUFFERED: usize = 100_000;
/// Messages taken in one turn before what they queued is written.
const MESSAGES_PER_FLUSH: usize = 64;
/// Wait before asking again after a request failed.
const RETRY: Duration = Duration::from_secs(1);

enum Phase {
    /// Not following: nobody interested.
    Idle,
    /// Subscribed; the state is asked for (request `generation`), messages
    /// wait for it.
    Fetching {
        generation: u64,
        buffer: Vec<(Channel, Utf8Bytes)>,
        /// Why the streams stopped, if they were running (they resume when
        /// the state comes).
        interrupted: Option<Interruption>,
    },
    /// Following: each message is checked and published.
    Live,
}

/// What waits for the state.
enum Waiting {
    /// A streams command, and how much of the buffer had come when it did
    /// (the trades that came after it are the subscriber's).
    Streams(StreamCommand, usize),
    Resync(Arc<Outbox>),
}

pub struct Follower {
    id: SymbolId,
    name: String,
    shared: Arc<Shared>,
    client: async_nats::Client,
    replica: Replica,
    hub: Hub,
    seqs: StreamSeqs,
    subscription: Option<async_nats::Subscriber>,
    phase: Phase,
    generation: u64,
    waiting: VecDeque<Waiting>,
    /// Connections waiting to answer a subscription until this symbol's
    /// messages reach them (`StreamCommand::Follow`): answered when the
    /// state comes, or when it cannot (the streams are interrupted then,
    /// and resume with fresh state).
    readies: Vec<oneshot::Sender<()>>,
    states: mpsc::UnboundedSender<(u64, Result<SymbolState, String>)>,
    /// When to ask for the state again after a failed request.
    retry_at: Option<Instant>,
    /// Since when nobody is interested (unfollowed after `LINGER`).
    idle_since: Option<Instant>,
    /// When the last message came (the engine is silent past
    /// `bus::ENGINE_SILENT_MS`).
    last_message: Instant,
}

impl Follower {
    pub fn new(
        symbol: SymbolId,
        instrument: Instrument,
        shared: Arc<Shared>,
        client: async_nats::Client,
    ) -> (Follower, StateInbox) {
        let (states, inbox) = mpsc::unbounded_channel();
        let follower = Follower {
            id: symbol,
            name: instrument.symbol.clone(),
            hub: Hub::new(symbol, &instrument),
            replica: Replica::new(instrument),
            shared,
            client,
            seqs: StreamSeqs::default(),
            subscription: None,
            phase: Phase::Idle,
            generation: 0,
            waiting: VecDeque::new(),
            readies: Vec::new(),
            states,
            retry_at: None,
            idle_since: None,
            last_message: Instant::now(),
        };
        (follower, StateInbox(inbox))
    }

    pub async fn run(
        mut self,
        mut states: StateInbox,
        mut inbox: SymbolInbox,
        mut engine_starts: watch::Receiver<u64>,
        mut stop: watch::Receiver<bool>,
    ) {
        let mut tick = tokio::time::interval(Duration::from_millis(Throttle::TICK_MS));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                biased;
                _ = stop.changed() => return,
                Some((generation, state)) = states.0.recv() => self.on_state(generation, state),
                message = next_message(&mut self.subscription) => match message {
                    Some(message) => {
                        self.on_message(message);
                        // What else is ready goes in the same turn.
                        for _ in 1..MESSAGES_PER_FLUSH {
                            match next_message(&mut self.subscription).now_or_never() {
                                Some(Some(message)) => self.on_message(message),
                                _ => break,
                            }
                        }
                    }
                    None => {
                        // The subscription ended (the client closed it):
                        // follow again if anyone is interested.
                        self.subscription = None;
                        self.phase = Phase::Idle;
                        if self.is_wanted() {
                            self.follow().await;
                        }
                    }
                },
                Some(command) = inbox.commands.recv() => self.on_command(command).await,
                Some(outbox) = inbox.resyncs.recv() => match self.phase {
                    Phase::Live => self.hub.resync(&self.shared, &mut self.replica, &outbox),
                    _ => self.waiting.push_back(Waiting::Resync(outbox)),
                },
                _ = tick.tick() => self.on_tick().await,
                Ok(()) = engine_starts.changed() => {
                    // A restarted engine's streams may have gone back to
                    // what its journal kept: start again from its state.
                    if !matches!(self.phase, Phase::Idle) {
                        self.fetch(None);
                    }
                }
            }
            self.hub.flush(&self.shared);
        }
    }

    async fn on_command(&mut self, command: SymbolCommand) {
        match command {
            SymbolCommand::Streams(StreamCommand::Follow { ready }) => self.on_follow(ready).await,
            SymbolCommand::Streams(command) => match self.phase {
                Phase::Live => {
                    self.hub.handle(&self.shared, &mut self.replica, command);
                    self.note_interest();
                }
                _ => {
                    let at = match &self.phase {
                        Phase::Fetching {
                            buffer,
                            interrupted,
                            ..
                        } => {
                            if let (Some(why), StreamCommand::Subscribe { outbox, .. }) =
                                (interrupted, &command)
                            {
                                self.tell_interrupted(outbox, *why);
                            }
                            buffer.len()
                        }
                        _ => 0,
                    };
                    self.waiting.push_back(Waiting::Streams(command, at));
                    if matches!(self.phase, Phase::Idle) {
                        self.follow().await;
                    }
                }
            },
            SymbolCommand::Trade(command) => refuse_trading(command),
            // A gateway keeps no journal: nothing to snapshot.
            SymbolCommand::Pause { .. } => {}
        }
    }

    /// A connection about to answer a subscription waits for this: a
    /// trade made once its client has the answer must reach it, so the
    /// symbol must be followed on the bus by then (an idle follower
    /// subscribes first; the engine's answer to the state request, sent
    /// after the subscription on the same connection, shows NATS has it).
    async fn on_follow(&mut self, ready: oneshot::Sender<()>) {
        match &self.phase {
            Phase::Live => {
                // About to be subscribed: not unfollowed under it.
                if self.idle_since.is_some() {
                    self.idle_since = Some(Instant::now());
                }
                let _ = ready.send(());
            }
            // Interrupted: the subscription is answered now, and its
            // streams resume with `stream_resumed` and fresh state.
            Phase::Fetching {
                interrupted: Some(_),
                ..
            } => {
                let _ = ready.send(());
            }
            Phase::Fetching { .. } => self.readies.push(ready),
            Phase::Idle => {
                self.readies.push(ready);
                self.follow().await;
            }
        }
    }

    /// Answers every connection waiting in `on_follow`.
    fn release_readies(&mut self) {
        for ready in self.readies.drain(..) {
            let _ = ready.send(());
        }
    }

    /// The connections whose subscriptions wait for the state.
    fn waiting_subscribers(&self) -> impl Iterator<Item = &Arc<Outbox>> {
        self.waiting.iter().filter_map(|waiting| match waiting {
            Waiting::Streams(StreamCommand::Subscribe { outbox, .. }, _) => Some(outbox),
            _ => None,
        })
    }

    /// A notice to every subscriber and every connection whose
    /// subscription waits for the state, once each.
    fn notify_all(&self, frame: &Utf8Bytes) {
        self.hub.notify(frame);
        let mut told: BTreeSet<ConnId> = self.hub.every_subscriber().map(|o| o.id).collect();
        for outbox in self.waiting_subscribers() {
            if told.insert(outbox.id) {
                outbox.push_notice(frame.clone());
            }
        }
    }

    /// A connection subscribing while the streams are interrupted hears
    /// of it, as every subscriber and waiting connection did (once: one
    /// of those is not told again); `stream_resumed` follows.
    fn tell_interrupted(&self, outbox: &Arc<Outbox>, why: Interruption) {
        let told = self
            .hub
            .every_subscriber()
            .chain(self.waiting_subscribers())
            .any(|o| o.id == outbox.id);
        if !told {
            let notice = bus::interrupted(&self.name, why, self.shared.clock.now());
            outbox.push_notice(Utf8Bytes::from(notice));
        }
    }

    /// Someone is subscribed, or waits to be.
    fn is_wanted(&self) -> bool {
        self.hub.has_subscribers() || !self.waiting.is_empty() || !self.readies.is_empty()
    }

    /// Nobody interested any more: unfollowed after `LINGER`.
    fn note_interest(&mut self) {
        if self.hub.has_subscribers() {
            self.idle_since = None;
        } else if self.idle_since.is_none() {
            self.idle_since = Some(Instant::now());
        }
    }

    /// Subscribes to the symbol's subjects, then asks for its state: what
    /// is published after the subscription reaches NATS is buffered, and
    /// what the state already has is skipped by `seq`.
    async fn follow(&mut self) {
        if self.subscription.is_none() {
            match self.client.subscribe(subjects::market_of(&self.name)).await {
                Ok(subscription) => self.subscription = Some(subscription),
                Err(e) => {
                    tracing::warn!(symbol = %self.name, error = %e, "cannot subscribe on the bus");
                    self.release_readies();
                    self.phase = Phase::Fetching {
                        generation: self.generation,
                        buffer: Vec::new(),
                        interrupted: None,
                    };
                    self.retry_at = Some(Instant::now() + RETRY);
                    return;
                }
            }
        }
        self.last_message = Instant::now();
        self.fetch(None);
    }

    /// Stops the streams: subscribers are told, and fresh state is asked
    /// for (again and again until the engine answers).
    fn interrupt(&mut self, why: Interruption) {
        if matches!(self.phase, Phase::Live) {
            tracing::warn!(symbol = %self.name, reason = ?why, "streams interrupted");
            let notice = bus::interrupted(&self.name, why, self.shared.clock.now());
            self.hub.notify(&Utf8Bytes::from(notice));
        }
        self.fetch(Some(why));
    }

    fn on_message(&mut self, message: async_nats::Message) {
        let metrics = &self.shared.metrics.bus;
        metrics.received.fetch_add(1, Relaxed);
        self.last_message = Instant::now();
        let Some(channel) = subjects::channel_of(message.subject.as_str()) else {
            return;
        };
        let Ok(frame) = Utf8Bytes::try_from(message.payload) else {
            tracing::warn!(symbol = %self.name, "a message on the bus is not UTF-8; skipped");
            return;
        };
        match &mut self.phase {
            Phase::Fetching { buffer, .. } => {
                if buffer.len() >= MAX_BUFFERED {
                    tracing::warn!(symbol = %self.name, "the engine's state is too long coming; asking again");
                    self.fetch(None);
                } else {
                    buffer.push((channel, frame));
                }
            }
            Phase::Live => self.take(channel, frame),
            Phase::Idle => {}
        }
    }

    /// A message while live: the next of its stream is applied and
    /// published; one already had is skipped; a gap fetches the state.
    fn take(&mut self, channel: Channel, frame: Utf8Bytes) {
        let text = frame.as_str();
        let Some(seq) = bus::number_field(text, "seq") else {
            tracing::warn!(symbol = %self.name, "a message on the bus has no seq; skipped");
            return;
        };
        let ts = bus::number_field(text, "ts").unwrap_or(0);
        match self.seqs.check(channel, seq) {
            Seen::Stale => return,
            Seen::Gap { expected, got } => {
                self.shared.metrics.bus.gaps.fetch_add(1, Relaxed);
                tracing::warn!(symbol = %self.name, stream = channel.stream_name(), expected, got, "a gap on the bus; fetching the state again");
                self.fetch(None);
                return;
            }
            Seen::Next => {}
        }
        self.shared
            .metrics
            .bus
            .last_lag_ns
            .store(self.shared.clock.now().saturating_sub(ts), Relaxed);
        if let Err(e) = self.replica.apply_message(channel, ts, text) {
            tracing::warn!(symbol = %self.name, error = %e, "cannot follow a message on the bus");
        }
        let (hub, replica) = (&mut self.hub, &self.replica);
        if channel == Channel::Book {
            let changes = replica.book_changes();
            hub.publish_book(&self.shared, replica.instrument(), &frame, changes, ts);
        } else {
            hub.publish(&self.shared, replica.instrument(), channel, &frame);
        }
    }

    async fn on_tick(&mut self) {
        self.hub.tick(&self.shared, self.replica.instrument());
        let connected = self.shared.metrics.bus.is_connected();
        match self.phase {
            Phase::Idle => return,
            Phase::Live if !connected => self.interrupt(Interruption::Bus),
            Phase::Live
                if self.last_message.elapsed() > Duration::from_millis(bus::ENGINE_SILENT_MS) =>
            {
                self.interrupt(Interruption::Engine)
            }
            _ => {}
        }
        if self.retry_at.is_some_and(|at| at <= Instant::now()) && connected {
            if self.subscription.is_none() {
                self.follow().await;
            } else {
                self.fetch(None);
            }
        }
        if let Some(since) = self.idle_since
            && since.elapsed() >= LINGER
            && !self.is_wanted()
        {
            if let Some(subscription) = self.subscription.take() {
                let mut subscription = subscription;
                let _ = subscription.unsubscribe().await;
            }
            self.phase = Phase::Idle;
            self.idle_since = None;
            tracing::debug!(symbol = %self.name, "nobody interested: unfollowed");
        }
    }
}

/// The follower's answers from the engine (its requests run on tasks of
/// their own so the symbol's streams never wait for one).
pub struct StateInbox(mpsc::UnboundedReceiver<(u64, Result<SymbolState, String>)>);

async fn next_message(
    subscription: &mut Option<async_nats::Subscriber>,
) -> Option<async_nats::Message> {
    match subscription {
        Some(subscription) => subscription.next().await,
        None => std::future::pending().await,
    }
}

/// Orders a gateway did not forward (none reach its markets: every
/// account request goes to the engine) are refused, never lost.
fn refuse_trading(command: TradeCommand) {
    let message = "this cluster gateway forwards orders to the engine: send them over /ws or the Binance dialect's signed REST";
    crate::gateway::market::orders::refuse_all(command, ErrorCode::Internal, message);
}
