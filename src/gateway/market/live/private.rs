//! The private events of one input's output (`order_accepted`, `fill`,
//! `order_done`), for client and crowd inputs alike (a crowd order can fill
//! a client's): booked in the accounts concerned and sent to every
//! connection authenticated as each, the requester with its request's `id`.

use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::encode::{self, FillFields};
use crate::engine::{DoneReason, Event, Output};
use crate::gateway::accounts::account_of;
use crate::gateway::commands::RequestContext;
use crate::gateway::shared::Shared;
use crate::market::Market;
use crate::protocol::RequestId;
use crate::trading::OpenOrder;
use crate::types::{Owner, SymbolId};

/// Sends the private events of the current output to the accounts
/// concerned, and books their fills.
pub fn send_events(
    symbol: SymbolId,
    market: &Market,
    out: &Output,
    request: Option<&RequestContext>,
    shared: &Shared,
) {
    // Most inputs are the crowd's alone: nothing private, nothing to copy.
    let concerns_an_account = |e: &Event| match *e {
        Event::Accepted { order, .. } => order.owner != Owner::SIM,
        Event::Trade { maker, taker, .. } => maker.owner != Owner::SIM || taker.owner != Owner::SIM,
        Event::Done { owner, .. } => owner != Owner::SIM,
        _ => false,
    };
    if !out.events.iter().any(concerns_an_account) {
        return;
    }
    let instrument = market.instrument().clone();
    for i in 0..out.events.len() {
        match out.events[i] {
            Event::Accepted {
                order_id,
                order,
                ts,
            } => {
                let (Some(account), Some(context)) = (account_of(order.owner), request) else {
                    continue;
                };
                let open = OpenOrder {
                    symbol,
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
                shared.accounts[account]
                    .state()
                    .orders
                    .accepted(open.clone());
                send(shared, request, account, |id| {
                    encode::order_accepted(id, &instrument, &open)
                });
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
                        let mut state = shared.accounts[account].state();
                        let position = state.ledger.fill(
                            symbol,
                            side,
                            instrument.price_to_decimal(price),
                            instrument.qty_to_decimal(qty),
                        );
                        let Some(order) = state.orders.filled(symbol, fill.order_id, fill.leaves)
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
                    send(shared, request, account, |_| frame.clone());
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
                let Some(order) = shared.accounts[account]
                    .state()
                    .orders
                    .done(symbol, order_id, reason)
                else {
                    continue;
                };
                let context_reason = request.and_then(|c| c.done_reason);
                let reason = match (reason, context_reason) {
                    (DoneReason::Canceled, Some(r)) => r,
                    (r, _) => r.as_str(),
                };
                send(shared, request, account, |id| {
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
    shared: &Shared,
    request: Option<&RequestContext>,
    account: usize,
    make: impl Fn(&RequestId) -> Utf8Bytes,
) {
    let requester = request.filter(|c| c.account == account);
    let plain = make(&None);
    let connections = shared.accounts[account].connections();
    for outbox in &connections {
        match requester {
            Some(c) if c.conn == outbox.id && c.id.is_some() => outbox.push_priority(make(&c.id)),
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
