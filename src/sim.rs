//! Seeded, simulated order flow for one symbol that keeps a realistic book.
//!
//! The model, in the spirit of Cont, Stoikov and Talreja (2010):
//! - a **fair value** that follows a mean-reverting random walk (an
//!   Ornstein-Uhlenbeck process in ticks, with the instrument's daily
//!   volatility and a half-life of an hour around the start price);
//! - **market makers** quoting `MM_LEVELS` levels on each side around the fair
//!   value, moving (amending) one quote at a time as the fair value moves, so
//!   the book follows it;
//! - **limit orders** arriving as a Poisson process, at a distance `i` ticks
//!   behind the opposite best price with probability proportional to `1/i`
//!   (most near the touch, some tens of levels deep);
//! - **cancels** of resting crowd orders at a rate proportional to how many
//!   there are (each order has the same cancel intensity), which keeps the
//!   book's depth stable;
//! - **market orders** that lean towards the fair value, so trades happen at
//!   the touch and prices follow the fair value.
//!
//! Events arrive as one Poisson process at the instrument's rate; each draws
//! its kind from the weights above. Everything comes from one `ChaCha8Rng`
//! seeded from the seed and the symbol, and time is simulated, so the same
//! seed, instrument and inputs give the same orders on every machine.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use rustc_hash::FxHashMap;

use crate::book::Book;
use crate::engine::{Event, Input, NewOrder, Reject};
use crate::instrument::Instrument;
use crate::scenario::Change;
use crate::types::{NANOS_PER_SEC, OrderId, Owner, Price, Qty, Side, TimeInForce, UnixNanos};

/// Quotes per side of the market makers.
pub const MM_LEVELS: usize = 5;
/// Ticks between two market-maker quotes on one side.
const MM_STEP: i64 = 2;
/// How many crowd orders the cancel rate steers the book towards.
const CROWD_TARGET: f64 = 400.0;
/// Nearest distance, in ticks from the opposite best, at which the crowd and
/// the market makers post: it keeps the spread at a few ticks.
const MIN_GAP_TICKS: i64 = 2;
/// Farthest distance, in ticks behind the opposite best, of a crowd order.
const MAX_DEPTH_TICKS: f64 = 80.0;
/// Relative event weights (cancels scale with the crowd's size).
const W_LIMIT: f64 = 1.0;
const W_CANCEL: f64 = 0.9;
const W_MARKET: f64 = 0.12;
const W_QUOTE: f64 = 0.6;
/// Fair-value mean reversion, per second (a half-life of about an hour).
const REVERSION: f64 = std::f64::consts::LN_2 / 3600.0;
/// Ticks of fair value above the mid that make buying twice as likely (e).
const LEAN_TICKS: f64 = 2.0;

/// What the input just handed out was for, so that `observe` can file the
/// order id the engine gives it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
enum Pending {
    Nothing,
    Quote {
        side: Side,
        level: usize,
        price: Price,
    },
    Crowd,
}

#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct Sim {
    rng: ChaCha8Rng,
    /// Mean time between events, in seconds.
    mean_gap: f64,
    /// Time of the next event.
    next_at: UnixNanos,
    fair: f64,
    anchor: f64,
    /// Fair-value volatility in ticks per square-root second.
    sigma: f64,
    last_step_at: UnixNanos,
    typical_lots: f64,
    max_lots: i64,
    /// Market-maker quotes: order id and price, per side and level.
    quotes: [[Option<(OrderId, Price)>; MM_LEVELS]; 2],
    /// Resting crowd orders, for uniform picks when cancelling.
    crowd: Vec<OrderId>,
    /// Position of each crowd order in `crowd` (looked up, never iterated).
    #[serde(serialize_with = "crate::types::sorted_map::serialize")]
    crowd_index: FxHashMap<OrderId, usize>,
    pending: Pending,
    /// What a scenario has changed (`crate::scenario`); all 1 without one.
    #[serde(default)]
    knobs: Knobs,
}

/// A scenario's hold on the simulation: multipliers, and a drift of the
/// fair value (with its anchor, so reversion does not pull it back).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Knobs {
    volatility: f64,
    trade_rate: f64,
    liquidity: f64,
    /// Ticks per second the fair value moves by, until `drift_until`.
    drift: f64,
    drift_until: UnixNanos,
}

impl Default for Knobs {
    fn default() -> Knobs {
        Knobs {
            volatility: 1.0,
            trade_rate: 1.0,
            liquidity: 1.0,
            drift: 0.0,
            drift_until: 0,
        }
    }
}

/// Mixes a run seed and a symbol into one stream seed (SplitMix64 over FNV-1a).
pub fn stream_seed(seed: u64, symbol: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in symbol.bytes() {
        h = (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3);
    }
    let mut z = seed ^ h;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn side_index(side: Side) -> usize {
    match side {
        Side::Buy => 0,
        Side::Sell => 1,
    }
}

impl Sim {
    /// A simulator for `instrument` whose first event comes after `start`.
    pub fn new(instrument: &Instrument, seed: u64, start: UnixNanos) -> Sim {
        let start_ticks = instrument.start_price.0 as f64;
        let max_lots = instrument.max_qty.0;
        let mut sim = Sim {
            rng: ChaCha8Rng::seed_from_u64(stream_seed(seed, &instrument.symbol)),
            mean_gap: 1.0 / instrument.event_rate,
            next_at: start,
            fair: start_ticks,
            anchor: start_ticks,
            sigma: start_ticks * instrument.volatility / 86_400f64.sqrt(),
            last_step_at: start,
            typical_lots: (max_lots as f64 / 1000.0).max(1.0),
            max_lots,
            quotes: [[None; MM_LEVELS]; 2],
            crowd: Vec::with_capacity(4 * CROWD_TARGET as usize),
            crowd_index: FxHashMap::default(),
            pending: Pending::Nothing,
            knobs: Knobs::default(),
        };
        sim.crowd_index.reserve(4 * CROWD_TARGET as usize);
        sim.draw_next_at();
        sim
    }

    /// When the next event happens.
    /// Moves the next event to `to` if it is due earlier. The skipped time
    /// does not move the fair value: the market resumes where it stopped.
    pub fn skip_to(&mut self, to: UnixNanos) {
        self.next_at = self.next_at.max(to);
        self.last_step_at = self.last_step_at.max(to);
    }

    pub fn next_at(&self) -> UnixNanos {
        self.next_at
    }

    /// The current fair value, in ticks.
    pub fn fair_value(&self) -> f64 {
        self.fair
    }

    /// Resting crowd orders the simulator knows of.
    pub fn crowd_orders(&self) -> usize {
        self.crowd.len()
    }

    fn draw_next_at(&mut self) {
        let u: f64 = self.rng.random();
        let gap = -(1.0 - u).ln() * self.mean_gap;
        self.next_at += ((gap * NANOS_PER_SEC as f64) as u64).max(1);
    }

    fn step_fair_value(&mut self, now: UnixNanos) {
        let dt = (now - self.last_step_at) as f64 / NANOS_PER_SEC as f64;
        let knobs = self.knobs;
        if knobs.drift != 0.0 {
            let until = knobs.drift_until.min(now);
            let drifted = until.saturating_sub(self.last_step_at) as f64 / NANOS_PER_SEC as f64;
            self.fair += knobs.drift * drifted;
            self.anchor = (self.anchor + knobs.drift * drifted).max(1.0);
            if now >= knobs.drift_until {
                self.knobs.drift = 0.0;
            }
        }
        self.last_step_at = now;
        let z: f64 = StandardNormal.sample(&mut self.rng);
        let sigma = self.sigma * knobs.volatility;
        self.fair += -REVERSION * (self.fair - self.anchor) * dt + sigma * dt.sqrt() * z;
        self.fair = self.fair.max(1.0);
    }

    /// A scenario's change of the simulation, at `now` (`Halt` and
    /// `Resume` are the market's, not the simulation's).
    pub fn apply_change(&mut self, change: Change, now: UnixNanos) {
        match change {
            Change::Move { change, over: 0 } => {
                self.fair = (self.fair * (1.0 + change)).max(1.0);
                self.anchor = (self.anchor * (1.0 + change)).max(1.0);
            }
            Change::Move { change, over } => {
                // Evenly, from where the fair value is now.
                self.step_fair_value(now.max(self.last_step_at));
                self.knobs.drift = self.fair * change / (over as f64 / NANOS_PER_SEC as f64);
                self.knobs.drift_until = now.saturating_add(over);
            }
            Change::Volatility(f) => self.knobs.volatility = f,
            Change::TradeRate(f) => self.knobs.trade_rate = f,
            Change::Liquidity(f) => self.knobs.liquidity = f,
            Change::Halt | Change::Resume => {}
        }
    }

    /// A lot count around the typical size (log-normal), within the limits.
    fn draw_qty(&mut self, scale: f64) -> Qty {
        let z: f64 = StandardNormal.sample(&mut self.rng);
        let lots = (self.typical_lots * scale * (0.8 * z).exp()).round() as i64;
        Qty(lots.clamp(1, self.max_lots))
    }

    /// The next input and its time, decided against the book as it is now.
    pub fn next_input(&mut self, book: &Book) -> (UnixNanos, Input) {
        let now = self.next_at;
        self.draw_next_at();
        self.step_fair_value(now);
        self.pending = Pending::Nothing;
        // A scenario's liquidity scales the crowd's book (its target size
        // and how often it posts) and the market makers' sizes; its trade
        // rate, how often the crowd takes.
        let liquidity = self.knobs.liquidity;
        let w_limit = W_LIMIT * liquidity.min(1.0);
        let w_cancel = W_CANCEL * self.crowd.len() as f64 / (CROWD_TARGET * liquidity);
        let w_market = W_MARKET * self.knobs.trade_rate;
        let total = w_limit + w_cancel + w_market + W_QUOTE;
        let mut pick = self.rng.random::<f64>() * total;
        pick -= W_QUOTE;
        if pick < 0.0 {
            if let Some(input) = self.requote(book) {
                return (now, input);
            }
            return (now, self.crowd_limit(book));
        }
        pick -= w_cancel;
        if pick < 0.0 && !self.crowd.is_empty() {
            let victim = self.crowd[self.rng.random_range(0..self.crowd.len())];
            return (
                now,
                Input::Cancel {
                    owner: Owner::SIM,
                    order_id: victim,
                },
            );
        }
        pick -= w_market;
        if pick < 0.0 {
            return (now, self.market_order(book));
        }
        (now, self.crowd_limit(book))
    }

    /// Moves (or places) one market-maker quote to its target around the fair
    /// value, never crossing the opposite best (market makers post, they do
    /// not take); `None` if the chosen quote is already where it should be.
    fn requote(&mut self, book: &Book) -> Option<Input> {
        let side = if self.rng.random::<bool>() {
            Side::Buy
        } else {
            Side::Sell
        };
        let level = self.rng.random_range(0..MM_LEVELS);
        let offset = level as i64 * MM_STEP;
        let price = match side {
            Side::Buy => {
                let target = (self.fair - 0.5).floor() as i64 - offset;
                let below_ask = book
                    .best_ask()
                    .map_or(target, |ask| ask.0 - MIN_GAP_TICKS - offset);
                Price(target.min(below_ask).max(1))
            }
            Side::Sell => {
                let target = (self.fair + 0.5).ceil() as i64 + offset;
                let above_bid = book
                    .best_bid()
                    .map_or(target, |bid| bid.0 + MIN_GAP_TICKS + offset);
                Price(target.max(above_bid))
            }
        };
        let qty = self.draw_qty(2.0 * self.knobs.liquidity.min(1.0));
        match self.quotes[side_index(side)][level] {
            Some((_, current)) if current == price => None,
            Some((order_id, _)) => Some(Input::Amend {
                owner: Owner::SIM,
                order_id,
                price,
                qty,
            }),
            None => {
                self.pending = Pending::Quote { side, level, price };
                Some(Input::New(NewOrder::limit(
                    Owner::SIM,
                    side,
                    price,
                    qty,
                    TimeInForce::Gtc,
                )))
            }
        }
    }

    /// A resting order `MIN_GAP_TICKS - 1 + i` ticks behind the opposite best
    /// (or the fair value when that side is empty), `i` drawn with
    /// probability ~ 1/i from 1 to `MAX_DEPTH_TICKS`.
    fn crowd_limit(&mut self, book: &Book) -> Input {
        let side = if self.rng.random::<bool>() {
            Side::Buy
        } else {
            Side::Sell
        };
        let distance =
            MIN_GAP_TICKS - 1 + MAX_DEPTH_TICKS.powf(self.rng.random::<f64>()).ceil() as i64;
        let price = match side {
            Side::Buy => {
                let reference = book
                    .best_ask()
                    .map_or(self.fair.floor() as i64 + 1, |p| p.0);
                Price((reference - distance).max(1))
            }
            Side::Sell => {
                let reference = book.best_bid().map_or(self.fair.ceil() as i64 - 1, |p| p.0);
                Price(reference.max(0) + distance)
            }
        };
        let qty = self.draw_qty(1.0);
        self.pending = Pending::Crowd;
        Input::New(NewOrder::limit(
            Owner::SIM,
            side,
            price,
            qty,
            TimeInForce::Gtc,
        ))
    }

    /// A market order, buying more often when the fair value is above the mid.
    fn market_order(&mut self, book: &Book) -> Input {
        let mid = match (book.best_bid(), book.best_ask()) {
            (Some(b), Some(a)) => (b.0 + a.0) as f64 / 2.0,
            _ => self.fair,
        };
        let p_buy = 1.0 / (1.0 + (-(self.fair - mid) / LEAN_TICKS).exp());
        let side = if self.rng.random::<f64>() < p_buy {
            Side::Buy
        } else {
            Side::Sell
        };
        let qty = self.draw_qty(1.0);
        Input::New(NewOrder::market(Owner::SIM, side, qty))
    }

    /// Learns what became of the last input: files new order ids, forgets
    /// orders that are done, follows amended quotes.
    pub fn observe(&mut self, result: Result<OrderId, Reject>, events: &[Event]) {
        match (self.pending, result) {
            (Pending::Quote { side, level, price }, Ok(id)) => {
                self.quotes[side_index(side)][level] = Some((id, price));
            }
            (Pending::Crowd, Ok(id)) => {
                self.crowd_index.insert(id, self.crowd.len());
                self.crowd.push(id);
            }
            (_, Err(Reject::UnknownOrder { order_id })) => self.forget(order_id),
            _ => {}
        }
        self.pending = Pending::Nothing;
        for event in events {
            match *event {
                Event::Done {
                    order_id,
                    owner: Owner::SIM,
                    ..
                } => self.forget(order_id),
                Event::Amended {
                    order_id,
                    owner: Owner::SIM,
                    price,
                    ..
                } => {
                    for slot in self.quotes.iter_mut().flatten() {
                        if let Some((id, p)) = slot
                            && *id == order_id
                        {
                            *p = price;
                        }
                    }
                }
                _ => {}
            }
        }
    }

    fn forget(&mut self, order_id: OrderId) {
        if let Some(position) = self.crowd_index.remove(&order_id) {
            self.crowd.swap_remove(position);
            if let Some(&moved) = self.crowd.get(position) {
                self.crowd_index.insert(moved, position);
            }
            return;
        }
        for slot in self.quotes.iter_mut().flatten() {
            if matches!(slot, Some((id, _)) if *id == order_id) {
                *slot = None;
            }
        }
    }
}
