//! Binance's public trade dumps (data.binance.vision), CSV:
//!
//! | file | columns |
//! | --- | --- |
//! | spot `trades` (no header) | `id,price,qty,quoteQty,time,isBuyerMaker,isBestMatch` |
//! | spot `aggTrades` (no header) | `a,p,q,f,l,T,m,M`: aggregate id, price, quantity, first and last trade id, time, buyer is maker, best match |
//! | futures `trades` (header) | `id,price,qty,quote_qty,time,is_buyer_maker` |
//! | futures `aggTrades` (header) | `agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker` |
//!
//! Times are milliseconds since the epoch, microseconds in spot dumps from
//! 2025 on (told apart by their size). `isBuyerMaker` true means the buyer's
//! order was resting: the taker sold. Ids are consecutive: a jump is a gap
//! in the source (a [`SourceEvent::Gap`]), an id not after the previous
//! one an error.

use std::str::FromStr;

use rust_decimal::Decimal;

use crate::import::input::{Lines, epoch_nanos};
use crate::import::source::{GapIn, ImportError, SourceEvent, SourceFile, ids as ids_of};
use crate::types::{Side, UnixNanos};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Trades,
    AggTrades,
}

/// Where the fields are: id, price, qty, time, buyer-is-maker, and for
/// aggregates the first and last trade ids.
struct Columns {
    id: usize,
    price: usize,
    qty: usize,
    time: usize,
    buyer_maker: usize,
    first_last: Option<(usize, usize)>,
    count: usize,
}

pub struct TradesFile {
    lines: Lines,
    kind: Kind,
    columns: Columns,
    symbol: String,
    /// A headerless file's first line is data, read before anything else.
    first: Option<String>,
    last_id: Option<u64>,
    last_trade_id: Option<u64>,
    last_ts: UnixNanos,
    /// A trade held back behind the gap announced before it.
    pending: Option<SourceEvent>,
    rows: u64,
    failed: bool,
}

fn header_columns(names: &[&str]) -> Option<(Kind, Columns)> {
    let at = |name: &str| names.iter().position(|n| n.eq_ignore_ascii_case(name));
    let count = names.len();
    if let Some(id) = at("agg_trade_id") {
        return Some((
            Kind::AggTrades,
            Columns {
                id,
                price: at("price")?,
                qty: at("quantity")?,
                time: at("transact_time")?,
                buyer_maker: at("is_buyer_maker")?,
                first_last: Some((at("first_trade_id")?, at("last_trade_id")?)),
                count,
            },
        ));
    }
    Some((
        Kind::Trades,
        Columns {
            id: at("id")?,
            price: at("price")?,
            qty: at("qty")?,
            time: at("time")?,
            buyer_maker: at("is_buyer_maker")?,
            first_last: None,
            count,
        },
    ))
}

impl TradesFile {
    /// `first` is the file's first line: a header (futures) or data (spot).
    pub fn new(lines: Lines, first: &str, symbol: String) -> Result<TradesFile, ImportError> {
        let names: Vec<&str> = first.split(',').map(str::trim).collect();
        let headerless = names[0].bytes().all(|b| b.is_ascii_digit()) && !names[0].is_empty();
        let (kind, columns) = if headerless {
            match names.len() {
                7 => (
                    Kind::Trades,
                    Columns {
                        id: 0,
                        price: 1,
                        qty: 2,
                        time: 4,
                        buyer_maker: 5,
                        first_last: None,
                        count: 7,
                    },
                ),
                8 => (
                    Kind::AggTrades,
                    Columns {
                        id: 0,
                        price: 1,
                        qty: 2,
                        time: 5,
                        buyer_maker: 6,
                        first_last: Some((3, 4)),
                        count: 8,
                    },
                ),
                n => {
                    return Err(lines.error(format!(
                        "{n} fields: a Binance spot trades dump has 7 (id,price,qty,quoteQty,time,isBuyerMaker,isBestMatch), an aggTrades dump 8 (a,p,q,f,l,T,m,M)"
                    )));
                }
            }
        } else {
            header_columns(&names).ok_or_else(|| {
                lines.error(format!(
                    "not a Binance trades or aggTrades header: {first:?} (expected id,price,qty,quote_qty,time,is_buyer_maker or agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker)"
                ))
            })?
        };
        Ok(TradesFile {
            lines,
            kind,
            columns,
            symbol,
            first: headerless.then(|| first.to_string()),
            last_id: None,
            last_trade_id: None,
            last_ts: 0,
            pending: None,
            rows: 0,
            failed: false,
        })
    }

    fn error(&mut self, message: impl Into<String>) -> ImportError {
        self.failed = true;
        self.lines.error(message)
    }

    fn integer(&mut self, what: &str, text: &str) -> Result<u64, ImportError> {
        text.parse()
            .map_err(|_| self.error(format!("{what} {text:?} is not a whole number")))
    }

    fn decimal(&mut self, what: &str, text: &str) -> Result<Decimal, ImportError> {
        match Decimal::from_str(text) {
            Ok(value) if value > Decimal::ZERO => Ok(value),
            Ok(_) => Err(self.error(format!("{what} {text} is not positive"))),
            Err(_) => Err(self.error(format!("{what} {text:?} is not a decimal number"))),
        }
    }

    /// The row's trade, and the gap before it if its id is not the next.
    fn row(&mut self, line: &str) -> Result<(SourceEvent, Option<String>), ImportError> {
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let c = &self.columns;
        if fields.len() != c.count {
            let count = c.count;
            return Err(self.error(format!(
                "{} fields where the file has {count}: {line:?}",
                fields.len()
            )));
        }
        let (id_at, price_at, qty_at, time_at, maker_at, first_last) =
            (c.id, c.price, c.qty, c.time, c.buyer_maker, c.first_last);
        let id = self.integer("id", fields[id_at])?;
        let price = self.decimal("price", fields[price_at])?;
        let qty = self.decimal("quantity", fields[qty_at])?;
        let time = self.integer("time", fields[time_at])?;
        let ts =
            epoch_nanos(time).ok_or_else(|| self.error(format!("time {time} is out of range")))?;
        let aggressor = match fields[maker_at].to_ascii_lowercase().as_str() {
            "true" => Side::Sell,
            "false" => Side::Buy,
            other => {
                return Err(self.error(format!("isBuyerMaker {other:?} is not true or false")));
            }
        };
        if ts < self.last_ts {
            return Err(self.error(format!(
                "time {time} is before the previous trade's (a dump is in id order, times never going back)"
            )));
        }
        let mut gaps = Vec::new();
        match self.last_id {
            Some(last) if id <= last => {
                return Err(self.error(format!(
                    "id {id} is not after the previous trade's {last} (a dump is in id order)"
                )));
            }
            Some(last) if id > last + 1 => gaps.push(self.missing("", last + 1, id - 1)),
            _ => {}
        }
        if let Some((first_at, last_at)) = first_last {
            let first = self.integer("first trade id", fields[first_at])?;
            let last = self.integer("last trade id", fields[last_at])?;
            if last < first {
                return Err(self.error(format!("last trade id {last} is before the first {first}")));
            }
            // Aggregates jump over nothing when their trade ids run on.
            if let Some(before) = self.last_trade_id
                && first > before + 1
                && gaps.is_empty()
            {
                gaps.push(self.missing("underlying ", before + 1, first - 1));
            }
            self.last_trade_id = Some(last);
        }
        self.last_id = Some(id);
        self.last_ts = ts;
        let trade = SourceEvent::Trade {
            symbol: self.symbol.clone(),
            ts,
            id: Some(id.to_string()),
            price,
            qty,
            aggressor: Some(aggressor),
        };
        Ok((trade, gaps.pop()))
    }

    /// What a gap of ids `from..=to` says.
    fn missing(&self, what: &str, from: u64, to: u64) -> String {
        let ids = match self.kind {
            Kind::AggTrades if what.is_empty() => "aggregate trade id",
            _ => "trade id",
        };
        format!("the source skipped {what}{ids}s {}", ids_of(from, to))
    }
}

impl SourceFile for TradesFile {
    fn rows(&self) -> u64 {
        self.rows
    }
}

impl Iterator for TradesFile {
    type Item = Result<SourceEvent, ImportError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(trade) = self.pending.take() {
            return Some(Ok(trade));
        }
        if self.failed {
            return None;
        }
        let line = match self.first.take() {
            Some(first) => first,
            None => match self.lines.next_line()? {
                Ok(line) => line.to_string(),
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
            },
        };
        self.rows += 1;
        Some(match self.row(&line) {
            Ok((trade, None)) => Ok(trade),
            Ok((trade, Some(detail))) => {
                let ts = trade.symbol_and_ts().1;
                self.pending = Some(trade);
                Ok(SourceEvent::Gap {
                    symbol: self.symbol.clone(),
                    ts,
                    stream: GapIn::Trades,
                    detail,
                })
            }
            Err(e) => Err(e),
        })
    }
}

#[cfg(test)]
mod tests;
