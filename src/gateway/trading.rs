//! Trading in the symbol tasks: client orders and cancels applied to the
//! symbol's engine, and the private events (`order_accepted`, `fill`,
//! `order_done`) of every input, client's or crowd's, sent to every
//! connection of the accounts concerned.

use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::oneshot;

use super::rate::RateLimit;
use super::symbol::SymbolTask;
use crate::encode::{self, FillFields};
use crate::engine::{DoneReason, Event, Input, NewOrder, Reject};
use crate::fanout::{ConnId, Outbox};
use crate::protocol::RequestId;
use crate::trading::{AccountConfig, AccountOrders, Ledger, OpenOrder};
use crate::types::{OrderId, Owner, Side};

/// What a symbol task keeps of one account.
pub struct AccountState {
    pub orders: AccountOrders,
    pub ledger: Ledger,
    /// Orders per second, over all the account's connections.
    pub order_limit: RateLimit,
}

pub struct Account {
    pub config: AccountConfig,
    /// Changed by the symbol tasks (fills, order states) and the
    /// connections (client order id reservations); held only briefly.
    pub state: Mutex<AccountState>,
    /// The connections authenticated as this account: every one of them
    /// gets the account's private events.
    pub connections: Mutex<Vec<Arc<Outbox>>>,
}

impl Account {
    pub fn new(config: AccountConfig) -> Account {
        let limit = RateLimit::new(config.orders_per_sec, config.orders_per_sec);
        Account {
            config,
            state: Mutex::new(AccountState {
                orders: AccountOrders::default(),
                ledger: Ledger::default(),
                order_limit: limit,
            }),
            connections: Mutex::new(Vec::new()),
        }
    }

    /// A panic elsewhere cannot leave the state half-updated in a way that
    /// matters more than losing the account, so a poisoned lock is used.
    pub fn state(&self) -> MutexGuard<'_, AccountState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn connections(&self) -> Vec<Arc<Outbox>> {
        self.connections
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn attach(&self, outbox: &Arc<Outbox>) {
        let mut list = self.connections.lock().unwrap_or_else(|p| p.into_inner());
        if !list.iter().any(|o| o.id == outbox.id) {
            list.push(outbox.clone());
        }
    }

    pub fn detach(&self, conn: ConnId) {
        self.connections
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|o| o.id != conn);
    }
}

/// The account index of an engine owner (`None` for the simulated crowd).
pub fn account_of(owner: Owner) -> Option<usize> {
    (owner != Owner::SIM).then(|| owner.0 as usize - 1)
}

/// The client request being applied, so its events can answer it.
pub struct RequestContext {
    pub account: usize,
    pub conn: ConnId,
    pub outbox: Arc<Outbox>,
    pub id: RequestId,
    pub client_order_id: Option<String>,
    /// `disconnected` for cancel-on-disconnect, else the engine's reason.
    pub done_reason: Option<&'static str>,
}

pub enum TradeCommand {
    Order {
        context: RequestContext,
        order: NewOrder,
    },
    Cancel {
        context: RequestContext,
        order_id: OrderId,
    },
    /// Cancels the account's open orders of this symbol (only those of
    /// `conn` if given); replies with the count.
    CancelAll {
        context: RequestContext,
        only_conn: Option<ConnId>,
        reply: Option<oneshot::Sender<usize>>,
    },
}

impl SymbolTask {
    pub(super) fn trade(&mut self, command: TradeCommand) {
        match command {
            TradeCommand::Order { context, order } => self.client_order(context, order),
            TradeCommand::Cancel { context, order_id } => {
                let input = Input::Cancel {
                    owner: AccountConfig::owner(context.account),
                    order_id,
                };
                self.client_input(context, &input);
            }
            TradeCommand::CancelAll {
                context,
                only_conn,
                reply,
            } => {
                let ids: Vec<OrderId> = {
                    let state = self.shared.accounts[context.account].state();
                    state
                        .orders
                        .open(Some(self.index))
                        .filter(|o| only_conn.is_none_or(|c| o.conn == c))
                        .map(|o| o.order_id)
                        .collect()
                };
                let owner = AccountConfig::owner(context.account);
                let mut count = 0;
                for order_id in ids {
                    if self.client_input(
                        context.clone_without_id(),
                        &Input::Cancel { owner, order_id },
                    ) {
                        count += 1;
                    }
                }
                if let Some(reply) = reply {
                    let _ = reply.send(count);
                }
            }
        }
    }

    fn client_order(&mut self, context: RequestContext, order: NewOrder) {
        // The position limit: the position plus every open order on the
        // same side plus this one, as if all filled.
        let instrument = self.market.instrument();
        let account = &self.shared.accounts[context.account];
        let verdict = {
            let state = account.state();
            let (open_buy, open_sell) = state.orders.exposure(self.index);
            let position = state.ledger.position(self.index);
            let limit =
                instrument.qty_to_decimal(account.config.position_limits[self.index as usize]);
            let worst = match order.side {
                Side::Buy => position + instrument.qty_to_decimal(open_buy + order.qty),
                Side::Sell => -(position - instrument.qty_to_decimal(open_sell + order.qty)),
            };
            (worst > limit).then(|| {
                format!(
                    "this order could make the {} position {}{} with the open orders, over the limit of {}",
                    instrument.symbol,
                    if order.side == Side::Buy { "" } else { "-" },
                    encode::fixed(worst, instrument.qty_decimals),
                    encode::fixed(limit, instrument.qty_decimals)
                )
            })
        };
        if let Some(message) = verdict {
            self.refuse(&context, "order", "position_limit", &message);
            return;
        }
        self.client_input(context, &Input::New(order));
    }

    /// Answers a refused request: its client order id is free again.
    fn refuse(&self, context: &RequestContext, op: &str, code: &str, message: &str) {
        if let Some(coid) = &context.client_order_id {
            self.shared.accounts[context.account]
                .state()
                .orders
                .release(coid);
        }
        context
            .outbox
            .push_priority(encode::error(&context.id, Some(op), code, message, None));
    }

    /// Applies a client's input and sends what follows; true if accepted.
    fn client_input(&mut self, context: RequestContext, input: &Input) -> bool {
        let ts = self.shared.clock.now();
        self.out.clear();
        let result = self.market.apply(ts, input, &mut self.out);
        self.shared.metrics.engine_events[self.index as usize]
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        match result {
            Ok(_) => {
                self.request = Some(context);
                self.publish_output();
                self.request = None;
                true
            }
            Err(reject) => {
                let instrument = self.market.instrument();
                let message = match reject {
                    // Named as the client knows it (the wire order id).
                    Reject::UnknownOrder { order_id } => format!(
                        "no open {} order {} for this account",
                        instrument.symbol,
                        encode::order_id(&instrument.symbol, order_id)
                    ),
                    _ => reject.message(instrument),
                };
                let op = if matches!(input, Input::Cancel { .. }) {
                    "cancel"
                } else {
                    "order"
                };
                self.refuse(&context, op, reject.code(), &message);
                false
            }
        }
    }

    /// Sends the private events of the current output to the accounts
    /// concerned, and books their fills.
    pub(super) fn private_events(&mut self) {
        // Most inputs are the crowd's alone: nothing private, nothing to copy.
        let concerns_an_account = |e: &Event| match *e {
            Event::Accepted { order, .. } => order.owner != Owner::SIM,
            Event::Trade { maker, taker, .. } => {
                maker.owner != Owner::SIM || taker.owner != Owner::SIM
            }
            Event::Done { owner, .. } => owner != Owner::SIM,
            _ => false,
        };
        if !self.out.events.iter().any(concerns_an_account) {
            return;
        }
        let instrument = self.market.instrument().clone();
        for i in 0..self.out.events.len() {
            match self.out.events[i] {
                Event::Accepted {
                    order_id,
                    order,
                    ts,
                } => {
                    let (Some(account), Some(context)) =
                        (account_of(order.owner), self.request.as_ref())
                    else {
                        continue;
                    };
                    let open = OpenOrder {
                        symbol: self.index,
                        order_id,
                        client_order_id: context.client_order_id.clone(),
                        side: order.side,
                        order_type: order.order_type,
                        price: order.price,
                        qty: order.qty,
                        leaves: order.qty,
                        tif: order.tif,
                        ts,
                        conn: context.conn,
                    };
                    self.shared.accounts[account]
                        .state()
                        .orders
                        .accepted(open.clone());
                    self.send(account, |id| encode::order_accepted(id, &instrument, &open));
                }
                Event::Trade {
                    seq,
                    ts,
                    price,
                    qty,
                    taker_side,
                    maker,
                    taker,
                } => {
                    for (fill, side, is_maker) in [
                        (maker, taker_side.opposite(), true),
                        (taker, taker_side, false),
                    ] {
                        let Some(account) = account_of(fill.owner) else {
                            continue;
                        };
                        let frame = {
                            let mut state = self.shared.accounts[account].state();
                            let position = state.ledger.fill(
                                self.index,
                                side,
                                instrument.price_to_decimal(price),
                                instrument.qty_to_decimal(qty),
                            );
                            let Some(order) =
                                state.orders.filled(self.index, fill.order_id, fill.leaves)
                            else {
                                continue;
                            };
                            let fields = FillFields {
                                order,
                                side,
                                price,
                                qty,
                                maker: is_maker,
                                trade_seq: seq,
                                leaves: fill.leaves,
                                position,
                                ts,
                            };
                            encode::fill(&instrument, &fields)
                        };
                        self.send(account, |_| frame.clone());
                    }
                }
                Event::Done {
                    order_id,
                    owner,
                    reason,
                    filled,
                    ts,
                } => {
                    let Some(account) = account_of(owner) else {
                        continue;
                    };
                    let Some(order) = self.shared.accounts[account]
                        .state()
                        .orders
                        .done(self.index, order_id, reason)
                    else {
                        continue;
                    };
                    let context_reason = self.request.as_ref().and_then(|c| c.done_reason);
                    let reason = match (reason, context_reason) {
                        (DoneReason::Canceled, Some(r)) => r,
                        (r, _) => r.as_str(),
                    };
                    self.send(account, |id| {
                        encode::order_done(id, &instrument, &order, reason, filled, ts)
                    });
                }
                _ => {}
            }
        }
    }

    /// Pushes a private event to every connection of the account; the
    /// connection that made the current request gets its `id`.
    fn send(
        &self,
        account: usize,
        make: impl Fn(&RequestId) -> tokio_tungstenite::tungstenite::Utf8Bytes,
    ) {
        let requester = self.request.as_ref().filter(|c| c.account == account);
        let plain = make(&None);
        let connections = self.shared.accounts[account].connections();
        for outbox in &connections {
            match requester {
                Some(c) if c.conn == outbox.id && c.id.is_some() => {
                    outbox.push_priority(make(&c.id))
                }
                _ => outbox.push_priority(plain.clone()),
            }
        }
        // A requester not (or no longer) attached still gets its answer.
        if let Some(c) = requester
            && !connections.iter().any(|o| o.id == c.conn)
        {
            c.outbox.push_priority(make(&c.id));
        }
    }
}

impl RequestContext {
    fn clone_without_id(&self) -> RequestContext {
        RequestContext {
            account: self.account,
            conn: self.conn,
            outbox: self.outbox.clone(),
            id: None,
            client_order_id: None,
            done_reason: self.done_reason,
        }
    }
}

/// The engine order id in a wire order id (`BTC-USD:5`) of `symbol`.
pub fn parse_order_id(symbol: &str, text: &str) -> Option<OrderId> {
    let number = text.strip_prefix(symbol)?.strip_prefix(':')?;
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    number.parse().ok().map(OrderId)
}
