//! The private events of one input's output (`order_accepted`,
//! `order_amended`, `fill`, `order_done`), for client and crowd inputs alike
//! (a crowd order can fill a client's): booked in the accounts concerned,
//! each with the account's next private `seq`, and queued as effects for
//! every connection authenticated as each, the requester with its
//! request's `id`.
//!
//! With a journal, the caller holds the journal lock around this booking,
//! so the order of bookings (and so of `seq`s) is the journal's order.

use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::encode::{self, FillFields};
use crate::engine::{DoneReason, Event, Output};
use crate::gateway::accounts::account_of;
use crate::gateway::commands::RequestContext;
use crate::gateway::shared::Shared;
use crate::instrument::Instrument;
use crate::protocol::RequestId;
use crate::trading::{OpenOrder, SentFill};
use crate::types::{Owner, SymbolId};

use super::effects::{Effect, Effects, Requester};

/// Whether an input's output concerns any account (most are the crowd's
/// alone: nothing private, nothing to wait for).
pub fn concerns_an_account(out: &Output) -> bool {
    out.events.iter().any(|e| match *e {
        Event::Accepted { order, .. } => order.owner != Owner::SIM,
        Event::Trade { maker, taker, .. } => maker.owner != Owner::SIM || taker.owner != Owner::SIM,
        Event::Done { owner, .. } | Event::Amended { owner, .. } => owner != Owner::SIM,
        _ => false,
    })
}

/// How the trades of an output are named in `fill`s.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trades {
    /// The engine's: the public trades (`SYMBOL-seq`).
    Public,
    /// A paper book's (`SYMBOL-paper-seq`).
    Paper,
}

/// Books the private events of an output that concerns an account in the
/// accounts concerned and queues them for their connections.
pub fn book_events_of(
    symbol: SymbolId,
    instrument: &Instrument,
    trades: Trades,
    out: &Output,
    request: Option<&RequestContext>,
    shared: &Shared,
    effects: &mut Effects,
) {
    // `make` encodes the event with a request `id` (or none): the plain
    // event for every connection, and the requester's answer if it asked.
    let mut received = request.and_then(|c| c.received);
    let mut queue = |account: usize, make: &dyn Fn(&RequestId) -> Utf8Bytes| {
        let requester = request.filter(|c| c.account == account);
        let answer = requester.filter(|c| c.id.is_some()).map(|c| make(&c.id));
        effects.push(Effect::Private {
            account,
            requester: requester.map(|c| Requester {
                conn: c.conn,
                outbox: c.outbox.clone(),
                // The first answer ends the round trip.
                received: if answer.is_some() {
                    received.take()
                } else {
                    None
                },
            }),
            plain: make(&None),
            answer,
        });
    };
    for event in &out.events {
        match *event {
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
                    post_only: order.post_only,
                    ts,
                    conn: context.conn,
                };
                let seq = {
                    let history = shared.accounts[account].config.history;
                    let mut state = shared.accounts[account].state();
                    state.orders.accepted(open.clone(), history);
                    state.log.next_seq()
                };
                queue(account, &|id| {
                    encode::order_accepted(id, instrument, &open, seq)
                });
            }
            Event::Amended {
                order_id,
                owner,
                price,
                leaves,
                ts,
            } => {
                let Some(account) = account_of(owner) else {
                    continue;
                };
                let (order, seq) = {
                    let mut state = shared.accounts[account].state();
                    let Some(order) = state
                        .orders
                        .amended(symbol, order_id, price, leaves)
                        .cloned()
                    else {
                        continue;
                    };
                    (order, state.log.next_seq())
                };
                queue(account, &|id| {
                    encode::order_amended(id, instrument, &order, ts, seq)
                });
            }
            Event::Trade {
                seq: trade_seq,
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
                        let history = shared.accounts[account].config.history;
                        let mut state = shared.accounts[account].state();
                        let position = state.ledger.fill(
                            symbol,
                            side,
                            instrument.price_to_decimal(price),
                            instrument.qty_to_decimal(qty),
                        );
                        let Some(order) = state
                            .orders
                            .filled(symbol, fill.order_id, fill.leaves)
                            .cloned()
                        else {
                            continue;
                        };
                        let seq = state.log.next_seq();
                        let frame = encode::fill(
                            instrument,
                            &FillFields {
                                order: &order,
                                side,
                                price,
                                qty,
                                maker: is_maker,
                                trade_seq,
                                paper: trades == Trades::Paper,
                                leaves: fill.leaves,
                                position,
                                ts,
                                seq,
                            },
                        );
                        state.log.keep_fill(
                            SentFill {
                                seq,
                                ts,
                                symbol,
                                frame: frame.as_str().to_string(),
                            },
                            history,
                        );
                        frame
                    };
                    queue(account, &|_| frame.clone());
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
                let context_reason = request.and_then(|c| c.done_reason);
                let wire_reason = match (reason, context_reason) {
                    (DoneReason::Canceled, Some(r)) => r,
                    (r, _) => r.as_str(),
                };
                let (order, seq) = {
                    let history = shared.accounts[account].config.history;
                    let mut state = shared.accounts[account].state();
                    let Some(order) = state.orders.done(symbol, order_id, reason, ts, history)
                    else {
                        continue;
                    };
                    (order, state.log.next_seq())
                };
                queue(account, &|id| {
                    encode::order_done(id, instrument, &order, wire_reason, filled, ts, seq)
                });
            }
            _ => {}
        }
    }
}

/// Sends a private event to every connection of the account; the
/// connection that made the request gets the answer with its `id`.
pub fn send(shared: &Shared, effect: Effect) {
    let Effect::Private {
        account,
        requester,
        plain,
        answer,
    } = effect
    else {
        return;
    };
    if let Some(received) = requester.as_ref().and_then(|r| r.received) {
        shared.metrics.order_round_trip.observe(received.elapsed());
    }
    let connections = shared.accounts[account].connections();
    for outbox in &connections {
        match (&requester, &answer) {
            (Some(r), Some(answer)) if r.conn == outbox.id => outbox.push_priority(answer.clone()),
            _ => outbox.push_priority(plain.clone()),
        }
    }
    // A requester not (or no longer) attached still gets its answer.
    if let Some(r) = &requester
        && !connections.iter().any(|o| o.id == r.conn)
    {
        r.outbox
            .push_priority(answer.clone().unwrap_or_else(|| plain.clone()));
    }
}
