//! The instruments a server serves: a list in file order (which is also
//! the order of every listing, so output never depends on hashing), read
//! from a TOML file with errors that name its line and field, and looked up
//! by name or by `SymbolId`.

use std::path::Path;
use std::str::FromStr;

use rust_decimal::Decimal;

use serde::Deserialize;
use toml::Spanned;

use super::{DEFAULT_INSTRUMENTS, Instrument};
use crate::config_file::{FileError, Source};
use crate::types::SymbolId;

/// The instruments of one file, in file order (which is also the order of
/// every listing, so output never depends on hashing).
#[derive(Clone, Debug)]
pub struct Instruments {
    list: Vec<Instrument>,
}

/// A problem in an instruments file, located to its line and field.
/// A problem in the file, located to its line and field.
pub type InstrumentsError = FileError;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    instrument: Vec<Spanned<RawInstrument>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInstrument {
    symbol: Spanned<String>,
    tick_size: Spanned<String>,
    lot_size: Spanned<String>,
    price_decimals: Spanned<u32>,
    qty_decimals: Spanned<u32>,
    max_qty: Spanned<String>,
    band: Option<Spanned<String>>,
    start_price: Spanned<String>,
    volatility: Spanned<f64>,
    event_rate: Spanned<f64>,
    base: Option<Spanned<String>>,
    quote: Option<Spanned<String>>,
    binance: Option<Spanned<String>>,
}

fn optional(field: &Option<Spanned<String>>) -> Option<&str> {
    field.as_ref().map(|s| s.get_ref().as_str())
}

impl Instruments {
    /// The embedded `feeds/default.toml`.
    pub fn embedded_default() -> Instruments {
        match Instruments::parse("feeds/default.toml (embedded)", DEFAULT_INSTRUMENTS) {
            Ok(instruments) => instruments,
            // The embedded file is checked by a unit test; reaching this is a build bug.
            Err(e) => panic!("embedded instruments are invalid: {e}"),
        }
    }

    pub fn load(path: &Path) -> Result<Instruments, InstrumentsError> {
        let (file, text) = crate::config_file::read(path)?;
        Instruments::parse(&file, &text)
    }

    /// Parses the text of an instruments file; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<Instruments, InstrumentsError> {
        let source = Source { file, text };
        let invalid =
            |offset: usize, field: &str, message: String| source.invalid(offset, field, message);
        let raw: RawFile = source.parse()?;
        if raw.instrument.is_empty() {
            return Err(invalid(
                0,
                "instrument",
                "the file defines no [[instrument]]".into(),
            ));
        }
        let mut list: Vec<Instrument> = Vec::with_capacity(raw.instrument.len());
        for entry in &raw.instrument {
            let r = entry.get_ref();
            let dec = |field: &'static str, s: &Spanned<String>| {
                Decimal::from_str(s.get_ref()).map_err(|_| {
                    invalid(
                        s.span().start,
                        field,
                        format!("{:?} is not a decimal number", s.get_ref()),
                    )
                })
            };
            let band = match &r.band {
                Some(b) => dec("band", b)?,
                None => Decimal::new(10, 2),
            };
            let built = Instrument::new(
                r.symbol.get_ref(),
                dec("tick_size", &r.tick_size)?,
                dec("lot_size", &r.lot_size)?,
                *r.price_decimals.get_ref(),
                *r.qty_decimals.get_ref(),
                dec("max_qty", &r.max_qty)?,
                band,
                dec("start_price", &r.start_price)?,
                *r.volatility.get_ref(),
                *r.event_rate.get_ref(),
            )
            .and_then(|i| {
                i.with_names(optional(&r.base), optional(&r.quote), optional(&r.binance))
            });
            let instrument = built.map_err(|(field, message)| {
                let span = match field {
                    "symbol" => r.symbol.span(),
                    "tick_size" => r.tick_size.span(),
                    "lot_size" => r.lot_size.span(),
                    "price_decimals" => r.price_decimals.span(),
                    "qty_decimals" => r.qty_decimals.span(),
                    "max_qty" => r.max_qty.span(),
                    "band" => r.band.as_ref().map(|b| b.span()).unwrap_or(entry.span()),
                    "start_price" => r.start_price.span(),
                    "volatility" => r.volatility.span(),
                    "event_rate" => r.event_rate.span(),
                    "base" => r.base.as_ref().map_or(entry.span(), |s| s.span()),
                    "quote" => r.quote.as_ref().map_or(entry.span(), |s| s.span()),
                    "binance" => r.binance.as_ref().map_or(entry.span(), |s| s.span()),
                    _ => entry.span(),
                };
                invalid(span.start, field, message)
            })?;
            if list.iter().any(|i| i.symbol == instrument.symbol) {
                return Err(invalid(
                    r.symbol.span().start,
                    "symbol",
                    format!("{} is defined twice", instrument.symbol),
                ));
            }
            if let Some(other) = list
                .iter()
                .find(|i| i.binance_symbol() == instrument.binance_symbol())
            {
                let span = r.binance.as_ref().map_or(r.symbol.span(), |s| s.span());
                let message = format!(
                    "{} and {} are both {} in the Binance dialect: give one a `binance` name",
                    other.symbol,
                    instrument.symbol,
                    instrument.binance_symbol()
                );
                return Err(invalid(span.start, "binance", message));
            }
            if list.len() == usize::from(u16::MAX) {
                let message = format!("more than {} instruments", u16::MAX);
                return Err(invalid(r.symbol.span().start, "symbol", message));
            }
            list.push(instrument);
        }
        Ok(Instruments { list })
    }

    /// Instruments from a list built elsewhere (a recording's header); the
    /// symbols must be unique.
    pub fn from_list(list: Vec<Instrument>) -> Result<Instruments, String> {
        for (n, i) in list.iter().enumerate() {
            if list[..n].iter().any(|j| j.symbol == i.symbol) {
                return Err(format!("symbol {} is defined twice", i.symbol));
            }
        }
        if list.is_empty() {
            return Err("no instruments".to_string());
        }
        if list.len() > usize::from(u16::MAX) {
            // Symbols are named by a `SymbolId` (u16) inside the server.
            return Err(format!(
                "{} instruments: at most {} can be served",
                list.len(),
                u16::MAX
            ));
        }
        Ok(Instruments { list })
    }

    /// The same instruments with every simulated event rate multiplied by
    /// `scale` (`--rate-scale`); the result must stay within the rate limits.
    pub fn with_rate_scale(&self, scale: f64) -> Result<Instruments, String> {
        let mut list = self.list.clone();
        for instrument in &mut list {
            let rate = instrument.event_rate * scale;
            if !(rate.is_finite() && (0.001..=10_000_000.0).contains(&rate)) {
                return Err(format!(
                    "rate scale {scale} gives {} an event rate of {rate}, outside 0.001 to 10000000 per second",
                    instrument.symbol
                ));
            }
            instrument.event_rate = rate;
        }
        Ok(Instruments { list })
    }

    pub fn get(&self, symbol: &str) -> Option<&Instrument> {
        self.list.iter().find(|i| i.symbol == symbol)
    }

    /// The instrument of a symbol id (O(1)).
    pub fn by_id(&self, id: SymbolId) -> Option<&Instrument> {
        self.list.get(id.index())
    }

    /// The id of a symbol, by name.
    pub fn id_of(&self, symbol: &str) -> Option<SymbolId> {
        self.list
            .iter()
            .position(|i| i.symbol == symbol)
            .map(|i| SymbolId(i as u16))
    }

    /// Every symbol id, in instrument order.
    pub fn ids(&self) -> impl Iterator<Item = SymbolId> + use<> {
        (0..self.list.len() as u16).map(SymbolId)
    }

    /// Every instrument with its id, in order.
    pub fn with_ids(&self) -> impl Iterator<Item = (SymbolId, &Instrument)> {
        self.list
            .iter()
            .enumerate()
            .map(|(i, instrument)| (SymbolId(i as u16), instrument))
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Instrument> {
        self.list.iter()
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}
