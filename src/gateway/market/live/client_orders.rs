//! Client orders, cancels and amends applied to a live symbol's engine: the
//! position limit (which needs the account's open orders), then the
//! engine's own rules. A refusal frees the client order id and answers the
//! request; an acceptance is journaled (under the journal lock, with its
//! private events booked) and its effects wait until the record is durable.

use crate::engine::{Input, NewOrder};
use crate::error_code::ErrorCode;
use crate::gateway::commands::{RequestContext, TradeCommand};
use crate::gateway::shared::Shared;
use crate::journal::{ClientInput, Record};
use crate::trading::AccountConfig;
use crate::types::{OrderId, Price, Qty, Side};

use super::symbol::LiveSymbol;
use crate::gateway::market::effects::Effect;
use crate::gateway::market::{orders, private};

impl LiveSymbol {
    pub fn trade(&mut self, shared: &Shared, command: TradeCommand) {
        match command {
            TradeCommand::Order { context, order } => self.client_order(shared, context, order),
            TradeCommand::Cancel { context, order_id } => {
                let input = Input::Cancel {
                    owner: AccountConfig::owner(context.account),
                    order_id,
                };
                self.client_input(shared, context, &input);
            }
            TradeCommand::Amend {
                context,
                order_id,
                price,
                qty,
            } => self.amend(shared, context, order_id, price, qty),
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
                        context.without_id(),
                        &Input::Cancel { owner, order_id },
                    ) {
                        count += 1;
                    }
                }
                if let Some(reply) = reply {
                    self.effects.push(Effect::Count { reply, count });
                }
            }
        }
    }

    fn over_position_limit(
        &self,
        shared: &Shared,
        account: usize,
        side: Side,
        extra: Qty,
    ) -> Option<String> {
        shared.accounts[account].over_position_limit(
            self.market.instrument(),
            self.symbol,
            side,
            extra,
        )
    }

    fn client_order(&mut self, shared: &Shared, context: RequestContext, order: NewOrder) {
        if shared.config.panic_trigger.is_some()
            && context.client_order_id == shared.config.panic_trigger
        {
            panic!("the test panic of an engine");
        }
        if self.market.halted() {
            return self.refuse_halted(shared, &context, "order");
        }
        if let Some(message) =
            self.over_position_limit(shared, context.account, order.side, order.qty)
        {
            self.refuse(
                shared,
                &context,
                "order",
                ErrorCode::PositionLimit,
                &message,
            );
            return;
        }
        self.client_input(shared, context, &Input::New(order));
    }

    /// `amend`: the new price defaults to the current one, the new total
    /// quantity to the current one; the engine gets the new leaves.
    fn amend(
        &mut self,
        shared: &Shared,
        context: RequestContext,
        order_id: OrderId,
        price: Option<Price>,
        qty: Option<Qty>,
    ) {
        if self.market.halted() {
            return self.refuse_halted(shared, &context, "amend");
        }
        let book = self.market.engine().book();
        let target = orders::amend_target(
            shared,
            self.market.instrument(),
            self.symbol,
            &context,
            order_id,
            price,
            qty,
            |side| book.best(side).map(|l| l.price),
        );
        let input = match target {
            Ok(target) => target,
            Err((code, message)) => {
                self.refuse(shared, &context, "amend", code, &message);
                return;
            }
        };
        self.client_input(shared, context, &input);
    }

    /// Applies a client's input and queues what follows; true if accepted.
    fn client_input(&mut self, shared: &Shared, context: RequestContext, input: &Input) -> bool {
        let ts = shared.clock.now();
        self.out.clear();
        let result = self.market.apply(ts, input, &mut self.out);
        shared.metrics.engine_events[self.symbol.index()]
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        match result {
            Ok(_) => {
                let record = Record::Client {
                    symbol: self.symbol,
                    input: ClientInput {
                        ts,
                        account: context.account as u32,
                        conn: context.conn,
                        client_order_id: context.client_order_id.clone(),
                        disconnected: context.done_reason.is_some(),
                        input: *input,
                    },
                };
                self.request = Some(context);
                self.commit(shared, Some(&record), true);
                self.request = None;
                true
            }
            Err(reject) => {
                let (op, code, message) = orders::refused(self.market.instrument(), input, reject);
                self.refuse(shared, &context, op, code, &message);
                false
            }
        }
    }

    /// Journals `record` (if there is a journal) and books and queues the
    /// current output, under the journal lock, so the order of records is
    /// the order of bookings. The output's effects wait for the record if
    /// `awaited` or if it concerns an account.
    pub fn commit(&mut self, shared: &Shared, record: Option<&Record>, awaited: bool) {
        let Some(journal) = self.journal.clone() else {
            self.queue_output(shared);
            return;
        };
        let mut guard = journal.lock();
        if let Some(record) = record {
            let ticket = guard.append(record);
            // Before the output is queued: its effects take the ticket.
            if awaited || private::concerns_an_account(&self.out) {
                guard.urge();
                self.effects.hold_until(ticket);
            }
        }
        self.queue_output(shared);
    }

    /// An order or amend on a halted market (cancels are taken).
    fn refuse_halted(&mut self, shared: &Shared, context: &RequestContext, op: &str) {
        let message = orders::halted(&self.market.instrument().symbol);
        self.refuse(shared, context, op, ErrorCode::MarketHalted, &message);
    }

    /// Answers a refused request (after what is queued before it): its
    /// client order id is free again.
    fn refuse(
        &mut self,
        shared: &Shared,
        context: &RequestContext,
        op: &str,
        code: ErrorCode,
        message: &str,
    ) {
        let effect = orders::refusal(shared, context, op, code, message);
        self.effects.push(effect);
    }
}
