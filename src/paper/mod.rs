//! Paper trading against a replayed market: clients' orders filled
//! against the recorded book and trades, without changing them. Pure and
//! synchronous: the replay task hands in the displayed book, each book
//! change and each trade in replay order, and the orders at their replay
//! time; the same inputs give the same fills.
//!
//! The model (a queue-position model of the kind backtesters such as
//! hftbacktest use, documented in `docs/testing.md`):
//!
//! - A marketable order takes the displayed liquidity at the prices and
//!   sizes shown, best first, up to its limit. What paper orders took of a
//!   level is remembered until the replay changes that level, so two paper
//!   orders cannot take the same displayed quantity twice.
//! - A resting order joins the queue behind the quantity displayed at its
//!   price when it arrived (`ahead`). A replayed trade at its price
//!   consumes the queue ahead first, and what it leaves fills the order. A
//!   level shrinking without trades shortens the queue ahead to at most
//!   what is left (cancellations are taken to be ahead of the order: the
//!   cautious reading). A trade through its price (a sell below a paper
//!   bid, a buy above a paper ask) fills it whole; so does the displayed
//!   opposite side crossing its price, up to the quantity displayed there.
//!   Those fills are at the order's own price: it was resting first.
//! - Paper orders trade only with the replayed market, never with one
//!   another, and the public streams never show them.
//!
//! Events are the engine's (`Accepted`, `Trade`, `Done`, `Amended`), so
//! the gateway books and sends them as it does live ones; the replayed
//! side of a trade is the crowd (`Owner::SIM`). Paper trades have their
//! own sequence (`trade_id` `SYMBOL-paper-N` on the wire).

use crate::book::Book;
use crate::engine::rules::{check_band, check_new, check_qty};
use crate::engine::{DoneReason, Event, FillSide, LevelChange, NewOrder, Output, Reject, crosses};
use crate::instrument::Instrument;
use crate::types::{OrderId, Owner, Price, Qty, Side, TimeInForce, UnixNanos};

/// A paper order resting at its price.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Resting {
    order_id: OrderId,
    owner: Owner,
    side: Side,
    price: Price,
    leaves: Qty,
    filled: Qty,
    /// The displayed quantity still ahead of it in the queue.
    ahead: Qty,
}

/// The paper orders of one symbol and what they took from its book.
#[derive(Clone, Debug)]
pub struct PaperBook {
    instrument: Instrument,
    /// Oldest first (an amend that loses priority goes to the back).
    orders: Vec<Resting>,
    /// Displayed quantity paper orders took per level, until the replay
    /// changes the level.
    taken: Vec<(Side, Price, Qty)>,
    last_order_id: u64,
    trade_seq: u64,
    /// The replayed market's last trade, the reference of the band.
    last_trade: Option<Price>,
}

/// The replayed side of a paper trade.
const CROWD: FillSide = FillSide {
    order_id: OrderId(0),
    owner: Owner::SIM,
    leaves: Qty::ZERO,
};

impl PaperBook {
    pub fn new(instrument: Instrument) -> PaperBook {
        PaperBook {
            instrument,
            orders: Vec::new(),
            taken: Vec::new(),
            last_order_id: 0,
            trade_seq: 0,
            last_trade: None,
        }
    }

    pub fn instrument(&self) -> &Instrument {
        &self.instrument
    }

    /// Whether any paper order rests (else book changes and trades need
    /// not be shown to the paper book).
    pub fn has_orders(&self) -> bool {
        !self.orders.is_empty()
    }

    /// The band's reference: the last replayed trade, else the displayed
    /// mid, else the instrument's start price.
    fn reference(&self, book: &Book) -> Price {
        if let Some(price) = self.last_trade {
            return price;
        }
        match (book.best_bid(), book.best_ask()) {
            (Some(bid), Some(ask)) => Price((bid.0 + ask.0) / 2),
            _ => self.instrument.start_price,
        }
    }

    fn taken(&self, side: Side, price: Price) -> Qty {
        self.taken
            .iter()
            .find(|t| t.0 == side && t.1 == price)
            .map_or(Qty::ZERO, |t| t.2)
    }

    fn take(&mut self, side: Side, price: Price, qty: Qty) {
        match self.taken.iter_mut().find(|t| t.0 == side && t.1 == price) {
            Some(t) => t.2 += qty,
            None => self.taken.push((side, price, qty)),
        }
    }

    /// What paper orders may still take of the displayed `side` up to
    /// `limit`, best first: (price, quantity).
    fn available(&self, book: &Book, side: Side, limit: Price) -> Vec<(Price, Qty)> {
        book.levels(side)
            .take_while(|l| crosses(side.opposite(), limit, l.price))
            .map(|l| (l.price, l.total - self.taken(side, l.price).min(l.total)))
            .filter(|(_, q)| !q.is_zero())
            .collect()
    }

    fn next_trade(&mut self) -> u64 {
        self.trade_seq += 1;
        self.trade_seq
    }

    /// A new order at replay time `ts`: the engine's rules, then it takes
    /// what it can and rests (gtc) or ends.
    pub fn order(
        &mut self,
        ts: UnixNanos,
        order: NewOrder,
        book: &Book,
        out: &mut Output,
    ) -> Result<OrderId, Reject> {
        let best_opposite = book.best(order.side.opposite()).map(|l| l.price);
        let (order, limit) =
            check_new(&self.instrument, order, self.reference(book), best_opposite)?;
        self.last_order_id += 1;
        let order_id = OrderId(self.last_order_id);
        out.events.push(Event::Accepted {
            order_id,
            order,
            ts,
        });
        let available = self.available(book, order.side.opposite(), limit);
        if order.tif == TimeInForce::Fok
            && available.iter().fold(Qty::ZERO, |sum, (_, q)| sum + *q) < order.qty
        {
            out.events.push(Event::Done {
                order_id,
                owner: order.owner,
                reason: DoneReason::Expired,
                filled: Qty::ZERO,
                ts,
            });
            return Ok(order_id);
        }
        let resting = Resting {
            order_id,
            owner: order.owner,
            side: order.side,
            price: limit,
            leaves: order.qty,
            filled: Qty::ZERO,
            ahead: Qty::ZERO,
        };
        self.enter(resting, order.tif == TimeInForce::Gtc, ts, book, out);
        Ok(order_id)
    }

    /// Takes the displayed liquidity a (new or re-priced) order crosses,
    /// then rests it behind the displayed queue at its price or ends it.
    fn enter(
        &mut self,
        mut order: Resting,
        rests: bool,
        ts: UnixNanos,
        book: &Book,
        out: &mut Output,
    ) {
        let opposite = order.side.opposite();
        for (price, available) in self.available(book, opposite, order.price) {
            if order.leaves.is_zero() {
                break;
            }
            let qty = order.leaves.min(available);
            self.take(opposite, price, qty);
            order.leaves -= qty;
            order.filled += qty;
            let seq = self.next_trade();
            out.events.push(Event::Trade {
                seq,
                ts,
                price,
                qty,
                taker_side: order.side,
                maker: CROWD,
                taker: FillSide {
                    order_id: order.order_id,
                    owner: order.owner,
                    leaves: order.leaves,
                },
            });
        }
        let reason = if order.leaves.is_zero() {
            DoneReason::Filled
        } else if rests {
            order.ahead = book.level_qty(order.side, order.price);
            self.orders.push(order);
            return;
        } else {
            DoneReason::Expired
        };
        out.events.push(Event::Done {
            order_id: order.order_id,
            owner: order.owner,
            reason,
            filled: order.filled,
            ts,
        });
    }

    fn owned(&self, owner: Owner, order_id: OrderId) -> Result<usize, Reject> {
        self.orders
            .iter()
            .position(|o| o.order_id == order_id && o.owner == owner)
            .ok_or(Reject::UnknownOrder { order_id })
    }

    pub fn cancel(
        &mut self,
        ts: UnixNanos,
        owner: Owner,
        order_id: OrderId,
        out: &mut Output,
    ) -> Result<OrderId, Reject> {
        let order = self.orders.remove(self.owned(owner, order_id)?);
        out.events.push(Event::Done {
            order_id,
            owner,
            reason: DoneReason::Canceled,
            filled: order.filled,
            ts,
        });
        Ok(order_id)
    }

    /// A new price and/or open quantity (`leaves`): less at the same price
    /// keeps the order's place; a new price or more goes to the back of
    /// the queue at its price, where it may trade at once (as live).
    #[allow(clippy::too_many_arguments)]
    pub fn amend(
        &mut self,
        ts: UnixNanos,
        owner: Owner,
        order_id: OrderId,
        price: Price,
        leaves: Qty,
        book: &Book,
        out: &mut Output,
    ) -> Result<OrderId, Reject> {
        let index = self.owned(owner, order_id)?;
        check_qty(&self.instrument, leaves)?;
        let current = &self.orders[index];
        if price != current.price {
            check_band(&self.instrument, price, self.reference(book))?;
        }
        out.events.push(Event::Amended {
            order_id,
            owner,
            price,
            leaves,
            ts,
        });
        if price == current.price && leaves <= current.leaves {
            self.orders[index].leaves = leaves;
            return Ok(order_id);
        }
        let mut order = self.orders.remove(index);
        order.price = price;
        order.leaves = leaves;
        self.enter(order, true, ts, book, out);
        Ok(order_id)
    }

    /// The replay changed these levels of the displayed `book` (now
    /// applied): what paper orders took of them is forgotten, queues ahead
    /// shrink to what is displayed, and resting orders the opposite side
    /// now crosses fill.
    pub fn book_changed(
        &mut self,
        ts: UnixNanos,
        changes: &[LevelChange],
        book: &Book,
        out: &mut Output,
    ) {
        for change in changes {
            self.taken
                .retain(|t| !(t.0 == change.side && t.1 == change.price));
            for order in &mut self.orders {
                if order.side == change.side && order.price == change.price {
                    order.ahead = order.ahead.min(change.qty);
                }
            }
        }
        self.fill_crossed(ts, book, out);
    }

    /// The replay rebuilt the whole displayed book (a snapshot, a new pass).
    pub fn book_replaced(&mut self, ts: UnixNanos, book: &Book, out: &mut Output) {
        self.taken.clear();
        for order in &mut self.orders {
            order.ahead = order.ahead.min(book.level_qty(order.side, order.price));
        }
        self.fill_crossed(ts, book, out);
    }

    /// Resting orders that the displayed opposite side crosses fill at
    /// their own price, up to the quantity displayed there.
    fn fill_crossed(&mut self, ts: UnixNanos, book: &Book, out: &mut Output) {
        let mut i = 0;
        while i < self.orders.len() {
            let order = &self.orders[i];
            let opposite = order.side.opposite();
            let crossing = book
                .best(opposite)
                .is_some_and(|l| crosses(order.side, order.price, l.price));
            if crossing {
                let (side, price) = (order.side, order.price);
                for (level, available) in self.available(book, opposite, price) {
                    let leaves = self.orders[i].leaves;
                    if leaves.is_zero() {
                        break;
                    }
                    let qty = leaves.min(available);
                    self.take(opposite, level, qty);
                    self.fill_resting(i, qty, side.opposite(), ts, out);
                }
            }
            if self.orders[i].leaves.is_zero() {
                self.finish(i, ts, out);
            } else {
                i += 1;
            }
        }
    }

    /// A fill of resting order `i` at its own price, against the crowd.
    fn fill_resting(
        &mut self,
        i: usize,
        qty: Qty,
        taker_side: Side,
        ts: UnixNanos,
        out: &mut Output,
    ) {
        let seq = self.next_trade();
        let order = &mut self.orders[i];
        order.leaves -= qty;
        order.filled += qty;
        out.events.push(Event::Trade {
            seq,
            ts,
            price: order.price,
            qty,
            taker_side,
            maker: FillSide {
                order_id: order.order_id,
                owner: order.owner,
                leaves: order.leaves,
            },
            taker: CROWD,
        });
    }

    /// Resting order `i` is filled: it leaves the book.
    fn finish(&mut self, i: usize, ts: UnixNanos, out: &mut Output) {
        let order = self.orders.remove(i);
        out.events.push(Event::Done {
            order_id: order.order_id,
            owner: order.owner,
            reason: DoneReason::Filled,
            filled: order.filled,
            ts,
        });
    }

    /// A replayed trade: `taker_side` took `qty` at `price`. Resting paper
    /// orders on the other side at that price fill with what the queue
    /// ahead of them leaves; those it traded through fill whole.
    pub fn trade(
        &mut self,
        ts: UnixNanos,
        price: Price,
        qty: Qty,
        taker_side: Side,
        out: &mut Output,
    ) {
        self.last_trade = Some(price);
        let maker_side = taker_side.opposite();
        // The volume that got past the front of the paper orders here.
        let front = self
            .orders
            .iter()
            .filter(|o| o.side == maker_side && o.price == price)
            .map(|o| o.ahead)
            .min();
        let mut budget = front.map_or(Qty::ZERO, |ahead| qty - ahead.min(qty));
        let mut i = 0;
        while i < self.orders.len() {
            let order = &self.orders[i];
            if order.side != maker_side {
                i += 1;
                continue;
            }
            let through = crosses(taker_side, price, order.price) && price != order.price;
            let fill = if through {
                order.leaves
            } else if order.price == price {
                let past = qty - order.ahead.min(qty);
                let fill = order.leaves.min(past).min(budget);
                budget -= fill;
                self.orders[i].ahead = self.orders[i].ahead - self.orders[i].ahead.min(qty);
                fill
            } else {
                Qty::ZERO
            };
            if !fill.is_zero() {
                self.fill_resting(i, fill, taker_side, ts, out);
            }
            if self.orders[i].leaves.is_zero() {
                self.finish(i, ts, out);
            } else {
                i += 1;
            }
        }
    }

    /// The orders of `owner` resting, oldest first: (order id, side,
    /// price, leaves, queue ahead) — for tests and the docs' examples.
    pub fn resting(&self, owner: Owner) -> Vec<(OrderId, Side, Price, Qty, Qty)> {
        self.orders
            .iter()
            .filter(|o| o.owner == owner)
            .map(|o| (o.order_id, o.side, o.price, o.leaves, o.ahead))
            .collect()
    }
}

#[cfg(test)]
mod tests;
