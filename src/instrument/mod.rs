//! Instruments: what can be traded, with its tick, lot, decimals, limits and
//! simulation parameters, loaded from a TOML file such as `feeds/default.toml`.
//!
//! This is the only place where decimals meet the integer `Price`/`Qty` of the
//! core: parsing never rounds (a value that is not an exact multiple of the
//! tick or lot is an error) and formatting always writes exactly the
//! instrument's decimals.

use rust_decimal::Decimal;

use crate::types::{Price, Qty};

mod instruments;

pub use instruments::{Instruments, InstrumentsError};

/// The largest number of decimals a price or quantity may have: with 9, an
/// `i64` of units still holds values up to about 9.2e9.
pub const MAX_DECIMALS: u32 = 9;

/// The embedded default instruments (`cargo run --release` needs no file).
pub const DEFAULT_INSTRUMENTS: &str = include_str!("../../feeds/default.toml");

/// One tradable instrument.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Instrument {
    pub symbol: String,
    #[serde(with = "crate::types::decimal_serde")]
    pub tick_size: Decimal,
    #[serde(with = "crate::types::decimal_serde")]
    pub lot_size: Decimal,
    pub price_decimals: u32,
    pub qty_decimals: u32,
    pub max_qty: Qty,
    /// Largest allowed distance of a limit price from the reference price, as
    /// a fraction (`0.10` is 10%).
    #[serde(with = "crate::types::decimal_serde")]
    pub band: Decimal,
    /// `band` in parts per million, for integer arithmetic in the engine.
    pub band_ppm: i64,
    /// Where the simulated market starts, and the band reference before the
    /// first trade when the book is one-sided.
    pub start_price: Price,
    /// Daily volatility of the simulated fair value, as a fraction of price.
    pub volatility: f64,
    /// Simulated engine events per second.
    pub event_rate: f64,
    /// The asset bought and sold, and the asset it is priced in (Binance's
    /// `baseAsset`/`quoteAsset`, the spot balances); by default the parts
    /// of `BASE-QUOTE`, or the symbol and `USD`. These three names are not
    /// serialized: snapshots (postcard, which cannot skip a field) and
    /// recordings of earlier versions stay readable; a replay uses the
    /// default names.
    #[serde(skip)]
    pub base: Option<String>,
    #[serde(skip)]
    pub quote: Option<String>,
    /// The symbol in the Binance dialect; by default the symbol without
    /// its dashes (`BTC-USD` is `BTCUSD`).
    #[serde(skip)]
    pub binance: Option<String>,
    /// Size of one tick in units of 10^-price_decimals.
    tick_units: i64,
    /// Size of one lot in units of 10^-qty_decimals.
    lot_units: i64,
}

/// A decimal value from a client or a file that is not acceptable.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error("{what} {text:?} is not a decimal number")]
    NotDecimal { what: &'static str, text: String },
    #[error("{what} {text} must be positive")]
    NotPositive { what: &'static str, text: String },
    #[error("{what} {text} is not a multiple of the {unit_name} {unit}")]
    NotMultiple {
        what: &'static str,
        text: String,
        unit_name: &'static str,
        unit: String,
    },
    #[error("{what} {text} is out of range")]
    OutOfRange { what: &'static str, text: String },
}

impl Instrument {
    /// Builds an instrument, checking that every field is consistent.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        symbol: &str,
        tick_size: Decimal,
        lot_size: Decimal,
        price_decimals: u32,
        qty_decimals: u32,
        max_qty: Decimal,
        band: Decimal,
        start_price: Decimal,
        volatility: f64,
        event_rate: f64,
    ) -> Result<Instrument, (&'static str, String)> {
        check_symbol(symbol).map_err(|m| ("symbol", m))?;
        if price_decimals > MAX_DECIMALS {
            return Err(("price_decimals", format!("must be at most {MAX_DECIMALS}")));
        }
        if qty_decimals > MAX_DECIMALS {
            return Err(("qty_decimals", format!("must be at most {MAX_DECIMALS}")));
        }
        let tick_units = positive_units(tick_size, price_decimals, "price_decimals")
            .map_err(|m| ("tick_size", m))?;
        let lot_units =
            positive_units(lot_size, qty_decimals, "qty_decimals").map_err(|m| ("lot_size", m))?;
        let band_ppm = decimal_units(band, 6)
            .filter(|ppm| *ppm > 0 && *ppm < 1_000_000)
            .ok_or((
                "band",
                format!("{band} must be between 0 and 1 (exclusive) with at most 6 decimals"),
            ))?;
        if !(volatility.is_finite() && (0.0..=10.0).contains(&volatility)) {
            return Err((
                "volatility",
                format!("{volatility} must be between 0 and 10"),
            ));
        }
        if !(event_rate.is_finite() && (0.001..=10_000_000.0).contains(&event_rate)) {
            return Err((
                "event_rate",
                format!("{event_rate} must be between 0.001 and 10000000 events per second"),
            ));
        }
        let mut instrument = Instrument {
            symbol: symbol.to_string(),
            tick_size,
            lot_size,
            price_decimals,
            qty_decimals,
            max_qty: Qty(0),
            band,
            band_ppm,
            start_price: Price(0),
            volatility,
            event_rate,
            base: None,
            quote: None,
            binance: None,
            tick_units,
            lot_units,
        };
        instrument.max_qty = instrument
            .qty_from_decimal(max_qty)
            .map_err(|e| ("max_qty", e.to_string()))?;
        instrument.start_price = instrument
            .price_from_decimal(start_price)
            .map_err(|e| ("start_price", e.to_string()))?;
        Ok(instrument)
    }

    /// Converts a decimal price to ticks; anything but a positive exact
    /// multiple of the tick size is an error.
    pub fn price_from_decimal(&self, value: Decimal) -> Result<Price, ValueError> {
        to_multiple(
            value,
            self.price_decimals,
            self.tick_units,
            "price",
            "tick size",
            self.tick_size,
        )
        .map(Price)
    }

    /// Converts a decimal quantity to lots; anything but a positive exact
    /// multiple of the lot size is an error.
    pub fn qty_from_decimal(&self, value: Decimal) -> Result<Qty, ValueError> {
        to_multiple(
            value,
            self.qty_decimals,
            self.lot_units,
            "qty",
            "lot size",
            self.lot_size,
        )
        .map(Qty)
    }

    /// Parses a wire price string such as `"64000.50"`.
    pub fn parse_price(&self, text: &str) -> Result<Price, ValueError> {
        self.price_from_decimal(parse_plain_decimal(text, "price")?)
    }

    /// Parses a wire quantity string such as `"0.2500"`.
    pub fn parse_qty(&self, text: &str) -> Result<Qty, ValueError> {
        self.qty_from_decimal(parse_plain_decimal(text, "qty")?)
    }

    pub fn price_to_decimal(&self, price: Price) -> Decimal {
        Decimal::new(price.0 * self.tick_units, self.price_decimals)
    }

    pub fn qty_to_decimal(&self, qty: Qty) -> Decimal {
        Decimal::new(qty.0 * self.lot_units, self.qty_decimals)
    }

    /// Appends the price with exactly `price_decimals` decimals.
    pub fn write_price(&self, price: Price, out: &mut String) {
        write_units(price.0 * self.tick_units, self.price_decimals, out);
    }

    /// Appends the quantity with exactly `qty_decimals` decimals.
    pub fn write_qty(&self, qty: Qty, out: &mut String) {
        write_units(qty.0 * self.lot_units, self.qty_decimals, out);
    }

    pub fn format_price(&self, price: Price) -> String {
        let mut s = String::with_capacity(16);
        self.write_price(price, &mut s);
        s
    }

    pub fn format_qty(&self, qty: Qty) -> String {
        let mut s = String::with_capacity(16);
        self.write_qty(qty, &mut s);
        s
    }

    /// Sets the optional names: the base and quote assets and the Binance
    /// symbol, each checked (`Err` names the field).
    pub fn with_names(
        mut self,
        base: Option<&str>,
        quote: Option<&str>,
        binance: Option<&str>,
    ) -> Result<Instrument, (&'static str, String)> {
        let name = |field: &'static str, value: Option<&str>, max: usize| {
            value
                .map(|v| {
                    check_name(v, max)
                        .map(|()| v.to_string())
                        .map_err(|m| (field, m))
                })
                .transpose()
        };
        self.base = name("base", base, 20)?;
        self.quote = name("quote", quote, 20)?;
        self.binance = name("binance", binance, 20)?;
        Ok(self)
    }

    /// The base asset (`BTC` of `BTC-USD`).
    pub fn base_asset(&self) -> &str {
        match (&self.base, self.symbol.split_once('-')) {
            (Some(base), _) => base,
            (None, Some((base, _))) => base,
            (None, None) => &self.symbol,
        }
    }

    /// The quote asset (`USD` of `BTC-USD`; `USD` for a symbol without a
    /// dash, such as `AAPL`).
    pub fn quote_asset(&self) -> &str {
        match (&self.quote, self.symbol.split_once('-')) {
            (Some(quote), _) => quote,
            (None, Some((_, quote))) => quote,
            (None, None) => "USD",
        }
    }

    /// The symbol in the Binance dialect.
    pub fn binance_symbol(&self) -> String {
        match &self.binance {
            Some(name) => name.clone(),
            None => self.symbol.replace('-', ""),
        }
    }

    /// How many ticks the band allows around a reference price (at least 1).
    pub fn band_ticks(&self, reference: Price) -> i64 {
        let ticks = match reference.0.checked_mul(self.band_ppm) {
            Some(product) => product / 1_000_000,
            None => (reference.0 as i128 * self.band_ppm as i128 / 1_000_000) as i64,
        };
        ticks.max(1)
    }
}

/// Writes `units * 10^-decimals` with exactly `decimals` decimals. Digits
/// are written from the right into a stack buffer: `write!` with a width
/// and padding cost a quarter of an import's time (and every encoded
/// price and quantity goes through here).
fn write_units(units: i64, decimals: u32, out: &mut String) {
    // 20 digits of a u64, the decimal point, the sign, and up to
    // MAX_DECIMALS leading zeros of a fraction.
    let mut buffer = [0u8; 40];
    let mut at = buffer.len();
    let mut rest = units.unsigned_abs();
    let decimals = decimals as usize;
    let mut written = 0;
    loop {
        if written == decimals && decimals > 0 {
            at -= 1;
            buffer[at] = b'.';
        }
        at -= 1;
        buffer[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        written += 1;
        if rest == 0 && written > decimals {
            break;
        }
    }
    if units < 0 {
        at -= 1;
        buffer[at] = b'-';
    }
    if let Ok(text) = std::str::from_utf8(&buffer[at..]) {
        out.push_str(text);
    }
}

/// Accepts only `[-]digits[.digits]`: no exponent, sign `+`, spaces or `_`.
fn parse_plain_decimal(text: &str, what: &'static str) -> Result<Decimal, ValueError> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let (int, frac) = match digits.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (digits, None),
    };
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(int) || frac.is_some_and(|f| !all_digits(f)) || text.len() > 40 {
        return Err(ValueError::NotDecimal {
            what,
            text: text.to_string(),
        });
    }
    Decimal::from_str_exact(text).map_err(|_| ValueError::OutOfRange {
        what,
        text: text.to_string(),
    })
}

/// `value` as a whole number of 10^-decimals units, if it is one and fits.
fn decimal_units(value: Decimal, decimals: u32) -> Option<i64> {
    let value = value.normalize();
    if value.scale() > decimals {
        return None;
    }
    let factor = 10i128.checked_pow(decimals - value.scale())?;
    i64::try_from(value.mantissa().checked_mul(factor)?).ok()
}

fn positive_units(value: Decimal, decimals: u32, decimals_field: &str) -> Result<i64, String> {
    match decimal_units(value, decimals) {
        Some(units) if units > 0 => Ok(units),
        Some(_) => Err(format!("{value} must be positive")),
        None => Err(format!(
            "{value} has more decimals than {decimals_field} ({decimals})"
        )),
    }
}

fn to_multiple(
    value: Decimal,
    decimals: u32,
    unit_units: i64,
    what: &'static str,
    unit_name: &'static str,
    unit: Decimal,
) -> Result<i64, ValueError> {
    let text = || value.to_string();
    if value <= Decimal::ZERO {
        return Err(ValueError::NotPositive { what, text: text() });
    }
    let not_multiple = || ValueError::NotMultiple {
        what,
        text: text(),
        unit_name,
        unit: unit.to_string(),
    };
    let normalized = value.normalize();
    if normalized.scale() > decimals {
        return Err(not_multiple());
    }
    let units = decimal_units(value, decimals)
        .ok_or_else(|| ValueError::OutOfRange { what, text: text() })?;
    if units % unit_units != 0 {
        return Err(not_multiple());
    }
    Ok(units / unit_units)
}

fn check_symbol(symbol: &str) -> Result<(), String> {
    let ok = !symbol.is_empty()
        && symbol.len() <= 20
        && symbol
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{symbol:?} must be 1 to 20 characters of A-Z, 0-9 and '-'"
        ))
    }
}

/// An asset or a Binance symbol: 1 to `max` characters of A-Z and 0-9.
fn check_name(name: &str, max: usize) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= max
        && name
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{name:?} must be 1 to {max} characters of A-Z and 0-9"
        ))
    }
}

#[cfg(test)]
mod tests;
