//! The engine's instruments as a gateway asks for them
//! (`engine.instruments`): JSON, every field including the names the
//! instruments file may set (base, quote, Binance symbol), so a gateway
//! serves exactly what the engine trades without a file of its own.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::instrument::{Instrument, Instruments};

/// One instrument on the bus: decimals as strings, as in a recording's
/// header, plus the names.
#[derive(Serialize, Deserialize)]
struct Wire {
    symbol: String,
    tick_size: String,
    lot_size: String,
    price_decimals: u32,
    qty_decimals: u32,
    max_qty: String,
    band: String,
    start_price: String,
    volatility: f64,
    event_rate: f64,
    base: Option<String>,
    quote: Option<String>,
    binance: Option<String>,
}

pub fn encode(instruments: &Instruments) -> String {
    let list: Vec<Wire> = instruments
        .iter()
        .map(|i| Wire {
            symbol: i.symbol.clone(),
            tick_size: i.tick_size.to_string(),
            lot_size: i.lot_size.to_string(),
            price_decimals: i.price_decimals,
            qty_decimals: i.qty_decimals,
            max_qty: i.format_qty(i.max_qty).to_string(),
            band: i.band.to_string(),
            start_price: i.format_price(i.start_price).to_string(),
            volatility: i.volatility,
            event_rate: i.event_rate,
            base: i.base.clone(),
            quote: i.quote.clone(),
            binance: i.binance.clone(),
        })
        .collect();
    serde_json::to_string(&list).unwrap_or_else(|_| "[]".into())
}

/// Reads the engine's answer back, every instrument checked as an
/// instruments file's would be.
pub fn decode(payload: &[u8]) -> Result<Instruments, String> {
    let list: Vec<Wire> =
        serde_json::from_slice(payload).map_err(|e| format!("the engine's instruments: {e}"))?;
    let decimal = |symbol: &str, field: &str, text: &str| {
        text.parse::<Decimal>()
            .map_err(|e| format!("the engine's instrument {symbol}: {field}: {e}"))
    };
    let mut built = Vec::with_capacity(list.len());
    for w in list {
        let mut instrument = Instrument::new(
            &w.symbol,
            decimal(&w.symbol, "tick_size", &w.tick_size)?,
            decimal(&w.symbol, "lot_size", &w.lot_size)?,
            w.price_decimals,
            w.qty_decimals,
            decimal(&w.symbol, "max_qty", &w.max_qty)?,
            decimal(&w.symbol, "band", &w.band)?,
            decimal(&w.symbol, "start_price", &w.start_price)?,
            w.volatility,
            w.event_rate,
        )
        .map_err(|(field, message)| {
            format!("the engine's instrument {}: {field}: {message}", w.symbol)
        })?;
        instrument.base = w.base;
        instrument.quote = w.quote;
        instrument.binance = w.binance;
        built.push(instrument);
    }
    Instruments::from_list(built).map_err(|e| format!("the engine's instruments: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instruments_travel_whole_with_their_names() {
        let instruments = Instruments::embedded_default();
        let back = decode(encode(&instruments).as_bytes()).expect("decodes");
        assert_eq!(back.len(), instruments.len());
        for (a, b) in instruments.iter().zip(back.iter()) {
            assert_eq!(a, b);
            assert_eq!(
                (&a.base, &a.quote, &a.binance),
                (&b.base, &b.quote, &b.binance)
            );
        }
        assert!(decode(b"{}").is_err());
        assert!(decode(b"[{\"symbol\":1}]").is_err());
    }
}
