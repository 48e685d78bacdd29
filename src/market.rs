//! One symbol's market: its engine, its simulated crowd and its statistics,
//! driven together so that every stream (book, trades, ticker, candles)
//! comes out of one ordered list of events.

use crate::engine::{Engine, Event, Input, Output, Reject};
use crate::instrument::Instrument;
use crate::scenario::{Change, Script};
use crate::sim::Sim;
use crate::stats::{CandleSeries, Interval, TickerState};
use crate::types::{OrderId, UnixNanos};

#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct Market {
    engine: Engine,
    sim: Sim,
    candles: [CandleSeries; 2],
    ticker: TickerState,
    /// A scenario's timed changes (`crate::scenario`), applied as engine
    /// time reaches them. Not kept in snapshots: a scripted server is
    /// ephemeral.
    #[serde(skip)]
    script: Script,
    /// Trading is halted (by a scenario): no crowd activity, clients'
    /// orders refused.
    #[serde(default)]
    halted: bool,
}

impl Market {
    /// A market for `instrument` whose simulated flow is seeded by `seed`
    /// and starts at engine time `start`.
    pub fn new(instrument: Instrument, seed: u64, start: UnixNanos) -> Market {
        let sim = Sim::new(&instrument, seed, start);
        Market {
            engine: Engine::new(instrument),
            sim,
            candles: Interval::ALL.map(CandleSeries::new),
            ticker: TickerState::default(),
            script: Script::default(),
            halted: false,
        }
    }

    /// Follows `script` from now on.
    pub fn set_script(&mut self, script: Script) {
        self.script = script;
    }

    /// Whether trading is halted (a scenario's `halt`).
    pub fn halted(&self) -> bool {
        self.halted
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn instrument(&self) -> &Instrument {
        self.engine.instrument()
    }

    /// See `Engine::adopt_names`.
    pub fn adopt_names(&mut self, configured: &Instrument) {
        self.engine.adopt_names(configured);
    }

    pub fn sim(&self) -> &Sim {
        &self.sim
    }

    pub fn ticker(&self) -> &TickerState {
        &self.ticker
    }

    pub fn candles(&self, interval: Interval) -> &CandleSeries {
        &self.candles[interval as usize]
    }

    /// When the market changes next by itself: the simulated crowd acts
    /// (never while halted) or the scenario changes something.
    pub fn next_sim_at(&self) -> UnixNanos {
        let crowd = if self.halted {
            UnixNanos::MAX
        } else {
            self.sim.next_at()
        };
        self.script.next_at().map_or(crowd, |at| at.min(crowd))
    }

    /// Moves the simulated crowd's next action to `to` if it is due
    /// earlier (the time in between passes without events).
    pub fn skip_sim_to(&mut self, to: UnixNanos) {
        self.sim.skip_to(to);
    }

    /// Lets the simulated crowd act once, at its scheduled time.
    pub fn step_sim(&mut self, out: &mut Output) {
        self.step_sim_at(0, out);
    }

    /// Lets the simulated crowd act once, stamped no earlier than
    /// `not_before`: a live server passes the time it actually applies the
    /// input, so `ts` says when the event happened, not when it was due.
    /// What happens (orders, trades, seqs) depends only on the seed.
    pub fn step_sim_at(&mut self, not_before: UnixNanos, out: &mut Output) {
        if let Some(at) = self.script.next_at()
            && (self.halted || at <= self.sim.next_at())
        {
            if let Some((at, change)) = self.script.take() {
                self.change(at.max(not_before), change, out);
            }
            return;
        }
        if self.halted {
            return;
        }
        let (due, input) = self.sim.next_input(self.engine.book());
        let start = out.events.len();
        let result = self.apply(due.max(not_before), &input, out);
        self.sim.observe(result, &out.events[start..]);
    }

    /// A scenario's change at `ts`; a halt or resume publishes `Status`.
    fn change(&mut self, ts: UnixNanos, change: Change, out: &mut Output) {
        match change {
            Change::Halt | Change::Resume => {
                let halted = change == Change::Halt;
                if halted == self.halted {
                    return;
                }
                self.halted = halted;
                if !halted {
                    // The crowd resumes now; the halt left no backlog.
                    self.sim.skip_to(ts);
                }
                let seq = self.ticker.next_seq(ts);
                out.events.push(Event::Status { seq, ts, halted });
            }
            other => self.sim.apply_change(other, ts),
        }
    }

    /// Applies one input (a client's or the crowd's) and appends the events
    /// of every stream it changed: the engine's, then `Ticker` and `Candle`.
    pub fn apply(
        &mut self,
        ts: UnixNanos,
        input: &Input,
        out: &mut Output,
    ) -> Result<OrderId, Reject> {
        let start = out.events.len();
        let result = self.engine.apply(ts, input, out);
        // A refused input changes nothing, statistics included (the
        // journal does not hold it, so a replay never sees it).
        result?;
        let ts = self.engine.now();
        let mut traded = false;
        for event in &out.events[start..] {
            if let Event::Trade { ts, price, qty, .. } = *event {
                traded = true;
                self.ticker.record_trade(ts, price, qty);
                for series in &mut self.candles {
                    series.record(ts, price, qty);
                }
            }
        }
        let book = self.engine.book();
        let top = |side| book.best(side).map(|l| (l.price, l.total));
        let (bid, ask) = (top(crate::types::Side::Buy), top(crate::types::Side::Sell));
        if let Some(seq) = self.ticker.update(ts, bid, ask, traded) {
            out.events.push(Event::Ticker { seq, ts });
        }
        for series in &mut self.candles {
            if let Some((seq, candle)) = series.take_update() {
                out.events.push(Event::Candle {
                    interval: series.interval(),
                    seq,
                    ts,
                    candle,
                });
            }
        }
        result
    }
}
