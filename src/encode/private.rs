//! Private events and trading responses: one account's messages.

use std::fmt::Write as _;

use rust_decimal::Decimal;
use tungstenite::Utf8Bytes;

use super::frame;
use crate::error_code::ErrorCode;
use crate::instrument::Instrument;
use crate::json;
use crate::protocol::RequestId;
use crate::trading::{Ledger, OpenOrder};
use crate::types::{OrderId, Price, Qty, Side, SymbolId, UnixNanos};

fn open(out: &mut String, kind: &str, id: &RequestId) {
    let _ = write!(out, "{{\"type\":\"{kind}\"");
    if let Some(id) = id {
        let _ = write!(out, ",\"id\":{id}");
    }
}

/// A private event's opening: its type, the request's `id` if it answers
/// one, and the account's private `seq`.
fn open_event(out: &mut String, kind: &str, id: &RequestId, seq: u64) {
    open(out, kind, id);
    let _ = write!(out, ",\"seq\":{seq}");
}

/// The wire form of an order id: the symbol and the engine's number.
pub fn order_id(symbol: &str, id: OrderId) -> String {
    format!("{symbol}:{}", id.0)
}

fn push_opt_str(out: &mut String, text: Option<&str>) {
    match text {
        Some(t) => json::push_str(out, t),
        None => out.push_str("null"),
    }
}

fn push_price(out: &mut String, instrument: &Instrument, price: Option<Price>) {
    match price {
        Some(p) => {
            out.push('"');
            instrument.write_price(p, out);
            out.push('"');
        }
        None => out.push_str("null"),
    }
}

fn push_qty(out: &mut String, instrument: &Instrument, qty: Qty) {
    out.push('"');
    instrument.write_qty(qty, out);
    out.push('"');
}

/// A decimal with at least `decimals` decimals and as many more as it needs.
pub fn exact(value: Decimal, decimals: u32) -> String {
    let mut v = value.normalize();
    if v.scale() < decimals {
        v.rescale(decimals);
    }
    v.to_string()
}

/// A decimal rounded to exactly `decimals` decimals.
pub fn fixed(value: Decimal, decimals: u32) -> String {
    let mut v = value.round_dp(decimals);
    v.rescale(decimals);
    v.to_string()
}

/// `order_accepted`, and the body of an `open_orders` entry.
/// Writes the fields after an opening `{` (no leading comma).
/// `ts` is the order's own time, except in `order_amended` (the amend's).
fn push_order_fields(
    out: &mut String,
    instrument: &Instrument,
    o: &OpenOrder,
    with_leaves: bool,
    ts: UnixNanos,
) {
    out.push_str("\"order_id\":");
    json::push_str(out, &order_id(&instrument.symbol, o.order_id));
    out.push_str(",\"client_order_id\":");
    push_opt_str(out, o.client_order_id.as_deref());
    let _ = write!(
        out,
        ",\"symbol\":\"{}\",\"side\":\"{}\",\"order_type\":\"{}\",\"price\":",
        instrument.symbol,
        o.side.as_str(),
        o.order_type.as_str()
    );
    push_price(out, instrument, o.price);
    out.push_str(",\"qty\":");
    push_qty(out, instrument, o.qty);
    if with_leaves {
        out.push_str(",\"leaves_qty\":");
        push_qty(out, instrument, o.leaves);
    }
    let _ = write!(out, ",\"tif\":\"{}\",\"ts\":{ts}", o.tif.as_str());
}

pub fn order_accepted(
    id: &RequestId,
    instrument: &Instrument,
    order: &OpenOrder,
    seq: u64,
) -> Utf8Bytes {
    let mut out = String::with_capacity(256);
    open_event(&mut out, "order_accepted", id, seq);
    out.push(',');
    push_order_fields(&mut out, instrument, order, false, order.ts);
    out.push('}');
    frame(out)
}

/// One side of a trade, for its owner.
pub struct FillFields<'a> {
    pub order: &'a OpenOrder,
    pub side: Side,
    pub price: Price,
    pub qty: Qty,
    pub maker: bool,
    pub trade_seq: u64,
    /// A paper trade (of a replay with `--paper`): its `trade_id` is
    /// `SYMBOL-paper-N`, not one of the public trades'.
    pub paper: bool,
    pub leaves: Qty,
    pub position: Decimal,
    pub ts: UnixNanos,
    /// The account's private `seq`.
    pub seq: u64,
}

pub fn fill(instrument: &Instrument, f: &FillFields) -> Utf8Bytes {
    let mut out = String::with_capacity(320);
    open_event(&mut out, "fill", &None, f.seq);
    out.push_str(",\"order_id\":");
    json::push_str(&mut out, &order_id(&instrument.symbol, f.order.order_id));
    out.push_str(",\"client_order_id\":");
    push_opt_str(&mut out, f.order.client_order_id.as_deref());
    let _ = write!(
        out,
        ",\"symbol\":\"{}\",\"side\":\"{}\",\"price\":",
        instrument.symbol,
        f.side.as_str()
    );
    push_price(&mut out, instrument, Some(f.price));
    out.push_str(",\"qty\":");
    push_qty(&mut out, instrument, f.qty);
    let liquidity = if f.maker { "maker" } else { "taker" };
    let paper = if f.paper { "paper-" } else { "" };
    let _ = write!(
        out,
        ",\"liquidity\":\"{liquidity}\",\"trade_id\":\"{}-{paper}{}\",\"leaves_qty\":",
        instrument.symbol, f.trade_seq
    );
    push_qty(&mut out, instrument, f.leaves);
    let _ = write!(
        out,
        ",\"position\":\"{}\",\"ts\":{}}}",
        fixed(f.position, instrument.qty_decimals),
        f.ts
    );
    frame(out)
}

pub fn order_done(
    id: &RequestId,
    instrument: &Instrument,
    order: &OpenOrder,
    reason: &str,
    filled: Qty,
    ts: UnixNanos,
    seq: u64,
) -> Utf8Bytes {
    let mut out = String::with_capacity(256);
    open_event(&mut out, "order_done", id, seq);
    out.push_str(",\"order_id\":");
    json::push_str(&mut out, &order_id(&instrument.symbol, order.order_id));
    out.push_str(",\"client_order_id\":");
    push_opt_str(&mut out, order.client_order_id.as_deref());
    let _ = write!(
        out,
        ",\"symbol\":\"{}\",\"reason\":\"{reason}\",\"filled_qty\":",
        instrument.symbol
    );
    push_qty(&mut out, instrument, filled);
    let _ = write!(out, ",\"ts\":{ts}}}");
    frame(out)
}

/// `order_amended`: the order's new price, quantity and leaves.
pub fn order_amended(
    id: &RequestId,
    instrument: &Instrument,
    order: &OpenOrder,
    ts: UnixNanos,
    seq: u64,
) -> Utf8Bytes {
    let mut out = String::with_capacity(256);
    open_event(&mut out, "order_amended", id, seq);
    out.push(',');
    push_order_fields(&mut out, instrument, order, true, ts);
    out.push('}');
    frame(out)
}

/// `order_status`: an `open_orders` entry plus `status` and `filled_qty`.
pub fn order_status(
    id: &RequestId,
    instrument: &Instrument,
    order: &OpenOrder,
    status: &str,
) -> Utf8Bytes {
    let mut out = String::with_capacity(320);
    open(&mut out, "order_status", id);
    out.push_str(",\"order\":{");
    push_order_fields(&mut out, instrument, order, true, order.ts);
    let _ = write!(out, ",\"status\":\"{status}\",\"filled_qty\":");
    push_qty(&mut out, instrument, order.filled());
    out.push_str("}}");
    frame(out)
}

/// `fills`: the kept `fill` events after the asked `seq`, as they were sent.
pub fn fills<'a>(
    id: &RequestId,
    fills: impl IntoIterator<Item = &'a str>,
    more: bool,
) -> Utf8Bytes {
    let mut out = String::with_capacity(1024);
    open(&mut out, "fills", id);
    out.push_str(",\"fills\":[");
    for (i, fill) in fills.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(fill);
    }
    let _ = write!(out, "],\"more\":{more}}}");
    frame(out)
}

pub fn authenticated(id: &RequestId, account: &str) -> Utf8Bytes {
    let mut out = String::with_capacity(64);
    open(&mut out, "authenticated", id);
    out.push_str(",\"account\":");
    json::push_str(&mut out, account);
    out.push('}');
    frame(out)
}

pub fn canceled_all(id: &RequestId, count: usize) -> Utf8Bytes {
    let mut out = String::with_capacity(64);
    open(&mut out, "canceled_all", id);
    let _ = write!(out, ",\"count\":{count}}}");
    frame(out)
}

/// `open_orders`; `orders` pairs each order with its instrument.
pub fn open_orders<'a>(
    id: &RequestId,
    orders: impl IntoIterator<Item = (&'a Instrument, &'a OpenOrder)>,
) -> Utf8Bytes {
    let mut out = String::with_capacity(256);
    open(&mut out, "open_orders", id);
    out.push_str(",\"orders\":[");
    for (i, (instrument, order)) in orders.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('{');
        push_order_fields(&mut out, instrument, order, true, order.ts);
        out.push('}');
    }
    out.push_str("]}");
    frame(out)
}

/// `account`: cash (exact, at least 2 decimals) and each traded symbol's
/// position, average price (rounded to the price decimals) and realised P&L
/// (exact, at least the price decimals).
pub fn account(
    id: &RequestId,
    name: &str,
    ledger: &Ledger,
    instrument_of: impl Fn(SymbolId) -> Option<Instrument>,
) -> Utf8Bytes {
    let mut out = String::with_capacity(512);
    open(&mut out, "account", id);
    out.push_str(",\"account\":");
    json::push_str(&mut out, name);
    let _ = write!(
        out,
        ",\"cash\":\"{}\",\"positions\":[",
        exact(ledger.cash, 2)
    );
    let mut first = true;
    for (&symbol, position) in &ledger.positions {
        let Some(instrument) = instrument_of(symbol) else {
            continue;
        };
        if !first {
            out.push(',');
        }
        first = false;
        let _ = write!(
            out,
            "{{\"symbol\":\"{}\",\"position\":\"{}\",\"avg_price\":\"{}\",\"realized_pnl\":\"{}\"}}",
            instrument.symbol,
            fixed(position.qty, instrument.qty_decimals),
            fixed(position.avg_price(), instrument.price_decimals),
            exact(position.realized_pnl, instrument.price_decimals)
        );
    }
    out.push_str("]}");
    frame(out)
}

/// `duplicate_client_order_id`, naming the order that has the id.
pub fn duplicate(
    id: &RequestId,
    client_order_id: &str,
    order_id: Option<&str>,
    status: &str,
) -> Utf8Bytes {
    let mut out = String::with_capacity(256);
    open(&mut out, "error", id);
    let code = ErrorCode::DuplicateClientOrderId;
    let _ = write!(out, ",\"op\":\"order\",\"code\":\"{code}\",\"message\":");
    let message = match order_id {
        Some(o) => format!("client_order_id {client_order_id:?} is already order {o} ({status})"),
        None => {
            format!("client_order_id {client_order_id:?} is already taken by an order in flight")
        }
    };
    json::push_str(&mut out, &message);
    out.push_str(",\"order_id\":");
    push_opt_str(&mut out, order_id);
    out.push_str(",\"status\":");
    json::push_str(&mut out, status);
    out.push('}');
    frame(out)
}
