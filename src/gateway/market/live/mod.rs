//! The live source: one task per symbol, the single writer of its market.
//! It steps the simulator as engine time catches up with the clock,
//! applies client orders, journals what cannot be recomputed, sends each
//! input's effects through the symbol's hub once the journal allows, and
//! serves the hub's subscription commands in the same order, so every
//! initial state sits at the exact point of its stream.
//!
//! Layout: `symbol` (the market and its effects), `client_orders` (client
//! orders, cancels and amends), `replay_journal` (the same inputs applied
//! again at start); `market::private` books the private events of an
//! output and `market::effects` holds what waits for the journal.

mod client_orders;
mod replay_journal;
mod symbol;

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use hdrhistogram::Histogram;
use tokio::sync::{oneshot, watch};
use tokio::time::{MissedTickBehavior, interval, sleep_until};

use crate::encode;
use crate::fanout::Outbox;
use crate::gateway::commands::{StreamCommand, SymbolCommand, SymbolInbox};
use crate::gateway::durability::state::SymbolState;
use crate::gateway::metrics::{LATE_US, lag_histogram};
use crate::gateway::shared::Shared;
use crate::gateway::streams::Hub;
use crate::journal::{Record, Ticket};
use crate::protocol::{Channel, Throttle};
use crate::types::UnixNanos;

use super::{effects, private};
pub use symbol::LiveSymbol;

/// How much simulated time a market has behind it when the server opens
/// (and, after a restart, the most of its downtime it simulates).
pub const WARM_UP: Duration = Duration::from_secs(30);

/// Most simulator steps taken before the task looks at its commands again.
const MAX_STEPS_PER_TURN: usize = 2048;

/// Work that must wait until every queued effect has been sent: it sends
/// state (a snapshot, a resync) that must match what subscribers have seen.
enum Deferred {
    Streams(StreamCommand),
    Pause {
        state: oneshot::Sender<SymbolState>,
        resume: oneshot::Receiver<()>,
    },
    Resync(Arc<Outbox>),
}

pub struct LiveTask {
    symbol: LiveSymbol,
    hub: Hub,
    shared: Arc<Shared>,
    /// Heartbeat ticks so far, for the recorder's periodic snapshots.
    seconds: u64,
    /// The journal's durable position (`None` without a journal).
    durable: Option<watch::Receiver<Ticket>>,
    deferred: VecDeque<Deferred>,
    /// Schedule lag of this second's events (merged into the metrics by
    /// the heartbeat).
    lag: Histogram<u64>,
}

impl LiveTask {
    pub fn new(symbol: LiveSymbol, shared: Arc<Shared>) -> LiveTask {
        let durable = symbol.journal.as_ref().map(|j| j.durable());
        LiveTask {
            hub: Hub::new(symbol.symbol, symbol.market.instrument()),
            symbol,
            shared,
            seconds: 0,
            durable,
            deferred: VecDeque::new(),
            lag: lag_histogram(),
        }
    }

    /// Runs until `stop`; then sends everything still queued (waiting for
    /// the journal) and gives the symbol back for the final snapshot.
    pub async fn run(
        mut self,
        mut inbox: SymbolInbox,
        mut stop: watch::Receiver<bool>,
    ) -> LiveSymbol {
        self.warm_up();
        // A recording starts with the book, so a replay can build on it.
        self.symbol.record_snapshot(&self.shared);
        self.send_ready();
        let mut heartbeat = interval(Duration::from_secs(1));
        heartbeat.set_missed_tick_behavior(MissedTickBehavior::Delay);
        heartbeat.tick().await;
        let mut throttle = interval(Duration::from_millis(Throttle::TICK_MS));
        throttle.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            let due = self
                .shared
                .clock
                .instant_of(self.symbol.market.next_sim_at());
            // While something waits for queued effects to go, take no new
            // input: the queue drains within one group commit.
            let intake = self.deferred.is_empty();
            let waiting = self.symbol.effects.waiting_for();
            tokio::select! {
                biased;
                _ = stop.changed() => break,
                durable = durable_at(self.durable.as_mut(), waiting) => {
                    self.send_ready_at(durable);
                    self.run_deferred().await;
                }
                Some(command) = inbox.commands.recv(), if intake => self.handle(command).await,
                Some(outbox) = inbox.resyncs.recv(), if intake => {
                    self.deferred.push_back(Deferred::Resync(outbox));
                    self.run_deferred().await;
                }
                _ = heartbeat.tick() => self.heartbeat(),
                _ = throttle.tick() => self.hub.tick(&self.shared, self.symbol.market.instrument()),
                _ = sleep_until(due), if intake => self.catch_up(),
            }
            self.send_ready();
            // Deferred work runs as soon as nothing is queued, whichever
            // branch emptied the queue: the effects that held it back may
            // have gone just now (the journal caught up during the turn),
            // and no other branch would run it, since intake stays closed
            // while it waits (the soak found a symbol wedged that way,
            // and with it every snapshot and subscription).
            self.run_deferred().await;
            // The turn is over: what it published goes to the sockets.
            self.hub.flush(&self.shared);
        }
        while let Some(ticket) = self.symbol.effects.waiting_for() {
            let durable = durable_at(self.durable.as_mut(), Some(ticket)).await;
            self.send_ready_at(durable);
            self.hub.flush(&self.shared);
        }
        self.symbol
    }

    /// The market starts `WARM_UP` in the past, so the first client finds a
    /// full book (nobody is subscribed yet). After a restart, a longer
    /// downtime is skipped rather than simulated (journaled, like the
    /// steps, so a later recovery does the same).
    fn warm_up(&mut self) {
        let now = self.shared.clock.now();
        let warm_up = WARM_UP.as_nanos() as u64;
        let start = now.saturating_sub(warm_up);
        // Only a market more than a warm-up behind skips (a restart after a
        // long stop); a fresh one is simulated whole, so a seed gives the
        // same flow on every run.
        if self.symbol.market.next_sim_at().saturating_add(warm_up) < start {
            let record = Record::Skip {
                symbol: self.symbol.symbol,
                to: start,
            };
            self.symbol.market.skip_sim_to(start);
            if let Some(journal) = &self.symbol.journal {
                journal.lock().append(&record);
            }
        }
        let mut steps = 0u32;
        let journal = self.symbol.journal.clone();
        let mut guard = journal.as_ref().map(|j| j.lock());
        while self.symbol.market.next_sim_at() <= now {
            self.symbol.out.clear();
            self.symbol.market.step_sim(&mut self.symbol.out);
            // Private events (a client order resting since before a
            // restart can trade): booked, and their sends dropped below.
            self.symbol.book_only(&self.shared);
            steps += 1;
        }
        if let Some(guard) = guard.as_mut()
            && steps > 0
        {
            guard.append(&Record::Turn {
                symbol: self.symbol.symbol,
                steps,
                now: 0,
            });
        }
        drop(guard);
        // Nobody was subscribed or attached: nothing to send.
        self.symbol.effects.clear();
        // A scenario runs from now, the opening.
        if let Some(scenario) = &self.shared.config.scenario {
            let symbol = self.symbol.market.instrument().symbol.clone();
            self.symbol.market.set_script(scenario.script(&symbol, now));
        }
    }

    async fn handle(&mut self, command: SymbolCommand) {
        let work = match command {
            SymbolCommand::Trade(command) => return self.symbol.trade(&self.shared, command),
            SymbolCommand::Streams(command) => Deferred::Streams(command),
            SymbolCommand::Pause { state, resume } => Deferred::Pause { state, resume },
        };
        self.deferred.push_back(work);
        self.run_deferred().await;
    }

    /// Runs deferred work once nothing is queued (its state then matches
    /// what every subscriber has been sent).
    async fn run_deferred(&mut self) {
        let mut ran = false;
        while self.symbol.effects.is_empty() {
            let Some(work) = self.deferred.pop_front() else {
                // Intake is open again: a beat. Under a steady flow of
                // orders, work waits for each group commit and runs right
                // after, so the heartbeat's tick may find it waiting every
                // time while intake opens many times a second (under CPU
                // load `tests/stalls.rs` saw `/healthz` call that a stall).
                if ran {
                    self.beat();
                }
                return;
            };
            ran = true;
            match work {
                Deferred::Resync(outbox) => {
                    self.hub.resync(&self.shared, &mut self.symbol, &outbox);
                }
                Deferred::Streams(command) => {
                    self.hub.handle(&self.shared, &mut self.symbol, command);
                    self.symbol.keep_changes = self.hub.has_views();
                }
                Deferred::Pause { state, resume } => {
                    let snapshot = SymbolState {
                        market: self.symbol.market.clone(),
                        heartbeat_seq: self.symbol.heartbeat_seq,
                    };
                    if state.send(snapshot).is_ok() {
                        self.hub.flush(&self.shared);
                        let _ = resume.await;
                    }
                }
            }
            self.send_ready();
        }
    }

    /// Sends what may go now.
    fn send_ready(&mut self) {
        let durable = match &self.durable {
            Some(rx) => *rx.borrow(),
            None => Ticket::MAX,
        };
        self.send_ready_at(durable);
    }

    fn send_ready_at(&mut self, durable: Ticket) {
        self.symbol.send_ready(&self.shared, &mut self.hub, durable);
    }

    /// Steps the simulator through every event that is due (a bounded
    /// number per turn, so commands are never starved), sending each
    /// step's effects as it goes. The journal gets the turn's clock: a step
    /// that concerns an account is journaled (with the steps before it) and
    /// booked under the journal lock, and waits to be durable; the rest of
    /// the turn is journaled at its end. Steps of the crowd alone need no
    /// lock and wait for nothing.
    fn catch_up(&mut self) {
        let now = self.shared.clock.now();
        let mut steps = 0u32;
        let mut unrecorded = 0u32;
        let mut late = 0u64;
        while self.symbol.market.next_sim_at() <= now && (steps as usize) < MAX_STEPS_PER_TURN {
            let lag_us = now.saturating_sub(self.symbol.market.next_sim_at()) / 1_000;
            let _ = self.lag.record(lag_us.clamp(1, 60_000_000));
            late += u64::from(lag_us > LATE_US);
            self.symbol.out.clear();
            self.symbol.market.step_sim_at(now, &mut self.symbol.out);
            steps += 1;
            unrecorded += 1;
            if private::concerns_an_account(&self.symbol.out) {
                let record = Record::Turn {
                    symbol: self.symbol.symbol,
                    steps: unrecorded,
                    now,
                };
                self.symbol.commit(&self.shared, Some(&record), false);
                unrecorded = 0;
            } else {
                self.symbol.queue_output(&self.shared);
            }
            self.send_ready();
        }
        if unrecorded > 0
            && let Some(journal) = &self.symbol.journal
        {
            journal.lock().append(&Record::Turn {
                symbol: self.symbol.symbol,
                steps: unrecorded,
                now,
            });
        }
        let index = self.symbol.symbol.index();
        self.shared.metrics.engine_events[index].fetch_add(steps as u64, Relaxed);
        self.shared.metrics.late_events.fetch_add(late, Relaxed);
    }

    /// Marks the engine as taking input now (`/healthz`).
    fn beat(&self) {
        self.shared.metrics.engine_beat_ms[self.symbol.symbol.index()]
            .store(self.shared.clock.uptime_ms().max(1), Relaxed);
    }

    fn heartbeat(&mut self) {
        let metrics = &self.shared.metrics;
        // A beat says the engine takes input: while deferred work waits,
        // intake is closed, and a wait of seconds is a stall `/healthz`
        // must report.
        if self.deferred.is_empty() {
            self.beat();
        }
        if !self.lag.is_empty() {
            let mut lag = metrics
                .schedule_lag
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let _ = lag.add(&self.lag);
            drop(lag);
            self.lag.reset();
        }
        if let Some(journal) = &self.symbol.journal {
            journal.lock().append(&Record::Heartbeat {
                symbol: self.symbol.symbol,
            });
        }
        self.symbol.heartbeat_seq += 1;
        let market = &self.symbol.market;
        let engine = market.engine();
        let ts: UnixNanos = self.shared.clock.now().max(engine.now());
        let frame = encode::heartbeat(
            &market.instrument().symbol,
            self.symbol.heartbeat_seq,
            ts,
            engine.book_seq(),
            engine.trade_seq(),
            market.ticker().latest().0,
        );
        self.symbol.effects.push(effects::Effect::Market {
            channel: Channel::Heartbeat,
            ts,
            frame,
            changes: Vec::new(),
        });
        if let Some(recorder) = &self.shared.recorder {
            self.seconds += 1;
            let every = recorder.snapshot_every_s;
            if every > 0 && self.seconds.is_multiple_of(every) {
                self.symbol.record_snapshot(&self.shared);
            }
        }
    }
}

/// Waits until the journal has made `ticket` durable; returns the durable
/// position. Never completes without a journal or a ticket to wait for.
async fn durable_at(
    durable: Option<&mut watch::Receiver<Ticket>>,
    ticket: Option<Ticket>,
) -> Ticket {
    match (durable, ticket) {
        (Some(rx), Some(ticket)) => {
            let durable = rx.wait_for(|d| *d >= ticket).await.map(|d| *d);
            match durable {
                Ok(d) => d,
                // The journal is gone (the server is stopping): nothing
                // more becomes durable.
                Err(_) => std::future::pending().await,
            }
        }
        _ => std::future::pending().await,
    }
}
