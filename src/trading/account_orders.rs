//! One account's orders: the open ones (for `open_orders`, cancels and
//! cancel-on-disconnect) and its client order ids of its history (24 hours
//! by default, `AccountConfig::history`) with
//! what became of them (for `duplicate_client_order_id`).

use std::collections::{BTreeMap, VecDeque};

use rustc_hash::{FxHashMap, FxHashSet};

use crate::engine::DoneReason;
use crate::types::{OrderId, OrderType, Price, Qty, Side, SymbolId, TimeInForce, UnixNanos};

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OpenOrder {
    pub symbol: SymbolId,
    pub order_id: OrderId,
    pub client_order_id: Option<String>,
    pub side: Side,
    pub order_type: OrderType,
    pub price: Option<Price>,
    pub qty: Qty,
    pub leaves: Qty,
    pub tif: TimeInForce,
    /// Post-only: an amend may not make it take liquidity either.
    pub post_only: bool,
    pub ts: UnixNanos,
    /// The connection that placed it (for cancel-on-disconnect).
    pub conn: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ClientOrderStatus {
    /// Reserved by a request the engine has not answered yet.
    Pending,
    Open,
    Filled,
    Canceled,
    Expired,
}

impl ClientOrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ClientOrderStatus::Pending | ClientOrderStatus::Open => "open",
            ClientOrderStatus::Filled => "filled",
            ClientOrderStatus::Canceled => "canceled",
            ClientOrderStatus::Expired => "expired",
        }
    }

    fn after(reason: DoneReason) -> ClientOrderStatus {
        match reason {
            DoneReason::Filled => ClientOrderStatus::Filled,
            DoneReason::Canceled => ClientOrderStatus::Canceled,
            DoneReason::Expired | DoneReason::SelfTradePrevented => ClientOrderStatus::Expired,
        }
    }
}

/// A client order id taken by an accepted order.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct ClientOrder {
    /// When its order was accepted (engine time, as the journal has it).
    at: UnixNanos,
    order: (SymbolId, OrderId),
    status: ClientOrderStatus,
}

#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct AccountOrders {
    /// Open orders by (symbol, order id): listing order is deterministic.
    open: BTreeMap<(SymbolId, OrderId), OpenOrder>,
    /// Client order ids of orders accepted within the history (looked
    /// up, never iterated). Changed only by acceptances and their times,
    /// so the journal rebuilds it exactly.
    #[serde(serialize_with = "crate::types::sorted_map::serialize")]
    client_ids: FxHashMap<String, ClientOrder>,
    /// The same ids oldest first, to expire them.
    client_id_times: VecDeque<(UnixNanos, String)>,
    /// Ids reserved by requests the engine has not answered yet (not kept:
    /// a restart answers none of them).
    #[serde(skip)]
    pending: FxHashSet<String>,
    /// Orders done within the history, for `order_status`.
    done: BTreeMap<(SymbolId, OrderId), DoneOrder>,
    /// The same orders by the time they ended, oldest first, to expire them.
    done_times: VecDeque<(UnixNanos, SymbolId, OrderId)>,
}

/// An order that ended, as `order_status` reports it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DoneOrder {
    pub order: OpenOrder,
    pub status: ClientOrderStatus,
}

/// An order's state for `order_status`: open, or done within the history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderState<'a> {
    pub order: &'a OpenOrder,
    pub status: ClientOrderStatus,
}

impl OpenOrder {
    /// What has been filled of it so far.
    pub fn filled(&self) -> Qty {
        self.qty - self.leaves
    }
}

impl AccountOrders {
    /// Forgets client order ids taken `history` or more before `now`
    /// (called with engine times, on acceptance).
    fn expire(&mut self, now: UnixNanos, history: u64) {
        while let Some((at, _)) = self.client_id_times.front() {
            if now.saturating_sub(*at) < history {
                break;
            }
            if let Some((at, id)) = self.client_id_times.pop_front()
                && self.client_ids.get(&id).is_some_and(|c| c.at == at)
            {
                self.client_ids.remove(&id);
            }
        }
    }

    /// Takes a client order id for a new order, or says which order has it
    /// (an id taken `history` or more before `now` is free again).
    pub fn reserve(
        &mut self,
        client_order_id: &str,
        now: UnixNanos,
        history: u64,
    ) -> Result<(), (Option<(SymbolId, OrderId)>, ClientOrderStatus)> {
        if self.pending.contains(client_order_id) {
            return Err((None, ClientOrderStatus::Pending));
        }
        if let Some(existing) = self.client_ids.get(client_order_id)
            && now.saturating_sub(existing.at) < history
        {
            return Err((Some(existing.order), existing.status));
        }
        self.pending.insert(client_order_id.to_string());
        Ok(())
    }

    /// Gives back a reservation whose order was refused.
    pub fn release(&mut self, client_order_id: &str) {
        self.pending.remove(client_order_id);
    }

    /// Records an accepted order (it stays open until `done`) and the
    /// client order id it takes.
    pub fn accepted(&mut self, order: OpenOrder, history: u64) {
        if let Some(id) = &order.client_order_id {
            self.pending.remove(id);
            self.expire(order.ts, history);
            self.client_ids.insert(
                id.clone(),
                ClientOrder {
                    at: order.ts,
                    order: (order.symbol, order.order_id),
                    status: ClientOrderStatus::Open,
                },
            );
            self.client_id_times.push_back((order.ts, id.clone()));
        }
        self.open.insert((order.symbol, order.order_id), order);
    }

    /// Changes an open order's price and remaining quantity (`amend`); what
    /// was filled stays filled, so its quantity becomes filled + leaves.
    pub fn amended(
        &mut self,
        symbol: SymbolId,
        order_id: OrderId,
        price: Price,
        leaves: Qty,
    ) -> Option<&OpenOrder> {
        let order = self.open.get_mut(&(symbol, order_id))?;
        order.qty = order.filled() + leaves;
        order.leaves = leaves;
        order.price = Some(price);
        Some(order)
    }

    /// Lowers an open order's leaves after a fill.
    pub fn filled(
        &mut self,
        symbol: SymbolId,
        order_id: OrderId,
        leaves: Qty,
    ) -> Option<&OpenOrder> {
        let order = self.open.get_mut(&(symbol, order_id))?;
        order.leaves = leaves;
        Some(order)
    }

    /// Removes an order that is done at `ts` and records its final status
    /// (kept for the account's `history`, for `order_status`).
    pub fn done(
        &mut self,
        symbol: SymbolId,
        order_id: OrderId,
        reason: DoneReason,
        ts: UnixNanos,
        history: u64,
    ) -> Option<OpenOrder> {
        let order = self.open.remove(&(symbol, order_id))?;
        let status = ClientOrderStatus::after(reason);
        if let Some(id) = &order.client_order_id
            && let Some(entry) = self.client_ids.get_mut(id)
        {
            entry.status = status;
        }
        self.expire_done(ts, history);
        self.done.insert(
            (symbol, order_id),
            DoneOrder {
                order: order.clone(),
                status,
            },
        );
        self.done_times.push_back((ts, symbol, order_id));
        Some(order)
    }

    fn expire_done(&mut self, now: UnixNanos, history: u64) {
        while let Some(&(at, symbol, order_id)) = self.done_times.front() {
            if now.saturating_sub(at) < history {
                break;
            }
            self.done_times.pop_front();
            self.done.remove(&(symbol, order_id));
        }
    }

    /// An order open now or done within the history.
    pub fn status(&self, symbol: SymbolId, order_id: OrderId) -> Option<OrderState<'_>> {
        if let Some(order) = self.open.get(&(symbol, order_id)) {
            return Some(OrderState {
                order,
                status: ClientOrderStatus::Open,
            });
        }
        self.done.get(&(symbol, order_id)).map(|d| OrderState {
            order: &d.order,
            status: d.status,
        })
    }

    /// The order that has this client order id (within the history).
    pub fn status_by_client_id(&self, client_order_id: &str) -> Option<OrderState<'_>> {
        let (symbol, order_id) = self.client_ids.get(client_order_id)?.order;
        self.status(symbol, order_id)
    }

    pub fn get(&self, symbol: SymbolId, order_id: OrderId) -> Option<&OpenOrder> {
        self.open.get(&(symbol, order_id))
    }

    /// The open order with this client order id.
    pub fn by_client_id(&self, client_order_id: &str) -> Option<&OpenOrder> {
        let (symbol, order_id) = self.client_ids.get(client_order_id)?.order;
        self.open.get(&(symbol, order_id))
    }

    /// Every order of a symbol open now or done within the history,
    /// by order id.
    pub fn all(&self, symbol: SymbolId) -> Vec<OrderState<'_>> {
        let range = (symbol, OrderId(0))..=(symbol, OrderId(u64::MAX));
        let open = self.open.range(range.clone()).map(|(key, order)| {
            let state = OrderState {
                order,
                status: ClientOrderStatus::Open,
            };
            (*key, state)
        });
        let done = self.done.range(range).map(|(key, d)| {
            let state = OrderState {
                order: &d.order,
                status: d.status,
            };
            (*key, state)
        });
        let mut all: Vec<_> = open.chain(done).collect();
        all.sort_by_key(|(key, _)| *key);
        all.into_iter().map(|(_, state)| state).collect()
    }

    /// Open orders, of one symbol or all, by symbol then order id.
    pub fn open(&self, symbol: Option<SymbolId>) -> impl Iterator<Item = &OpenOrder> {
        self.open
            .values()
            .filter(move |o| symbol.is_none_or(|s| o.symbol == s))
    }

    /// Open buy and sell quantity of one symbol.
    pub fn exposure(&self, symbol: SymbolId) -> (Qty, Qty) {
        self.open(Some(symbol))
            .fold((Qty::ZERO, Qty::ZERO), |(buy, sell), o| match o.side {
                Side::Buy => (buy + o.leaves, sell),
                Side::Sell => (buy, sell + o.leaves),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trading::accounts::DEFAULT_HISTORY as H;

    fn order(symbol: u16, id: u64, coid: Option<&str>, side: Side, leaves: i64) -> OpenOrder {
        OpenOrder {
            symbol: SymbolId(symbol),
            order_id: OrderId(id),
            client_order_id: coid.map(str::to_string),
            side,
            order_type: OrderType::Limit,
            price: Some(Price(100)),
            qty: Qty(leaves),
            leaves: Qty(leaves),
            tif: TimeInForce::Gtc,
            post_only: false,
            ts: 0,
            conn: 1,
        }
    }

    #[test]
    fn client_order_ids_are_unique_for_24_hours_and_report_their_fate() {
        let mut o = AccountOrders::default();
        assert!(o.reserve("a", 10, H).is_ok());
        assert_eq!(
            o.reserve("a", 11, H),
            Err((None, ClientOrderStatus::Pending))
        );
        o.accepted(order(0, 5, Some("a"), Side::Buy, 3), H);
        assert_eq!(
            o.reserve("a", 12, H),
            Err((Some((SymbolId(0), OrderId(5))), ClientOrderStatus::Open))
        );
        assert_eq!(o.by_client_id("a").map(|x| x.order_id), Some(OrderId(5)));
        o.done(
            SymbolId(0),
            OrderId(5),
            DoneReason::SelfTradePrevented,
            12,
            H,
        );
        assert_eq!(
            o.reserve("a", 13, H),
            Err((Some((SymbolId(0), OrderId(5))), ClientOrderStatus::Expired))
        );
        assert!(o.by_client_id("a").is_none());
        assert!(
            o.reserve("a", 10 + H, H).is_ok(),
            "free again after 24 hours"
        );
        // A refused order gives its id back.
        assert!(o.reserve("b", 20, H).is_ok());
        o.release("b");
        assert!(o.reserve("b", 21, H).is_ok());
    }

    #[test]
    fn a_shorter_history_forgets_sooner() {
        let second = 1_000_000_000;
        let mut o = AccountOrders::default();
        o.accepted(order(0, 1, Some("a"), Side::Buy, 3), second);
        o.done(SymbolId(0), OrderId(1), DoneReason::Filled, 10, second);
        assert!(o.status(SymbolId(0), OrderId(1)).is_some());
        // The next order to end a second later takes the first one's place.
        o.accepted(order(0, 2, Some("b"), Side::Buy, 3), second);
        o.done(
            SymbolId(0),
            OrderId(2),
            DoneReason::Filled,
            10 + second,
            second,
        );
        assert!(o.status(SymbolId(0), OrderId(1)).is_none(), "forgotten");
        assert!(o.status(SymbolId(0), OrderId(2)).is_some());
        assert!(
            o.reserve("a", 10 + second, second).is_ok(),
            "its id is free"
        );
    }

    #[test]
    fn open_orders_and_exposure() {
        let mut o = AccountOrders::default();
        o.accepted(order(1, 2, None, Side::Sell, 4), H);
        o.accepted(order(0, 9, None, Side::Buy, 3), H);
        o.accepted(order(0, 7, None, Side::Buy, 2), H);
        let ids: Vec<_> = o.open(None).map(|x| (x.symbol.0, x.order_id.0)).collect();
        assert_eq!(ids, vec![(0, 7), (0, 9), (1, 2)]);
        assert_eq!(o.exposure(SymbolId(0)), (Qty(5), Qty(0)));
        o.filled(SymbolId(0), OrderId(9), Qty(1));
        assert_eq!(o.exposure(SymbolId(0)), (Qty(3), Qty(0)));
        assert_eq!(
            o.done(SymbolId(0), OrderId(9), DoneReason::Filled, 0, H)
                .map(|x| x.leaves),
            Some(Qty(1))
        );
        assert_eq!(o.open(Some(SymbolId(0))).count(), 1);
    }
}
