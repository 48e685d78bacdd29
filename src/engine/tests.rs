//! Unit tests for every order rule of PROTOCOL.md that the engine owns.

use super::*;
use crate::instrument::Instruments;
use crate::types::{OrderType, Owner, Price, Qty, Side, TimeInForce};

const ALICE: Owner = Owner(1);
const BOB: Owner = Owner(2);

/// BTC-USD: tick 0.01, lot 0.0001, max 100, band 10%, start 64000.00.
fn engine() -> Engine {
    let btc = Instruments::embedded_default()
        .get("BTC-USD")
        .cloned()
        .expect("BTC-USD");
    Engine::new(btc)
}

fn p(text: &str) -> Price {
    engine().instrument().parse_price(text).expect("price")
}

fn q(text: &str) -> Qty {
    engine().instrument().parse_qty(text).expect("qty")
}

fn limit(owner: Owner, side: Side, price: &str, qty: &str, tif: TimeInForce) -> Input {
    Input::New(NewOrder::limit(owner, side, p(price), q(qty), tif))
}

/// Applies an input, returning the result and the events.
fn run(
    engine: &mut Engine,
    input: Input,
) -> (Result<OrderId, Reject>, Vec<Event>, Vec<LevelChange>) {
    let mut out = Output::default();
    let ts = engine.now() + 1;
    let result = engine.apply(ts, &input, &mut out);
    assert!(!engine.book().is_crossed(), "book crossed after {input:?}");
    (result, out.events, out.level_changes)
}

fn ok(engine: &mut Engine, input: Input) -> (OrderId, Vec<Event>) {
    let (result, events, _) = run(engine, input);
    (result.expect("accepted"), events)
}

fn trades(events: &[Event]) -> Vec<(i64, i64, u64)> {
    events
        .iter()
        .filter_map(|e| match *e {
            Event::Trade {
                price, qty, maker, ..
            } => Some((price.0, qty.0, maker.order_id.0)),
            _ => None,
        })
        .collect()
}

fn done(events: &[Event]) -> Vec<(u64, DoneReason, i64)> {
    events
        .iter()
        .filter_map(|e| match *e {
            Event::Done {
                order_id,
                reason,
                filled,
                ..
            } => Some((order_id.0, reason, filled.0)),
            _ => None,
        })
        .collect()
}

/// Asks at 64000.00 x1 (id 1), 64000.00 x2 (id 2), 64001.00 x3 (id 3) from
/// BOB, and a bid at 63999.00 x1 (id 4) from BOB.
fn seeded() -> Engine {
    let mut e = engine();
    ok(
        &mut e,
        limit(BOB, Side::Sell, "64000.00", "1", TimeInForce::Gtc),
    );
    ok(
        &mut e,
        limit(BOB, Side::Sell, "64000.00", "2", TimeInForce::Gtc),
    );
    ok(
        &mut e,
        limit(BOB, Side::Sell, "64001.00", "3", TimeInForce::Gtc),
    );
    ok(
        &mut e,
        limit(BOB, Side::Buy, "63999.00", "1", TimeInForce::Gtc),
    );
    e
}

#[test]
fn resting_limit_is_accepted_and_published_as_a_level() {
    let mut e = engine();
    let (result, events, changes) = run(
        &mut e,
        limit(ALICE, Side::Buy, "64000.50", "0.25", TimeInForce::Gtc),
    );
    assert_eq!(result, Ok(OrderId(1)));
    assert!(matches!(
        events[0],
        Event::Accepted {
            order_id: OrderId(1),
            ..
        }
    ));
    assert!(matches!(
        events[1],
        Event::BookUpdate { seq: 1, len: 1, .. }
    ));
    assert_eq!(events.len(), 2, "no done event: the order rests");
    assert_eq!(
        changes,
        vec![LevelChange {
            side: Side::Buy,
            price: p("64000.50"),
            qty: q("0.25")
        }]
    );
    assert_eq!(e.book().get(OrderId(1)).map(|o| o.leaves), Some(q("0.25")));
}

#[test]
fn price_time_priority_and_partial_fills() {
    let mut e = seeded();
    let (id, events) = ok(
        &mut e,
        limit(ALICE, Side::Buy, "64001.00", "4", TimeInForce::Gtc),
    );
    assert_eq!(
        trades(&events),
        vec![
            (p("64000.00").0, q("1").0, 1),
            (p("64000.00").0, q("2").0, 2),
            (p("64001.00").0, q("1").0, 3)
        ]
    );
    assert_eq!(
        done(&events),
        vec![
            (1, DoneReason::Filled, q("1").0),
            (2, DoneReason::Filled, q("2").0),
            (id.0, DoneReason::Filled, q("4").0)
        ]
    );
    let seqs: Vec<u64> = events
        .iter()
        .filter_map(|ev| {
            if let Event::Trade { seq, .. } = ev {
                Some(*seq)
            } else {
                None
            }
        })
        .collect();
    assert_eq!(seqs, vec![1, 2, 3], "trade seq is gap-free from 1");
    assert_eq!(
        e.book().get(OrderId(3)).map(|o| (o.leaves, o.filled)),
        Some((q("2"), q("1")))
    );
    // One book update with every changed level, bids then asks, best first.
    let updates: Vec<_> = events
        .iter()
        .filter(|ev| matches!(ev, Event::BookUpdate { .. }))
        .collect();
    assert_eq!(updates.len(), 1);
    assert_eq!(e.book_seq(), 5);
}

#[test]
fn book_update_lists_final_level_quantities_once() {
    let mut e = seeded();
    let (_, _, changes) = run(
        &mut e,
        limit(ALICE, Side::Buy, "64001.00", "7", TimeInForce::Gtc),
    );
    assert_eq!(
        changes,
        vec![
            LevelChange {
                side: Side::Buy,
                price: p("64001.00"),
                qty: q("1")
            },
            LevelChange {
                side: Side::Sell,
                price: p("64000.00"),
                qty: Qty::ZERO
            },
            LevelChange {
                side: Side::Sell,
                price: p("64001.00"),
                qty: Qty::ZERO
            },
        ]
    );
}

#[test]
fn ioc_fills_what_it_can_and_expires_the_rest() {
    let mut e = seeded();
    let (id, events) = ok(
        &mut e,
        limit(ALICE, Side::Buy, "64000.00", "5", TimeInForce::Ioc),
    );
    assert_eq!(trades(&events).len(), 2);
    assert_eq!(
        done(&events).last(),
        Some(&(id.0, DoneReason::Expired, q("3").0))
    );
    assert!(e.book().get(id).is_none(), "IOC never rests");
}

#[test]
fn fok_fills_entirely_or_not_at_all() {
    let mut e = seeded();
    let (id, events) = ok(
        &mut e,
        limit(ALICE, Side::Buy, "64000.00", "3.0001", TimeInForce::Fok),
    );
    assert!(trades(&events).is_empty());
    assert_eq!(done(&events), vec![(id.0, DoneReason::Expired, 0)]);
    assert!(
        !events
            .iter()
            .any(|ev| matches!(ev, Event::BookUpdate { .. })),
        "nothing moved"
    );
    let (id, events) = ok(
        &mut e,
        limit(ALICE, Side::Buy, "64001.00", "6", TimeInForce::Fok),
    );
    assert_eq!(trades(&events).len(), 3);
    assert_eq!(
        done(&events).last(),
        Some(&(id.0, DoneReason::Filled, q("6").0))
    );
}

#[test]
fn fok_counts_only_liquidity_before_an_own_order() {
    let mut e = seeded();
    ok(
        &mut e,
        limit(ALICE, Side::Sell, "64000.50", "5", TimeInForce::Gtc),
    );
    // 3 at 64000.00 from BOB, then ALICE's own 5 at 64000.50 blocks the rest.
    let (id, events) = ok(
        &mut e,
        limit(ALICE, Side::Buy, "64001.00", "4", TimeInForce::Fok),
    );
    assert_eq!(done(&events), vec![(id.0, DoneReason::Expired, 0)]);
    let (id, events) = ok(
        &mut e,
        limit(ALICE, Side::Buy, "64001.00", "3", TimeInForce::Fok),
    );
    assert_eq!(
        done(&events).last(),
        Some(&(id.0, DoneReason::Filled, q("3").0))
    );
}

#[test]
fn market_order_sweeps_within_the_band_and_expires_the_rest() {
    let mut e = engine();
    ok(
        &mut e,
        limit(BOB, Side::Sell, "64000.00", "1", TimeInForce::Gtc),
    );
    ok(
        &mut e,
        limit(ALICE, Side::Buy, "64000.00", "0.5", TimeInForce::Gtc),
    );
    ok(
        &mut e,
        limit(BOB, Side::Sell, "70400.00", "1", TimeInForce::Gtc),
    ); // the band's edge from 64000.00
    ok(
        &mut e,
        limit(BOB, Side::Buy, "63990.00", "1", TimeInForce::Gtc),
    );
    ok(
        &mut e,
        limit(ALICE, Side::Sell, "63990.00", "0.5", TimeInForce::Gtc),
    );
    assert_eq!(e.reference_price(), p("63990.00"));
    let (id, events) = ok(
        &mut e,
        Input::New(NewOrder::market(ALICE, Side::Buy, q("10"))),
    );
    let accepted = events.iter().find_map(|ev| match ev {
        Event::Accepted { order, .. } => Some(*order),
        _ => None,
    });
    assert_eq!(
        accepted.map(|o| (o.order_type, o.price, o.tif)),
        Some((OrderType::Market, None, TimeInForce::Ioc))
    );
    assert_eq!(
        trades(&events),
        vec![(p("64000.00").0, q("0.5").0, 1)],
        "70400.00 is beyond 10% of 63990.00"
    );
    assert_eq!(
        done(&events).last(),
        Some(&(id.0, DoneReason::Expired, q("0.5").0))
    );
    assert_eq!(e.book().best_ask(), Some(p("70400.00")));
}

#[test]
fn market_order_on_an_empty_side_expires_unfilled() {
    let mut e = engine();
    let (id, events) = ok(
        &mut e,
        Input::New(NewOrder::market(ALICE, Side::Sell, q("1"))),
    );
    assert_eq!(done(&events), vec![(id.0, DoneReason::Expired, 0)]);
}

#[test]
fn post_only_that_would_cross_is_rejected_and_changes_nothing() {
    let mut e = seeded();
    // Not even the engine's clock: the refusal is stamped with the time it
    // came in (`run` applies at now + 1), and now stays where it was.
    let before = e.now();
    let mut order = NewOrder::limit(ALICE, Side::Buy, p("64000.00"), q("1"), TimeInForce::Gtc);
    order.post_only = true;
    let (result, events, changes) = run(&mut e, Input::New(order));
    assert_eq!(
        result,
        Err(Reject::PostOnlyWouldCross {
            price: p("64000.00"),
            opposite: p("64000.00")
        })
    );
    assert_eq!(
        events,
        vec![Event::Rejected {
            owner: ALICE,
            reject: result.unwrap_err(),
            ts: before + 1
        }]
    );
    assert!(changes.is_empty());
    assert_eq!(e.now(), before, "the clock did not move");
    assert_eq!(
        result.unwrap_err().message(e.instrument()),
        "post-only price 64000.00 would cross the opposite best price 64000.00"
    );
    order.price = Some(p("63999.99"));
    let (_, events) = ok(&mut e, Input::New(order));
    assert!(
        done(&events).is_empty(),
        "post-only that does not cross rests"
    );
}

#[test]
fn post_only_needs_a_gtc_limit() {
    let mut e = seeded();
    let mut order = NewOrder::limit(ALICE, Side::Buy, p("63000.00"), q("1"), TimeInForce::Ioc);
    order.post_only = true;
    assert_eq!(
        run(&mut e, Input::New(order)).0,
        Err(Reject::PostOnlyNeedsGtcLimit)
    );
    let mut market = NewOrder::market(ALICE, Side::Buy, q("1"));
    market.post_only = true;
    assert_eq!(
        run(&mut e, Input::New(market)).0,
        Err(Reject::PostOnlyNeedsGtcLimit)
    );
    assert_eq!(Reject::PostOnlyNeedsGtcLimit.code(), "bad_request");
}

#[test]
fn self_trade_prevention_expires_the_incoming_remainder() {
    let mut e = seeded();
    // ALICE rests behind BOB at 64000.00; her buy trades with BOB, then meets herself.
    let (own, _) = ok(
        &mut e,
        limit(ALICE, Side::Sell, "64000.00", "1", TimeInForce::Gtc),
    );
    let (id, events) = ok(
        &mut e,
        limit(ALICE, Side::Buy, "64001.00", "5", TimeInForce::Gtc),
    );
    assert_eq!(
        trades(&events).len(),
        2,
        "trades with BOB's two orders only"
    );
    assert_eq!(
        done(&events).last(),
        Some(&(id.0, DoneReason::SelfTradePrevented, q("3").0))
    );
    assert!(
        e.book().get(id).is_none(),
        "even a GTC remainder does not rest"
    );
    assert_eq!(
        e.book().get(own).map(|o| o.leaves),
        Some(q("1")),
        "the resting order is untouched"
    );
}

#[test]
fn simulated_crowd_orders_trade_with_each_other() {
    let mut e = engine();
    ok(
        &mut e,
        limit(Owner::SIM, Side::Sell, "64000.00", "1", TimeInForce::Gtc),
    );
    let (_, events) = ok(
        &mut e,
        limit(Owner::SIM, Side::Buy, "64000.00", "1", TimeInForce::Gtc),
    );
    assert_eq!(trades(&events).len(), 1);
}

#[test]
fn cancel_removes_the_order_and_reports_what_it_had_filled() {
    let mut e = seeded();
    ok(
        &mut e,
        limit(ALICE, Side::Buy, "64000.00", "0.5", TimeInForce::Gtc),
    );
    let (result, events, changes) = run(
        &mut e,
        Input::Cancel {
            owner: BOB,
            order_id: OrderId(1),
        },
    );
    assert_eq!(result, Ok(OrderId(1)));
    assert_eq!(done(&events), vec![(1, DoneReason::Canceled, q("0.5").0)]);
    assert_eq!(
        changes,
        vec![LevelChange {
            side: Side::Sell,
            price: p("64000.00"),
            qty: q("2")
        }]
    );
}

#[test]
fn cancel_of_a_missing_or_foreign_order_is_unknown_order() {
    let mut e = seeded();
    let before = e.book_seq();
    for (owner, id) in [(ALICE, 1), (BOB, 99)] {
        let (result, events, _) = run(
            &mut e,
            Input::Cancel {
                owner,
                order_id: OrderId(id),
            },
        );
        assert_eq!(
            result,
            Err(Reject::UnknownOrder {
                order_id: OrderId(id)
            })
        );
        assert_eq!(events.len(), 1);
        assert_eq!(result.unwrap_err().code(), "unknown_order");
    }
    assert_eq!(e.book_seq(), before);
    assert_eq!(e.book().order_count(), 4);
}

#[test]
fn invalid_qty_is_rejected() {
    let mut e = seeded();
    for qty in [Qty(0), Qty(-1), Qty(e.instrument().max_qty.0 + 1)] {
        let order = NewOrder::limit(ALICE, Side::Buy, p("63000.00"), qty, TimeInForce::Gtc);
        assert_eq!(
            run(&mut e, Input::New(order)).0,
            Err(Reject::InvalidQty { qty })
        );
    }
    let msg = Reject::InvalidQty { qty: q("100.0001") }.message(e.instrument());
    assert_eq!(
        msg,
        "qty 100.0001 is above the maximum 100.0000 for BTC-USD"
    );
    let at_max = NewOrder::limit(
        ALICE,
        Side::Buy,
        p("63000.00"),
        e.instrument().max_qty,
        TimeInForce::Gtc,
    );
    assert!(run(&mut e, Input::New(at_max)).0.is_ok());
}

#[test]
fn invalid_price_is_rejected() {
    let mut e = seeded();
    let mut order = NewOrder::limit(ALICE, Side::Buy, Price(0), q("1"), TimeInForce::Gtc);
    assert_eq!(
        run(&mut e, Input::New(order)).0,
        Err(Reject::InvalidPrice {
            price: Some(Price(0))
        })
    );
    order.price = None;
    assert_eq!(
        run(&mut e, Input::New(order)).0,
        Err(Reject::InvalidPrice { price: None })
    );
    assert_eq!(Reject::InvalidPrice { price: None }.code(), "invalid_price");
}

#[test]
fn price_band_is_measured_from_last_trade_else_mid_else_start() {
    let mut e = engine();
    // Empty book, no trade: the start price 64000.00; 10% is 6400.00.
    assert!(
        run(
            &mut e,
            limit(BOB, Side::Sell, "70400.00", "1", TimeInForce::Gtc)
        )
        .0
        .is_ok()
    );
    let (result, _, _) = run(
        &mut e,
        limit(BOB, Side::Sell, "70400.01", "1", TimeInForce::Gtc),
    );
    let reject = result.unwrap_err();
    assert_eq!(
        reject,
        Reject::PriceOutOfBand {
            price: p("70400.01"),
            reference: p("64000.00"),
            band_ticks: 640_000
        }
    );
    assert_eq!(reject.code(), "price_out_of_band");
    assert_eq!(
        reject.message(e.instrument()),
        "price 70400.01 is outside the band of 0.10 around the reference price 64000.00 (allowed 57600.00 to 70400.00)"
    );
    // Two-sided, no trade: the mid.
    ok(
        &mut e,
        limit(BOB, Side::Buy, "60000.00", "1", TimeInForce::Gtc),
    );
    assert_eq!(e.reference_price(), p("65200.00"));
    // After a trade: the last trade price.
    ok(
        &mut e,
        limit(ALICE, Side::Sell, "60000.00", "1", TimeInForce::Gtc),
    );
    assert_eq!(e.reference_price(), p("60000.00"));
    assert!(
        run(
            &mut e,
            limit(ALICE, Side::Buy, "53999.99", "1", TimeInForce::Gtc)
        )
        .0
        .is_err()
    );
    assert!(
        run(
            &mut e,
            limit(ALICE, Side::Buy, "54000.00", "1", TimeInForce::Gtc)
        )
        .0
        .is_ok()
    );
}

#[test]
fn amend_down_keeps_priority_and_other_amends_lose_it() {
    let mut e = seeded();
    let (result, events, changes) = run(
        &mut e,
        Input::Amend {
            owner: BOB,
            order_id: OrderId(1),
            price: p("64000.00"),
            qty: q("0.5"),
        },
    );
    assert_eq!(result, Ok(OrderId(1)));
    assert!(matches!(events[0], Event::Amended { leaves, .. } if leaves == q("0.5")));
    assert_eq!(
        changes,
        vec![LevelChange {
            side: Side::Sell,
            price: p("64000.00"),
            qty: q("2.5")
        }]
    );
    assert_eq!(
        e.book().front(Side::Sell).map(|o| o.id),
        Some(OrderId(1)),
        "still first"
    );
    // Up in size: back of the queue.
    ok(
        &mut e,
        Input::Amend {
            owner: BOB,
            order_id: OrderId(1),
            price: p("64000.00"),
            qty: q("1"),
        },
    );
    assert_eq!(e.book().front(Side::Sell).map(|o| o.id), Some(OrderId(2)));
    // To a crossing price: trades at once, keeps its id.
    let (mine, _) = ok(
        &mut e,
        limit(ALICE, Side::Buy, "63998.00", "1", TimeInForce::Gtc),
    );
    let (_, events) = ok(
        &mut e,
        Input::Amend {
            owner: ALICE,
            order_id: mine,
            price: p("64000.00"),
            qty: q("2.5"),
        },
    );
    assert_eq!(
        trades(&events),
        vec![
            (p("64000.00").0, q("2").0, 2),
            (p("64000.00").0, q("0.5").0, 1)
        ]
    );
    assert_eq!(
        done(&events),
        vec![
            (2, DoneReason::Filled, q("2").0),
            (mine.0, DoneReason::Filled, q("2.5").0)
        ]
    );
    assert!(e.book().get(mine).is_none());
    let (result, ..) = run(
        &mut e,
        Input::Amend {
            owner: ALICE,
            order_id: OrderId(3),
            price: p("64001.00"),
            qty: q("1"),
        },
    );
    assert_eq!(
        result,
        Err(Reject::UnknownOrder {
            order_id: OrderId(3)
        })
    );
}

#[test]
fn engine_time_never_goes_backwards() {
    let mut e = engine();
    let mut out = Output::default();
    let input = limit(ALICE, Side::Buy, "63000.00", "1", TimeInForce::Gtc);
    assert!(e.apply(100, &input, &mut out).is_ok());
    assert!(e.apply(50, &input, &mut out).is_ok());
    let ts: Vec<u64> = out
        .events
        .iter()
        .filter_map(|ev| {
            if let Event::Accepted { ts, .. } = ev {
                Some(*ts)
            } else {
                None
            }
        })
        .collect();
    assert_eq!(ts, vec![100, 100]);
}

#[test]
fn rejections_consume_no_id_and_no_sequence() {
    let mut e = seeded();
    let (seq, trade_seq) = (e.book_seq(), e.trade_seq());
    run(
        &mut e,
        limit(ALICE, Side::Buy, "1.00", "1", TimeInForce::Gtc),
    )
    .0
    .unwrap_err();
    assert_eq!((e.book_seq(), e.trade_seq()), (seq, trade_seq));
    let (id, _) = ok(
        &mut e,
        limit(ALICE, Side::Buy, "63000.00", "1", TimeInForce::Gtc),
    );
    assert_eq!(id, OrderId(5));
}
