//! A capture of tickwire's own protocol: the messages a client received,
//! one JSON object a line, as `tickwire watch --capture FILE` (or piped
//! `tickwire watch`) writes them, or any client that saves each text frame
//! as a line.
//!
//! - `book_snapshot` and `book_update` of the full book (no `depth` or
//!   `interval`: a view holds only the top of the book) and `trade` are
//!   imported; `ticker`, `candle`s and `heartbeat`s are derived again from
//!   them, as live; everything else (responses, private events, `lagged`)
//!   is passed over.
//! - An `instruments` response gives the symbols' tick and lot sizes, used
//!   when `--instruments` is not given (`declared`).
//! - `seq` is checked per stream: a book update after a snapshot or update
//!   it does not follow (a client that lagged gets a fresh snapshot, which
//!   starts the book again), or a trade `seq` jump, is a gap
//!   ([`SourceEvent::Gap`]); book updates a snapshot already holds (`seq`
//!   at or below it) are dropped.
//! - Times are the messages' `ts`; the symbols' streams interleave with
//!   small steps back in time, so a time before the previous message's is
//!   taken as that one's.

use std::str::FromStr;

use rust_decimal::Decimal;
use serde::Deserialize;

use super::input::Lines;
use super::source::{
    Declared, GapIn, ImportError, Level, SourceEvent, SourceFile, ids, parse_levels,
};
use crate::types::{Side, UnixNanos};

#[derive(Deserialize)]
struct Message<'a> {
    #[serde(rename = "type")]
    kind: Option<&'a str>,
    symbol: Option<String>,
    seq: Option<u64>,
    ts: Option<u64>,
    depth: Option<serde_json::Value>,
    interval: Option<serde_json::Value>,
    #[serde(default)]
    bids: Vec<(&'a str, &'a str)>,
    #[serde(default)]
    asks: Vec<(&'a str, &'a str)>,
    price: Option<&'a str>,
    qty: Option<&'a str>,
    side: Option<&'a str>,
    trade_id: Option<String>,
    #[serde(default)]
    instruments: Vec<Declared>,
}

/// One symbol's last `seq` per stream.
struct Streams {
    symbol: String,
    book: Option<u64>,
    trades: Option<u64>,
}

pub struct CaptureFile {
    lines: Lines,
    streams: Vec<Streams>,
    declared: Vec<Declared>,
    /// A gap announced, its event next.
    pending: Option<SourceEvent>,
    last_ts: UnixNanos,
    rows: u64,
    failed: bool,
}

impl CaptureFile {
    pub fn new(lines: Lines) -> CaptureFile {
        CaptureFile {
            lines,
            streams: Vec::new(),
            declared: Vec::new(),
            pending: None,
            last_ts: 0,
            rows: 0,
            failed: false,
        }
    }

    fn error(&mut self, message: impl Into<String>) -> ImportError {
        self.failed = true;
        self.lines.error(message)
    }

    fn streams(&mut self, symbol: &str) -> &mut Streams {
        let index = match self.streams.iter().position(|s| s.symbol == symbol) {
            Some(index) => index,
            None => {
                self.streams.push(Streams {
                    symbol: symbol.to_string(),
                    book: None,
                    trades: None,
                });
                self.streams.len() - 1
            }
        };
        &mut self.streams[index]
    }

    fn decimal(&mut self, what: &str, text: &str) -> Result<Decimal, ImportError> {
        Decimal::from_str(text)
            .map_err(|_| self.error(format!("{what} {text:?} is not a decimal number")))
    }

    fn levels(
        &mut self,
        bids: &[(&str, &str)],
        asks: &[(&str, &str)],
    ) -> Result<Vec<Level>, ImportError> {
        parse_levels(bids, asks).map_err(|e| self.error(e))
    }

    /// The event of one line (None: a message not imported), and the gap
    /// before it.
    fn line(
        &mut self,
        text: &str,
    ) -> Result<Option<(SourceEvent, Option<SourceEvent>)>, ImportError> {
        let message: Message = serde_json::from_str(text)
            .map_err(|e| self.error(format!("not a tickwire protocol message: {e}")))?;
        let kind = message.kind.unwrap_or("");
        if kind == "instruments" {
            for declared in message.instruments {
                if !self.declared.iter().any(|d| d.symbol == declared.symbol) {
                    self.declared.push(declared);
                }
            }
            return Ok(None);
        }
        if !matches!(kind, "book_snapshot" | "book_update" | "trade")
            || message.depth.is_some()
            || message.interval.is_some()
        {
            return Ok(None);
        }
        let (Some(symbol), Some(seq), Some(ts)) = (message.symbol, message.seq, message.ts) else {
            return Err(self.error(format!("a {kind} needs \"symbol\", \"seq\" and \"ts\"")));
        };
        let ts = ts.max(self.last_ts);
        let gap = |stream: GapIn, detail: String, symbol: &str| SourceEvent::Gap {
            symbol: symbol.to_string(),
            ts,
            stream,
            detail,
        };
        match kind {
            "trade" => {
                let (Some(price), Some(qty), Some(side)) =
                    (message.price, message.qty, message.side)
                else {
                    return Err(self.error("a trade needs \"price\", \"qty\" and \"side\""));
                };
                let aggressor = match side {
                    "buy" => Side::Buy,
                    "sell" => Side::Sell,
                    other => return Err(self.error(format!("side {other:?} is not buy or sell"))),
                };
                let (price, qty) = (self.decimal("price", price)?, self.decimal("qty", qty)?);
                let streams = self.streams(&symbol);
                let skipped = match streams.trades {
                    Some(last) if seq <= last => return Ok(None),
                    Some(last) if seq > last + 1 => Some(gap(
                        GapIn::Trades,
                        format!("the capture skipped trade seq {}", ids(last + 1, seq - 1)),
                        &symbol,
                    )),
                    _ => None,
                };
                streams.trades = Some(seq);
                self.last_ts = ts;
                let trade = SourceEvent::Trade {
                    symbol,
                    ts,
                    id: message.trade_id,
                    price,
                    qty,
                    aggressor: Some(aggressor),
                };
                Ok(Some((trade, skipped)))
            }
            _ => {
                let snapshot = kind == "book_snapshot";
                let levels = self.levels(&message.bids, &message.asks)?;
                let streams = self.streams(&symbol);
                let skipped = match streams.book {
                    _ if snapshot => None,
                    // Before the first snapshot: the rebuild leaves it out.
                    None => None,
                    Some(last) if seq <= last => return Ok(None),
                    Some(last) if seq > last + 1 => Some(gap(
                        GapIn::Book,
                        format!("the capture skipped book seq {}", ids(last + 1, seq - 1)),
                        &symbol,
                    )),
                    Some(_) => None,
                };
                streams.book = Some(seq);
                self.last_ts = ts;
                let book = SourceEvent::Book {
                    symbol,
                    ts,
                    snapshot,
                    levels,
                };
                Ok(Some((book, skipped)))
            }
        }
    }
}

impl SourceFile for CaptureFile {
    fn rows(&self) -> u64 {
        self.rows
    }

    fn declared(&self) -> &[Declared] {
        &self.declared
    }
}

impl Iterator for CaptureFile {
    type Item = Result<SourceEvent, ImportError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(event) = self.pending.take() {
            return Some(Ok(event));
        }
        loop {
            if self.failed {
                return None;
            }
            let text = match self.lines.next_line()? {
                Ok(text) => text.to_string(),
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
            };
            self.rows += 1;
            match self.line(&text) {
                Ok(None) => continue,
                Ok(Some((event, None))) => return Some(Ok(event)),
                Ok(Some((event, Some(gap)))) => {
                    self.pending = Some(event);
                    return Some(Ok(gap));
                }
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

#[cfg(test)]
mod tests;
