//! The book as its feed shows it: price levels and their totals, no
//! orders. A book view (PROTOCOL.md v1.1: a depth, an interval) keeps one
//! of these in step with the published book stream, takes the top levels
//! it shows, and sends the difference from what it last sent. Pure code.

use std::collections::BTreeMap;

use super::Book;
use crate::types::{Price, Qty, Side};

/// Levels of one side, best first: `(price, total quantity)`.
pub type Levels = Vec<(Price, Qty)>;

/// Price levels per side.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct L2Book {
    bids: BTreeMap<Price, Qty>,
    asks: BTreeMap<Price, Qty>,
}

impl L2Book {
    /// The levels of an order book.
    pub fn from_book(book: &Book) -> L2Book {
        let side = |side| book.levels(side).map(|l| (l.price, l.total)).collect();
        L2Book {
            bids: side(Side::Buy),
            asks: side(Side::Sell),
        }
    }

    fn side_mut(&mut self, side: Side) -> &mut BTreeMap<Price, Qty> {
        match side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        }
    }

    /// A level's new total; zero removes it.
    pub fn set(&mut self, side: Side, price: Price, qty: Qty) {
        if qty.is_zero() {
            self.side_mut(side).remove(&price);
        } else {
            self.side_mut(side).insert(price, qty);
        }
    }

    /// The best `depth` levels of a side (every level with `None`) into
    /// `out`, best first.
    pub fn top(&self, side: Side, depth: Option<usize>, out: &mut Levels) {
        out.clear();
        let take = depth.unwrap_or(usize::MAX);
        match side {
            Side::Buy => out.extend(self.bids.iter().rev().take(take).map(|(p, q)| (*p, *q))),
            Side::Sell => out.extend(self.asks.iter().take(take).map(|(p, q)| (*p, *q))),
        }
    }

    /// The best level of a side.
    pub fn best(&self, side: Side) -> Option<(Price, Qty)> {
        match side {
            Side::Buy => self.bids.iter().next_back(),
            Side::Sell => self.asks.iter().next(),
        }
        .map(|(p, q)| (*p, *q))
    }

    pub fn len(&self, side: Side) -> usize {
        match side {
            Side::Buy => self.bids.len(),
            Side::Sell => self.asks.len(),
        }
    }
}

/// Whether `a` is a better price than `b` on `side`.
fn better(side: Side, a: Price, b: Price) -> bool {
    match side {
        Side::Buy => a > b,
        Side::Sell => a < b,
    }
}

/// Whether a change at `price` can alter the top `depth` levels of a side
/// whose window was `sent`: only a change at or better than its worst
/// level can (or any change while the window is not full).
pub fn touches(side: Side, sent: &[(Price, Qty)], depth: usize, price: Price) -> bool {
    match sent.last() {
        Some(&(worst, _)) if sent.len() >= depth => !better(side, worst, price),
        _ => true,
    }
}

/// What turns `old` into `new` (both best first) as level updates, best
/// first: a level whose total changed or that entered with its total, a
/// level that left with zero.
pub fn diff(side: Side, old: &[(Price, Qty)], new: &[(Price, Qty)], out: &mut Levels) {
    out.clear();
    let (mut i, mut j) = (0, 0);
    loop {
        match (old.get(i), new.get(j)) {
            (None, None) => return,
            (Some(&(p, _)), None) => {
                out.push((p, Qty::ZERO));
                i += 1;
            }
            (None, Some(&level)) => {
                out.push(level);
                j += 1;
            }
            (Some(&(po, qo)), Some(&(pn, qn))) => {
                if po == pn {
                    if qo != qn {
                        out.push((pn, qn));
                    }
                    i += 1;
                    j += 1;
                } else if better(side, po, pn) {
                    out.push((po, Qty::ZERO));
                    i += 1;
                } else {
                    out.push((pn, qn));
                    j += 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn apply(side: Side, levels: &[(Price, Qty)], changes: &[(Price, Qty)]) -> Levels {
        let mut map: BTreeMap<Price, Qty> = levels.iter().copied().collect();
        for &(p, q) in changes {
            if q.is_zero() {
                map.remove(&p);
            } else {
                map.insert(p, q);
            }
        }
        let mut out: Levels = map.into_iter().collect();
        if side == Side::Buy {
            out.reverse();
        }
        out
    }

    fn window(side: Side, map: &[(i64, i64)], depth: usize) -> Levels {
        let mut book = L2Book::default();
        for &(p, q) in map {
            book.set(side, Price(p), Qty(q));
        }
        let mut out = Vec::new();
        book.top(side, Some(depth), &mut out);
        out
    }

    #[test]
    fn a_level_leaving_the_window_lets_the_next_one_in() {
        let old = window(Side::Buy, &[(100, 1), (99, 2), (98, 3)], 2);
        let new = window(Side::Buy, &[(99, 2), (98, 3)], 2);
        let mut out = Vec::new();
        diff(Side::Buy, &old, &new, &mut out);
        assert_eq!(out, vec![(Price(100), Qty::ZERO), (Price(98), Qty(3))]);
        assert!(touches(Side::Buy, &old, 2, Price(99)));
        assert!(!touches(Side::Buy, &old, 2, Price(98)), "below the window");
        assert!(
            touches(Side::Sell, &[(Price(5), Qty(1))], 2, Price(50)),
            "not full"
        );
    }

    proptest! {
        /// Applying the diff to the old window gives the new one, on both
        /// sides, for any two books.
        #[test]
        fn the_diff_turns_the_old_window_into_the_new(
            a in proptest::collection::btree_map(1i64..60, 1i64..5, 0..30),
            b in proptest::collection::btree_map(1i64..60, 1i64..5, 0..30),
            depth in 1usize..12,
        ) {
            for side in [Side::Buy, Side::Sell] {
                let a: Vec<_> = a.iter().map(|(p, q)| (*p, *q)).collect();
                let b: Vec<_> = b.iter().map(|(p, q)| (*p, *q)).collect();
                let old = window(side, &a, depth);
                let new = window(side, &b, depth);
                let mut out = Vec::new();
                diff(side, &old, &new, &mut out);
                prop_assert_eq!(apply(side, &old, &out), new.clone());
                for pair in out.windows(2) {
                    prop_assert!(better(side, pair[0].0, pair[1].0), "best first");
                }
            }
        }
    }
}
