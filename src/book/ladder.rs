//! One side of the book: the prices of its levels, sorted so that the best
//! is last, each with the slab index of its level.
//!
//! Only 12 bytes per level (a sort key and a slab index, in two parallel
//! vectors) move when a level is added or removed in the middle; the level's
//! data stays put in the book's level slab, where orders point at it
//! directly. The best level is the last element, so matching works at the
//! end of the vectors, and lookups are a binary search over a dense `i64`
//! array. Nothing here allocates once the vectors have grown to the book's
//! working size.

use crate::types::{Price, Side};

#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub(crate) struct Ladder {
    side: Side,
    /// Sort keys, ascending: the price for bids, the negated price for asks,
    /// so the best level is last on both sides.
    keys: Vec<i64>,
    /// Level slab index of each key.
    levels: Vec<u32>,
}

impl Clone for Ladder {
    /// Keeps the capacity, so a cloned book does not grow in steady state.
    fn clone(&self) -> Self {
        let mut copy = Ladder::new(self.side, self.keys.capacity());
        copy.keys.extend_from_slice(&self.keys);
        copy.levels.extend_from_slice(&self.levels);
        copy
    }
}

impl Ladder {
    pub(crate) fn new(side: Side, capacity: usize) -> Ladder {
        Ladder {
            side,
            keys: Vec::with_capacity(capacity),
            levels: Vec::with_capacity(capacity),
        }
    }

    #[inline]
    fn key(&self, price: Price) -> i64 {
        match self.side {
            Side::Buy => price.0,
            Side::Sell => -price.0,
        }
    }

    /// The position of `price`, or where it would be inserted.
    #[inline]
    pub(crate) fn find(&self, price: Price) -> Result<usize, usize> {
        let key = self.key(price);
        // Most activity is at the touch: look at the end before searching.
        match self.keys.last() {
            Some(&last) if key == last => Ok(self.keys.len() - 1),
            Some(&last) if key > last => Err(self.keys.len()),
            None => Err(0),
            _ => self.keys.binary_search(&key),
        }
    }

    /// The level slab index at a position from `find`.
    #[inline]
    pub(crate) fn level_at(&self, position: usize) -> u32 {
        self.levels[position]
    }

    #[inline]
    pub(crate) fn best(&self) -> Option<u32> {
        self.levels.last().copied()
    }

    #[inline]
    pub(crate) fn insert(&mut self, position: usize, price: Price, level: u32) {
        let key = self.key(price);
        self.keys.insert(position, key);
        self.levels.insert(position, level);
    }

    /// Removes the level at `price`, if present.
    #[inline]
    pub(crate) fn remove(&mut self, price: Price) {
        if let Ok(position) = self.find(price) {
            self.keys.remove(position);
            self.levels.remove(position);
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }

    /// Level slab indices from the best outwards.
    pub(crate) fn iter_best_first(
        &self,
    ) -> impl DoubleEndedIterator<Item = u32> + ExactSizeIterator + '_ {
        self.levels.iter().rev().copied()
    }

    pub(crate) fn clear(&mut self) {
        self.keys.clear();
        self.levels.clear();
    }
}
