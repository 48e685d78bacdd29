//! Instruments inferred from the data, for an import without
//! `--instruments`: the tick is the largest step every price seen is a
//! multiple of (the greatest common divisor of the prices), the lot the
//! same of the quantities, so every value imported is on the grid. Sparse
//! data can make them coarser than the exchange's (prices seen only on
//! whole dollars give a tick of 1): give `--instruments` with the
//! exchange's sizes when paper orders need the finer grid.

use rust_decimal::Decimal;

use super::source::{Declared, SourceEvent};
use crate::instrument::{Instrument, MAX_DECIMALS};
use crate::types::{NANOS_PER_SEC, UnixNanos};

/// What the first pass saw of one symbol.
#[derive(Debug, Default, Clone)]
pub struct Seen {
    /// Greatest common divisors in units of 10^-MAX_DECIMALS (0: none yet).
    price_gcd: u128,
    qty_gcd: u128,
    first_price: Option<Decimal>,
    max_qty: Decimal,
    events: u64,
    first_ts: UnixNanos,
    last_ts: UnixNanos,
    /// A value with more decimals than an instrument can have.
    too_fine: Option<Decimal>,
}

fn gcd(a: u128, b: u128) -> u128 {
    if b == 0 { a } else { gcd(b, a % b) }
}

impl Seen {
    fn units(&mut self, value: Decimal) -> Option<u128> {
        let value = value.normalize();
        if value.scale() > MAX_DECIMALS {
            self.too_fine.get_or_insert(value);
            return None;
        }
        let factor = 10u128.checked_pow(MAX_DECIMALS - value.scale())?;
        u128::try_from(value.mantissa()).ok()?.checked_mul(factor)
    }

    fn price(&mut self, price: Decimal) {
        self.first_price.get_or_insert(price);
        if let Some(units) = self.units(price) {
            self.price_gcd = gcd(self.price_gcd, units);
        }
    }

    fn qty(&mut self, qty: Decimal) {
        if qty.is_zero() {
            return;
        }
        self.max_qty = self.max_qty.max(qty);
        if let Some(units) = self.units(qty) {
            self.qty_gcd = gcd(self.qty_gcd, units);
        }
    }

    pub fn record(&mut self, event: &SourceEvent) {
        let ts = match event {
            SourceEvent::Book { ts, levels, .. } => {
                for level in levels {
                    self.price(level.price);
                    self.qty(level.amount);
                }
                *ts
            }
            SourceEvent::Trade { ts, price, qty, .. } => {
                self.price(*price);
                self.qty(*qty);
                *ts
            }
            SourceEvent::Gap { .. } => return,
        };
        if self.events == 0 {
            self.first_ts = ts;
        }
        self.events += 1;
        self.last_ts = ts;
    }

    /// The instrument the source describes, with the data's first price
    /// and rate.
    pub fn declared(&self, symbol: &str, d: &Declared) -> Result<Instrument, String> {
        Instrument::new(
            symbol,
            d.tick_size,
            d.lot_size,
            d.price_decimals,
            d.qty_decimals,
            d.max_qty,
            d.band,
            self.first_price.unwrap_or(d.tick_size),
            0.0,
            self.rate(),
        )
        .map_err(|(field, message)| {
            format!(
                "{symbol}: the source's instrument does not make one: {field}: {message}: give --instruments"
            )
        })
    }

    /// Events per second of the data (for the header; a replay ignores it).
    fn rate(&self) -> f64 {
        let seconds = (self.last_ts - self.first_ts) as f64 / NANOS_PER_SEC as f64;
        (self.events as f64 / seconds.max(1.0)).clamp(0.001, 10_000_000.0)
    }

    /// The instrument these values fit, named `symbol`.
    pub fn instrument(&self, symbol: &str) -> Result<Instrument, String> {
        if let Some(value) = self.too_fine {
            return Err(format!(
                "{symbol}: {value} has more than {MAX_DECIMALS} decimals: give --instruments"
            ));
        }
        let size = |units: u128| {
            let units = i64::try_from(units).ok().filter(|u| *u > 0)?;
            let size = Decimal::new(units, MAX_DECIMALS).normalize();
            Some((size, size.scale()))
        };
        let (Some((tick, price_decimals)), Some((lot, qty_decimals))) =
            (size(self.price_gcd), size(self.qty_gcd))
        else {
            return Err(format!(
                "{symbol}: not enough prices and quantities to infer its tick and lot sizes: give --instruments"
            ));
        };
        // Room above the largest quantity seen for paper orders.
        let max_qty = self.max_qty * Decimal::TEN;
        Instrument::new(
            symbol,
            tick,
            lot,
            price_decimals,
            qty_decimals,
            max_qty,
            Decimal::new(10, 2),
            self.first_price.unwrap_or(tick),
            0.0,
            self.rate(),
        )
        .map_err(|(field, message)| {
            format!("{symbol}: the inferred {field} does not make an instrument: {message}: give --instruments")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::source::fixtures::{book, level};
    use crate::types::Side;

    #[test]
    fn the_sizes_are_the_largest_steps_every_value_is_a_multiple_of() {
        let mut seen = Seen::default();
        seen.record(&book(
            0,
            true,
            vec![
                level(Side::Buy, "64000.5", "1.250"),
                level(Side::Sell, "64001.0", "0.50"),
                level(Side::Sell, "64002", "0"),
            ],
        ));
        seen.record(&book(
            4 * NANOS_PER_SEC,
            false,
            vec![level(Side::Buy, "63999.5", "0.015")],
        ));
        let i = seen.instrument("BTC-USDT").unwrap();
        assert_eq!(i.tick_size.to_string(), "0.5");
        assert_eq!(i.lot_size.to_string(), "0.005");
        assert_eq!((i.price_decimals, i.qty_decimals), (1, 3));
        assert_eq!(i.format_qty(i.max_qty), "12.500");
        assert_eq!(i.format_price(i.start_price), "64000.5");
        assert_eq!(i.event_rate, 0.5);
    }

    #[test]
    fn what_cannot_be_inferred_says_so() {
        let mut seen = Seen::default();
        assert!(seen.instrument("X").unwrap_err().contains("not enough"));
        seen.record(&book(0, true, vec![level(Side::Buy, "1.0000000001", "1")]));
        assert!(
            seen.instrument("X")
                .unwrap_err()
                .contains("1.0000000001 has more than 9 decimals")
        );
        let mut seen = Seen::default();
        seen.record(&book(0, true, vec![level(Side::Buy, "1", "1")]));
        assert!(
            seen.instrument("btc")
                .unwrap_err()
                .contains("btc: the inferred symbol does not make an instrument")
        );
    }
}
