//! Hand-checked cases of the paper model, on an instrument whose tick and
//! lot are 1 (prices and quantities are the numbers written).

use rust_decimal::Decimal;

use super::*;

const ME: Owner = Owner(1);
const OTHER: Owner = Owner(2);

fn instrument() -> Instrument {
    Instrument::new(
        "X",
        Decimal::ONE,
        Decimal::ONE,
        0,
        0,
        Decimal::from(1000),
        Decimal::new(5, 1),
        Decimal::from(100),
        0.0,
        1.0,
    )
    .unwrap()
}

/// A displayed book: one order per level, as a replay's replica keeps it.
fn book(bids: &[(i64, i64)], asks: &[(i64, i64)]) -> Book {
    let mut book = Book::default();
    let mut id = 1000;
    for (side, levels) in [(Side::Buy, bids), (Side::Sell, asks)] {
        for &(price, qty) in levels {
            id += 1;
            book.insert(
                OrderId(id),
                Owner::SIM,
                side,
                Price(price),
                Qty(qty),
                Qty::ZERO,
                0,
            );
        }
    }
    book
}

fn limit(owner: Owner, side: Side, price: i64, qty: i64, tif: TimeInForce) -> NewOrder {
    NewOrder::limit(owner, side, Price(price), Qty(qty), tif)
}

/// The events briefly: `accepted N`, `fill N PRICExQTY leaves L (maker|taker)`,
/// `done N reason filled F`, `amended N PRICE LEAVES`.
fn brief(out: &Output) -> Vec<String> {
    out.events
        .iter()
        .map(|e| match *e {
            Event::Accepted { order_id, .. } => format!("accepted {}", order_id.0),
            Event::Trade {
                price,
                qty,
                maker,
                taker,
                ..
            } => {
                let (mine, role) = if maker.owner == Owner::SIM {
                    (taker, "taker")
                } else {
                    (maker, "maker")
                };
                format!(
                    "fill {} {}x{} leaves {} {role}",
                    mine.order_id.0, price.0, qty.0, mine.leaves.0
                )
            }
            Event::Done {
                order_id,
                reason,
                filled,
                ..
            } => format!(
                "done {} {} filled {}",
                order_id.0,
                reason.as_str(),
                filled.0
            ),
            Event::Amended {
                order_id,
                price,
                leaves,
                ..
            } => format!("amended {} {} {}", order_id.0, price.0, leaves.0),
            ref other => format!("{other:?}"),
        })
        .collect()
}

#[test]
fn a_marketable_order_fills_at_the_touch_at_the_prices_and_sizes_shown() {
    let shown = book(&[(100, 5)], &[(101, 3), (102, 4)]);
    let mut paper = PaperBook::new(instrument());
    let mut out = Output::default();
    paper
        .order(
            1,
            limit(ME, Side::Buy, 102, 5, TimeInForce::Gtc),
            &shown,
            &mut out,
        )
        .unwrap();
    assert_eq!(
        brief(&out),
        [
            "accepted 1",
            "fill 1 101x3 leaves 2 taker",
            "fill 1 102x2 leaves 0 taker",
            "done 1 filled filled 5"
        ]
    );
    // What it took stays taken until the replay changes those levels.
    out.clear();
    paper
        .order(
            2,
            limit(ME, Side::Buy, 102, 3, TimeInForce::Ioc),
            &shown,
            &mut out,
        )
        .unwrap();
    assert_eq!(
        brief(&out),
        [
            "accepted 2",
            "fill 2 102x2 leaves 1 taker",
            "done 2 expired filled 2"
        ]
    );
    out.clear();
    let changed = book(&[(100, 5)], &[(101, 3), (102, 4)]);
    paper.book_changed(
        3,
        &[LevelChange {
            side: Side::Sell,
            price: Price(101),
            qty: Qty(3),
        }],
        &changed,
        &mut out,
    );
    paper
        .order(
            4,
            NewOrder::market(ME, Side::Buy, Qty(1)),
            &changed,
            &mut out,
        )
        .unwrap();
    assert_eq!(
        brief(&out),
        [
            "accepted 3",
            "fill 3 101x1 leaves 0 taker",
            "done 3 filled filled 1"
        ]
    );
}

#[test]
fn a_resting_order_fills_as_replayed_trades_consume_the_queue_ahead() {
    let shown = book(&[(100, 5), (99, 2)], &[(101, 3)]);
    let mut paper = PaperBook::new(instrument());
    let mut out = Output::default();
    paper
        .order(
            1,
            limit(ME, Side::Buy, 100, 4, TimeInForce::Gtc),
            &shown,
            &mut out,
        )
        .unwrap();
    assert_eq!(brief(&out), ["accepted 1"]);
    assert_eq!(
        paper.resting(ME),
        [(OrderId(1), Side::Buy, Price(100), Qty(4), Qty(5))]
    );
    out.clear();
    // 3 sold at 100: the queue ahead goes from 5 to 2.
    paper.trade(2, Price(100), Qty(3), Side::Sell, &mut out);
    assert!(out.events.is_empty());
    assert_eq!(paper.resting(ME)[0].4, Qty(2));
    // 4 more: 2 finish the queue ahead, 2 fill the order.
    paper.trade(3, Price(100), Qty(4), Side::Sell, &mut out);
    assert_eq!(brief(&out), ["fill 1 100x2 leaves 2 maker"]);
    out.clear();
    // A buy at 100 is on the other side: nothing.
    paper.trade(4, Price(101), Qty(9), Side::Buy, &mut out);
    assert!(out.events.is_empty());
    // 5 more sold at 100: the last 2.
    paper.trade(5, Price(100), Qty(5), Side::Sell, &mut out);
    assert_eq!(
        brief(&out),
        ["fill 1 100x2 leaves 0 maker", "done 1 filled filled 4"]
    );
    assert!(!paper.has_orders());
}

#[test]
fn no_fill_when_the_trades_never_reach_the_price() {
    let shown = book(&[(100, 5), (99, 2)], &[(101, 3)]);
    let mut paper = PaperBook::new(instrument());
    let mut out = Output::default();
    paper
        .order(
            1,
            limit(ME, Side::Buy, 99, 1, TimeInForce::Gtc),
            &shown,
            &mut out,
        )
        .unwrap();
    out.clear();
    for ts in 2..50 {
        paper.trade(ts, Price(100), Qty(10), Side::Sell, &mut out);
        paper.trade(ts, Price(101), Qty(10), Side::Buy, &mut out);
    }
    assert!(out.events.is_empty());
    assert_eq!(
        paper.resting(ME),
        [(OrderId(1), Side::Buy, Price(99), Qty(1), Qty(2))]
    );
}

#[test]
fn a_cancel_before_the_fill_takes_the_order_away() {
    let shown = book(&[(100, 1)], &[(101, 3)]);
    let mut paper = PaperBook::new(instrument());
    let mut out = Output::default();
    paper
        .order(
            1,
            limit(ME, Side::Buy, 100, 2, TimeInForce::Gtc),
            &shown,
            &mut out,
        )
        .unwrap();
    out.clear();
    assert_eq!(
        paper.cancel(2, OTHER, OrderId(1), &mut out),
        Err(Reject::UnknownOrder {
            order_id: OrderId(1)
        }),
        "another account's order is unknown"
    );
    paper.cancel(2, ME, OrderId(1), &mut out).unwrap();
    paper.trade(3, Price(100), Qty(10), Side::Sell, &mut out);
    assert_eq!(brief(&out), ["done 1 canceled filled 0"]);
    assert_eq!(
        paper.cancel(4, ME, OrderId(1), &mut out),
        Err(Reject::UnknownOrder {
            order_id: OrderId(1)
        })
    );
}

#[test]
fn trading_through_the_price_or_crossing_it_fills_at_the_orders_price() {
    let shown = book(&[(100, 5)], &[(102, 3)]);
    let mut paper = PaperBook::new(instrument());
    let mut out = Output::default();
    paper
        .order(
            1,
            limit(ME, Side::Buy, 100, 2, TimeInForce::Gtc),
            &shown,
            &mut out,
        )
        .unwrap();
    paper
        .order(
            1,
            limit(ME, Side::Sell, 102, 4, TimeInForce::Gtc),
            &shown,
            &mut out,
        )
        .unwrap();
    out.clear();
    // A sell at 99: every bid at 100 was taken before it.
    paper.trade(2, Price(99), Qty(1), Side::Sell, &mut out);
    assert_eq!(
        brief(&out),
        ["fill 1 100x2 leaves 0 maker", "done 1 filled filled 2"]
    );
    out.clear();
    // The displayed bids rise to 103, above the paper ask at 102: it is
    // hit at 102 for what is shown there.
    let crossed = book(&[(103, 3)], &[]);
    paper.book_changed(
        3,
        &[
            LevelChange {
                side: Side::Buy,
                price: Price(103),
                qty: Qty(3),
            },
            LevelChange {
                side: Side::Sell,
                price: Price(102),
                qty: Qty::ZERO,
            },
        ],
        &crossed,
        &mut out,
    );
    assert_eq!(brief(&out), ["fill 2 102x3 leaves 1 maker"]);
}

#[test]
fn a_shrinking_level_shortens_the_queue_ahead() {
    let shown = book(&[(100, 5)], &[(101, 3)]);
    let mut paper = PaperBook::new(instrument());
    let mut out = Output::default();
    paper
        .order(
            1,
            limit(ME, Side::Buy, 100, 1, TimeInForce::Gtc),
            &shown,
            &mut out,
        )
        .unwrap();
    let fewer = book(&[(100, 2)], &[(101, 3)]);
    paper.book_changed(
        2,
        &[LevelChange {
            side: Side::Buy,
            price: Price(100),
            qty: Qty(2),
        }],
        &fewer,
        &mut out,
    );
    assert_eq!(paper.resting(ME)[0].4, Qty(2));
    // Growing again does not put anything back ahead of it.
    let more = book(&[(100, 9)], &[(101, 3)]);
    paper.book_changed(
        3,
        &[LevelChange {
            side: Side::Buy,
            price: Price(100),
            qty: Qty(9),
        }],
        &more,
        &mut out,
    );
    assert_eq!(paper.resting(ME)[0].4, Qty(2));
}

#[test]
fn two_paper_orders_at_one_price_share_a_trade_without_double_counting() {
    let shown = book(&[(100, 2)], &[(101, 3)]);
    let mut paper = PaperBook::new(instrument());
    let mut out = Output::default();
    paper
        .order(
            1,
            limit(ME, Side::Buy, 100, 2, TimeInForce::Gtc),
            &shown,
            &mut out,
        )
        .unwrap();
    paper
        .order(
            2,
            limit(OTHER, Side::Buy, 100, 2, TimeInForce::Gtc),
            &shown,
            &mut out,
        )
        .unwrap();
    out.clear();
    // 5 sold: 2 ahead, then 3 for the two orders, the first one first.
    paper.trade(3, Price(100), Qty(5), Side::Sell, &mut out);
    assert_eq!(
        brief(&out),
        [
            "fill 1 100x2 leaves 0 maker",
            "done 1 filled filled 2",
            "fill 2 100x1 leaves 1 maker"
        ]
    );
}

#[test]
fn the_engines_rules_apply_and_fok_and_post_only_behave_as_live() {
    let shown = book(&[(100, 5)], &[(101, 3)]);
    let mut paper = PaperBook::new(instrument());
    let mut out = Output::default();
    let band = paper.order(
        1,
        limit(ME, Side::Buy, 200, 1, TimeInForce::Gtc),
        &shown,
        &mut out,
    );
    assert!(
        matches!(band, Err(Reject::PriceOutOfBand { .. })),
        "{band:?}"
    );
    let mut post = limit(ME, Side::Buy, 101, 1, TimeInForce::Gtc);
    post.post_only = true;
    assert!(matches!(
        paper.order(1, post, &shown, &mut out),
        Err(Reject::PostOnlyWouldCross { .. })
    ));
    assert!(out.events.is_empty(), "a refusal changes nothing");
    paper
        .order(
            2,
            limit(ME, Side::Buy, 101, 4, TimeInForce::Fok),
            &shown,
            &mut out,
        )
        .unwrap();
    assert_eq!(brief(&out), ["accepted 1", "done 1 expired filled 0"]);
}

#[test]
fn an_amend_keeps_its_place_when_smaller_and_loses_it_when_repriced() {
    let shown = book(&[(100, 5), (99, 1)], &[(101, 3)]);
    let mut paper = PaperBook::new(instrument());
    let mut out = Output::default();
    paper
        .order(
            1,
            limit(ME, Side::Buy, 100, 4, TimeInForce::Gtc),
            &shown,
            &mut out,
        )
        .unwrap();
    paper.trade(2, Price(100), Qty(3), Side::Sell, &mut out);
    out.clear();
    paper
        .amend(3, ME, OrderId(1), Price(100), Qty(2), &shown, &mut out)
        .unwrap();
    assert_eq!(
        paper.resting(ME),
        [(OrderId(1), Side::Buy, Price(100), Qty(2), Qty(2))]
    );
    paper
        .amend(4, ME, OrderId(1), Price(99), Qty(2), &shown, &mut out)
        .unwrap();
    assert_eq!(
        paper.resting(ME),
        [(OrderId(1), Side::Buy, Price(99), Qty(2), Qty(1))]
    );
    // Re-priced across the ask: it takes what is shown.
    paper
        .amend(5, ME, OrderId(1), Price(101), Qty(2), &shown, &mut out)
        .unwrap();
    assert_eq!(
        brief(&out),
        [
            "amended 1 100 2",
            "amended 1 99 2",
            "amended 1 101 2",
            "fill 1 101x2 leaves 0 taker",
            "done 1 filled filled 2"
        ]
    );
}
