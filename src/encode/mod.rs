//! Wire encoding: each market-data event becomes its JSON text once, as
//! `Utf8Bytes` that every subscriber (and later the recorder and the bus)
//! shares by reference count.
//!
//! JSON is written by hand into a `String`: the field order is fixed, the
//! decimals come straight from the integer ticks and lots, and symbols are
//! validated to need no escaping. Only free text (error messages, echoed
//! ids) goes through `crate::json::push_str`.

mod private;
mod responses;

pub use private::*;
pub use responses::*;

use std::fmt::Write as _;

use tungstenite::Utf8Bytes;

use crate::book::Book;
use crate::engine::{Event, LevelChange, Output};
use crate::instrument::Instrument;
use crate::market::Market;
use crate::protocol::{BookView, Channel};
use crate::stats::{Candle, CandleSeries, Interval, Ticker};
use crate::types::{Price, Qty, Side, UnixNanos};

/// How many levels per side the checksum covers.
pub const CHECKSUM_DEPTH: usize = 10;

/// Turns a finished JSON string into shareable frame bytes (no copy).
pub fn frame(text: String) -> Utf8Bytes {
    Utf8Bytes::from(text)
}

/// Writes `"type":..,"symbol":..,"seq":..,"ts":..` after an opening brace.
fn head(out: &mut String, kind: &str, symbol: &str, seq: u64, ts: UnixNanos) {
    let _ = write!(
        out,
        "{{\"type\":\"{kind}\",\"symbol\":\"{symbol}\",\"seq\":{seq},\"ts\":{ts}"
    );
}

fn push_price(out: &mut String, instrument: &Instrument, price: Price) {
    out.push('"');
    instrument.write_price(price, out);
    out.push('"');
}

fn push_qty(out: &mut String, instrument: &Instrument, qty: Qty) {
    out.push('"');
    instrument.write_qty(qty, out);
    out.push('"');
}

/// `["64000.50","1.2500"]`; a removed level's quantity is `"0"`.
fn push_level(out: &mut String, instrument: &Instrument, price: Price, qty: Qty) {
    out.push('[');
    push_price(out, instrument, price);
    out.push(',');
    if qty.is_zero() {
        out.push_str("\"0\"");
    } else {
        push_qty(out, instrument, qty);
    }
    out.push(']');
}

/// The CRC-32 of PROTOCOL.md: top 10 bids then top 10 asks as
/// `price:qty` wire strings joined by `,`, the two sides joined by `|`.
pub fn book_checksum(instrument: &Instrument, book: &Book, scratch: &mut String) -> u32 {
    let side = |side| book.levels(side).map(|l| (l.price, l.total));
    levels_checksum(instrument, side(Side::Buy), side(Side::Sell), scratch)
}

/// The same checksum over levels given best first.
pub fn levels_checksum(
    instrument: &Instrument,
    bids: impl Iterator<Item = (Price, Qty)>,
    asks: impl Iterator<Item = (Price, Qty)>,
    scratch: &mut String,
) -> u32 {
    fn side(instrument: &Instrument, levels: impl Iterator<Item = (Price, Qty)>, out: &mut String) {
        for (i, (price, qty)) in levels.take(CHECKSUM_DEPTH).enumerate() {
            if i > 0 {
                out.push(',');
            }
            instrument.write_price(price, out);
            out.push(':');
            instrument.write_qty(qty, out);
        }
    }
    scratch.clear();
    side(instrument, bids, scratch);
    scratch.push('|');
    side(instrument, asks, scratch);
    crc32fast::hash(scratch.as_bytes())
}

/// A book view's `book_snapshot` or `book_update`: the book's shape with
/// the view's `depth` and `interval` after `ts`, so a client following
/// several views of one symbol tells them apart.
pub struct ViewMessage<'a> {
    pub kind: &'static str,
    pub view: BookView,
    pub seq: u64,
    pub ts: UnixNanos,
    pub bids: &'a [(Price, Qty)],
    pub asks: &'a [(Price, Qty)],
    pub checksum: u32,
}

pub fn book_view(instrument: &Instrument, m: &ViewMessage) -> Utf8Bytes {
    let mut out = String::with_capacity(160 + 40 * (m.bids.len() + m.asks.len()));
    head(&mut out, m.kind, &instrument.symbol, m.seq, m.ts);
    if let Some(depth) = m.view.depth {
        let _ = write!(out, ",\"depth\":{}", depth.levels());
    }
    if let Some(throttle) = m.view.throttle {
        let _ = write!(out, ",\"interval\":\"{}\"", throttle.as_str());
    }
    push_levels(&mut out, instrument, m.bids, m.asks);
    let _ = write!(out, ",\"checksum\":{}}}", m.checksum);
    frame(out)
}

/// `,"bids":[...],"asks":[...]`, each best first.
pub fn push_levels(
    out: &mut String,
    instrument: &Instrument,
    bids: &[(Price, Qty)],
    asks: &[(Price, Qty)],
) {
    for (name, levels) in [("bids", bids), ("asks", asks)] {
        let _ = write!(out, ",\"{name}\":[");
        for (i, &(price, qty)) in levels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            push_level(out, instrument, price, qty);
        }
        out.push(']');
    }
}

/// `book_snapshot` with every level, bids best first, asks best first.
pub fn book_snapshot(
    instrument: &Instrument,
    book: &Book,
    seq: u64,
    ts: UnixNanos,
    checksum: u32,
) -> Utf8Bytes {
    let mut out = String::with_capacity(
        128 + 40 * (book.level_count(Side::Buy) + book.level_count(Side::Sell)),
    );
    head(&mut out, "book_snapshot", &instrument.symbol, seq, ts);
    for (name, side) in [("bids", Side::Buy), ("asks", Side::Sell)] {
        let _ = write!(out, ",\"{name}\":[");
        for (i, level) in book.levels(side).enumerate() {
            if i > 0 {
                out.push(',');
            }
            push_level(&mut out, instrument, level.price, level.total);
        }
        out.push(']');
    }
    let _ = write!(out, ",\"checksum\":{checksum}}}");
    frame(out)
}

/// `book_update` from the engine's level changes (bids then asks, best
/// first).
pub fn book_update(
    instrument: &Instrument,
    changes: &[LevelChange],
    seq: u64,
    ts: UnixNanos,
    checksum: u32,
) -> Utf8Bytes {
    let mut out = String::with_capacity(128 + 40 * changes.len());
    head(&mut out, "book_update", &instrument.symbol, seq, ts);
    for (name, side) in [("bids", Side::Buy), ("asks", Side::Sell)] {
        let _ = write!(out, ",\"{name}\":[");
        let mut first = true;
        for change in changes.iter().filter(|c| c.side == side) {
            if !first {
                out.push(',');
            }
            first = false;
            push_level(&mut out, instrument, change.price, change.qty);
        }
        out.push(']');
    }
    let _ = write!(out, ",\"checksum\":{checksum}}}");
    frame(out)
}

/// `trade`; `trade_id` is the symbol and the trade's `seq`.
pub fn trade(
    instrument: &Instrument,
    seq: u64,
    ts: UnixNanos,
    price: Price,
    qty: Qty,
    taker_side: Side,
) -> Utf8Bytes {
    let mut out = String::with_capacity(160);
    head(&mut out, "trade", &instrument.symbol, seq, ts);
    let _ = write!(
        out,
        ",\"trade_id\":\"{}-{seq}\",\"price\":",
        instrument.symbol
    );
    push_price(&mut out, instrument, price);
    out.push_str(",\"qty\":");
    push_qty(&mut out, instrument, qty);
    let _ = write!(out, ",\"side\":\"{}\"}}", taker_side.as_str());
    frame(out)
}

fn push_opt_price(out: &mut String, instrument: &Instrument, price: Option<Price>) {
    match price {
        Some(p) => push_price(out, instrument, p),
        None => out.push_str("null"),
    }
}

fn push_opt_qty(out: &mut String, instrument: &Instrument, qty: Option<Qty>) {
    match qty {
        Some(q) => push_qty(out, instrument, q),
        None => out.push_str("null"),
    }
}

/// `ticker`; a field with nothing to show (an empty side, no trade yet) is
/// `null`.
/// A market's `status` (v1.1), on the ticker stream: `halted` or
/// `trading`.
pub fn status(instrument: &Instrument, seq: u64, ts: UnixNanos, halted: bool) -> Utf8Bytes {
    let mut out = String::with_capacity(96);
    head(&mut out, "status", &instrument.symbol, seq, ts);
    let status = if halted { "halted" } else { "trading" };
    let _ = write!(out, ",\"status\":\"{status}\"}}");
    frame(out)
}

pub fn ticker(instrument: &Instrument, seq: u64, ts: UnixNanos, t: &Ticker) -> Utf8Bytes {
    let mut out = String::with_capacity(320);
    head(&mut out, "ticker", &instrument.symbol, seq, ts);
    let fields: [(&str, Option<Price>, Option<Qty>); 3] = [
        ("bid", t.bid.map(|b| b.0), t.bid.map(|b| b.1)),
        ("ask", t.ask.map(|a| a.0), t.ask.map(|a| a.1)),
        ("last", t.last.map(|l| l.0), t.last.map(|l| l.1)),
    ];
    for (name, price, qty) in fields {
        let _ = write!(out, ",\"{name}\":");
        push_opt_price(&mut out, instrument, price);
        let _ = write!(out, ",\"{name}_qty\":");
        push_opt_qty(&mut out, instrument, qty);
    }
    for (name, price) in [
        ("open", t.window.open),
        ("high", t.window.high),
        ("low", t.window.low),
    ] {
        let _ = write!(out, ",\"{name}\":");
        push_opt_price(&mut out, instrument, price);
    }
    out.push_str(",\"volume\":");
    push_qty(&mut out, instrument, t.window.volume);
    out.push('}');
    frame(out)
}

fn push_bar_fields(out: &mut String, instrument: &Instrument, bar: &Candle) {
    let _ = write!(out, "\"start\":{},\"open\":", bar.start);
    push_price(out, instrument, bar.open);
    out.push_str(",\"high\":");
    push_price(out, instrument, bar.high);
    out.push_str(",\"low\":");
    push_price(out, instrument, bar.low);
    out.push_str(",\"close\":");
    push_price(out, instrument, bar.close);
    out.push_str(",\"volume\":");
    push_qty(out, instrument, bar.volume);
}

/// `candle`: the current bar of one interval.
pub fn candle(
    instrument: &Instrument,
    interval: &str,
    seq: u64,
    ts: UnixNanos,
    bar: &Candle,
) -> Utf8Bytes {
    let mut out = String::with_capacity(256);
    head(&mut out, "candle", &instrument.symbol, seq, ts);
    let _ = write!(out, ",\"interval\":\"{interval}\",");
    push_bar_fields(&mut out, instrument, bar);
    out.push('}');
    frame(out)
}

/// `candles_snapshot`: the kept bars, oldest first, at the stream's `seq`.
pub fn candles_snapshot<'a>(
    instrument: &Instrument,
    interval: Interval,
    seq: u64,
    ts: UnixNanos,
    bars: impl ExactSizeIterator<Item = &'a Candle>,
) -> Utf8Bytes {
    let mut out = String::with_capacity(160 + 170 * bars.len());
    head(&mut out, "candles_snapshot", &instrument.symbol, seq, ts);
    let _ = write!(out, ",\"interval\":\"{}\",\"candles\":[", interval.as_str());
    for (i, bar) in bars.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('{');
        push_bar_fields(&mut out, instrument, bar);
        out.push('}');
    }
    out.push_str("]}");
    frame(out)
}

/// `candles_snapshot` of one of a market's candle series, as it is now.
pub fn series_snapshot(instrument: &Instrument, series: &CandleSeries, ts: UnixNanos) -> Utf8Bytes {
    candles_snapshot(
        instrument,
        series.interval(),
        series.seq(),
        ts,
        series.bars(),
    )
}

/// Encodes the market-data messages of one input's events (`out`), in
/// order, each with its channel, engine time and (a book update) its level
/// changes. The checksum of a book update is of the book now, which is the
/// book after it: each input yields at most one update.
pub fn market_data(
    market: &Market,
    out: &Output,
    scratch: &mut String,
    mut emit: impl FnMut(Channel, UnixNanos, Utf8Bytes, &[LevelChange]),
) {
    let instrument = market.instrument();
    for event in &out.events {
        match *event {
            Event::Trade {
                seq,
                ts,
                price,
                qty,
                taker_side,
                ..
            } => {
                emit(
                    Channel::Trades,
                    ts,
                    trade(instrument, seq, ts, price, qty, taker_side),
                    &[],
                );
            }
            Event::BookUpdate { seq, ts, .. } => {
                let checksum = book_checksum(instrument, market.engine().book(), scratch);
                let changes = out.changes_of(event);
                emit(
                    Channel::Book,
                    ts,
                    book_update(instrument, changes, seq, ts, checksum),
                    changes,
                );
            }
            Event::Ticker { seq, ts } => emit(
                Channel::Ticker,
                ts,
                ticker(instrument, seq, ts, market.ticker().latest().2),
                &[],
            ),
            Event::Status { seq, ts, halted } => emit(
                Channel::Ticker,
                ts,
                status(instrument, seq, ts, halted),
                &[],
            ),
            Event::Candle {
                interval,
                seq,
                ts,
                candle: bar,
            } => {
                emit(
                    Channel::Candles(interval),
                    ts,
                    candle(instrument, interval.as_str(), seq, ts, &bar),
                    &[],
                );
            }
            _ => {}
        }
    }
}

/// A `book_snapshot` of a market as it is now.
pub fn market_book_snapshot(market: &Market, scratch: &mut String) -> Utf8Bytes {
    let engine = market.engine();
    let checksum = book_checksum(market.instrument(), engine.book(), scratch);
    book_snapshot(
        market.instrument(),
        engine.book(),
        engine.book_seq(),
        engine.now(),
        checksum,
    )
}

/// `heartbeat` with the last `seq` of the symbol's book, trades and ticker.
pub fn heartbeat(
    symbol: &str,
    seq: u64,
    ts: UnixNanos,
    book: u64,
    trades: u64,
    ticker: u64,
) -> Utf8Bytes {
    let mut out = String::with_capacity(160);
    head(&mut out, "heartbeat", symbol, seq, ts);
    let _ = write!(
        out,
        ",\"last_seq\":{{\"book\":{book},\"trades\":{trades},\"ticker\":{ticker}}}}}"
    );
    frame(out)
}

#[cfg(test)]
mod tests;
