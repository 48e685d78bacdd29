//! The Binance dialect's REST reads of one symbol, answered by its hub at
//! the point of its streams (`lastUpdateId` is the book `seq` the diff
//! depth streams chain from): `depth`, `trades`, `aggTrades`, `klines`,
//! `ticker/24hr`, `ticker/price`, `ticker/bookTicker`.

use std::fmt::Write as _;

use rust_decimal::Decimal;

use super::super::MarketState;
use super::super::poll::RecentTrades;
use crate::binance::events::{self, Figures, Top, ms};
use crate::binance::native;
use crate::gateway::commands::BinanceQuery;
use crate::types::Side;

/// The JSON body answering `query`.
pub fn answer(state: &mut impl MarketState, trades: &RecentTrades, query: BinanceQuery) -> String {
    let instrument = state.instrument().clone();
    let symbol = instrument.binance_symbol();
    let mut out = String::with_capacity(256);
    match query {
        BinanceQuery::Depth { limit } => {
            let at = state.book();
            let levels = |side| {
                at.book
                    .levels(side)
                    .take(limit)
                    .map(|l| (l.price, l.total))
                    .collect::<Vec<_>>()
            };
            let (bids, asks) = (levels(Side::Buy), levels(Side::Sell));
            events::partial_depth(&mut out, &instrument, at.seq, &bids, &asks);
        }
        BinanceQuery::Trades { limit } => {
            out.push('[');
            let skip = trades.all().len().saturating_sub(limit);
            let mut first = true;
            for frame in trades.all().skip(skip) {
                let Some(t) = native::read::<native::Trade>(frame.as_str()) else {
                    continue;
                };
                if !first {
                    out.push(',');
                }
                first = false;
                let quote = match (t.price.parse::<Decimal>(), t.qty.parse::<Decimal>()) {
                    (Ok(p), Ok(q)) => (p * q).normalize().to_string(),
                    _ => "0".to_string(),
                };
                let _ = write!(
                    out,
                    "{{\"id\":{},\"price\":\"{}\",\"qty\":\"{}\",\"quoteQty\":\"{quote}\",\"time\":{},\"isBuyerMaker\":{},\"isBestMatch\":true}}",
                    t.seq,
                    t.price,
                    t.qty,
                    ms(t.ts),
                    t.buyer_maker()
                );
            }
            out.push(']');
        }
        BinanceQuery::AggTrades {
            limit,
            from_id,
            start,
            end,
        } => {
            let wanted = |t: &native::Trade| {
                from_id.is_none_or(|id| t.seq >= id)
                    && start.is_none_or(|s| ms(t.ts) >= s)
                    && end.is_none_or(|e| ms(t.ts) <= e)
            };
            let chosen: Vec<native::Trade> = trades
                .all()
                .filter_map(|f| native::read::<native::Trade>(f.as_str()))
                .filter(wanted)
                .collect();
            let from_start = from_id.is_some() || start.is_some();
            let skip = crate::binance::first_answered(chosen.len(), limit, from_start);
            out.push('[');
            for (i, t) in chosen.iter().skip(skip).take(limit).enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push('{');
                events::agg_trade_fields(&mut out, t);
                out.push('}');
            }
            out.push(']');
        }
        BinanceQuery::Klines {
            interval,
            limit,
            start,
            end,
        } => {
            let snapshot = state.candles_snapshot(interval);
            let bars = native::read::<native::CandlesSnapshot>(snapshot.as_str())
                .map(|s| s.candles)
                .unwrap_or_default();
            let chosen: Vec<&native::Bar> = bars
                .iter()
                .filter(|b| start.is_none_or(|s| ms(b.start) + ms(interval.nanos()) > s))
                .filter(|b| end.is_none_or(|e| ms(b.start) <= e))
                .collect();
            let skip = crate::binance::first_answered(chosen.len(), limit, start.is_some());
            out.push('[');
            for (i, bar) in chosen.iter().skip(skip).take(limit).enumerate() {
                if i > 0 {
                    out.push(',');
                }
                events::kline_row(&mut out, interval.nanos(), bar);
            }
            out.push(']');
        }
        BinanceQuery::Ticker24h | BinanceQuery::Price => {
            let figures = match state.latest().quote() {
                Some(quote) => native::read::<native::Ticker>(quote.as_str()),
                None => None,
            }
            .map(|t| Figures::of(&instrument, &t));
            let figures = figures.unwrap_or_else(|| empty_figures(&instrument, state));
            if query == BinanceQuery::Price {
                let _ = write!(
                    out,
                    "{{\"symbol\":\"{symbol}\",\"price\":\"{}\"}}",
                    figures.last
                );
            } else {
                events::ticker_rest(&mut out, &symbol, &figures);
            }
        }
        BinanceQuery::BookTicker => {
            let at = state.book();
            let best = |side| at.book.best(side).map(|l| (l.price, l.total));
            let top = Top {
                bid: best(Side::Buy),
                ask: best(Side::Sell),
            };
            events::book_ticker_rest(&mut out, &instrument, &symbol, &top);
        }
    }
    out
}

/// The figures of a market with no ticker yet (zeros).
fn empty_figures(instrument: &crate::instrument::Instrument, state: &impl MarketState) -> Figures {
    let ticker = native::Ticker {
        ts: state.book().ts,
        bid: None,
        bid_qty: None,
        ask: None,
        ask_qty: None,
        last: None,
        last_qty: None,
        open: None,
        high: None,
        low: None,
        volume: "0",
    };
    Figures::of(instrument, &ticker)
}
