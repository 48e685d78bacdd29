//! The book through its public API: aggregation, FIFO links, fills, priority.
use super::*;

fn book_with(orders: &[(u64, Side, i64, i64)]) -> Book {
    let mut book = Book::default();
    for &(id, side, price, qty) in orders {
        book.insert(
            OrderId(id),
            Owner(1),
            side,
            Price(price),
            Qty(qty),
            Qty(0),
            id,
        );
    }
    book
}

#[test]
fn levels_aggregate_and_sort_best_first() {
    let book = book_with(&[
        (1, Side::Buy, 100, 5),
        (2, Side::Buy, 101, 3),
        (3, Side::Buy, 100, 2),
        (4, Side::Sell, 103, 4),
        (5, Side::Sell, 102, 1),
    ]);
    let bids: Vec<_> = book
        .levels(Side::Buy)
        .map(|l| (l.price.0, l.total.0, l.count))
        .collect();
    assert_eq!(bids, vec![(101, 3, 1), (100, 7, 2)]);
    let asks: Vec<_> = book
        .levels(Side::Sell)
        .map(|l| (l.price.0, l.total.0))
        .collect();
    assert_eq!(asks, vec![(102, 1), (103, 4)]);
    assert_eq!(book.best_bid(), Some(Price(101)));
    assert_eq!(book.best_ask(), Some(Price(102)));
    assert_eq!(book.level_qty(Side::Buy, Price(100)), Qty(7));
    assert_eq!(book.level_qty(Side::Buy, Price(99)), Qty(0));
    let priority: Vec<_> = book.orders_by_priority(Side::Buy).map(|o| o.id.0).collect();
    assert_eq!(priority, vec![2, 1, 3]);
    assert!(!book.is_crossed());
}

#[test]
fn remove_from_middle_head_and_tail_keeps_fifo_links() {
    let mut book = book_with(&[
        (1, Side::Buy, 100, 1),
        (2, Side::Buy, 100, 2),
        (3, Side::Buy, 100, 3),
    ]);
    assert_eq!(
        book.remove(OrderId(2)).map(|(o, total)| (o.leaves, total)),
        Some((Qty(2), Qty(4)))
    );
    assert_eq!(book.remove(OrderId(2)), None);
    let ids: Vec<_> = book.orders_by_priority(Side::Buy).map(|o| o.id.0).collect();
    assert_eq!(ids, vec![1, 3]);
    book.remove(OrderId(1));
    book.insert(
        OrderId(4),
        Owner(1),
        Side::Buy,
        Price(100),
        Qty(4),
        Qty(0),
        4,
    );
    let ids: Vec<_> = book.orders_by_priority(Side::Buy).map(|o| o.id.0).collect();
    assert_eq!(ids, vec![3, 4]);
    book.remove(OrderId(4));
    book.remove(OrderId(3));
    assert_eq!(book.level_count(Side::Buy), 0);
    assert_eq!(book.order_count(), 0);
}

#[test]
fn fill_best_consumes_the_queue_in_time_order_and_reuses_slots() {
    let mut book = book_with(&[
        (1, Side::Sell, 100, 2),
        (2, Side::Sell, 100, 3),
        (3, Side::Sell, 101, 1),
    ]);
    let f = book.fill_best(Side::Sell, Qty(5)).expect("fill");
    assert_eq!((f.id.0, f.leaves.0, f.filled.0), (1, 0, 2));
    let f = book.fill_best(Side::Sell, Qty(1)).expect("fill");
    assert_eq!((f.id.0, f.leaves.0, f.filled.0), (2, 2, 1));
    assert_eq!(book.level_qty(Side::Sell, Price(100)), Qty(2));
    book.fill_best(Side::Sell, Qty(2));
    assert_eq!(book.best_ask(), Some(Price(101)));
    let slots_before = book.orders.len();
    book.insert(
        OrderId(9),
        Owner(1),
        Side::Sell,
        Price(100),
        Qty(1),
        Qty(0),
        9,
    );
    assert_eq!(book.orders.len(), slots_before, "freed slot reused");
}

#[test]
fn reduce_keeps_priority() {
    let mut book = book_with(&[(1, Side::Buy, 100, 5), (2, Side::Buy, 100, 5)]);
    assert_eq!(book.reduce(OrderId(1), Qty(1)), Some(Qty(6)));
    assert_eq!(book.level_qty(Side::Buy, Price(100)), Qty(6));
    assert_eq!(book.front(Side::Buy).map(|o| o.id.0), Some(1));
    assert_eq!(book.reduce(OrderId(7), Qty(1)), None);
}
