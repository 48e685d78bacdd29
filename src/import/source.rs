//! What every source format is read into.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;

use crate::types::{Side, UnixNanos};

/// A price level as the source gives it: its price and the quantity now
/// resting there (not a delta; zero removes the level).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Level {
    pub side: Side,
    pub price: Decimal,
    pub amount: Decimal,
}

/// One change of a market, in the source's decimals (the instrument's tick
/// and lot sizes are applied when the book is rebuilt).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceEvent {
    /// Levels the source changed at once (one exchange message). With
    /// `snapshot`, they are the whole book: every level not among them is
    /// gone.
    Book {
        symbol: String,
        ts: UnixNanos,
        snapshot: bool,
        levels: Vec<Level>,
    },
    /// A trade; `aggressor` is the taker's side when the source knows it.
    Trade {
        symbol: String,
        ts: UnixNanos,
        id: Option<String>,
        price: Decimal,
        qty: Decimal,
        aggressor: Option<Side>,
    },
    /// The source's own sequence skipped (an exchange's update or trade
    /// ids): what follows on `stream` misses changes or trades the exchange
    /// published. `detail` says what was skipped, for the recording's
    /// warning.
    Gap {
        symbol: String,
        ts: UnixNanos,
        stream: GapIn,
        detail: String,
    },
}

/// The stream a source gap is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GapIn {
    Book,
    Trades,
}

/// A source file being read: its events in the file's order (times never
/// going back), then None; after an error, None.
pub trait SourceFile: Iterator<Item = Result<SourceEvent, ImportError>> {
    /// The rows (lines of data) read so far.
    fn rows(&self) -> u64;

    /// Instruments the source describes (read so far).
    fn declared(&self) -> &[Declared] {
        &[]
    }
}

/// An instrument as a source describes it (a capture's `instruments`
/// response): the sizes of its grid, in the protocol's words.
#[derive(Clone, Debug, serde::Deserialize, PartialEq, Eq)]
pub struct Declared {
    pub symbol: String,
    pub tick_size: Decimal,
    pub lot_size: Decimal,
    pub price_decimals: u32,
    pub qty_decimals: u32,
    pub max_qty: Decimal,
    pub band: Decimal,
}

impl SourceEvent {
    /// The source's symbol and the event's time.
    pub fn symbol_and_ts(&self) -> (&str, UnixNanos) {
        match self {
            SourceEvent::Book { symbol, ts, .. }
            | SourceEvent::Trade { symbol, ts, .. }
            | SourceEvent::Gap { symbol, ts, .. } => (symbol, *ts),
        }
    }
}

/// A file that could not be read, or a line of it that is wrong: says
/// which, and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportError {
    pub file: String,
    /// 1-based; 0 when the file as a whole is at fault (it cannot be opened).
    pub line: u64,
    pub message: String,
}

impl ImportError {
    pub fn new(file: &str, line: u64, message: impl Into<String>) -> ImportError {
        ImportError {
            file: file.to_string(),
            line,
            message: message.into(),
        }
    }
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(f, "{}:{}: {}", self.file, self.line, self.message)
        }
    }
}

impl std::error::Error for ImportError {}

/// Levels given as `[price, quantity]` strings (bids, then asks); what is
/// wrong with one, in words (the caller adds where).
pub fn parse_levels(bids: &[(&str, &str)], asks: &[(&str, &str)]) -> Result<Vec<Level>, String> {
    let decimal = |what: &str, text: &str| {
        Decimal::from_str(text).map_err(|_| format!("{what} {text:?} is not a decimal number"))
    };
    let mut levels = Vec::with_capacity(bids.len() + asks.len());
    for (side, list) in [(Side::Buy, bids), (Side::Sell, asks)] {
        for (price_text, qty_text) in list {
            let (price, amount) = (
                decimal("price", price_text)?,
                decimal("quantity", qty_text)?,
            );
            if price <= Decimal::ZERO {
                return Err(format!("price {price_text} is not positive"));
            }
            if amount < Decimal::ZERO {
                return Err(format!("quantity {qty_text} is negative"));
            }
            levels.push(Level {
                side,
                price,
                amount,
            });
        }
    }
    Ok(levels)
}

/// A range of skipped ids for a message: `5`, or `5 to 7`.
pub fn ids(from: u64, to: u64) -> String {
    if from == to {
        from.to_string()
    } else {
        format!("{from} to {to}")
    }
}

/// The import has no instrument for `name` (the source's `source`).
pub fn no_instrument(file: &str, name: &str, source: &str) -> ImportError {
    ImportError::new(
        file,
        0,
        format!(
            "no instrument {name:?} (for the source's {source:?}): add it to --instruments or map it with --symbol-map"
        ),
    )
}

/// Events written briefly, for the importer's tests.
#[cfg(test)]
pub mod fixtures {
    use std::str::FromStr;

    use super::*;

    pub fn level(side: Side, price: &str, amount: &str) -> Level {
        Level {
            side,
            price: Decimal::from_str(price).unwrap(),
            amount: Decimal::from_str(amount).unwrap(),
        }
    }

    /// A book message of the samples' symbol.
    pub fn book(ts: u64, snapshot: bool, levels: Vec<Level>) -> SourceEvent {
        SourceEvent::Book {
            symbol: "BTCUSDT".into(),
            ts,
            snapshot,
            levels,
        }
    }
}
