//! Binance diff-depth streams captured as JSON lines, one message a line:
//!
//! - `depthUpdate` events as the WebSocket sends them (`{"e":"depthUpdate",
//!   "E":..,"s":"BTCUSDT","U":..,"u":..,"b":[[price,qty],..],"a":[..]}`;
//!   futures add `"T"` and `"pu"`), bare or in a combined stream's
//!   `{"stream":..,"data":{..}}`;
//! - REST depth snapshots (`{"lastUpdateId":..,"bids":[..],"asks":[..]}`,
//!   futures with `"E"`/`"T"`), as the capture fetched them. A snapshot
//!   names no symbol: it is the symbol of the file's updates (a file of
//!   several symbols adds `"symbol":"BTCUSDT"` to each snapshot line).
//!
//! Each symbol's book is synchronised by Binance's documented procedure for
//! a local book: updates are held until a snapshot; those it already holds
//! (`u` ≤ `lastUpdateId`; futures `u` < `lastUpdateId`) are dropped; the
//! first applied must straddle it (`U` ≤ `lastUpdateId`+1; futures `U` ≤
//! `lastUpdateId` ≤ `u`), and each next one continue the last (`U` =
//! previous `u`+1; futures `pu` = previous `u`). A break is a gap: the
//! updates after it are held for the source's next snapshot, which the
//! recording then starts from, with no warning needed. If none comes within
//! `HOLD_LIMIT` updates (or before the file ends), a [`SourceEvent::Gap`]
//! is recorded and the held updates applied to the book as it was.
//! Quantities are what rests at the price (0 removes it). Times are `E`
//! (milliseconds, or microseconds when the stream was asked for them);
//! an event held back for a snapshot is stamped no earlier than what the
//! file already produced, so times never go back.

use std::collections::VecDeque;

use serde::Deserialize;

use crate::import::input::{Lines, epoch_nanos};
use crate::import::source::{
    GapIn, ImportError, Level, SourceEvent, SourceFile, ids, parse_levels,
};
use crate::types::UnixNanos;

/// Updates held waiting for a snapshot after a gap before the gap is
/// recorded and they are applied anyway.
pub const HOLD_LIMIT: usize = 10_000;

#[derive(Deserialize)]
struct Line<'a> {
    // A depthUpdate.
    #[serde(rename = "e")]
    event: Option<&'a str>,
    #[serde(rename = "E")]
    event_time: Option<u64>,
    #[serde(rename = "T")]
    transaction_time: Option<u64>,
    #[serde(rename = "s")]
    s: Option<String>,
    #[serde(rename = "U")]
    first_id: Option<u64>,
    #[serde(rename = "u")]
    last_id: Option<u64>,
    pu: Option<u64>,
    #[serde(rename = "b", default)]
    b: Vec<(&'a str, &'a str)>,
    #[serde(rename = "a", default)]
    a: Vec<(&'a str, &'a str)>,
    // A REST snapshot.
    #[serde(rename = "lastUpdateId")]
    last_update_id: Option<u64>,
    symbol: Option<String>,
    #[serde(default)]
    bids: Vec<(&'a str, &'a str)>,
    #[serde(default)]
    asks: Vec<(&'a str, &'a str)>,
    // A combined stream's envelope.
    #[serde(borrow)]
    data: Option<&'a serde_json::value::RawValue>,
}

/// A depthUpdate, parsed.
struct Update {
    ts: UnixNanos,
    first: u64,
    last: u64,
    /// Futures: the previous update's `u`.
    previous: Option<u64>,
    levels: Vec<Level>,
}

enum Sync {
    /// No book yet, or a gap broke it: updates held for a snapshot.
    Waiting {
        held: VecDeque<Update>,
        /// What the gap skipped, when one broke a book.
        gap: Option<String>,
    },
    /// `last` is the last update id applied; `straddle`: the next update is
    /// the first after a snapshot.
    Synced { last: u64, straddle: bool },
}

struct Book {
    symbol: String,
    sync: Sync,
    /// A snapshot read before any time was known (no `E`, nothing held,
    /// nothing before it): it goes out with the next update's time.
    timeless: Option<Vec<Level>>,
}

pub struct DepthFile {
    lines: Lines,
    /// The first line, read to tell the format, handled first.
    first: Option<String>,
    /// By order of first appearance.
    books: Vec<Book>,
    /// A snapshot that names no symbol, read before any update.
    orphan: Option<(u64, Vec<Level>, Option<UnixNanos>, u64)>,
    out: VecDeque<SourceEvent>,
    last_ts: UnixNanos,
    rows: u64,
    done: bool,
}

impl DepthFile {
    pub fn new(lines: Lines, first: String) -> Result<DepthFile, ImportError> {
        Ok(DepthFile {
            lines,
            first: Some(first),
            books: Vec::new(),
            orphan: None,
            out: VecDeque::new(),
            last_ts: 0,
            rows: 0,
            done: false,
        })
    }

    fn levels(
        &self,
        bids: &[(&str, &str)],
        asks: &[(&str, &str)],
    ) -> Result<Vec<Level>, ImportError> {
        parse_levels(bids, asks).map_err(|e| self.lines.error(e))
    }

    fn time(&self, what: &str, value: u64) -> Result<UnixNanos, ImportError> {
        epoch_nanos(value)
            .ok_or_else(|| self.lines.error(format!("{what} {value} is out of range")))
    }

    /// Reads one line into the books' states and `out`.
    fn line(&mut self, text: &str) -> Result<(), ImportError> {
        let mut line: Line = serde_json::from_str(text).map_err(|e| {
            self.lines.error(format!(
                "not a Binance depthUpdate event or depth snapshot: {e}"
            ))
        })?;
        let inner;
        if let Some(data) = line.data {
            inner = data.get().to_string();
            line = serde_json::from_str(&inner).map_err(|e| {
                self.lines.error(format!(
                    "not a Binance depthUpdate event in the stream's data: {e}"
                ))
            })?;
        }
        if let Some(id) = line.last_update_id {
            let levels = self.levels(&line.bids, &line.asks)?;
            let own = match line.event_time.or(line.transaction_time) {
                Some(t) => Some(self.time("E", t)?),
                None => None,
            };
            let line_number = self.lines.line;
            return match line.symbol.or(line.s) {
                Some(symbol) => self.snapshot(&symbol, id, levels, own),
                None => match self.only_symbol()? {
                    Some(symbol) => self.snapshot(&symbol, id, levels, own),
                    None => {
                        self.orphan = Some((id, levels, own, line_number));
                        Ok(())
                    }
                },
            };
        }
        match line.event {
            Some("depthUpdate") => {}
            Some(other) => {
                return Err(self.lines.error(format!(
                    "event {other:?} is not a depthUpdate (import depth streams only)"
                )));
            }
            None => {
                return Err(self.lines.error(
                    "neither a depthUpdate event (\"e\":\"depthUpdate\") nor a depth snapshot (\"lastUpdateId\")",
                ));
            }
        }
        let (Some(symbol), Some(first), Some(last), Some(time)) =
            (line.s, line.first_id, line.last_id, line.event_time)
        else {
            return Err(self
                .lines
                .error("a depthUpdate needs \"s\", \"E\", \"U\" and \"u\""));
        };
        if last < first {
            return Err(self.lines.error(format!("u {last} is before U {first}")));
        }
        let update = Update {
            ts: self.time("E", time)?,
            first,
            last,
            previous: line.pu,
            levels: self.levels(&line.b, &line.a)?,
        };
        let index = self.book_of(&symbol)?;
        if let Some((id, levels, own, _)) = self.orphan.take() {
            self.snapshot(&symbol, id, levels, own)?;
        }
        self.update(index, update);
        Ok(())
    }

    /// The file's one symbol, when it has had updates of exactly one.
    fn only_symbol(&self) -> Result<Option<String>, ImportError> {
        match &self.books[..] {
            [] => Ok(None),
            [one] => Ok(Some(one.symbol.clone())),
            _ => Err(self.lines.error(
                "a depth snapshot without \"symbol\" in a file of several symbols: add \"symbol\":\"...\" to it",
            )),
        }
    }

    fn book_of(&mut self, symbol: &str) -> Result<usize, ImportError> {
        if let Some(i) = self.books.iter().position(|b| b.symbol == symbol) {
            return Ok(i);
        }
        if let Some((_, _, _, line)) = &self.orphan
            && !self.books.is_empty()
        {
            return Err(ImportError::new(
                &self.lines.name,
                *line,
                "a depth snapshot without \"symbol\" in a file of several symbols: add \"symbol\":\"...\" to it",
            ));
        }
        self.books.push(Book {
            symbol: symbol.to_string(),
            sync: Sync::Waiting {
                held: VecDeque::new(),
                gap: None,
            },
            timeless: None,
        });
        Ok(self.books.len() - 1)
    }

    fn emit(&mut self, mut event: SourceEvent) {
        let ts = match &mut event {
            SourceEvent::Book { ts, .. }
            | SourceEvent::Trade { ts, .. }
            | SourceEvent::Gap { ts, .. } => ts,
        };
        *ts = (*ts).max(self.last_ts);
        self.last_ts = *ts;
        self.out.push_back(event);
    }

    fn emit_update(&mut self, index: usize, update: Update) {
        let symbol = self.books[index].symbol.clone();
        if let Some(levels) = self.books[index].timeless.take() {
            self.emit(SourceEvent::Book {
                symbol: symbol.clone(),
                ts: update.ts,
                snapshot: true,
                levels,
            });
        }
        self.emit(SourceEvent::Book {
            symbol,
            ts: update.ts,
            snapshot: false,
            levels: update.levels,
        });
    }

    fn update(&mut self, index: usize, update: Update) {
        let (last, straddle) = match &mut self.books[index].sync {
            Sync::Waiting { held, gap } => {
                held.push_back(update);
                if held.len() <= HOLD_LIMIT {
                    return;
                }
                if gap.is_some() {
                    self.give_up(index);
                } else if let Some(oldest) = held.pop_front() {
                    // Before any snapshot: the rebuild leaves it out (and
                    // counts it).
                    self.emit_update(index, oldest);
                }
                return;
            }
            Sync::Synced { last, straddle } => (*last, *straddle),
        };
        let futures = update.previous.is_some();
        let stale = if futures {
            update.last < last
        } else {
            update.last <= last
        };
        if stale {
            return;
        }
        let follows = match update.previous {
            _ if straddle && futures => update.first <= last,
            _ if straddle => update.first <= last + 1,
            Some(previous) => previous == last,
            None => update.first == last + 1,
        };
        if follows {
            self.books[index].sync = Sync::Synced {
                last: update.last,
                straddle: false,
            };
            self.emit_update(index, update);
            return;
        }
        let detail = match update.previous {
            Some(previous) if !straddle => format!(
                "the depth stream broke: an update's pu {previous} is not the previous update's u {last}"
            ),
            _ => format!(
                "the depth stream skipped update ids {}",
                ids(last + 1, update.first - 1)
            ),
        };
        self.books[index].sync = Sync::Waiting {
            held: VecDeque::from([update]),
            gap: Some(detail),
        };
    }

    /// A book broken by a gap got no snapshot in time: the gap is recorded
    /// and the held updates applied to the book as it was.
    fn give_up(&mut self, index: usize) {
        let Sync::Waiting { held, gap } = std::mem::replace(
            &mut self.books[index].sync,
            Sync::Synced {
                last: 0,
                straddle: false,
            },
        ) else {
            return;
        };
        let symbol = self.books[index].symbol.clone();
        let mut last = 0;
        let mut first = true;
        for update in held {
            if first && let Some(detail) = &gap {
                self.emit(SourceEvent::Gap {
                    symbol: symbol.clone(),
                    ts: update.ts,
                    stream: GapIn::Book,
                    detail: detail.clone(),
                });
            }
            first = false;
            last = update.last;
            self.emit_update(index, update);
        }
        self.books[index].sync = Sync::Synced {
            last,
            straddle: false,
        };
    }

    fn snapshot(
        &mut self,
        symbol: &str,
        id: u64,
        levels: Vec<Level>,
        own: Option<UnixNanos>,
    ) -> Result<(), ImportError> {
        let index = self.book_of(symbol)?;
        let futures;
        let held = match &mut self.books[index].sync {
            // Older than the book: it would take back applied updates.
            Sync::Synced { last, .. } if id < *last => return Ok(()),
            Sync::Synced { .. } => {
                futures = false;
                VecDeque::new()
            }
            Sync::Waiting { held, .. } => {
                futures = held.iter().any(|u| u.previous.is_some());
                std::mem::take(held)
            }
        };
        let kept: VecDeque<Update> = held
            .into_iter()
            .filter(|u| if futures { u.last >= id } else { u.last > id })
            .collect();
        // An older snapshot than the held updates need: keep waiting.
        if let Some(next) = kept.front() {
            let reaches = if futures {
                next.first <= id
            } else {
                next.first <= id + 1
            };
            if !reaches {
                if let Sync::Waiting { held, .. } = &mut self.books[index].sync {
                    *held = kept;
                }
                return Ok(());
            }
        }
        let ts = kept.front().map(|u| u.ts).or(own).unwrap_or(self.last_ts);
        if ts == 0 {
            self.books[index].timeless = Some(levels);
        } else {
            self.emit(SourceEvent::Book {
                symbol: symbol.to_string(),
                ts,
                snapshot: true,
                levels,
            });
        }
        self.books[index].sync = Sync::Synced {
            last: id,
            straddle: true,
        };
        for update in kept {
            self.update(index, update);
        }
        Ok(())
    }

    /// The end of the file: held updates go out (broken books' with their
    /// gap recorded), in the order the symbols appeared.
    fn finish(&mut self) {
        for index in 0..self.books.len() {
            match &mut self.books[index].sync {
                Sync::Waiting { gap: Some(_), .. } => self.give_up(index),
                Sync::Waiting { held, gap: None } => {
                    let held = std::mem::take(held);
                    for update in held {
                        self.emit_update(index, update);
                    }
                }
                Sync::Synced { .. } => {}
            }
        }
    }
}

impl SourceFile for DepthFile {
    fn rows(&self) -> u64 {
        self.rows
    }
}

impl Iterator for DepthFile {
    type Item = Result<SourceEvent, ImportError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(event) = self.out.pop_front() {
                return Some(Ok(event));
            }
            if self.done {
                return None;
            }
            let text = match self.first.take() {
                Some(first) => first,
                None => match self.lines.next_line() {
                    Some(Ok(line)) => line.to_string(),
                    Some(Err(e)) => {
                        self.done = true;
                        return Some(Err(e));
                    }
                    None => {
                        self.done = true;
                        self.finish();
                        continue;
                    }
                },
            };
            self.rows += 1;
            if let Err(e) = self.line(&text) {
                self.done = true;
                self.out.clear();
                return Some(Err(e));
            }
        }
    }
}

#[cfg(test)]
mod tests;
