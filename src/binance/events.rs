//! The market streams' events as Binance spot sends them, each written
//! once per event and shared by every subscriber of the dialect. Prices
//! and quantities keep the instrument's decimals (Binance pads to 8; both
//! are decimal strings to a client). Times are milliseconds of engine
//! time, as every time tickwire publishes. Pure code.

use std::fmt::Write as _;

use rust_decimal::Decimal;

use super::native::{Bar, Ticker, Trade};
use crate::instrument::Instrument;
use crate::types::{Price, Qty};

pub const NANOS_PER_MS: u64 = 1_000_000;
const DAY_MS: u64 = 86_400_000;

pub fn ms(ts: u64) -> u64 {
    ts / NANOS_PER_MS
}

/// `"e":"name","E":ms,"s":"SYMBOL"` after an opening brace.
fn head(out: &mut String, event: &str, ts: u64, symbol: &str) {
    let _ = write!(
        out,
        "{{\"e\":\"{event}\",\"E\":{},\"s\":\"{symbol}\"",
        ms(ts)
    );
}

/// `"key":[["price","qty"],...]`.
pub fn push_levels(out: &mut String, instrument: &Instrument, key: &str, levels: &[(Price, Qty)]) {
    let _ = write!(out, "\"{key}\":[");
    for (i, &(price, qty)) in levels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("[\"");
        instrument.write_price(price, out);
        out.push_str("\",\"");
        instrument.write_qty(qty, out);
        out.push_str("\"]");
    }
    out.push(']');
}

/// `<symbol>@trade`; the trade id is the trades stream's `seq`.
pub fn trade(out: &mut String, symbol: &str, t: &Trade) {
    out.clear();
    head(out, "trade", t.ts, symbol);
    let _ = write!(
        out,
        ",\"t\":{},\"p\":\"{}\",\"q\":\"{}\",\"T\":{},\"m\":{},\"M\":true}}",
        t.seq,
        t.price,
        t.qty,
        ms(t.ts),
        t.buyer_maker()
    );
}

/// `<symbol>@aggTrade`: every trade is an aggregate of one (its first and
/// last trade id are its own).
pub fn agg_trade(out: &mut String, symbol: &str, t: &Trade) {
    out.clear();
    head(out, "aggTrade", t.ts, symbol);
    out.push(',');
    agg_trade_fields(out, t);
    out.push('}');
}

/// An aggregate trade's fields (`"a":..,...,"M":true`), of the stream's
/// event and of REST `aggTrades` alike.
pub fn agg_trade_fields(out: &mut String, t: &Trade) {
    let _ = write!(
        out,
        "\"a\":{0},\"p\":\"{1}\",\"q\":\"{2}\",\"f\":{0},\"l\":{0},\"T\":{3},\"m\":{4},\"M\":true",
        t.seq,
        t.price,
        t.qty,
        ms(t.ts),
        t.buyer_maker()
    );
}

/// The update ids and levels of a diff depth event.
pub struct DepthDiff<'a> {
    pub ts: u64,
    pub first: u64,
    pub last: u64,
    pub bids: &'a [(Price, Qty)],
    pub asks: &'a [(Price, Qty)],
}

/// `<symbol>@depth` and `@depth@100ms`: `U` and `u` are the first and last
/// book `seq` the diff covers, so they chain with the REST snapshot's
/// `lastUpdateId` (the book `seq`).
pub fn depth_update(out: &mut String, instrument: &Instrument, symbol: &str, d: &DepthDiff) {
    out.clear();
    head(out, "depthUpdate", d.ts, symbol);
    let _ = write!(out, ",\"U\":{},\"u\":{},", d.first, d.last);
    push_levels(out, instrument, "b", d.bids);
    out.push(',');
    push_levels(out, instrument, "a", d.asks);
    out.push('}');
}

/// `<symbol>@depthN`: the top levels at book `seq` `last_update_id` (the
/// REST `depth` body has the same shape).
pub fn partial_depth(
    out: &mut String,
    instrument: &Instrument,
    last_update_id: u64,
    bids: &[(Price, Qty)],
    asks: &[(Price, Qty)],
) {
    out.clear();
    let _ = write!(out, "{{\"lastUpdateId\":{last_update_id},");
    push_levels(out, instrument, "bids", bids);
    out.push(',');
    push_levels(out, instrument, "asks", asks);
    out.push('}');
}

/// The best bid and ask (a side with no level is price and quantity 0).
pub struct Top {
    pub bid: Option<(Price, Qty)>,
    pub ask: Option<(Price, Qty)>,
}

/// `"price_key":"p","qty_key":"q"` of a level (an empty side is 0 and 0).
fn push_level_named(
    out: &mut String,
    instrument: &Instrument,
    level: Option<(Price, Qty)>,
    keys: (&str, &str),
) {
    let (price, qty) = level.unwrap_or((Price(0), Qty(0)));
    let _ = write!(out, "\"{}\":\"", keys.0);
    instrument.write_price(price, out);
    let _ = write!(out, "\",\"{}\":\"", keys.1);
    instrument.write_qty(qty, out);
    out.push('"');
}

/// `<symbol>@bookTicker`: `u` is the book `seq`.
pub fn book_ticker(out: &mut String, instrument: &Instrument, symbol: &str, seq: u64, top: &Top) {
    out.clear();
    let _ = write!(out, "{{\"u\":{seq},\"s\":\"{symbol}\",");
    push_level_named(out, instrument, top.bid, ("b", "B"));
    out.push(',');
    push_level_named(out, instrument, top.ask, ("a", "A"));
    out.push('}');
}

/// The REST `ticker/bookTicker` body of one symbol.
pub fn book_ticker_rest(out: &mut String, instrument: &Instrument, symbol: &str, top: &Top) {
    let _ = write!(out, "{{\"symbol\":\"{symbol}\",");
    push_level_named(out, instrument, top.bid, ("bidPrice", "bidQty"));
    out.push(',');
    push_level_named(out, instrument, top.ask, ("askPrice", "askQty"));
    out.push('}');
}

/// `<symbol>@kline_<interval>`: `closed` is Binance's `x`. Trade counts,
/// quote volumes and taker volumes are not kept (0), first and last trade
/// ids neither (-1).
pub fn kline(
    out: &mut String,
    symbol: &str,
    interval: (&str, u64),
    ts: u64,
    bar: &Bar,
    closed: bool,
) {
    out.clear();
    head(out, "kline", ts, symbol);
    let (name, nanos) = interval;
    let start = ms(bar.start);
    let _ = write!(
        out,
        ",\"k\":{{\"t\":{start},\"T\":{},\"s\":\"{symbol}\",\"i\":\"{name}\",\"f\":-1,\"L\":-1,\"o\":\"{}\",\"c\":\"{}\",\"h\":\"{}\",\"l\":\"{}\",\"v\":\"{}\",\"n\":0,\"x\":{closed},\"q\":\"0\",\"V\":\"0\",\"Q\":\"0\",\"B\":\"0\"}}}}",
        start + ms(nanos) - 1,
        bar.open,
        bar.close,
        bar.high,
        bar.low,
        bar.volume
    );
}

/// A REST `klines` row.
pub fn kline_row(out: &mut String, nanos: u64, bar: &Bar) {
    let start = ms(bar.start);
    let _ = write!(
        out,
        "[{start},\"{}\",\"{}\",\"{}\",\"{}\",\"{}\",{},\"0\",0,\"0\",\"0\",\"0\"]",
        bar.open,
        bar.high,
        bar.low,
        bar.close,
        bar.volume,
        start + ms(nanos) - 1
    );
}

/// The 24 h figures of a ticker, as Binance names them; a figure with
/// nothing behind it yet (no trade, an empty side) is zero.
pub struct Figures {
    pub last: String,
    pub last_qty: String,
    pub bid: String,
    pub bid_qty: String,
    pub ask: String,
    pub ask_qty: String,
    pub open: String,
    pub high: String,
    pub low: String,
    pub volume: String,
    pub change: String,
    pub change_percent: String,
    /// Engine time of the ticker, in ms.
    pub close_time: u64,
}

impl Figures {
    pub fn of(instrument: &Instrument, t: &Ticker) -> Figures {
        let price = |v: Option<&str>| match v {
            Some(v) => v.to_string(),
            None => instrument.format_price(Price(0)),
        };
        let qty = |v: Option<&str>| match v {
            Some(v) => v.to_string(),
            None => instrument.format_qty(Qty(0)),
        };
        let decimal = |v: Option<&str>| v.and_then(|v| v.parse::<Decimal>().ok());
        let (change, change_percent) = match (decimal(t.last), decimal(t.open)) {
            (Some(last), Some(open)) if !open.is_zero() => {
                let change = last - open;
                let percent = (change * Decimal::ONE_HUNDRED / open).round_dp(3);
                (change.round_dp(instrument.price_decimals), percent)
            }
            _ => (Decimal::ZERO, Decimal::ZERO),
        };
        let change = instrument
            .price_from_decimal(change.abs())
            .map(|p| {
                let text = instrument.format_price(p);
                if change.is_sign_negative() && !change.is_zero() {
                    format!("-{text}")
                } else {
                    text
                }
            })
            .unwrap_or_else(|_| instrument.format_price(Price(0)));
        Figures {
            last: price(t.last),
            last_qty: qty(t.last_qty),
            bid: price(t.bid),
            bid_qty: qty(t.bid_qty),
            ask: price(t.ask),
            ask_qty: qty(t.ask_qty),
            open: price(t.open),
            high: price(t.high),
            low: price(t.low),
            volume: t.volume.to_string(),
            change,
            change_percent: format!("{:.3}", change_percent),
            close_time: ms(t.ts),
        }
    }

    pub fn open_time(&self) -> u64 {
        self.close_time.saturating_sub(DAY_MS)
    }
}

/// The 24 h ticker's fields in Binance's order: the stream's key, the
/// REST key, and the value (quoted: a decimal string; else a number).
fn ticker_fields(f: &Figures) -> [(&'static str, &'static str, String, bool); 20] {
    let text = |v: &str| (v.to_string(), true);
    let number = |v: String| (v, false);
    let rows = [
        ("p", "priceChange", text(&f.change)),
        ("P", "priceChangePercent", text(&f.change_percent)),
        ("w", "weightedAvgPrice", text("0")),
        ("x", "prevClosePrice", text(&f.open)),
        ("c", "lastPrice", text(&f.last)),
        ("Q", "lastQty", text(&f.last_qty)),
        ("b", "bidPrice", text(&f.bid)),
        ("B", "bidQty", text(&f.bid_qty)),
        ("a", "askPrice", text(&f.ask)),
        ("A", "askQty", text(&f.ask_qty)),
        ("o", "openPrice", text(&f.open)),
        ("h", "highPrice", text(&f.high)),
        ("l", "lowPrice", text(&f.low)),
        ("v", "volume", text(&f.volume)),
        ("q", "quoteVolume", text("0")),
        ("O", "openTime", number(f.open_time().to_string())),
        ("C", "closeTime", number(f.close_time.to_string())),
        ("F", "firstId", number("-1".into())),
        ("L", "lastId", number("-1".into())),
        ("n", "count", number("0".into())),
    ];
    rows.map(|(ws, rest, (value, quoted))| (ws, rest, value, quoted))
}

fn push_ticker_fields(out: &mut String, f: &Figures, rest: bool) {
    for (ws_key, rest_key, value, quoted) in ticker_fields(f) {
        let key = if rest { rest_key } else { ws_key };
        let q = if quoted { "\"" } else { "" };
        let _ = write!(out, ",\"{key}\":{q}{value}{q}");
    }
}

/// `<symbol>@ticker`. Quote volume, weighted average price and trade
/// counts are not kept (0; trade ids -1).
pub fn ticker(out: &mut String, symbol: &str, f: &Figures) {
    out.clear();
    let _ = write!(
        out,
        "{{\"e\":\"24hrTicker\",\"E\":{},\"s\":\"{symbol}\"",
        f.close_time
    );
    push_ticker_fields(out, f, false);
    out.push('}');
}

/// `<symbol>@miniTicker`.
pub fn mini_ticker(out: &mut String, symbol: &str, f: &Figures) {
    out.clear();
    let _ = write!(
        out,
        "{{\"e\":\"24hrMiniTicker\",\"E\":{},\"s\":\"{symbol}\",\"c\":\"{}\",\"o\":\"{}\",\"h\":\"{}\",\"l\":\"{}\",\"v\":\"{}\",\"q\":\"0\"}}",
        f.close_time, f.last, f.open, f.high, f.low, f.volume,
    );
}

/// The REST `ticker/24hr` body of one symbol.
pub fn ticker_rest(out: &mut String, symbol: &str, f: &Figures) {
    let _ = write!(out, "{{\"symbol\":\"{symbol}\"");
    push_ticker_fields(out, f, true);
    out.push('}');
}
