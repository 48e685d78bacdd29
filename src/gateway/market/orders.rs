//! What every market source does with a client's order before its own
//! matching: the checks that need the account (its open orders, the
//! position limit), and the answer to a refusal. Shared by the live
//! engine and the paper book of a replay.

use crate::encode;
use crate::engine::{Input, Reject, crosses};
use crate::error_code::ErrorCode;
use crate::gateway::commands::RequestContext;
use crate::gateway::shared::Shared;
use crate::instrument::Instrument;
use crate::trading::AccountConfig;
use crate::types::{OrderId, Price, Qty, Side, SymbolId};

use super::effects::Effect;

/// A refusal: an error code and what to tell the client.
pub type Refusal = (ErrorCode, String);

/// The answer to a refused request: its client order id is free again.
pub fn refusal(
    shared: &Shared,
    context: &RequestContext,
    op: &str,
    code: ErrorCode,
    message: &str,
) -> Effect {
    if let Some(coid) = &context.client_order_id {
        shared.accounts[context.account]
            .state()
            .orders
            .release(coid);
    }
    Effect::Reply {
        outbox: context.outbox.clone(),
        frame: encode::error(&context.id, Some(op), code, message, None),
    }
}

/// An `amend` settled against the account's open order, as the market's
/// input: its new price (default: the current one) and new open quantity
/// (the new total, default the current one, less what is filled), once
/// the quantity, the position limit and `post_only` (against `best`, the
/// best opposite price of the book the order rests in) allow it.
#[allow(clippy::too_many_arguments)]
pub fn amend_target(
    shared: &Shared,
    instrument: &Instrument,
    symbol: SymbolId,
    context: &RequestContext,
    order_id: OrderId,
    price: Option<Price>,
    qty: Option<Qty>,
    best: impl Fn(Side) -> Option<Price>,
) -> Result<Input, Refusal> {
    let account = &shared.accounts[context.account];
    let open = account.state().orders.get(symbol, order_id).cloned();
    let Some((open, current_price)) = open.and_then(|o| o.price.map(|p| (o, p))) else {
        return Err((
            ErrorCode::UnknownOrder,
            format!(
                "no open {} limit order {} for this account",
                instrument.symbol,
                encode::order_id(&instrument.symbol, order_id)
            ),
        ));
    };
    let new_qty = qty.unwrap_or(open.qty);
    if new_qty <= open.filled() {
        return Err((
            ErrorCode::InvalidQty,
            format!(
                "qty {} must be more than the {} already filled",
                instrument.format_qty(new_qty),
                instrument.format_qty(open.filled())
            ),
        ));
    }
    let leaves = new_qty - open.filled();
    if leaves > open.leaves
        && let Some(message) =
            account.over_position_limit(instrument, symbol, open.side, leaves - open.leaves)
    {
        return Err((ErrorCode::PositionLimit, message));
    }
    let new_price = price.unwrap_or(current_price);
    if open.post_only
        && let Some(opposite) = best(open.side.opposite())
        && crosses(open.side, new_price, opposite)
    {
        let reject = Reject::PostOnlyWouldCross {
            price: new_price,
            opposite,
        };
        return Err((reject.code(), reject.message(instrument)));
    }
    Ok(Input::Amend {
        owner: AccountConfig::owner(context.account),
        order_id,
        price: new_price,
        qty: leaves,
    })
}

/// Why an order or amend on a halted market is refused.
pub fn halted(symbol: &str) -> String {
    format!(
        "{symbol} is halted: orders and amends are refused until trading resumes (a status message says when); cancels are taken"
    )
}

/// What to answer an input the market refused: the request's `op`, the
/// code, and the message (an unknown order named as the client knows it).
pub fn refused(
    instrument: &Instrument,
    input: &Input,
    reject: Reject,
) -> (&'static str, ErrorCode, String) {
    let message = match reject {
        Reject::UnknownOrder { order_id } => format!(
            "no open {} order {} for this account",
            instrument.symbol,
            encode::order_id(&instrument.symbol, order_id)
        ),
        _ => reject.message(instrument),
    };
    let op = match input {
        Input::New(_) => "order",
        Input::Cancel { .. } => "cancel",
        Input::Amend { .. } => "amend",
    };
    (op, reject.code(), message)
}

/// A source that takes no orders answers each with `code` and `message`
/// (a replay without paper trading, a cluster gateway's own markets); a
/// `cancel_all` counts none.
pub fn refuse_all(command: crate::gateway::commands::TradeCommand, code: ErrorCode, message: &str) {
    use crate::gateway::commands::TradeCommand;
    let context = match command {
        TradeCommand::Order { context, .. }
        | TradeCommand::Cancel { context, .. }
        | TradeCommand::Amend { context, .. } => context,
        TradeCommand::CancelAll { reply, .. } => {
            if let Some(reply) = reply {
                let _ = reply.send(0);
            }
            return;
        }
    };
    context.outbox.push_priority(encode::error(
        &context.id,
        Some("order"),
        code,
        message,
        None,
    ));
}
