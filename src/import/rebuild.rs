//! From source events to a recording: each symbol's book rebuilt level by
//! level, every stream derived as a live server derives it (its own gap-free
//! `seq`, the CRC-32 checksum of the rebuilt book's top 10, the ticker on
//! every change of the touch or the last trade, 1 s and 1 m candles from the
//! trades), with a heartbeat per symbol every second of the source's time and
//! a book snapshot every `snapshot_every_s`. Pure apart from the writer:
//! the same events give the same file.

use rust_decimal::Decimal;

use super::source::{GapIn, ImportError, Level, SourceEvent, no_instrument};
use crate::book::Book;
use crate::encode;
use crate::engine::LevelChange;
use crate::instrument::{Instrument, Instruments};
use crate::protocol::Channel;
use crate::record::{RecordWriter, stream_name};
use crate::stats::{CandleSeries, Interval, TickerState};
use crate::types::{NANOS_PER_SEC, OrderId, Owner, Price, Qty, Side, UnixNanos};

/// What an import did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportStats {
    /// Source rows read (CSV lines, the headers not counted).
    pub rows: u64,
    /// Source events read (a book message or a trade each).
    pub events: u64,
    pub book_updates: u64,
    pub trades: u64,
    pub snapshots_in_source: u64,
    /// Book changes before a symbol's first snapshot: there is no book to
    /// apply them to, so they are left out (and counted).
    pub skipped_before_snapshot: u64,
    /// Trades whose taker side the source did not give (inferred: see
    /// `Symbol::taker_side`).
    pub inferred_sides: u64,
    /// Gaps in the source's own sequences, each a warning in the recording.
    pub gaps: u64,
    /// The first `KEPT_WARNINGS` of those warnings' texts.
    pub warnings: Vec<String>,
    /// Source snapshots, after the first of their symbol, whose top 10
    /// levels differed from the book rebuilt from the updates before them
    /// (the source lost updates, or they were not in order).
    pub snapshot_differences: u64,
}

/// How many warnings' texts `ImportStats` keeps for the report.
pub const KEPT_WARNINGS: usize = 20;

/// One symbol's rebuilt state and its streams' counters.
struct Symbol {
    instrument: Instrument,
    /// One order per level (`level_id`), as a replay's replica keeps it.
    book: Book,
    started: bool,
    book_seq: u64,
    trade_seq: u64,
    heartbeat_seq: u64,
    last_trade: Option<Price>,
    ticker: TickerState,
    candles: [CandleSeries; 2],
    next_heartbeat: UnixNanos,
    next_snapshot: UnixNanos,
}

/// The rebuilding of every symbol into one recording.
pub struct Rebuild {
    instruments: Instruments,
    /// Source symbol → tickwire symbol.
    map: Vec<(String, String)>,
    symbols: Vec<Option<Symbol>>,
    writer: RecordWriter,
    snapshot_every: u64,
    scratch: String,
    changes: Vec<LevelChange>,
    pub stats: ImportStats,
}

fn level_id(side: Side, price: Price) -> OrderId {
    OrderId((price.0 as u64) << 1 | u64::from(side == Side::Sell))
}

fn io(e: std::io::Error) -> ImportError {
    ImportError::new("the recording", 0, format!("cannot write: {e}"))
}

impl Rebuild {
    /// A rebuild into `writer`, whose header the caller has written;
    /// `map` renames source symbols (others keep their names).
    pub fn new(
        instruments: Instruments,
        map: Vec<(String, String)>,
        writer: RecordWriter,
        snapshot_every_s: u64,
    ) -> Rebuild {
        Rebuild {
            symbols: instruments.iter().map(|_| None).collect(),
            instruments,
            map,
            writer,
            snapshot_every: snapshot_every_s.max(1) * NANOS_PER_SEC,
            scratch: String::with_capacity(1024),
            changes: Vec::new(),
            stats: ImportStats::default(),
        }
    }

    /// The tickwire symbol a source symbol is imported as.
    pub fn symbol_of<'a>(map: &'a [(String, String)], source: &'a str) -> &'a str {
        map.iter()
            .find(|(from, _)| from == source)
            .map_or(source, |(_, to)| to.as_str())
    }

    /// Applies one event, writing what it publishes.
    pub fn apply(&mut self, event: &SourceEvent) -> Result<(), ImportError> {
        self.stats.events += 1;
        let (source, ts) = event.symbol_and_ts();
        let name = Self::symbol_of(&self.map, source);
        let Some(index) = self.instruments.iter().position(|i| i.symbol == name) else {
            return Err(no_instrument("the instruments", name, source));
        };
        if self.symbols[index].is_none() {
            let instrument = self.instruments.iter().nth(index).cloned();
            self.symbols[index] = instrument.map(|instrument| Symbol {
                instrument,
                book: Book::default(),
                started: false,
                book_seq: 0,
                trade_seq: 0,
                heartbeat_seq: 0,
                last_trade: None,
                ticker: TickerState::default(),
                candles: Interval::ALL.map(CandleSeries::new),
                next_heartbeat: (ts / NANOS_PER_SEC + 1) * NANOS_PER_SEC,
                next_snapshot: ts,
            });
        }
        self.catch_up(ts)?;
        match event {
            SourceEvent::Gap { stream, detail, .. } => self.gap(index, ts, *stream, detail),
            SourceEvent::Book {
                snapshot, levels, ..
            } => self.book(index, ts, *snapshot, levels),
            SourceEvent::Trade {
                price,
                qty,
                aggressor,
                ..
            } => self.trade(index, ts, *price, *qty, *aggressor),
        }
    }

    /// Heartbeats and periodic snapshots due by `ts`, for every symbol seen
    /// so far (in instrument order).
    fn catch_up(&mut self, ts: UnixNanos) -> Result<(), ImportError> {
        for i in 0..self.symbols.len() {
            while let Some(s) = &mut self.symbols[i]
                && s.next_heartbeat <= ts
            {
                let at = s.next_heartbeat;
                s.next_heartbeat += NANOS_PER_SEC;
                s.heartbeat_seq += 1;
                let message = encode::heartbeat(
                    &s.instrument.symbol,
                    s.heartbeat_seq,
                    at,
                    s.book_seq,
                    s.trade_seq,
                    s.ticker.latest().0,
                );
                let stream = stream_name(Channel::Heartbeat, &s.instrument.symbol);
                self.writer
                    .write_message(at, &stream, message.as_bytes())
                    .map_err(io)?;
            }
            let Some(s) = &mut self.symbols[i] else {
                continue;
            };
            if s.started && s.next_snapshot <= ts {
                s.next_snapshot = ts + self.snapshot_every;
                let checksum = encode::book_checksum(&s.instrument, &s.book, &mut self.scratch);
                let message =
                    encode::book_snapshot(&s.instrument, &s.book, s.book_seq, ts, checksum);
                let stream = stream_name(Channel::Book, &s.instrument.symbol);
                self.writer
                    .write_snapshot(ts, &stream, message.as_bytes())
                    .map_err(io)?;
            }
        }
        Ok(())
    }

    fn on_grid(
        instrument: &Instrument,
        ts: UnixNanos,
        level: &Level,
    ) -> Result<(Price, Qty), ImportError> {
        let what = |e: &dyn std::fmt::Display| {
            ImportError::new(
                "the source",
                0,
                format!(
                    "{} at {ts}: {e} (the instrument's tick {} and lot {}: give the right ones with --instruments)",
                    instrument.symbol, instrument.tick_size, instrument.lot_size
                ),
            )
        };
        let price = instrument
            .price_from_decimal(level.price)
            .map_err(|e| what(&e))?;
        let qty = if level.amount.is_zero() {
            Qty::ZERO
        } else {
            instrument
                .qty_from_decimal(level.amount)
                .map_err(|e| what(&e))?
        };
        Ok((price, qty))
    }

    fn book(
        &mut self,
        index: usize,
        ts: UnixNanos,
        snapshot: bool,
        levels: &[Level],
    ) -> Result<(), ImportError> {
        let Some(s) = &mut self.symbols[index] else {
            return Ok(());
        };
        self.changes.clear();
        let before = (snapshot && s.started)
            .then(|| encode::book_checksum(&s.instrument, &s.book, &mut self.scratch));
        if snapshot {
            self.stats.snapshots_in_source += 1;
            // The whole book: every level now absent goes (a change to 0).
            let old: Vec<(Side, Price)> = [Side::Buy, Side::Sell]
                .into_iter()
                .flat_map(|side| s.book.levels(side).map(move |l| (side, l.price)))
                .collect();
            for (side, price) in old {
                s.book.remove(level_id(side, price));
                self.changes.push(LevelChange {
                    side,
                    price,
                    qty: Qty::ZERO,
                });
            }
        } else if !s.started {
            self.stats.skipped_before_snapshot += 1;
            return Ok(());
        }
        for level in levels {
            let (price, qty) = Self::on_grid(&s.instrument, ts, level)?;
            let id = level_id(level.side, price);
            let had = s.book.remove(id).is_some();
            if !qty.is_zero() {
                s.book
                    .insert(id, Owner::SIM, level.side, price, qty, Qty::ZERO, ts);
            } else if !had {
                continue; // removing a level that is not there: nothing changes
            }
            // One change per level and message: the last one stands.
            self.changes
                .retain(|c| !(c.side == level.side && c.price == price));
            self.changes.push(LevelChange {
                side: level.side,
                price,
                qty,
            });
        }
        let first = !s.started;
        s.started = true;
        let stream = stream_name(Channel::Book, &s.instrument.symbol);
        let checksum = encode::book_checksum(&s.instrument, &s.book, &mut self.scratch);
        if before.is_some_and(|b| b != checksum) {
            self.stats.snapshot_differences += 1;
        }
        if !first && !self.changes.is_empty() {
            s.book_seq += 1;
            self.stats.book_updates += 1;
            let message =
                encode::book_update(&s.instrument, &self.changes, s.book_seq, ts, checksum);
            self.writer
                .write_message(ts, &stream, message.as_bytes())
                .map_err(io)?;
        }
        // The recording's first state of this book, and a fresh one after
        // each source snapshot (the source reconnected: a replay can start
        // there without what came before).
        if snapshot || first {
            s.next_snapshot = ts + self.snapshot_every;
            let message = encode::book_snapshot(&s.instrument, &s.book, s.book_seq, ts, checksum);
            self.writer
                .write_snapshot(ts, &stream, message.as_bytes())
                .map_err(io)?;
        }
        self.publish_stats(index, ts, false)
    }

    /// A recorded warning on the stream the source skipped in.
    fn gap(
        &mut self,
        index: usize,
        ts: UnixNanos,
        stream: GapIn,
        detail: &str,
    ) -> Result<(), ImportError> {
        let Some(s) = &self.symbols[index] else {
            return Ok(());
        };
        let (channel, consequence) = match stream {
            GapIn::Book => (
                Channel::Book,
                "the book may differ from the exchange's until the source's next snapshot",
            ),
            GapIn::Trades => (Channel::Trades, "the source's trades in it are missing"),
        };
        let text = format!("{}: {detail}: {consequence}", s.instrument.symbol);
        self.stats.gaps += 1;
        let stream = stream_name(channel, &s.instrument.symbol);
        self.writer.write_warning(ts, &stream, &text).map_err(io)?;
        if self.stats.warnings.len() < KEPT_WARNINGS {
            self.stats.warnings.push(text);
        }
        Ok(())
    }

    fn trade(
        &mut self,
        index: usize,
        ts: UnixNanos,
        price: Decimal,
        qty: Decimal,
        aggressor: Option<Side>,
    ) -> Result<(), ImportError> {
        let Some(s) = &mut self.symbols[index] else {
            return Ok(());
        };
        let level = Level {
            side: Side::Buy,
            price,
            amount: qty,
        };
        let (price, qty) = Self::on_grid(&s.instrument, ts, &level)?;
        let side = match aggressor {
            Some(side) => side,
            None => {
                self.stats.inferred_sides += 1;
                taker_side(&s.book, s.last_trade, price)
            }
        };
        s.trade_seq += 1;
        s.last_trade = Some(price);
        self.stats.trades += 1;
        let message = encode::trade(&s.instrument, s.trade_seq, ts, price, qty, side);
        let stream = stream_name(Channel::Trades, &s.instrument.symbol);
        self.writer
            .write_message(ts, &stream, message.as_bytes())
            .map_err(io)?;
        s.ticker.record_trade(ts, price, qty);
        for series in &mut s.candles {
            series.record(ts, price, qty);
        }
        self.publish_stats(index, ts, true)
    }

    /// The ticker (if the touch or the last trade changed) and the candles
    /// (if a trade changed them), as `Market::apply` publishes them live.
    fn publish_stats(
        &mut self,
        index: usize,
        ts: UnixNanos,
        traded: bool,
    ) -> Result<(), ImportError> {
        let Some(s) = &mut self.symbols[index] else {
            return Ok(());
        };
        let top = |side| s.book.best(side).map(|l| (l.price, l.total));
        let (bid, ask) = (top(Side::Buy), top(Side::Sell));
        if let Some(seq) = s.ticker.update(ts, bid, ask, traded) {
            let message = encode::ticker(&s.instrument, seq, ts, s.ticker.latest().2);
            let stream = stream_name(Channel::Ticker, &s.instrument.symbol);
            self.writer
                .write_message(ts, &stream, message.as_bytes())
                .map_err(io)?;
        }
        for series in &mut s.candles {
            if let Some((seq, candle)) = series.take_update() {
                let interval = series.interval();
                let message = encode::candle(&s.instrument, interval.as_str(), seq, ts, &candle);
                let stream = stream_name(Channel::Candles(interval), &s.instrument.symbol);
                self.writer
                    .write_message(ts, &stream, message.as_bytes())
                    .map_err(io)?;
            }
        }
        Ok(())
    }

    /// Writes what is still buffered; the recording is complete.
    pub fn finish(mut self) -> Result<ImportStats, ImportError> {
        self.writer.flush().map_err(io)?;
        Ok(self.stats)
    }
}

/// A trade's taker side when the source does not say: at or above the
/// best ask a buyer took it, at or below the best bid a seller; between
/// them (or with no book), the tick rule: above the last trade a buy,
/// below it a sell, else a buy.
fn taker_side(book: &Book, last: Option<Price>, price: Price) -> Side {
    match (book.best_bid(), book.best_ask()) {
        (_, Some(ask)) if price >= ask => Side::Buy,
        (Some(bid), _) if price <= bid => Side::Sell,
        _ => match last {
            Some(last) if price < last => Side::Sell,
            _ => Side::Buy,
        },
    }
}

#[cfg(test)]
mod tests;
