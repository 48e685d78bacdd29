//! Tardis-style CSV, as Tardis's public documentation ("Downloadable CSV
//! files", "Data types") defines it: comma-separated, a header line naming
//! the columns, timestamps in microseconds since the epoch (UTC), decimals
//! with a dot; plain or gzip (told apart by the gzip magic bytes, whatever
//! the file name).
//!
//! - `incremental_book_L2`: `exchange,symbol,timestamp,local_timestamp,
//!   is_snapshot,side,price,amount`. `amount` is what now rests at the
//!   price (zero removes the level), not a delta. Rows of one exchange
//!   message share a `local_timestamp`: they become one
//!   [`SourceEvent::Book`]. Consecutive `is_snapshot=true` rows of a symbol
//!   are one snapshot (a large one may span several `local_timestamp`s),
//!   and a snapshot after updates replaces the book (the source reconnected).
//! - `trades`: `exchange,symbol,timestamp,local_timestamp,id,side,price,
//!   amount`, `side` the taker's (`buy`, `sell`, `unknown`).
//!
//! Columns are found by name, so their order does not matter; other
//! columns are ignored. Every event's time is its `local_timestamp` (when
//! the collector received it): files are in that order, while exchanges'
//! own `timestamp`s may go back between messages. A `local_timestamp`
//! going back is an error, never reordered silently.

use std::io::{BufRead, Read};
use std::path::Path;
use std::str::FromStr;

use rust_decimal::Decimal;

use super::input;
use super::source::{ImportError, Level, SourceEvent, SourceFile};
use crate::types::{Side, UnixNanos};

/// Which Tardis dataset a file holds (from its header).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dataset {
    IncrementalBookL2,
    Trades,
}

const BOOK_COLUMNS: [&str; 8] = [
    "exchange",
    "symbol",
    "timestamp",
    "local_timestamp",
    "is_snapshot",
    "side",
    "price",
    "amount",
];
const TRADE_COLUMNS: [&str; 8] = [
    "exchange",
    "symbol",
    "timestamp",
    "local_timestamp",
    "id",
    "side",
    "price",
    "amount",
];

/// Where each needed column is in a row (indexes into the split line, in
/// the order of `BOOK_COLUMNS` or `TRADE_COLUMNS`).
struct Columns {
    at: [usize; 8],
    count: usize,
}

/// A Tardis CSV file being read: an iterator of its events, in file order.
pub struct TardisFile {
    name: String,
    dataset: Dataset,
    lines: std::io::Lines<Box<dyn BufRead>>,
    line: u64,
    columns: Columns,
    /// The book message being gathered, with the `local_timestamp` its
    /// rows share (updates) and where it started.
    gathering: Option<Gathering>,
    last_local: u64,
    rows: u64,
    failed: bool,
}

struct Gathering {
    event: SourceEvent,
    local: u64,
}

/// Opens a file (plain, gzip or a zip of one file).
pub fn open(path: &Path) -> Result<TardisFile, ImportError> {
    from_text(&path.display().to_string(), input::open(path)?)
}

/// Reads a file's bytes from `reader`, `name` naming it in errors.
pub fn read(name: &str, reader: impl Read + 'static) -> Result<TardisFile, ImportError> {
    from_text(name, input::unpack(name, reader)?)
}

fn from_text(name: &str, input: Box<dyn BufRead>) -> Result<TardisFile, ImportError> {
    let mut lines = input.lines();
    let header = match lines.next() {
        Some(Ok(header)) => header,
        Some(Err(e)) => return Err(ImportError::new(name, 1, e.to_string())),
        None => return Err(ImportError::new(name, 1, "the file is empty (no header)")),
    };
    let (dataset, columns) = columns(name, header.trim_end_matches('\r'))?;
    Ok(TardisFile {
        name: name.to_string(),
        dataset,
        lines,
        line: 1,
        columns,
        gathering: None,
        last_local: 0,
        rows: 0,
        failed: false,
    })
}

fn columns(name: &str, header: &str) -> Result<(Dataset, Columns), ImportError> {
    let names: Vec<&str> = header.split(',').map(str::trim).collect();
    let (dataset, wanted) = if names.contains(&"is_snapshot") {
        (Dataset::IncrementalBookL2, BOOK_COLUMNS)
    } else if names.contains(&"id") {
        (Dataset::Trades, TRADE_COLUMNS)
    } else {
        return Err(ImportError::new(
            name,
            1,
            format!(
                "not a Tardis incremental_book_L2 or trades header: {header:?} (expected {} or {})",
                BOOK_COLUMNS.join(","),
                TRADE_COLUMNS.join(",")
            ),
        ));
    };
    let mut at = [0; 8];
    for (slot, column) in at.iter_mut().zip(wanted) {
        *slot = names.iter().position(|n| *n == column).ok_or_else(|| {
            ImportError::new(name, 1, format!("the header has no {column:?} column"))
        })?;
    }
    Ok((
        dataset,
        Columns {
            at,
            count: names.len(),
        },
    ))
}

impl SourceFile for TardisFile {
    fn rows(&self) -> u64 {
        self.rows
    }
}

impl TardisFile {
    pub fn dataset(&self) -> Dataset {
        self.dataset
    }

    fn error(&mut self, message: impl Into<String>) -> ImportError {
        self.failed = true;
        ImportError::new(&self.name, self.line, message)
    }

    /// The next row's fields, or None at the end (blank lines skipped).
    fn next_row(&mut self) -> Option<Result<Vec<String>, ImportError>> {
        loop {
            let line = match self.lines.next()? {
                Ok(line) => line,
                Err(e) => {
                    self.line += 1;
                    return Some(Err(self.error(format!("cannot read: {e}"))));
                }
            };
            self.line += 1;
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() {
                continue;
            }
            self.rows += 1;
            let fields: Vec<&str> = line.split(',').collect();
            if fields.len() != self.columns.count {
                let message = format!(
                    "{} fields where the header has {}: {line:?}",
                    fields.len(),
                    self.columns.count
                );
                return Some(Err(self.error(message)));
            }
            let at = self.columns.at;
            return Some(Ok(at
                .iter()
                .map(|&i| fields[i].trim().to_string())
                .collect()));
        }
    }

    fn book_row(&mut self, row: &[String]) -> Result<(String, u64, bool, Level), ImportError> {
        let local = self.local_timestamp(&row[3])?;
        let snapshot = match row[4].as_str() {
            "true" => true,
            "false" => false,
            other => {
                return Err(self.error(format!("is_snapshot {other:?} is not true or false")));
            }
        };
        let side = match row[5].as_str() {
            "bid" => Side::Buy,
            "ask" => Side::Sell,
            other => return Err(self.error(format!("side {other:?} is not bid or ask"))),
        };
        let price = self.decimal("price", &row[6])?;
        let amount = self.decimal("amount", &row[7])?;
        if price <= Decimal::ZERO {
            return Err(self.error(format!("price {} is not positive", row[6])));
        }
        if amount < Decimal::ZERO {
            return Err(self.error(format!("amount {} is negative", row[7])));
        }
        let symbol = self.symbol(&row[1])?;
        Ok((
            symbol,
            local,
            snapshot,
            Level {
                side,
                price,
                amount,
            },
        ))
    }

    fn trade_row(&mut self, row: &[String]) -> Result<SourceEvent, ImportError> {
        let local = self.local_timestamp(&row[3])?;
        let aggressor = match row[5].as_str() {
            "buy" => Some(Side::Buy),
            "sell" => Some(Side::Sell),
            "unknown" | "" => None,
            other => {
                return Err(self.error(format!("side {other:?} is not buy, sell or unknown")));
            }
        };
        let price = self.decimal("price", &row[6])?;
        let qty = self.decimal("amount", &row[7])?;
        if price <= Decimal::ZERO {
            return Err(self.error(format!("price {} is not positive", row[6])));
        }
        if qty <= Decimal::ZERO {
            return Err(self.error(format!("amount {} is not positive", row[7])));
        }
        Ok(SourceEvent::Trade {
            symbol: self.symbol(&row[1])?,
            ts: local,
            id: (!row[4].is_empty()).then(|| row[4].clone()),
            price,
            qty,
            aggressor,
        })
    }

    fn symbol(&mut self, text: &str) -> Result<String, ImportError> {
        if text.is_empty() {
            return Err(self.error("the symbol is empty"));
        }
        Ok(text.to_string())
    }

    /// `local_timestamp` in nanoseconds; never before the previous row's.
    fn local_timestamp(&mut self, text: &str) -> Result<UnixNanos, ImportError> {
        let micros: u64 = text.parse().map_err(|_| {
            self.error(format!(
                "local_timestamp {text:?} is not microseconds since the epoch"
            ))
        })?;
        let nanos = micros
            .checked_mul(1_000)
            .ok_or_else(|| self.error(format!("local_timestamp {text} is out of range")))?;
        if nanos < self.last_local {
            let message = format!(
                "local_timestamp goes back from {} to {micros} (Tardis files are in local_timestamp order)",
                self.last_local / 1_000
            );
            return Err(self.error(message));
        }
        self.last_local = nanos;
        Ok(nanos)
    }

    fn decimal(&mut self, what: &str, text: &str) -> Result<Decimal, ImportError> {
        Decimal::from_str(text)
            .or_else(|_| Decimal::from_scientific(text))
            .map_err(|_| self.error(format!("{what} {text:?} is not a decimal number")))
    }

    fn next_book(&mut self) -> Option<Result<SourceEvent, ImportError>> {
        loop {
            let row = match self.next_row() {
                Some(Ok(row)) => row,
                Some(Err(e)) => return Some(Err(e)),
                None => return self.gathering.take().map(|g| Ok(g.event)),
            };
            let (symbol, local, snapshot, level) = match self.book_row(&row) {
                Ok(parsed) => parsed,
                Err(e) => return Some(Err(e)),
            };
            // Same message: an update of the same symbol and moment, or
            // the snapshot of that symbol going on.
            if let Some(Gathering {
                event:
                    SourceEvent::Book {
                        symbol: s,
                        snapshot: was_snapshot,
                        levels,
                        ..
                    },
                local: at,
            }) = &mut self.gathering
                && *s == symbol
                && *was_snapshot == snapshot
                && (snapshot || *at == local)
            {
                levels.push(level);
                continue;
            }
            let next = Gathering {
                event: SourceEvent::Book {
                    symbol,
                    ts: local,
                    snapshot,
                    levels: vec![level],
                },
                local,
            };
            if let Some(done) = self.gathering.replace(next) {
                return Some(Ok(done.event));
            }
        }
    }
}

impl Iterator for TardisFile {
    type Item = Result<SourceEvent, ImportError>;

    /// The next event; after an error, nothing more.
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        match self.dataset {
            Dataset::IncrementalBookL2 => self.next_book(),
            Dataset::Trades => {
                let row = match self.next_row()? {
                    Ok(row) => row,
                    Err(e) => return Some(Err(e)),
                };
                Some(self.trade_row(&row))
            }
        }
    }
}

#[cfg(test)]
mod tests;
