//! The matching engine of one symbol: validates each input against the
//! instrument and the book, matches by price-time priority, and reports what
//! happened as events with per-stream sequence numbers.
//!
//! Pure and synchronous: time comes in with each input, ids come from
//! counters, and the same inputs always give the same events. One engine is
//! driven by one task (single writer), so nothing inside is locked.

mod events;
mod matching;
pub mod rules;

pub use matching::crosses;
#[cfg(test)]
mod tests;

pub use events::{DoneReason, Event, FillSide, Input, LevelChange, NewOrder, Output, Reject};

use crate::book::{Book, RestingOrder};
use crate::instrument::Instrument;
use crate::types::{OrderId, Owner, Price, Qty, Side, TimeInForce, UnixNanos};

#[derive(serde::Serialize, serde::Deserialize)]
pub struct Engine {
    instrument: Instrument,
    book: Book,
    /// The last order id handed out (ids start at 1).
    last_order_id: u64,
    /// Sequence of the last `BookUpdate` (the `book` stream).
    book_seq: u64,
    /// Sequence of the last `Trade` (the `trades` stream).
    trade_seq: u64,
    last_trade: Option<(Price, Qty)>,
    /// Engine time never goes backwards, whatever the inputs say.
    last_ts: UnixNanos,
    /// Levels changed by the current input: side, price, total before the
    /// input and total now.
    #[serde(skip)]
    touched: Vec<(Side, Price, Qty, Qty)>,
}

impl Clone for Engine {
    /// A clone as ready for steady-state work as the original: the scratch
    /// buffer keeps its capacity (a derived clone would shrink it to zero).
    fn clone(&self) -> Self {
        let mut touched = Vec::with_capacity(self.touched.capacity());
        touched.extend_from_slice(&self.touched);
        Engine {
            instrument: self.instrument.clone(),
            book: self.book.clone(),
            last_order_id: self.last_order_id,
            book_seq: self.book_seq,
            trade_seq: self.trade_seq,
            last_trade: self.last_trade,
            last_ts: self.last_ts,
            touched,
        }
    }
}

/// Why matching stopped before the taker was filled.
#[derive(PartialEq, Eq)]
enum Stop {
    NoMoreLiquidity,
    SelfTrade,
}

impl Engine {
    pub fn new(instrument: Instrument) -> Engine {
        Engine::with_book(instrument, Book::default())
    }

    /// An engine over a book pre-sized by the caller.
    pub fn with_book(instrument: Instrument, book: Book) -> Engine {
        Engine {
            instrument,
            book,
            last_order_id: 0,
            book_seq: 0,
            trade_seq: 0,
            last_trade: None,
            last_ts: 0,
            touched: Vec::with_capacity(64),
        }
    }

    pub fn instrument(&self) -> &Instrument {
        &self.instrument
    }

    /// Takes the configured names of the instrument (base, quote, Binance
    /// symbol), which snapshots do not keep.
    pub fn adopt_names(&mut self, configured: &Instrument) {
        self.instrument.base = configured.base.clone();
        self.instrument.quote = configured.quote.clone();
        self.instrument.binance = configured.binance.clone();
    }

    pub fn book(&self) -> &Book {
        &self.book
    }

    /// The last order id handed out (0 before the first order).
    pub fn last_order_id(&self) -> OrderId {
        OrderId(self.last_order_id)
    }

    pub fn book_seq(&self) -> u64 {
        self.book_seq
    }

    pub fn trade_seq(&self) -> u64 {
        self.trade_seq
    }

    pub fn last_trade(&self) -> Option<(Price, Qty)> {
        self.last_trade
    }

    /// The latest engine time seen.
    pub fn now(&self) -> UnixNanos {
        self.last_ts
    }

    /// The price the band is measured from: the last trade, else the mid of
    /// a two-sided book, else the instrument's start price.
    pub fn reference_price(&self) -> Price {
        if let Some((price, _)) = self.last_trade {
            return price;
        }
        match (self.book.best_bid(), self.book.best_ask()) {
            (Some(bid), Some(ask)) => Price((bid.0 + ask.0) / 2),
            _ => self.instrument.start_price,
        }
    }

    /// Applies one input at time `ts`, appending its events to `out`. On
    /// success returns the order concerned; a refused input changes nothing
    /// and yields one `Rejected` event.
    pub fn apply(
        &mut self,
        ts: UnixNanos,
        input: &Input,
        out: &mut Output,
    ) -> Result<OrderId, Reject> {
        let ts = ts.max(self.last_ts);
        let result = match *input {
            Input::New(order) => self.submit(order, ts, out),
            Input::Cancel { owner, order_id } => self.cancel(owner, order_id, ts, out),
            Input::Amend {
                owner,
                order_id,
                price,
                qty,
            } => self.amend(owner, order_id, price, qty, ts, out),
        };
        match result {
            // Not even the clock moves for a refused input.
            Err(reject) => {
                let owner = match *input {
                    Input::New(o) => o.owner,
                    Input::Cancel { owner, .. } | Input::Amend { owner, .. } => owner,
                };
                out.events.push(Event::Rejected { owner, reject, ts });
            }
            Ok(_) => self.last_ts = ts,
        }
        self.publish_book_update(ts, out);
        result
    }

    fn check_qty(&self, qty: Qty) -> Result<(), Reject> {
        rules::check_qty(&self.instrument, qty)
    }

    fn check_band(&self, price: Price) -> Result<(), Reject> {
        rules::check_band(&self.instrument, price, self.reference_price())
    }

    fn submit(
        &mut self,
        order: NewOrder,
        ts: UnixNanos,
        out: &mut Output,
    ) -> Result<OrderId, Reject> {
        let best_opposite = self.book.best(order.side.opposite()).map(|l| l.price);
        let (order, limit) = rules::check_new(
            &self.instrument,
            order,
            self.reference_price(),
            best_opposite,
        )?;

        self.last_order_id += 1;
        let order_id = OrderId(self.last_order_id);
        out.events.push(Event::Accepted {
            order_id,
            order,
            ts,
        });
        if order.tif == TimeInForce::Fok
            && self.fillable(order.side, order.owner, limit, order.qty) < order.qty
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
        let rests = order.tif == TimeInForce::Gtc;
        self.enter(
            order_id,
            order.owner,
            order.side,
            limit,
            order.qty,
            Qty::ZERO,
            rests,
            ts,
            out,
        );
        Ok(order_id)
    }

    /// Matches an incoming order and then rests it (`rests`) or ends it.
    /// `prior_filled` counts fills from before an amend.
    #[allow(clippy::too_many_arguments)]
    fn enter(
        &mut self,
        order_id: OrderId,
        owner: Owner,
        side: Side,
        limit: Price,
        qty: Qty,
        prior_filled: Qty,
        rests: bool,
        ts: UnixNanos,
        out: &mut Output,
    ) {
        let (leaves, stop) = self.match_incoming(order_id, owner, side, limit, qty, ts, out);
        let filled = prior_filled + (qty - leaves);
        let reason = if leaves.is_zero() {
            DoneReason::Filled
        } else if stop == Stop::SelfTrade {
            DoneReason::SelfTradePrevented
        } else if rests {
            let total = self
                .book
                .insert(order_id, owner, side, limit, leaves, filled, ts);
            self.record_level(side, limit, total - leaves, total);
            return;
        } else {
            DoneReason::Expired
        };
        out.events.push(Event::Done {
            order_id,
            owner,
            reason,
            filled,
            ts,
        });
    }

    /// The resting order `order_id` if `owner` owns it; another owner's
    /// order is as unknown as a missing one.
    fn owned_order(&self, owner: Owner, order_id: OrderId) -> Result<RestingOrder, Reject> {
        let order = self.book.get(order_id).filter(|o| o.owner == owner);
        order.copied().ok_or(Reject::UnknownOrder { order_id })
    }

    fn cancel(
        &mut self,
        owner: Owner,
        order_id: OrderId,
        ts: UnixNanos,
        out: &mut Output,
    ) -> Result<OrderId, Reject> {
        let resting = self.owned_order(owner, order_id)?;
        self.remove_resting(order_id);
        out.events.push(Event::Done {
            order_id,
            owner,
            reason: DoneReason::Canceled,
            filled: resting.filled,
            ts,
        });
        Ok(order_id)
    }

    fn amend(
        &mut self,
        owner: Owner,
        order_id: OrderId,
        price: Price,
        qty: Qty,
        ts: UnixNanos,
        out: &mut Output,
    ) -> Result<OrderId, Reject> {
        let resting = self.owned_order(owner, order_id)?;
        self.check_qty(qty)?;
        if price != resting.price {
            self.check_band(price)?;
        }
        out.events.push(Event::Amended {
            order_id,
            owner,
            price,
            leaves: qty,
            ts,
        });
        if price == resting.price && qty <= resting.leaves {
            if qty < resting.leaves
                && let Some(total) = self.book.reduce(order_id, qty)
            {
                self.record_level(resting.side, price, total + (resting.leaves - qty), total);
            }
            return Ok(order_id);
        }
        self.remove_resting(order_id);
        self.enter(
            order_id,
            owner,
            resting.side,
            price,
            qty,
            resting.filled,
            true,
            ts,
            out,
        );
        Ok(order_id)
    }

    fn remove_resting(&mut self, order_id: OrderId) {
        if let Some((order, total)) = self.book.remove(order_id) {
            self.record_level(order.side, order.price, total + order.leaves, total);
        }
    }

    /// Notes a level the current input changed: its total before (kept from
    /// the first change) and now.
    #[inline]
    fn record_level(&mut self, side: Side, price: Price, before: Qty, after: Qty) {
        match self
            .touched
            .iter_mut()
            .find(|t| t.0 == side && t.1 == price)
        {
            Some(entry) => entry.3 = after,
            None => self.touched.push((side, price, before, after)),
        }
    }

    /// Turns the levels touched by this input into one `BookUpdate` (bids
    /// best first, then asks best first), if any level really changed.
    fn publish_book_update(&mut self, ts: UnixNanos, out: &mut Output) {
        if self.touched.is_empty() {
            return;
        }
        self.touched
            .sort_unstable_by_key(|&(side, price, _, _)| match side {
                Side::Buy => (0, -price.0),
                Side::Sell => (1, price.0),
            });
        let start = out.level_changes.len();
        for &(side, price, before, qty) in &self.touched {
            if qty != before {
                out.level_changes.push(LevelChange { side, price, qty });
            }
        }
        self.touched.clear();
        let len = out.level_changes.len() - start;
        if len > 0 {
            self.book_seq += 1;
            out.events.push(Event::BookUpdate {
                seq: self.book_seq,
                ts,
                start: start as u32,
                len: len as u32,
            });
        }
    }
}
