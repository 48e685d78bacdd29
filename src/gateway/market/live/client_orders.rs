//! Client orders and cancels applied to a live symbol's engine: the
//! position limit (which needs the account's open orders), then the
//! engine's own rules; a refusal frees the client order id and answers the
//! request, an acceptance publishes the input's output like any other.

use crate::encode;
use crate::engine::{Input, NewOrder, Reject};
use crate::error_code::ErrorCode;
use crate::gateway::commands::{RequestContext, TradeCommand};
use crate::gateway::shared::Shared;
use crate::gateway::streams::Hub;
use crate::trading::AccountConfig;
use crate::types::{OrderId, Side};

use super::symbol::LiveSymbol;

impl LiveSymbol {
    pub fn trade(&mut self, shared: &Shared, hub: &Hub, command: TradeCommand) {
        match command {
            TradeCommand::Order { context, order } => {
                self.client_order(shared, hub, context, order)
            }
            TradeCommand::Cancel { context, order_id } => {
                let input = Input::Cancel {
                    owner: AccountConfig::owner(context.account),
                    order_id,
                };
                self.client_input(shared, hub, context, &input);
            }
            TradeCommand::CancelAll {
                context,
                only_conn,
                reply,
            } => {
                let ids: Vec<OrderId> = {
                    let state = shared.accounts[context.account].state();
                    state
                        .orders
                        .open(Some(self.symbol))
                        .filter(|o| only_conn.is_none_or(|c| o.conn == c))
                        .map(|o| o.order_id)
                        .collect()
                };
                let owner = AccountConfig::owner(context.account);
                let mut count = 0;
                for order_id in ids {
                    if self.client_input(
                        shared,
                        hub,
                        context.without_id(),
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

    fn client_order(
        &mut self,
        shared: &Shared,
        hub: &Hub,
        context: RequestContext,
        order: NewOrder,
    ) {
        // The position limit: the position plus every open order on the
        // same side plus this one, as if all filled.
        let instrument = self.market.instrument();
        let account = &shared.accounts[context.account];
        let verdict = {
            let state = account.state();
            let (open_buy, open_sell) = state.orders.exposure(self.symbol);
            let position = state.ledger.position(self.symbol);
            let limit =
                instrument.qty_to_decimal(account.config.position_limits[self.symbol.index()]);
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
            refuse(
                shared,
                &context,
                "order",
                ErrorCode::PositionLimit,
                &message,
            );
            return;
        }
        self.client_input(shared, hub, context, &Input::New(order));
    }

    /// Applies a client's input and sends what follows; true if accepted.
    fn client_input(
        &mut self,
        shared: &Shared,
        hub: &Hub,
        context: RequestContext,
        input: &Input,
    ) -> bool {
        let ts = shared.clock.now();
        self.out.clear();
        let result = self.market.apply(ts, input, &mut self.out);
        shared.metrics.engine_events[self.symbol.index()]
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        match result {
            Ok(_) => {
                self.request = Some(context);
                self.publish_output(shared, hub);
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
                refuse(shared, &context, op, reject.code(), &message);
                false
            }
        }
    }
}

/// Answers a refused request: its client order id is free again.
fn refuse(shared: &Shared, context: &RequestContext, op: &str, code: ErrorCode, message: &str) {
    if let Some(coid) = &context.client_order_id {
        shared.accounts[context.account]
            .state()
            .orders
            .release(coid);
    }
    context
        .outbox
        .push_priority(encode::error(&context.id, Some(op), code, message, None));
}
