//! The trading requests of a connection: `auth`, `order`, `cancel`,
//! `amend`, `cancel_all`, `open_orders`, `order_status`, `fills`,
//! `account`, and cancel-on-disconnect.
//! Everything that does not need the book is checked here (shape, symbol,
//! tick and lot, the account's order rate, client order ids); the symbol's
//! market does the rest (`market::live::client_orders`).

use std::collections::BTreeSet;

use tokio::sync::oneshot;

use super::Session;
use crate::encode;
use crate::engine::NewOrder;
use crate::error_code::ErrorCode;
use crate::fanout::CloseReason;
use crate::gateway::accounts::AccountState;
use crate::gateway::commands::{RequestContext, SymbolCommand, TradeCommand};
use crate::instrument::Instrument;
use crate::protocol::{
    AmendRequest, FillsRequest, OrderRef, OrderRequest, RequestError, RequestId, parse_order_id,
};
use crate::trading::AccountConfig;
use crate::types::{Price, Qty, SymbolId, TimeInForce};

/// Closes a connection after too many bad tokens.
pub(super) const AUTH_FAILED: CloseReason = CloseReason {
    code: 1008,
    reason: "authentication failed",
};

impl Session {
    fn authenticated(&self) -> Result<usize, RequestError> {
        if matches!(
            self.shared.mode,
            crate::protocol::Mode::Replay { paper: false, .. }
        ) {
            return Err(RequestError::new(
                ErrorCode::ReplayMode,
                "this server replays a recording: orders are not taken",
            ));
        }
        self.account.ok_or_else(|| {
            RequestError::new(
                ErrorCode::NotAuthenticated,
                "trading requests need an auth request with a valid token first",
            )
        })
    }

    fn instrument(&self, symbol: &str) -> Result<(SymbolId, Instrument), RequestError> {
        let index = self.shared.symbol_id(symbol).ok_or_else(|| {
            RequestError::new(
                ErrorCode::UnknownSymbol,
                format!("unknown symbol {symbol:?}; the instruments request lists them"),
            )
        })?;
        let instrument = self.shared.instrument(index).cloned();
        instrument
            .map(|i| (index, i))
            .ok_or_else(|| RequestError::new(ErrorCode::Internal, "instrument table out of step"))
    }

    fn context(
        &self,
        account: usize,
        id: &RequestId,
        client_order_id: Option<String>,
    ) -> RequestContext {
        RequestContext {
            account,
            conn: self.outbox.id,
            outbox: self.outbox.clone(),
            id: id.clone(),
            client_order_id,
            done_reason: None,
            received: Some(std::time::Instant::now()),
        }
    }

    pub(super) fn auth(
        &mut self,
        id: &RequestId,
        token: &str,
        cancel_on_disconnect: bool,
    ) -> Result<(), RequestError> {
        let Some(index) = self.shared.config.accounts.authenticate(token) else {
            self.auth_failures += 1;
            let error = RequestError::new(ErrorCode::Unauthorized, "the token is not valid");
            self.reply_error(id, Some("auth"), &error);
            if self.auth_failures >= self.shared.config.max_auth_failures {
                tracing::info!(
                    conn = self.outbox.id,
                    "closing after repeated authentication failures"
                );
                self.outbox.close(AUTH_FAILED);
            }
            return Ok(());
        };
        if let Some(previous) = self.account.filter(|a| *a != index) {
            self.shared.accounts[previous].detach(self.outbox.id);
        }
        self.account = Some(index);
        self.cancel_on_disconnect = cancel_on_disconnect;
        let account = &self.shared.accounts[index];
        account.attach(&self.outbox);
        tracing::info!(conn = self.outbox.id, account = %account.config.name, "authenticated");
        self.outbox
            .push_priority(encode::authenticated(id, &account.config.name));
        Ok(())
    }

    pub(super) async fn order(
        &mut self,
        id: &RequestId,
        request: OrderRequest,
    ) -> Result<(), RequestError> {
        let account = self.authenticated()?;
        let (symbol, instrument) = self.instrument(&request.symbol)?;
        let qty = order_qty(&instrument, &request.qty)?;
        let price = request
            .price
            .as_deref()
            .map(|text| order_price(&instrument, text))
            .transpose()?;
        let order = NewOrder {
            owner: AccountConfig::owner(account),
            side: request.side,
            order_type: request.order_type,
            price,
            qty,
            tif: request.tif.unwrap_or(TimeInForce::Gtc),
            post_only: request.post_only,
        };
        {
            let history = self.shared.accounts[account].config.history;
            let mut state = self.shared.accounts[account].state();
            if self.over_order_rate(&mut state, account, id, "order") {
                return Ok(());
            }
            if let Some(coid) = &request.client_order_id
                && let Err((existing, status)) =
                    state.orders.reserve(coid, self.shared.clock.now(), history)
            {
                let name = existing.map(|(s, o)| encode::order_id(self.shared.symbol_name(s), o));
                self.outbox.push_priority(encode::duplicate(
                    id,
                    coid,
                    name.as_deref(),
                    status.as_str(),
                ));
                return Ok(());
            }
        }
        let context = self.context(account, id, request.client_order_id);
        self.shared
            .command(
                symbol,
                SymbolCommand::Trade(TradeCommand::Order { context, order }),
            )
            .await;
        Ok(())
    }

    pub(super) async fn cancel(
        &mut self,
        id: &RequestId,
        symbol: &str,
        order: OrderRef,
    ) -> Result<(), RequestError> {
        let account = self.authenticated()?;
        let (index, instrument) = self.instrument(symbol)?;
        let order_id = self.order_named(account, index, &instrument, &order, true)?;
        let context = self.context(account, id, None);
        self.shared
            .command(
                index,
                SymbolCommand::Trade(TradeCommand::Cancel { context, order_id }),
            )
            .await;
        Ok(())
    }

    /// Takes one order from the account's rate; if none is left, answers
    /// the request with `rate_limited` and says so.
    fn over_order_rate(
        &self,
        state: &mut AccountState,
        account: usize,
        id: &RequestId,
        op: &str,
    ) -> bool {
        let Err(retry_after_ms) = state.order_limit.take() else {
            return false;
        };
        let message = format!(
            "more than {} orders per second for this account; retry after {retry_after_ms} ms",
            self.shared.accounts[account].config.orders_per_sec
        );
        self.outbox.push_priority(encode::error(
            id,
            Some(op),
            ErrorCode::RateLimited,
            &message,
            Some(retry_after_ms),
        ));
        true
    }

    /// The engine id of the account's order a request names (by order id,
    /// or by client order id among its open orders when `open_only`, else
    /// among its orders of the last 24 hours).
    fn order_named(
        &self,
        account: usize,
        symbol: SymbolId,
        instrument: &Instrument,
        order: &OrderRef,
        open_only: bool,
    ) -> Result<crate::types::OrderId, RequestError> {
        let (found, named) = match order {
            OrderRef::OrderId(text) => (parse_order_id(&instrument.symbol, text), text.clone()),
            OrderRef::ClientOrderId(coid) => {
                let state = self.shared.accounts[account].state();
                let found = if open_only {
                    state
                        .orders
                        .by_client_id(coid)
                        .map(|o| (o.symbol, o.order_id))
                } else {
                    state
                        .orders
                        .status_by_client_id(coid)
                        .map(|s| (s.order.symbol, s.order.order_id))
                };
                let found = found.filter(|(s, _)| *s == symbol).map(|(_, id)| id);
                (found, format!("with client_order_id {coid}"))
            }
        };
        let open = if open_only { "open " } else { "" };
        found.ok_or_else(|| {
            RequestError::new(
                ErrorCode::UnknownOrder,
                format!(
                    "no {open}{} order {named} for this account",
                    instrument.symbol
                ),
            )
        })
    }

    pub(super) async fn amend(
        &mut self,
        id: &RequestId,
        request: AmendRequest,
    ) -> Result<(), RequestError> {
        let account = self.authenticated()?;
        let (symbol, instrument) = self.instrument(&request.symbol)?;
        let order_id = self.order_named(account, symbol, &instrument, &request.order, true)?;
        let qty = request
            .qty
            .as_deref()
            .map(|text| order_qty(&instrument, text))
            .transpose()?;
        let price = request
            .price
            .as_deref()
            .map(|text| order_price(&instrument, text))
            .transpose()?;
        if self.over_order_rate(
            &mut self.shared.accounts[account].state(),
            account,
            id,
            "amend",
        ) {
            return Ok(());
        }
        let context = self.context(account, id, None);
        self.shared
            .command(
                symbol,
                SymbolCommand::Trade(TradeCommand::Amend {
                    context,
                    order_id,
                    price,
                    qty,
                }),
            )
            .await;
        Ok(())
    }

    pub(super) fn order_status(
        &mut self,
        id: &RequestId,
        symbol: &str,
        order: &OrderRef,
    ) -> Result<(), RequestError> {
        let account = self.authenticated()?;
        let (index, instrument) = self.instrument(symbol)?;
        let order_id = self.order_named(account, index, &instrument, order, false)?;
        let frame = {
            let state = self.shared.accounts[account].state();
            state
                .orders
                .status(index, order_id)
                .map(|s| encode::order_status(id, &instrument, s.order, s.status.as_str()))
        };
        let frame = frame.ok_or_else(|| {
            RequestError::new(
                ErrorCode::UnknownOrder,
                format!(
                    "no {symbol} order {} of this account open or done within 24 hours",
                    encode::order_id(symbol, order_id)
                ),
            )
        })?;
        self.outbox.push_priority(frame);
        Ok(())
    }

    pub(super) fn fills(
        &mut self,
        id: &RequestId,
        request: &FillsRequest,
    ) -> Result<(), RequestError> {
        let account = self.authenticated()?;
        let symbol = request
            .symbol
            .as_deref()
            .map(|name| self.instrument(name).map(|(index, _)| index))
            .transpose()?;
        let frame = {
            let state = self.shared.accounts[account].state();
            let (page, more) = state
                .log
                .fills_since(request.since, request.since_ts, symbol);
            encode::fills(id, page.iter().map(|f| f.frame.as_str()), more)
        };
        self.outbox.push_priority(frame);
        Ok(())
    }

    /// Cancels open orders on the symbols named (all if `None`); only those
    /// of `only_conn` if given. Returns how many.
    async fn cancel_orders(
        &self,
        account: usize,
        symbols: Vec<SymbolId>,
        only_conn: Option<u64>,
        reason: Option<&'static str>,
    ) -> usize {
        let mut replies = Vec::with_capacity(symbols.len());
        for symbol in symbols {
            let (reply, answer) = oneshot::channel();
            let mut context = self.context(account, &None, None);
            context.done_reason = reason;
            let command = TradeCommand::CancelAll {
                context,
                only_conn,
                reply: Some(reply),
            };
            self.shared
                .command(symbol, SymbolCommand::Trade(command))
                .await;
            replies.push(answer);
        }
        let mut count = 0;
        for answer in replies {
            count += answer.await.unwrap_or(0);
        }
        count
    }

    pub(super) async fn cancel_all(
        &mut self,
        id: &RequestId,
        symbol: Option<&str>,
    ) -> Result<(), RequestError> {
        let account = self.authenticated()?;
        let symbols = match symbol {
            Some(name) => vec![self.instrument(name)?.0],
            None => self.shared.instruments.ids().collect(),
        };
        let count = self.cancel_orders(account, symbols, None, None).await;
        self.outbox.push_priority(encode::canceled_all(id, count));
        Ok(())
    }

    pub(super) fn open_orders(
        &mut self,
        id: &RequestId,
        symbol: Option<&str>,
    ) -> Result<(), RequestError> {
        let account = self.authenticated()?;
        let filter = symbol
            .map(|name| self.instrument(name).map(|(index, _)| index))
            .transpose()?;
        let instruments = &self.shared.instruments;
        let frame = {
            let state = self.shared.accounts[account].state();
            let orders = state
                .orders
                .open(filter)
                .filter_map(|o| instruments.by_id(o.symbol).map(|i| (i, o)));
            encode::open_orders(id, orders)
        };
        self.outbox.push_priority(frame);
        Ok(())
    }

    pub(super) fn account(&mut self, id: &RequestId) -> Result<(), RequestError> {
        let account = self.authenticated()?;
        let shared = &self.shared;
        let frame = {
            let state = shared.accounts[account].state();
            let instrument_of = |s: SymbolId| shared.instrument(s).cloned();
            encode::account(
                id,
                &shared.accounts[account].config.name,
                &state.ledger,
                instrument_of,
            )
        };
        self.outbox.push_priority(frame);
        Ok(())
    }

    /// The connection is gone: stop sending it private events, and cancel
    /// its orders if it asked for that at `auth`.
    pub(super) async fn disconnected(&mut self) {
        let Some(account) = self.account else { return };
        self.shared.accounts[account].detach(self.outbox.id);
        if !self.cancel_on_disconnect {
            return;
        }
        let conn = self.outbox.id;
        let symbols: BTreeSet<SymbolId> = {
            let state = self.shared.accounts[account].state();
            state
                .orders
                .open(None)
                .filter(|o| o.conn == conn)
                .map(|o| o.symbol)
                .collect()
        };
        let count = self
            .cancel_orders(
                account,
                symbols.into_iter().collect(),
                Some(conn),
                Some("disconnected"),
            )
            .await;
        tracing::info!(conn, count, "canceled on disconnect");
    }
}

/// A quantity on the instrument's lot grid, at most its `max_qty`.
fn order_qty(instrument: &Instrument, text: &str) -> Result<Qty, RequestError> {
    let qty = instrument
        .parse_qty(text)
        .map_err(|e| RequestError::new(ErrorCode::InvalidQty, e.to_string()))?;
    if qty > instrument.max_qty {
        return Err(RequestError::new(
            ErrorCode::InvalidQty,
            format!(
                "qty {text} is above the maximum {} for {}",
                instrument.format_qty(instrument.max_qty),
                instrument.symbol
            ),
        ));
    }
    Ok(qty)
}

/// A price on the instrument's tick grid.
fn order_price(instrument: &Instrument, text: &str) -> Result<Price, RequestError> {
    instrument
        .parse_price(text)
        .map_err(|e| RequestError::new(ErrorCode::InvalidPrice, e.to_string()))
}
