//! Property tests of the engine: after any sequence of operations the book is
//! never crossed, quantity is never lost or created, and the trades, order
//! outcomes and L2 book equal those of a deliberately simple reference
//! matcher written here (a flat list of orders scanned for the best price).

use proptest::prelude::*;
use rust_decimal::Decimal;
use tickwire::engine::{DoneReason, Engine, Event, Input, NewOrder, Output, Reject};
use tickwire::instrument::Instrument;
use tickwire::types::{OrderId, OrderType, Owner, Price, Qty, Side, TimeInForce};

const MAX_QTY: i64 = 50;
const START: i64 = 100;
const BAND_PPM: i64 = 500_000;

/// Whole-number prices and lots keep the reference readable: tick 1, lot 1,
/// max 50, band 50% around a start of 100.
fn instrument() -> Instrument {
    Instrument::new(
        "TEST",
        Decimal::ONE,
        Decimal::ONE,
        0,
        0,
        Decimal::from(MAX_QTY),
        Decimal::new(5, 1),
        Decimal::from(START),
        0.0,
        1.0,
    )
    .expect("valid instrument")
}

#[derive(Clone, Debug)]
enum Op {
    New {
        owner: u32,
        side: Side,
        kind: u8,
        price: i64,
        qty: i64,
    },
    Cancel {
        owner: u32,
        pick: u64,
    },
    Amend {
        owner: u32,
        pick: u64,
        price: i64,
        qty: i64,
    },
}

fn side() -> impl Strategy<Value = Side> {
    prop_oneof![Just(Side::Buy), Just(Side::Sell)]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0u32..4, side(), 0u8..5, 40i64..160, -1i64..60)
            .prop_map(|(owner, side, kind, price, qty)| Op::New { owner, side, kind, price, qty }),
        2 => (0u32..4, any::<u64>()).prop_map(|(owner, pick)| Op::Cancel { owner, pick }),
        1 => (0u32..4, any::<u64>(), 60i64..140, 1i64..30)
            .prop_map(|(owner, pick, price, qty)| Op::Amend { owner, pick, price, qty }),
    ]
}

fn to_input(op: &Op, last_id: u64) -> Input {
    let pick_id = |pick: u64| OrderId(pick % (last_id + 2));
    match *op {
        Op::New {
            owner,
            side,
            kind,
            price,
            qty,
        } => {
            let (tif, order_type, post_only) = match kind {
                0 => (TimeInForce::Gtc, OrderType::Limit, false),
                1 => (TimeInForce::Ioc, OrderType::Limit, false),
                2 => (TimeInForce::Fok, OrderType::Limit, false),
                3 => (TimeInForce::Ioc, OrderType::Market, false),
                _ => (TimeInForce::Gtc, OrderType::Limit, true),
            };
            let price = (order_type == OrderType::Limit).then_some(Price(price));
            Input::New(NewOrder {
                owner: Owner(owner),
                side,
                order_type,
                price,
                qty: Qty(qty),
                tif,
                post_only,
            })
        }
        Op::Cancel { owner, pick } => Input::Cancel {
            owner: Owner(owner),
            order_id: pick_id(pick),
        },
        Op::Amend {
            owner,
            pick,
            price,
            qty,
        } => Input::Amend {
            owner: Owner(owner),
            order_id: pick_id(pick),
            price: Price(price),
            qty: Qty(qty),
        },
    }
}

/// What both matchers must agree on for one input.
#[derive(Debug, PartialEq, Eq, Default)]
struct Outcome {
    result: Option<Result<u64, &'static str>>,
    /// (price, qty, maker id, taker id)
    trades: Vec<(i64, i64, u64, u64)>,
    /// (order id, reason, filled)
    done: Vec<(u64, DoneReason, i64)>,
}

// ---------------------------------------------------------------- reference

#[derive(Clone, Debug)]
struct RefOrder {
    id: u64,
    owner: u32,
    side: Side,
    price: i64,
    leaves: i64,
    filled: i64,
    /// Time priority: lower is earlier.
    arrival: u64,
}

#[derive(Clone, Default)]
struct Reference {
    orders: Vec<RefOrder>,
    last_id: u64,
    arrivals: u64,
    last_trade: Option<i64>,
}

fn crosses(side: Side, limit: i64, resting: i64) -> bool {
    match side {
        Side::Buy => resting <= limit,
        Side::Sell => resting >= limit,
    }
}

impl Reference {
    fn best(&self, side: Side) -> Option<i64> {
        let prices = self
            .orders
            .iter()
            .filter(|o| o.side == side)
            .map(|o| o.price);
        match side {
            Side::Buy => prices.max(),
            Side::Sell => prices.min(),
        }
    }

    fn reference_price(&self) -> i64 {
        match (self.last_trade, self.best(Side::Buy), self.best(Side::Sell)) {
            (Some(p), _, _) => p,
            (None, Some(b), Some(a)) => (b + a) / 2,
            _ => START,
        }
    }

    fn band(&self) -> (i64, i64) {
        let r = self.reference_price();
        let width = (r * BAND_PPM / 1_000_000).max(1);
        (r, width)
    }

    /// The resting order the next fill of a `side` taker comes from.
    fn next_maker(&self, side: Side, limit: i64) -> Option<usize> {
        let better = |a: &RefOrder, b: &RefOrder| match side {
            Side::Buy => (a.price, a.arrival) < (b.price, b.arrival),
            Side::Sell => (-a.price, a.arrival) < (-b.price, b.arrival),
        };
        let mut best: Option<usize> = None;
        for (i, o) in self.orders.iter().enumerate() {
            if o.side != side
                && crosses(side, limit, o.price)
                && best.is_none_or(|b| better(o, &self.orders[b]))
            {
                best = Some(i);
            }
        }
        best
    }

    /// Matches, then rests or ends the taker.
    #[allow(clippy::too_many_arguments)]
    fn enter(
        &mut self,
        id: u64,
        owner: u32,
        side: Side,
        limit: i64,
        qty: i64,
        filled: i64,
        rests: bool,
        out: &mut Outcome,
    ) {
        let mut leaves = qty;
        let mut self_trade = false;
        while leaves > 0 {
            let Some(i) = self.next_maker(side, limit) else {
                break;
            };
            if self.orders[i].owner == owner && owner != 0 {
                self_trade = true;
                break;
            }
            let traded = leaves.min(self.orders[i].leaves);
            let maker = &mut self.orders[i];
            maker.leaves -= traded;
            maker.filled += traded;
            leaves -= traded;
            self.last_trade = Some(maker.price);
            out.trades.push((maker.price, traded, maker.id, id));
            if maker.leaves == 0 {
                out.done.push((maker.id, DoneReason::Filled, maker.filled));
                self.orders.remove(i);
            }
        }
        let filled = filled + qty - leaves;
        if leaves == 0 {
            out.done.push((id, DoneReason::Filled, filled));
        } else if self_trade {
            out.done.push((id, DoneReason::SelfTradePrevented, filled));
        } else if rests {
            self.arrivals += 1;
            self.orders.push(RefOrder {
                id,
                owner,
                side,
                price: limit,
                leaves,
                filled,
                arrival: self.arrivals,
            });
        } else {
            out.done.push((id, DoneReason::Expired, filled));
        }
    }

    fn apply(&mut self, input: &Input) -> Outcome {
        let mut out = Outcome::default();
        let result = match *input {
            Input::New(o) => self.submit(o, &mut out),
            Input::Cancel { owner, order_id } => match self.find(owner.0, order_id.0) {
                Some(i) => {
                    let o = self.orders.remove(i);
                    out.done.push((o.id, DoneReason::Canceled, o.filled));
                    Ok(o.id)
                }
                None => Err("unknown_order"),
            },
            Input::Amend {
                owner,
                order_id,
                price,
                qty,
            } => self.amend(owner.0, order_id.0, price.0, qty.0, &mut out),
        };
        out.result = Some(result);
        out
    }

    fn find(&self, owner: u32, id: u64) -> Option<usize> {
        self.orders
            .iter()
            .position(|o| o.id == id && o.owner == owner)
    }

    fn submit(&mut self, o: NewOrder, out: &mut Outcome) -> Result<u64, &'static str> {
        let (reference, width) = self.band();
        let limit = match o.order_type {
            OrderType::Market if o.side == Side::Buy => reference + width,
            OrderType::Market => (reference - width).max(1),
            OrderType::Limit => o.price.map_or(0, |p| p.0),
        };
        if o.order_type == OrderType::Limit {
            if limit <= 0 {
                return Err("invalid_price");
            }
            if (limit - reference).abs() > width {
                return Err("price_out_of_band");
            }
        }
        if o.qty.0 <= 0 || o.qty.0 > MAX_QTY {
            return Err("invalid_qty");
        }
        if o.post_only
            && self
                .best(o.side.opposite())
                .is_some_and(|best| crosses(o.side, limit, best))
        {
            return Err("post_only_would_cross");
        }
        self.last_id += 1;
        let id = self.last_id;
        if o.tif == TimeInForce::Fok {
            // Try it on a copy; keep the result only if it filled entirely.
            let mut trial = self.clone();
            let mut trial_out = Outcome::default();
            trial.enter(
                id,
                o.owner.0,
                o.side,
                limit,
                o.qty.0,
                0,
                false,
                &mut trial_out,
            );
            if trial_out.done.last() != Some(&(id, DoneReason::Filled, o.qty.0)) {
                out.done.push((id, DoneReason::Expired, 0));
                return Ok(id);
            }
        }
        let rests = o.tif == TimeInForce::Gtc && o.order_type == OrderType::Limit;
        self.enter(id, o.owner.0, o.side, limit, o.qty.0, 0, rests, out);
        Ok(id)
    }

    fn amend(
        &mut self,
        owner: u32,
        id: u64,
        price: i64,
        qty: i64,
        out: &mut Outcome,
    ) -> Result<u64, &'static str> {
        let i = self.find(owner, id).ok_or("unknown_order")?;
        if qty <= 0 || qty > MAX_QTY {
            return Err("invalid_qty");
        }
        let (reference, width) = self.band();
        if price != self.orders[i].price && (price <= 0 || (price - reference).abs() > width) {
            return Err(if price <= 0 {
                "invalid_price"
            } else {
                "price_out_of_band"
            });
        }
        if price == self.orders[i].price && qty <= self.orders[i].leaves {
            self.orders[i].leaves = qty;
            return Ok(id);
        }
        let o = self.orders.remove(i);
        self.enter(id, owner, o.side, price, qty, o.filled, true, out);
        Ok(id)
    }

    /// L2 levels best first: (price, total).
    fn levels(&self, side: Side) -> Vec<(i64, i64)> {
        let mut prices: Vec<i64> = self
            .orders
            .iter()
            .filter(|o| o.side == side)
            .map(|o| o.price)
            .collect();
        prices.sort_unstable();
        prices.dedup();
        if side == Side::Buy {
            prices.reverse();
        }
        prices
            .into_iter()
            .map(|p| {
                (
                    p,
                    self.orders
                        .iter()
                        .filter(|o| o.side == side && o.price == p)
                        .map(|o| o.leaves)
                        .sum(),
                )
            })
            .collect()
    }
}

// ------------------------------------------------------------------ engine

fn engine_outcome(result: Result<OrderId, Reject>, events: &[Event]) -> Outcome {
    let mut out = Outcome {
        result: Some(result.map(|id| id.0).map_err(|r| r.code().as_str())),
        ..Outcome::default()
    };
    for event in events {
        match *event {
            Event::Trade {
                price,
                qty,
                maker,
                taker,
                ..
            } => out
                .trades
                .push((price.0, qty.0, maker.order_id.0, taker.order_id.0)),
            Event::Done {
                order_id,
                reason,
                filled,
                ..
            } => out.done.push((order_id.0, reason, filled.0)),
            _ => {}
        }
    }
    out
}

fn engine_levels(engine: &Engine, side: Side) -> Vec<(i64, i64)> {
    engine
        .book()
        .levels(side)
        .map(|l| (l.price.0, l.total.0))
        .collect()
}

/// Per order: quantity submitted (amends included), filled, and what left the
/// book unfilled; checked against what rests.
#[derive(Default, Clone, Copy)]
struct Ledger {
    submitted: i64,
    filled: i64,
    gone: i64,
    leaves: i64,
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1_000, ..ProptestConfig::default() })]

    #[test]
    fn engine_matches_the_reference_and_conserves_quantity(ops in prop::collection::vec(op(), 1..250)) {
        let mut engine = Engine::new(instrument());
        let mut reference = Reference::default();
        let mut ledger: Vec<Ledger> = Vec::new();
        let mut out = Output::default();
        let mut book_seq = 0;
        // The L2 book as a feed client rebuilds it from the updates alone.
        let mut l2: std::collections::BTreeMap<(bool, i64), i64> = std::collections::BTreeMap::new();
        let mut trade_seq = 0;
        for (step, op) in ops.iter().enumerate() {
            let input = to_input(op, reference.last_id);
            out.clear();
            let result = engine.apply(step as u64, &input, &mut out);
            let expected = reference.apply(&input);
            prop_assert_eq!(engine_outcome(result, &out.events), expected, "step {} {:?}", step, input);
            prop_assert!(!engine.book().is_crossed(), "crossed after {:?}", input);
            prop_assert_eq!(engine_levels(&engine, Side::Buy), reference.levels(Side::Buy));
            prop_assert_eq!(engine_levels(&engine, Side::Sell), reference.levels(Side::Sell));

            for event in &out.events {
                match *event {
                    Event::Accepted { order_id, order, .. } => {
                        prop_assert_eq!(order_id.0 as usize, ledger.len() + 1);
                        ledger.push(Ledger { submitted: order.qty.0, leaves: order.qty.0, ..Ledger::default() });
                    }
                    Event::Amended { order_id, leaves, .. } => {
                        let entry = &mut ledger[order_id.0 as usize - 1];
                        entry.submitted += leaves.0 - entry.leaves;
                        entry.leaves = leaves.0;
                    }
                    Event::Trade { seq, qty, maker, taker, .. } => {
                        trade_seq += 1;
                        prop_assert_eq!(seq, trade_seq, "trade seq gap-free");
                        for side in [maker, taker] {
                            let entry = &mut ledger[side.order_id.0 as usize - 1];
                            entry.filled += qty.0;
                            entry.leaves -= qty.0;
                            prop_assert_eq!(entry.leaves, side.leaves.0);
                        }
                    }
                    Event::Done { order_id, filled, .. } => {
                        let entry = &mut ledger[order_id.0 as usize - 1];
                        prop_assert_eq!(entry.filled, filled.0);
                        entry.gone += entry.leaves;
                        entry.leaves = 0;
                    }
                    Event::BookUpdate { seq, .. } => {
                        book_seq += 1;
                        prop_assert_eq!(seq, book_seq, "book seq gap-free");
                        for change in out.changes_of(event) {
                            let key = (change.side == Side::Buy, change.price.0);
                            prop_assert_ne!(l2.get(&key).copied().unwrap_or(0), change.qty.0, "a change that changes nothing");
                            if change.qty.0 == 0 {
                                l2.remove(&key);
                            } else {
                                l2.insert(key, change.qty.0);
                            }
                        }
                    }
                    _ => {}
                }
            }
            let rebuilt_bids: Vec<(i64, i64)> = l2.iter().rev().filter(|(k, _)| k.0).map(|(k, q)| (k.1, *q)).collect();
            let rebuilt_asks: Vec<(i64, i64)> = l2.iter().filter(|(k, _)| !k.0).map(|(k, q)| (k.1, *q)).collect();
            prop_assert_eq!(rebuilt_bids, engine_levels(&engine, Side::Buy), "updates rebuild the bids");
            prop_assert_eq!(rebuilt_asks, engine_levels(&engine, Side::Sell), "updates rebuild the asks");
            // Nothing lost or created: submitted = filled + gone + resting.
            for (i, entry) in ledger.iter().enumerate() {
                let resting = engine.book().get(OrderId(i as u64 + 1)).map_or(0, |o| o.leaves.0);
                prop_assert_eq!(entry.leaves, resting, "order {}", i + 1);
                prop_assert_eq!(entry.submitted, entry.filled + entry.gone + resting, "order {}", i + 1);
            }
            let resting_total: i64 = ledger.iter().map(|e| e.leaves).sum();
            let level_total: i64 = [Side::Buy, Side::Sell].iter().flat_map(|&s| engine.book().levels(s)).map(|l| l.total.0).sum();
            prop_assert_eq!(resting_total, level_total);
        }
    }
}
