//! Price-time matching: an incoming order against the opposite side while
//! prices cross, and how much a fill-or-kill order could get before it tries.

use super::{DoneReason, Engine, Event, FillSide, Output, Stop};
use crate::types::{OrderId, Owner, Price, Qty, Side, UnixNanos};

impl Engine {
    /// Trades the incoming order against the opposite side while prices
    /// cross; returns its unfilled quantity and why matching stopped.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn match_incoming(
        &mut self,
        order_id: OrderId,
        owner: Owner,
        side: Side,
        limit: Price,
        qty: Qty,
        ts: UnixNanos,
        out: &mut Output,
    ) -> (Qty, Stop) {
        let opposite = side.opposite();
        let mut leaves = qty;
        while !leaves.is_zero() {
            let Some(maker) = self.book.front(opposite).copied() else {
                break;
            };
            if !crosses(side, limit, maker.price) {
                break;
            }
            if maker.owner.prevents_trade_with(owner) {
                return (leaves, Stop::SelfTrade);
            }
            let price = maker.price;
            let traded = leaves.min(maker.leaves);
            let Some(fill) = self.book.fill_best(opposite, traded) else {
                break;
            };
            self.record_level(opposite, price, fill.level_total + traded, fill.level_total);
            leaves -= traded;
            self.trade_seq += 1;
            self.last_trade = Some((price, traded));
            out.events.push(Event::Trade {
                seq: self.trade_seq,
                ts,
                price,
                qty: traded,
                taker_side: side,
                maker: FillSide {
                    order_id: fill.id,
                    owner: fill.owner,
                    leaves: fill.leaves,
                },
                taker: FillSide {
                    order_id,
                    owner,
                    leaves,
                },
            });
            if fill.leaves.is_zero() {
                out.events.push(Event::Done {
                    order_id: fill.id,
                    owner: fill.owner,
                    reason: DoneReason::Filled,
                    filled: fill.filled,
                    ts,
                });
            }
        }
        (leaves, Stop::NoMoreLiquidity)
    }

    /// How much of `qty` an order could fill right now at `limit` or better
    /// before meeting an order it may not trade with.
    pub(super) fn fillable(&self, side: Side, owner: Owner, limit: Price, qty: Qty) -> Qty {
        let mut total = Qty::ZERO;
        for level in self.book.levels(side.opposite()) {
            if !crosses(side, limit, level.price) {
                break;
            }
            if owner == Owner::SIM {
                total += level.total;
            } else {
                for maker in self.book.level_orders(level) {
                    if maker.owner.prevents_trade_with(owner) {
                        return total;
                    }
                    total += maker.leaves;
                    if total >= qty {
                        return total;
                    }
                }
            }
            if total >= qty {
                break;
            }
        }
        total
    }
}

/// Whether an order on `side` limited at `limit` trades with a resting order
/// at `resting`.
#[inline]
pub fn crosses(side: Side, limit: Price, resting: Price) -> bool {
    match side {
        Side::Buy => resting <= limit,
        Side::Sell => resting >= limit,
    }
}
