//! The matching engine and its book under random sequences of orders,
//! cancels and amends (prices near the reference and anywhere, quantities
//! of every sign and size, every order type and time in force, four
//! owners, so self-trade prevention runs too). After every input the
//! invariants are checked against a model kept from the events alone:
//!
//! - the book is never crossed; every level's total and count are the sum
//!   and number of its orders, each with positive leaves, levels strictly
//!   ordered best first;
//! - the L2 book rebuilt from the published `BookUpdate` level changes is
//!   the book, level for level (what a feed client sees is the truth);
//! - `book_seq` and `trade_seq` move by exactly one per event;
//! - every open order's leaves, as the events told them, are the book's,
//!   and nothing else rests; each `Done` reports the quantity its trades
//!   filled; every trade's quantity is positive;
//! - a refused input changes nothing and says so with one `Rejected`.
#![no_main]

use std::collections::{BTreeMap, HashMap};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use tickwire::book::Book;
use tickwire::engine::{Engine, Event, Input, NewOrder, Output};
use tickwire::instrument::Instruments;
use tickwire::types::{OrderId, OrderType, Owner, Price, Qty, Side, TimeInForce};

#[derive(Arbitrary, Debug)]
enum Op {
    New {
        owner: u8,
        buy: bool,
        market: bool,
        price: Ticks,
        qty: Amount,
        tif: u8,
        post_only: bool,
    },
    Cancel {
        owner: u8,
        order: Pick,
    },
    Amend {
        owner: u8,
        order: Pick,
        price: Ticks,
        qty: Amount,
    },
}

/// A price: mostly a few ticks from the reference, sometimes anything.
#[derive(Arbitrary, Debug)]
enum Ticks {
    Near(i8),
    Any(i64),
}

#[derive(Arbitrary, Debug)]
enum Amount {
    Small(u8),
    Any(i64),
}

/// An order: one of those accepted so far, or any id at all.
#[derive(Arbitrary, Debug)]
enum Pick {
    Known(u16),
    Any(u64),
}

/// What the events said about an order still open.
struct Open {
    owner: Owner,
    leaves: Qty,
    traded: Qty,
}

struct Model {
    l2: [BTreeMap<i64, i64>; 2],
    open: HashMap<u64, Open>,
    ids: Vec<u64>,
    book_seq: u64,
    trade_seq: u64,
}

fn side_index(side: Side) -> usize {
    match side {
        Side::Buy => 0,
        Side::Sell => 1,
    }
}

fn price_of(engine: &Engine, ticks: &Ticks) -> Price {
    match *ticks {
        Ticks::Near(delta) => Price(engine.reference_price().0 + i64::from(delta)),
        Ticks::Any(p) => Price(p),
    }
}

fn qty_of(amount: &Amount) -> Qty {
    match *amount {
        Amount::Small(q) => Qty(i64::from(q % 40)),
        Amount::Any(q) => Qty(q),
    }
}

fn pick(model: &Model, order: &Pick) -> OrderId {
    match *order {
        Pick::Known(n) if !model.ids.is_empty() => {
            OrderId(model.ids[usize::from(n) % model.ids.len()])
        }
        Pick::Known(n) => OrderId(u64::from(n)),
        Pick::Any(id) => OrderId(id),
    }
}

fn input_of(engine: &Engine, model: &Model, op: &Op) -> Input {
    match op {
        Op::New {
            owner,
            buy,
            market,
            price,
            qty,
            tif,
            post_only,
        } => Input::New(NewOrder {
            owner: Owner(u32::from(owner % 4)),
            side: if *buy { Side::Buy } else { Side::Sell },
            order_type: if *market {
                OrderType::Market
            } else {
                OrderType::Limit
            },
            price: (!*market || tif % 7 == 0).then(|| price_of(engine, price)),
            qty: qty_of(qty),
            tif: match tif % 3 {
                0 => TimeInForce::Gtc,
                1 => TimeInForce::Ioc,
                _ => TimeInForce::Fok,
            },
            post_only: *post_only,
        }),
        Op::Cancel { owner, order } => Input::Cancel {
            owner: Owner(u32::from(owner % 4)),
            order_id: pick(model, order),
        },
        Op::Amend {
            owner,
            order,
            price,
            qty,
        } => Input::Amend {
            owner: Owner(u32::from(owner % 4)),
            order_id: pick(model, order),
            price: price_of(engine, price),
            qty: qty_of(qty),
        },
    }
}

/// Every resting order of the book, in priority, to tell whether an input
/// changed it.
fn resting(book: &Book) -> Vec<(u64, i64, i64)> {
    [Side::Buy, Side::Sell]
        .into_iter()
        .flat_map(|side| book.orders_by_priority(side))
        .map(|o| (o.id.0, o.price.0, o.leaves.0))
        .collect()
}

fn apply_events(model: &mut Model, out: &Output) {
    for event in &out.events {
        match *event {
            Event::Accepted {
                order_id, order, ..
            } => {
                assert!(order.qty.0 > 0, "accepted a quantity of {}", order.qty.0);
                model.ids.push(order_id.0);
                model.open.insert(
                    order_id.0,
                    Open {
                        owner: order.owner,
                        leaves: order.qty,
                        traded: Qty(0),
                    },
                );
            }
            Event::Trade {
                seq,
                qty,
                maker,
                taker,
                ..
            } => {
                model.trade_seq += 1;
                assert_eq!(seq, model.trade_seq, "trade seq");
                assert!(qty.0 > 0, "a trade of {}", qty.0);
                assert!(
                    !maker.owner.prevents_trade_with(taker.owner),
                    "{:?} traded with itself",
                    maker.owner
                );
                for fill in [maker, taker] {
                    let open = model
                        .open
                        .get_mut(&fill.order_id.0)
                        .expect("a fill of an open order");
                    assert_eq!(open.owner, fill.owner);
                    open.leaves = Qty(open.leaves.0 - qty.0);
                    open.traded = Qty(open.traded.0 + qty.0);
                    assert_eq!(open.leaves, fill.leaves, "leaves after a fill");
                }
            }
            Event::Amended {
                order_id, leaves, ..
            } => {
                let open = model
                    .open
                    .get_mut(&order_id.0)
                    .expect("an amend of an open order");
                open.leaves = leaves;
            }
            Event::Done {
                order_id, filled, ..
            } => {
                let open = model.open.remove(&order_id.0).expect("an open order done");
                assert_eq!(open.traded, filled, "a done order's filled");
            }
            Event::BookUpdate { seq, .. } => {
                model.book_seq += 1;
                assert_eq!(seq, model.book_seq, "book seq");
                for change in out.changes_of(event) {
                    let levels = &mut model.l2[side_index(change.side)];
                    if change.qty.0 == 0 {
                        assert!(
                            levels.remove(&change.price.0).is_some(),
                            "removed a level never shown"
                        );
                    } else {
                        assert!(change.qty.0 > 0);
                        levels.insert(change.price.0, change.qty.0);
                    }
                }
            }
            Event::Rejected { .. } => {}
            _ => panic!("the engine alone makes no {event:?}"),
        }
    }
}

fn check_book(engine: &Engine, model: &Model) {
    let book = engine.book();
    assert!(!book.is_crossed(), "crossed");
    let mut resting_orders = 0;
    for side in [Side::Buy, Side::Sell] {
        let mut previous: Option<i64> = None;
        let mut shown = Vec::new();
        for level in book.levels(side) {
            if let Some(p) = previous {
                let better = match side {
                    Side::Buy => level.price.0 < p,
                    Side::Sell => level.price.0 > p,
                };
                assert!(better, "levels out of order");
            }
            previous = Some(level.price.0);
            let orders: Vec<_> = book.level_orders(level).collect();
            assert_eq!(orders.len(), level.count as usize, "level count");
            let sum: i64 = orders.iter().map(|o| o.leaves.0).sum();
            assert_eq!(sum, level.total.0, "level total");
            for o in &orders {
                assert!(o.leaves.0 > 0 && o.price == level.price && o.side == side);
                let open = model.open.get(&o.id.0).expect("a resting order is open");
                assert_eq!(open.leaves, o.leaves, "resting leaves");
                assert_eq!(open.owner, o.owner);
            }
            resting_orders += orders.len();
            shown.push((level.price.0, level.total.0));
        }
        let published: Vec<(i64, i64)> = {
            let levels = &model.l2[side_index(side)];
            match side {
                Side::Buy => levels.iter().rev().map(|(p, q)| (*p, *q)).collect(),
                Side::Sell => levels.iter().map(|(p, q)| (*p, *q)).collect(),
            }
        };
        assert_eq!(shown, published, "the published L2 differs from the book");
    }
    assert_eq!(resting_orders, model.open.len(), "open orders not resting");
    assert_eq!(book.order_count(), resting_orders);
    assert_eq!(engine.book_seq(), model.book_seq);
    assert_eq!(engine.trade_seq(), model.trade_seq);
}

fuzz_target!(|ops: Vec<Op>| {
    let Some(instrument) = Instruments::embedded_default().iter().next().cloned() else {
        return;
    };
    let mut engine = Engine::new(instrument);
    let mut model = Model {
        l2: [BTreeMap::new(), BTreeMap::new()],
        open: HashMap::new(),
        ids: Vec::new(),
        book_seq: 0,
        trade_seq: 0,
    };
    let mut out = Output::default();
    for (n, op) in ops.iter().enumerate() {
        let input = input_of(&engine, &model, op);
        let before = resting(engine.book());
        out.clear();
        let result = engine.apply(n as u64 * 1_000, &input, &mut out);
        if result.is_err() {
            assert_eq!(
                resting(engine.book()),
                before,
                "a refused input changed the book"
            );
            assert!(
                matches!(out.events.as_slice(), [Event::Rejected { .. }]),
                "a refusal's events: {:?}",
                out.events
            );
        }
        apply_events(&mut model, &out);
        check_book(&engine, &model);
    }
});
