//! What goes into an engine (`Input`) and what comes out (`Event`).
//!
//! Every change to a book is caused by exactly one `Input`, so journaling the
//! inputs in order is enough to rebuild the engine's state.

use crate::error_code::ErrorCode;
use crate::instrument::Instrument;
use crate::stats::{Candle, Interval};
use crate::types::{OrderId, OrderType, Owner, Price, Qty, Side, TimeInForce, UnixNanos};

/// A new order as the engine sees it: already converted to ticks and lots.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NewOrder {
    pub owner: Owner,
    pub side: Side,
    pub order_type: OrderType,
    /// The limit price; `None` for a market order.
    pub price: Option<Price>,
    pub qty: Qty,
    pub tif: TimeInForce,
    pub post_only: bool,
}

impl NewOrder {
    pub fn limit(owner: Owner, side: Side, price: Price, qty: Qty, tif: TimeInForce) -> NewOrder {
        NewOrder {
            owner,
            side,
            order_type: OrderType::Limit,
            price: Some(price),
            qty,
            tif,
            post_only: false,
        }
    }

    pub fn market(owner: Owner, side: Side, qty: Qty) -> NewOrder {
        NewOrder {
            owner,
            side,
            order_type: OrderType::Market,
            price: None,
            qty,
            tif: TimeInForce::Ioc,
            post_only: false,
        }
    }
}

/// One input to a symbol's engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Input {
    New(NewOrder),
    Cancel {
        owner: Owner,
        order_id: OrderId,
    },
    /// Changes a resting order. A smaller quantity at the same price keeps the
    /// order's time priority; a new price or a larger quantity sends it to the
    /// back of the queue at its (new) price, where it may trade at once.
    Amend {
        owner: Owner,
        order_id: OrderId,
        price: Price,
        qty: Qty,
    },
}

/// Why an input was refused. Nothing changes when an input is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reject {
    /// A limit order without a positive price, or a market order with one.
    InvalidPrice {
        price: Option<Price>,
    },
    /// Quantity not positive, or above the instrument's maximum.
    InvalidQty {
        qty: Qty,
    },
    PriceOutOfBand {
        price: Price,
        reference: Price,
        band_ticks: i64,
    },
    PostOnlyWouldCross {
        price: Price,
        opposite: Price,
    },
    /// `post_only` on anything but a limit gtc order.
    PostOnlyNeedsGtcLimit,
    /// No such open order of this owner (another owner's order is reported
    /// the same way, so ids reveal nothing).
    UnknownOrder {
        order_id: OrderId,
    },
}

impl Reject {
    /// The PROTOCOL.md error code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Reject::InvalidPrice { .. } => ErrorCode::InvalidPrice,
            Reject::InvalidQty { .. } => ErrorCode::InvalidQty,
            Reject::PriceOutOfBand { .. } => ErrorCode::PriceOutOfBand,
            Reject::PostOnlyWouldCross { .. } => ErrorCode::PostOnlyWouldCross,
            Reject::PostOnlyNeedsGtcLimit => ErrorCode::BadRequest,
            Reject::UnknownOrder { .. } => ErrorCode::UnknownOrder,
        }
    }

    /// A message a person can act on, with the instrument's wire decimals.
    pub fn message(&self, instrument: &Instrument) -> String {
        let p = |price: Price| instrument.format_price(price);
        match *self {
            Reject::InvalidPrice { price: Some(price) } => {
                format!("price {} must be positive", p(price))
            }
            Reject::InvalidPrice { price: None } => "a limit order needs a price".to_string(),
            Reject::InvalidQty { qty } if qty.0 <= 0 => "qty must be positive".to_string(),
            Reject::InvalidQty { qty } => format!(
                "qty {} is above the maximum {} for {}",
                instrument.format_qty(qty),
                instrument.format_qty(instrument.max_qty),
                instrument.symbol
            ),
            Reject::PriceOutOfBand {
                price,
                reference,
                band_ticks,
            } => format!(
                "price {} is outside the band of {} around the reference price {} (allowed {} to {})",
                p(price),
                instrument.band,
                p(reference),
                p(Price((reference.0 - band_ticks).max(1))),
                p(Price(reference.0 + band_ticks))
            ),
            Reject::PostOnlyWouldCross { price, opposite } => {
                format!(
                    "post-only price {} would cross the opposite best price {}",
                    p(price),
                    p(opposite)
                )
            }
            Reject::PostOnlyNeedsGtcLimit => {
                "post_only is allowed only on limit orders with tif gtc".to_string()
            }
            Reject::UnknownOrder { order_id } => {
                format!("no open order {order_id} for this account")
            }
        }
    }
}

/// Why an order left the book (or never rested).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DoneReason {
    Filled,
    Canceled,
    /// Unfilled remainder of an IOC, FOK or market order.
    Expired,
    SelfTradePrevented,
}

impl DoneReason {
    pub fn as_str(self) -> &'static str {
        match self {
            DoneReason::Filled => "filled",
            DoneReason::Canceled => "canceled",
            DoneReason::Expired => "expired",
            DoneReason::SelfTradePrevented => "self_trade_prevented",
        }
    }
}

/// One side of a trade, for the private `fill` events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FillSide {
    pub order_id: OrderId,
    pub owner: Owner,
    /// The order's open quantity after this fill.
    pub leaves: Qty,
}

/// A new total quantity at a price level (zero: the level is gone).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LevelChange {
    pub side: Side,
    pub price: Price,
    pub qty: Qty,
}

/// What happened, in the order it happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    Accepted {
        order_id: OrderId,
        order: NewOrder,
        ts: UnixNanos,
    },
    Rejected {
        owner: Owner,
        reject: Reject,
        ts: UnixNanos,
    },
    Amended {
        order_id: OrderId,
        owner: Owner,
        price: Price,
        leaves: Qty,
        ts: UnixNanos,
    },
    /// A trade; `seq` is the symbol's trade sequence (the `trades` stream).
    Trade {
        seq: u64,
        ts: UnixNanos,
        price: Price,
        qty: Qty,
        taker_side: Side,
        maker: FillSide,
        taker: FillSide,
    },
    /// The order is no longer open; `filled` is its total filled quantity.
    Done {
        order_id: OrderId,
        owner: Owner,
        reason: DoneReason,
        filled: Qty,
        ts: UnixNanos,
    },
    /// The L2 book changed; `seq` is the symbol's book sequence and the
    /// changed levels are `Output::level_changes[start..start + len]`.
    BookUpdate {
        seq: u64,
        ts: UnixNanos,
        start: u32,
        len: u32,
    },
    /// The ticker changed (added by `market`; the figures are its
    /// `TickerState::latest`).
    Ticker { seq: u64, ts: UnixNanos },
    /// The market halted or resumed trading (added by `market`, on the
    /// ticker stream).
    Status {
        seq: u64,
        ts: UnixNanos,
        halted: bool,
    },
    /// The current bar of a candle series changed (added by `market`).
    Candle {
        interval: Interval,
        seq: u64,
        ts: UnixNanos,
        candle: Candle,
    },
}

/// Where `Engine::apply` appends its events. Reused from one input to the
/// next (call `clear`), so steady-state operation allocates nothing.
#[derive(Clone, Debug, Default)]
pub struct Output {
    pub events: Vec<Event>,
    pub level_changes: Vec<LevelChange>,
}

impl Output {
    pub fn with_capacity(events: usize) -> Output {
        Output {
            events: Vec::with_capacity(events),
            level_changes: Vec::with_capacity(events),
        }
    }

    pub fn clear(&mut self) {
        self.events.clear();
        self.level_changes.clear();
    }

    /// The level changes of a `BookUpdate` event (empty for other events).
    pub fn changes_of(&self, event: &Event) -> &[LevelChange] {
        match *event {
            Event::BookUpdate { start, len, .. } => {
                &self.level_changes[start as usize..(start + len) as usize]
            }
            _ => &[],
        }
    }
}
