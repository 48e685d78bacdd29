//! One side of the book: its price levels, sorted so that the best is last.
//!
//! A sorted `Vec` with the best price at the end beats a tree here: nearly all
//! activity is at or near the touch, so inserting or removing a level moves
//! only the few levels between it and the end, matching pops from the end, and
//! the levels sit in one contiguous allocation that never shrinks (no
//! allocation in steady state). Lookups are a binary search.

use crate::types::{Price, Qty, Side};

/// The end of an intrusive list.
pub(crate) const NIL: u32 = u32::MAX;

/// A price level: the aggregate the L2 feed shows, plus the ends of its FIFO
/// queue of orders (slab indices; the orders link to each other).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Level {
    pub price: Price,
    /// Sum of the leaves quantity of the orders at this level.
    pub total: Qty,
    /// Number of orders at this level.
    pub count: u32,
    pub(crate) head: u32,
    pub(crate) tail: u32,
}

#[derive(Clone, Debug)]
pub(crate) struct Ladder {
    side: Side,
    /// Ascending by `key`, so the best level is the last element.
    levels: Vec<Level>,
}

impl Ladder {
    pub(crate) fn new(side: Side, capacity: usize) -> Ladder {
        Ladder { side, levels: Vec::with_capacity(capacity) }
    }

    /// Sort key that puts better prices later: bids ascend by price, asks
    /// ascend by negated price.
    #[inline]
    fn key(&self, price: Price) -> i64 {
        match self.side {
            Side::Buy => price.0,
            Side::Sell => -price.0,
        }
    }

    #[inline]
    pub(crate) fn find(&self, price: Price) -> Result<usize, usize> {
        let key = self.key(price);
        // Most lookups are at the touch: check the end before searching.
        if let Some(last) = self.levels.last() {
            let last_key = self.key(last.price);
            if key == last_key {
                return Ok(self.levels.len() - 1);
            }
            if key > last_key {
                return Err(self.levels.len());
            }
        }
        self.levels.binary_search_by_key(&key, |l| self.key(l.price))
    }

    #[inline]
    pub(crate) fn best(&self) -> Option<&Level> {
        self.levels.last()
    }

    #[inline]
    pub(crate) fn best_mut(&mut self) -> Option<&mut Level> {
        self.levels.last_mut()
    }

    #[inline]
    pub(crate) fn get(&self, index: usize) -> &Level {
        &self.levels[index]
    }

    #[inline]
    pub(crate) fn get_mut(&mut self, index: usize) -> &mut Level {
        &mut self.levels[index]
    }

    /// Inserts an empty level at `index` (from a failed `find`).
    #[inline]
    pub(crate) fn insert_empty(&mut self, index: usize, price: Price) -> &mut Level {
        let level = Level { price, total: Qty::ZERO, count: 0, head: NIL, tail: NIL };
        self.levels.insert(index, level);
        &mut self.levels[index]
    }

    #[inline]
    pub(crate) fn remove(&mut self, index: usize) {
        self.levels.remove(index);
    }

    #[inline]
    pub(crate) fn pop_best(&mut self) {
        self.levels.pop();
    }

    pub(crate) fn len(&self) -> usize {
        self.levels.len()
    }

    /// Levels from the best outwards.
    pub(crate) fn iter_best_first(&self) -> impl DoubleEndedIterator<Item = &Level> + ExactSizeIterator {
        self.levels.iter().rev()
    }

    pub(crate) fn clear(&mut self) {
        self.levels.clear();
    }
}
