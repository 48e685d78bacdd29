//! The live source: one task per symbol, the single writer of its market.
//! It steps the simulator as engine time catches up with the clock,
//! applies client orders, publishes each input's output through the
//! symbol's hub, and serves the hub's subscription commands in the same
//! order, so every initial state sits at the exact point of its stream.
//!
//! Layout: `symbol` (the market and its publishing), `client_orders` (client
//! orders and cancels), `private` (private events of an output).

mod client_orders;
mod private;
mod symbol;

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::{MissedTickBehavior, interval, sleep_until};

use crate::encode;
use crate::gateway::commands::{SymbolCommand, SymbolInbox};
use crate::gateway::shared::Shared;
use crate::gateway::streams::Hub;
use crate::market::Market;
use crate::protocol::Channel;
use crate::types::SymbolId;
use symbol::LiveSymbol;

/// How much simulated time a market has behind it when the server opens.
pub const WARM_UP: Duration = Duration::from_secs(30);

/// Most simulator steps taken before the task looks at its commands again.
const MAX_STEPS_PER_TURN: usize = 2048;

pub struct LiveTask {
    symbol: LiveSymbol,
    hub: Hub,
    shared: Arc<Shared>,
    heartbeat_seq: u64,
    events_this_second: u64,
    /// Heartbeat ticks so far, for the recorder's periodic snapshots.
    seconds: u64,
}

impl LiveTask {
    pub fn new(id: SymbolId, market: Market, shared: Arc<Shared>) -> LiveTask {
        LiveTask {
            symbol: LiveSymbol::new(id, market),
            hub: Hub::new(id),
            shared,
            heartbeat_seq: 0,
            events_this_second: 0,
            seconds: 0,
        }
    }

    pub async fn run(mut self, mut inbox: SymbolInbox, mut stop: watch::Receiver<bool>) {
        // Warm-up: the market starts `WARM_UP` in the past, so the first
        // client finds a full book; nobody is subscribed yet.
        while self.symbol.market.next_sim_at() <= self.shared.clock.now() {
            self.symbol.out.clear();
            self.symbol.market.step_sim(&mut self.symbol.out);
        }
        // A recording starts with the book, so a replay can build on it.
        self.symbol.record_snapshot(&self.shared);
        let mut heartbeat = interval(Duration::from_secs(1));
        heartbeat.set_missed_tick_behavior(MissedTickBehavior::Delay);
        heartbeat.tick().await;
        loop {
            let due = self
                .shared
                .clock
                .instant_of(self.symbol.market.next_sim_at());
            tokio::select! {
                biased;
                _ = stop.changed() => break,
                Some(command) = inbox.commands.recv() => self.handle(command),
                Some(outbox) = inbox.resyncs.recv() => {
                    self.hub.resync(&self.shared, &mut self.symbol, &outbox);
                }
                _ = heartbeat.tick() => self.heartbeat(),
                _ = sleep_until(due.into()) => self.catch_up(),
            }
        }
    }

    fn handle(&mut self, command: SymbolCommand) {
        match command {
            SymbolCommand::Streams(command) => {
                self.hub.handle(&self.shared, &mut self.symbol, command);
            }
            SymbolCommand::Trade(command) => {
                self.symbol.trade(&self.shared, &self.hub, command);
            }
        }
    }

    /// Steps the simulator through every event that is due (a bounded
    /// number per turn, so commands are never starved).
    fn catch_up(&mut self) {
        let now = self.shared.clock.now();
        let mut steps = 0;
        while self.symbol.market.next_sim_at() <= now && steps < MAX_STEPS_PER_TURN {
            self.symbol.out.clear();
            self.symbol.market.step_sim_at(now, &mut self.symbol.out);
            self.symbol.publish_output(&self.shared, &self.hub);
            steps += 1;
        }
        let index = self.symbol.symbol.index();
        self.shared.metrics.engine_events[index].fetch_add(steps as u64, Relaxed);
        self.events_this_second += steps as u64;
    }

    fn heartbeat(&mut self) {
        let metrics = &self.shared.metrics;
        metrics.engine_events_last_second[self.symbol.symbol.index()]
            .store(self.events_this_second, Relaxed);
        self.events_this_second = 0;
        self.heartbeat_seq += 1;
        let market = &self.symbol.market;
        let engine = market.engine();
        let ts = self.shared.clock.now().max(engine.now());
        let frame = encode::heartbeat(
            &market.instrument().symbol,
            self.heartbeat_seq,
            ts,
            engine.book_seq(),
            engine.trade_seq(),
            market.ticker().latest().0,
        );
        self.hub.publish(&self.shared, Channel::Heartbeat, &frame);
        self.symbol
            .record(&self.shared, Channel::Heartbeat, ts, &frame);
        if let Some(recorder) = &self.shared.recorder {
            self.seconds += 1;
            let every = recorder.snapshot_every_s;
            if every > 0 && self.seconds.is_multiple_of(every) {
                self.symbol.record_snapshot(&self.shared);
            }
        }
    }
}
