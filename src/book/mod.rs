//! The limit order book of one instrument: price levels per side, a FIFO of
//! orders per level, and an id index for O(1) cancel.
//!
//! Orders live in a slab (a `Vec` with an intrusive free list) and link to
//! their neighbours at the same level by slab index, so adding, filling or
//! cancelling an order allocates nothing once the slab, the ladders and the
//! index have grown to the book's working size. The book enforces no trading
//! rules; `engine` decides what goes in and out and keeps it uncrossed.

pub mod l2;
mod ladder;

use rustc_hash::FxHashMap;

use ladder::Ladder;

use crate::types::{OrderId, Owner, Price, Qty, Side, UnixNanos};

/// The end of an intrusive list.
const NIL: u32 = u32::MAX;

/// A price level: the aggregate the L2 feed shows, plus the ends of its FIFO
/// queue of orders (slab indices; the orders link to each other).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Level {
    pub price: Price,
    /// Sum of the leaves quantity of the orders at this level.
    pub total: Qty,
    /// Number of orders at this level.
    pub count: u32,
    head: u32,
    tail: u32,
}

/// An order resting in the book.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RestingOrder {
    pub id: OrderId,
    pub owner: Owner,
    pub side: Side,
    pub price: Price,
    /// Quantity still open.
    pub leaves: Qty,
    /// Quantity filled so far.
    pub filled: Qty,
    /// When it took its place in the queue.
    pub ts: UnixNanos,
    /// Level slab index (free slots reuse it for the free list).
    level: u32,
    prev: u32,
    next: u32,
}

/// What `fill_best` did to the order at the front of the queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MakerFill {
    pub id: OrderId,
    pub owner: Owner,
    pub price: Price,
    pub leaves: Qty,
    pub filled: Qty,
    /// The level's total quantity after the fill.
    pub level_total: Qty,
}

#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Book {
    bids: Ladder,
    asks: Ladder,
    /// Slab of orders; free slots are chained through `next`.
    orders: Vec<RestingOrder>,
    free_order: u32,
    /// Slab of levels (both sides); free slots are chained through `head`.
    levels: Vec<Level>,
    free_level: u32,
    /// Order id to order slab index. Only looked up, never iterated, so its
    /// order never reaches any output.
    #[serde(serialize_with = "crate::types::sorted_map::serialize")]
    index: FxHashMap<OrderId, u32>,
}

/// Vectors cloned with the capacity of the original, so a cloned book is as
/// ready for steady-state work (no growth) as the book it came from.
fn clone_with_capacity<T: Clone>(v: &Vec<T>) -> Vec<T> {
    let mut copy = Vec::with_capacity(v.capacity());
    copy.extend_from_slice(v);
    copy
}

impl Clone for Book {
    fn clone(&self) -> Self {
        let mut index = FxHashMap::default();
        index.reserve(self.index.capacity());
        index.extend(self.index.iter().map(|(k, v)| (*k, *v)));
        Book {
            bids: self.bids.clone(),
            asks: self.asks.clone(),
            orders: clone_with_capacity(&self.orders),
            free_order: self.free_order,
            levels: clone_with_capacity(&self.levels),
            free_level: self.free_level,
            index,
        }
    }
}

impl Default for Book {
    fn default() -> Self {
        Book::with_capacity(1024, 1024)
    }
}

impl Book {
    /// A book pre-sized for `orders` resting orders over `levels` levels per
    /// side (it grows past them if needed).
    pub fn with_capacity(orders: usize, levels: usize) -> Book {
        let mut index = FxHashMap::default();
        index.reserve(orders);
        Book {
            bids: Ladder::new(Side::Buy, levels),
            asks: Ladder::new(Side::Sell, levels),
            orders: Vec::with_capacity(orders),
            free_order: NIL,
            levels: Vec::with_capacity(2 * levels),
            free_level: NIL,
            index,
        }
    }

    fn ladder(&self, side: Side) -> &Ladder {
        match side {
            Side::Buy => &self.bids,
            Side::Sell => &self.asks,
        }
    }

    /// Number of resting orders.
    pub fn order_count(&self) -> usize {
        self.index.len()
    }

    /// Number of price levels on a side.
    pub fn level_count(&self, side: Side) -> usize {
        self.ladder(side).len()
    }

    #[inline]
    pub fn best(&self, side: Side) -> Option<&Level> {
        self.ladder(side).best().map(|l| &self.levels[l as usize])
    }

    pub fn best_bid(&self) -> Option<Price> {
        self.best(Side::Buy).map(|l| l.price)
    }

    pub fn best_ask(&self) -> Option<Price> {
        self.best(Side::Sell).map(|l| l.price)
    }

    /// Levels of a side from the best outwards.
    pub fn levels(
        &self,
        side: Side,
    ) -> impl DoubleEndedIterator<Item = &Level> + ExactSizeIterator {
        self.ladder(side)
            .iter_best_first()
            .map(|l| &self.levels[l as usize])
    }

    /// Total quantity at a price (zero if there is no level there).
    pub fn level_qty(&self, side: Side, price: Price) -> Qty {
        let ladder = self.ladder(side);
        match ladder.find(price) {
            Ok(position) => self.levels[ladder.level_at(position) as usize].total,
            Err(_) => Qty::ZERO,
        }
    }

    pub fn get(&self, id: OrderId) -> Option<&RestingOrder> {
        self.index.get(&id).map(|&slot| &self.orders[slot as usize])
    }

    /// Orders of one level in time priority.
    pub fn level_orders<'a>(
        &'a self,
        level: &Level,
    ) -> impl Iterator<Item = &'a RestingOrder> + 'a {
        let mut cursor = level.head;
        std::iter::from_fn(move || {
            if cursor == NIL {
                return None;
            }
            let order = &self.orders[cursor as usize];
            cursor = order.next;
            Some(order)
        })
    }

    /// Every order of a side in matching priority: best price first, then
    /// time.
    pub fn orders_by_priority(&self, side: Side) -> impl Iterator<Item = &RestingOrder> {
        self.levels(side)
            .flat_map(move |level| self.level_orders(level))
    }

    /// True when the best bid is at or above the best ask, which the engine
    /// must never let happen.
    pub fn is_crossed(&self) -> bool {
        matches!((self.best_bid(), self.best_ask()), (Some(b), Some(a)) if b >= a)
    }

    /// Appends an order to the back of its price level and returns the
    /// level's new total. The caller guarantees that the id is new and that
    /// the price does not cross the other side. `filled` is what the order
    /// already filled before it came to rest.
    #[allow(clippy::too_many_arguments)]
    pub fn insert(
        &mut self,
        id: OrderId,
        owner: Owner,
        side: Side,
        price: Price,
        qty: Qty,
        filled: Qty,
        ts: UnixNanos,
    ) -> Qty {
        debug_assert!(qty.0 > 0 && !self.index.contains_key(&id));
        let ladder = match side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        };
        let level_slot = match ladder.find(price) {
            Ok(position) => ladder.level_at(position),
            Err(position) => {
                let empty = Level {
                    price,
                    total: Qty::ZERO,
                    count: 0,
                    head: NIL,
                    tail: NIL,
                };
                let slot = if self.free_level != NIL {
                    let slot = self.free_level;
                    self.free_level = self.levels[slot as usize].head;
                    self.levels[slot as usize] = empty;
                    slot
                } else {
                    self.levels.push(empty);
                    (self.levels.len() - 1) as u32
                };
                ladder.insert(position, price, slot);
                slot
            }
        };
        let level = &mut self.levels[level_slot as usize];
        let order = RestingOrder {
            id,
            owner,
            side,
            price,
            leaves: qty,
            filled,
            ts,
            level: level_slot,
            prev: level.tail,
            next: NIL,
        };
        let slot = if self.free_order != NIL {
            let slot = self.free_order;
            self.free_order = self.orders[slot as usize].next;
            self.orders[slot as usize] = order;
            slot
        } else {
            self.orders.push(order);
            (self.orders.len() - 1) as u32
        };
        self.index.insert(id, slot);
        let old_tail = level.tail;
        level.tail = slot;
        if old_tail == NIL {
            level.head = slot;
        } else {
            self.orders[old_tail as usize].next = slot;
        }
        level.total += qty;
        level.count += 1;
        level.total
    }

    /// Removes an order wherever it is in its queue; returns it and its
    /// level's new total.
    pub fn remove(&mut self, id: OrderId) -> Option<(RestingOrder, Qty)> {
        let slot = self.index.remove(&id)?;
        let order = self.orders[slot as usize];
        if order.prev != NIL {
            self.orders[order.prev as usize].next = order.next;
        }
        if order.next != NIL {
            self.orders[order.next as usize].prev = order.prev;
        }
        let level = &mut self.levels[order.level as usize];
        if level.head == slot {
            level.head = order.next;
        }
        if level.tail == slot {
            level.tail = order.prev;
        }
        level.total -= order.leaves;
        level.count -= 1;
        let total = level.total;
        if level.count == 0 {
            self.release_level(order.side, order.level);
        }
        self.release_order(slot);
        Some((order, total))
    }

    /// Lowers an order's open quantity in place, keeping its time priority;
    /// returns the level's new total. `new_leaves` must be positive and below
    /// the current leaves.
    pub fn reduce(&mut self, id: OrderId, new_leaves: Qty) -> Option<Qty> {
        let slot = *self.index.get(&id)?;
        let order = &mut self.orders[slot as usize];
        debug_assert!(new_leaves.0 > 0 && new_leaves < order.leaves);
        let delta = order.leaves - new_leaves;
        order.leaves = new_leaves;
        let level = &mut self.levels[order.level as usize];
        level.total -= delta;
        Some(level.total)
    }

    /// The order at the front of the best level of `side`.
    #[inline]
    pub fn front(&self, side: Side) -> Option<&RestingOrder> {
        let level = self.best(side)?;
        Some(&self.orders[level.head as usize])
    }

    /// Fills `qty` of the order at the front of the best level of `side`
    /// (at most its leaves), removing it and its level when they empty.
    pub fn fill_best(&mut self, side: Side, qty: Qty) -> Option<MakerFill> {
        let level_slot = self.ladder(side).best()?;
        let level = &mut self.levels[level_slot as usize];
        let slot = level.head;
        let order = &mut self.orders[slot as usize];
        let qty = qty.min(order.leaves);
        order.leaves -= qty;
        order.filled += qty;
        level.total -= qty;
        let fill = MakerFill {
            id: order.id,
            owner: order.owner,
            price: order.price,
            leaves: order.leaves,
            filled: order.filled,
            level_total: level.total,
        };
        if order.leaves.is_zero() {
            let next = order.next;
            level.head = next;
            level.count -= 1;
            if next == NIL {
                level.tail = NIL;
                self.release_level(side, level_slot);
            } else {
                self.orders[next as usize].prev = NIL;
            }
            self.index.remove(&fill.id);
            self.release_order(slot);
        }
        Some(fill)
    }

    /// Removes every order.
    pub fn clear(&mut self) {
        self.bids.clear();
        self.asks.clear();
        self.orders.clear();
        self.levels.clear();
        self.index.clear();
        self.free_order = NIL;
        self.free_level = NIL;
    }

    fn release_order(&mut self, slot: u32) {
        self.orders[slot as usize].next = self.free_order;
        self.free_order = slot;
    }

    /// Takes an empty level off its ladder and frees its slot.
    fn release_level(&mut self, side: Side, slot: u32) {
        let price = self.levels[slot as usize].price;
        match side {
            Side::Buy => self.bids.remove(price),
            Side::Sell => self.asks.remove(price),
        }
        self.levels[slot as usize].head = self.free_level;
        self.free_level = slot;
    }
}

#[cfg(test)]
mod tests;
