//! Paper trading on a replay (`replay --paper`): clients' orders, cancels
//! and amends go to their symbol's [`PaperBook`] at the replay's time;
//! each replayed book change and trade goes to it after it is published.
//! The events are booked in the accounts and sent as live ones are, at
//! once (a replay keeps no journal: a restart starts the replay and its
//! paper accounts again). The public streams never change.

use serde_json::Value;

use crate::book::Book;
use crate::engine::{Input, LevelChange, NewOrder, Output};
use crate::error_code::ErrorCode;
use crate::gateway::commands::{RequestContext, TradeCommand};
use crate::gateway::market::effects::{Effect, Effects};
use crate::gateway::market::{orders, private};
use crate::gateway::shared::Shared;
use crate::instrument::Instruments;
use crate::paper::PaperBook;
use crate::trading::AccountConfig;
use crate::types::{OrderId, Side, SymbolId, UnixNanos};

/// Every symbol's paper book, by server symbol id.
pub struct Paper {
    books: Vec<PaperBook>,
    /// By server symbol id: the replayed market is halted.
    halted: Vec<bool>,
    out: Output,
    effects: Effects,
}

/// What a replayed message means to the paper books.
pub enum Replayed {
    /// Levels changed (the replica's last changes).
    Changes,
    /// The whole book was rebuilt (a snapshot).
    Rebuilt,
    Trade {
        price: crate::types::Price,
        qty: crate::types::Qty,
        taker_side: Side,
    },
    /// A recorded market `status`: paper orders are refused while halted,
    /// as live ones are.
    Status { halted: bool },
}

/// A recorded `status` message of the ticker stream, if `json` is one.
pub fn read_status(json: &str) -> Option<Replayed> {
    if !crate::gateway::streams::is_status(json) {
        return None;
    }
    let v: Value = serde_json::from_str(json).ok()?;
    Some(Replayed::Status {
        halted: v["status"].as_str()? == "halted",
    })
}

impl Paper {
    pub fn new(instruments: &Instruments) -> Paper {
        Paper {
            books: instruments.iter().cloned().map(PaperBook::new).collect(),
            halted: vec![false; instruments.len()],
            out: Output::default(),
            effects: Effects::default(),
        }
    }

    /// A recorded `trade` message, read for the paper books.
    pub fn read_trade(&self, symbol: SymbolId, json: &str) -> Option<Replayed> {
        let instrument = self.books.get(symbol.index())?.instrument();
        let v: Value = serde_json::from_str(json).ok()?;
        let price = instrument.parse_price(v["price"].as_str()?).ok()?;
        let qty = instrument.parse_qty(v["qty"].as_str()?).ok()?;
        let taker_side = match v["side"].as_str()? {
            "buy" => Side::Buy,
            "sell" => Side::Sell,
            _ => return None,
        };
        Some(Replayed::Trade {
            price,
            qty,
            taker_side,
        })
    }

    /// Whether a symbol has paper orders resting (else book changes need
    /// not be copied for it).
    pub fn has_orders(&self, symbol: SymbolId) -> bool {
        self.books
            .get(symbol.index())
            .is_some_and(PaperBook::has_orders)
    }

    /// A replayed message, after it was published (`book` and `changes`
    /// as the replica has them after it): the fills it causes.
    /// True if anything was sent.
    pub fn replayed(
        &mut self,
        shared: &Shared,
        symbol: SymbolId,
        ts: UnixNanos,
        what: Replayed,
        book: &Book,
        changes: &[LevelChange],
    ) -> bool {
        if let Replayed::Status { halted } = what {
            if let Some(slot) = self.halted.get_mut(symbol.index()) {
                *slot = halted;
            }
            return false;
        }
        let Some(paper) = self.books.get_mut(symbol.index()) else {
            return false;
        };
        self.out.clear();
        match what {
            Replayed::Changes => paper.book_changed(ts, changes, book, &mut self.out),
            Replayed::Rebuilt => paper.book_replaced(ts, book, &mut self.out),
            Replayed::Trade {
                price,
                qty,
                taker_side,
            } => paper.trade(ts, price, qty, taker_side, &mut self.out),
            Replayed::Status { .. } => {}
        }
        self.send(shared, symbol, None)
    }

    /// A client's trading request at replay time `ts`, against the
    /// displayed `book`.
    pub fn command(
        &mut self,
        shared: &Shared,
        symbol: SymbolId,
        command: TradeCommand,
        ts: UnixNanos,
        book: &Book,
    ) {
        // A recorded halt holds for paper orders as a live one does.
        if self.halted.get(symbol.index()).copied().unwrap_or(false) {
            let refused = match &command {
                TradeCommand::Order { context, .. } => Some(("order", context)),
                TradeCommand::Amend { context, .. } => Some(("amend", context)),
                TradeCommand::Cancel { .. } | TradeCommand::CancelAll { .. } => None,
            };
            if let (Some((op, context)), Some(paper)) = (refused, self.books.get(symbol.index())) {
                let message = orders::halted(&paper.instrument().symbol);
                return self.refuse(shared, context, op, ErrorCode::MarketHalted, &message);
            }
        }
        match command {
            TradeCommand::Order { context, order } => {
                self.order(shared, symbol, context, order, ts, book)
            }
            TradeCommand::Cancel { context, order_id } => {
                let owner = AccountConfig::owner(context.account);
                self.input(
                    shared,
                    symbol,
                    context,
                    &Input::Cancel { owner, order_id },
                    ts,
                    book,
                );
            }
            TradeCommand::Amend {
                context,
                order_id,
                price,
                qty,
            } => {
                let Some(paper) = self.books.get(symbol.index()) else {
                    return;
                };
                let target = orders::amend_target(
                    shared,
                    paper.instrument(),
                    symbol,
                    &context,
                    order_id,
                    price,
                    qty,
                    |side| book.best(side).map(|l| l.price),
                );
                let input = match target {
                    Ok(target) => target,
                    Err((code, message)) => {
                        return self.refuse(shared, &context, "amend", code, &message);
                    }
                };
                self.input(shared, symbol, context, &input, ts, book);
            }
            TradeCommand::CancelAll {
                context,
                only_conn,
                reply,
            } => {
                let ids: Vec<OrderId> = shared.accounts[context.account]
                    .state()
                    .orders
                    .open(Some(symbol))
                    .filter(|o| only_conn.is_none_or(|c| o.conn == c))
                    .map(|o| o.order_id)
                    .collect();
                let owner = AccountConfig::owner(context.account);
                let mut count = 0;
                for order_id in ids {
                    let cancel = Input::Cancel { owner, order_id };
                    if self.input(shared, symbol, context.without_id(), &cancel, ts, book) {
                        count += 1;
                    }
                }
                if let Some(reply) = reply {
                    let _ = reply.send(count);
                }
            }
        }
    }

    fn order(
        &mut self,
        shared: &Shared,
        symbol: SymbolId,
        context: RequestContext,
        order: NewOrder,
        ts: UnixNanos,
        book: &Book,
    ) {
        let Some(paper) = self.books.get(symbol.index()) else {
            return;
        };
        if let Some(message) = shared.accounts[context.account].over_position_limit(
            paper.instrument(),
            symbol,
            order.side,
            order.qty,
        ) {
            return self.refuse(
                shared,
                &context,
                "order",
                ErrorCode::PositionLimit,
                &message,
            );
        }
        self.input(shared, symbol, context, &Input::New(order), ts, book);
    }

    /// Applies a client's input to the paper book and sends what follows;
    /// true if accepted.
    fn input(
        &mut self,
        shared: &Shared,
        symbol: SymbolId,
        context: RequestContext,
        input: &Input,
        ts: UnixNanos,
        book: &Book,
    ) -> bool {
        let Some(paper) = self.books.get_mut(symbol.index()) else {
            return false;
        };
        self.out.clear();
        let result = match *input {
            Input::New(order) => paper.order(ts, order, book, &mut self.out),
            Input::Cancel { owner, order_id } => paper.cancel(ts, owner, order_id, &mut self.out),
            Input::Amend {
                owner,
                order_id,
                price,
                qty,
            } => paper.amend(ts, owner, order_id, price, qty, book, &mut self.out),
        };
        match result {
            Ok(_) => {
                self.send(shared, symbol, Some(&context));
                true
            }
            Err(reject) => {
                let (op, code, message) = orders::refused(paper.instrument(), input, reject);
                self.refuse(shared, &context, op, code, &message);
                false
            }
        }
    }

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
        self.flush(shared);
    }

    /// Books the output's private events and sends them; true if any.
    fn send(
        &mut self,
        shared: &Shared,
        symbol: SymbolId,
        request: Option<&RequestContext>,
    ) -> bool {
        if !private::concerns_an_account(&self.out) {
            return false;
        }
        let Some(paper) = self.books.get(symbol.index()) else {
            return false;
        };
        private::book_events_of(
            symbol,
            paper.instrument(),
            private::Trades::Paper,
            &self.out,
            request,
            shared,
            &mut self.effects,
        );
        self.flush(shared);
        true
    }

    fn flush(&mut self, shared: &Shared) {
        for effect in self.effects.ready(u64::MAX) {
            match effect {
                Effect::Reply { outbox, frame } => outbox.push_priority(frame),
                private @ Effect::Private { .. } => private::send(shared, private),
                Effect::Count { reply, count } => {
                    let _ = reply.send(count);
                }
                Effect::Market { .. } | Effect::RecordSnapshot { .. } => {}
            }
        }
    }
}
