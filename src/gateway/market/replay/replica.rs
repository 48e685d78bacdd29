//! One symbol's state at the replay point, rebuilt from the recorded
//! messages: the book (from the recorded snapshots and updates), the last
//! 500 bars of each interval (from the recorded `candle` messages, read as
//! bars, not as bytes), the latest ticker and candles, and each stream's
//! `seq`. It is what gives a replay's subscribers their initial state and
//! lagging clients their fresh state. Pure: entries in, state out.

use std::collections::VecDeque;

use serde_json::Value;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::book::Book;
use crate::encode;
use crate::engine::LevelChange;
use crate::gateway::streams::{BookAt, Latest, MarketState};
use crate::instrument::Instrument;
use crate::protocol::Channel;
use crate::record::Entry;
use crate::stats::{Candle, Interval, MAX_BARS};
use crate::types::{OrderId, Owner, Qty, Side, UnixNanos};

pub struct Replica {
    instrument: Instrument,
    book: Book,
    book_seq: u64,
    ts: UnixNanos,
    latest: Latest,
    candle_seq: [u64; Interval::ALL.len()],
    /// Oldest first.
    bars: [VecDeque<Candle>; Interval::ALL.len()],
    scratch: String,
    /// The level changes of the last book message applied.
    changes: Vec<LevelChange>,
    /// The last book message applied was a snapshot (the book was rebuilt).
    rebuilt: bool,
}

impl MarketState for Replica {
    fn book_snapshot(&mut self) -> Utf8Bytes {
        let checksum = encode::book_checksum(&self.instrument, &self.book, &mut self.scratch);
        encode::book_snapshot(
            &self.instrument,
            &self.book,
            self.book_seq,
            self.ts,
            checksum,
        )
    }

    fn candles_snapshot(&mut self, interval: Interval) -> Utf8Bytes {
        let i = interval.index();
        encode::candles_snapshot(
            &self.instrument,
            interval,
            self.candle_seq[i],
            self.ts,
            self.bars[i].iter(),
        )
    }

    fn latest(&self) -> &Latest {
        &self.latest
    }

    fn instrument(&self) -> &Instrument {
        &self.instrument
    }

    fn book(&self) -> BookAt<'_> {
        BookAt {
            book: &self.book,
            seq: self.book_seq,
            ts: self.ts,
        }
    }
}

fn text<'a>(v: &'a Value, field: &str) -> Result<&'a str, String> {
    v[field]
        .as_str()
        .ok_or_else(|| format!("field {field:?} is not a string"))
}

impl Replica {
    pub fn new(instrument: Instrument) -> Replica {
        Replica {
            instrument,
            book: Book::default(),
            book_seq: 0,
            ts: 0,
            latest: Latest::default(),
            candle_seq: [0; Interval::ALL.len()],
            bars: Default::default(),
            scratch: String::with_capacity(1024),
            changes: Vec::new(),
            rebuilt: false,
        }
    }

    /// The same symbol before anything was played (a new pass of a loop).
    pub fn cleared(&self) -> Replica {
        Replica::new(self.instrument.clone())
    }

    /// The book replica keeps one order per level; its id says the side and
    /// the price, so a level is replaced by id.
    fn level_id(side: Side, price: i64) -> OrderId {
        OrderId((price as u64) << 1 | u64::from(side == Side::Sell))
    }

    fn set_levels(&mut self, levels: &Value, side: Side) -> Result<(), String> {
        for level in levels.as_array().ok_or("levels are not a list")? {
            let price = level[0].as_str().ok_or("a level's price is not a string")?;
            let qty = level[1].as_str().ok_or("a level's qty is not a string")?;
            let price = self
                .instrument
                .parse_price(price)
                .map_err(|e| e.to_string())?;
            let id = Self::level_id(side, price.0);
            self.book.remove(id);
            let qty = if qty == "0" {
                Qty::ZERO
            } else {
                self.instrument.parse_qty(qty).map_err(|e| e.to_string())?
            };
            if !qty.is_zero() {
                self.book
                    .insert(id, Owner::SIM, side, price, qty, Qty::ZERO, 0);
            }
            self.changes.push(LevelChange { side, price, qty });
        }
        Ok(())
    }

    /// A recorded `candle` message as a bar.
    fn bar(&self, v: &Value) -> Result<Candle, String> {
        let price = |field| {
            self.instrument
                .parse_price(text(v, field)?)
                .map_err(|e| format!("{field}: {e}"))
        };
        Ok(Candle {
            start: v["start"].as_u64().ok_or("no start")?,
            open: price("open")?,
            high: price("high")?,
            low: price("low")?,
            close: price("close")?,
            volume: self
                .instrument
                .parse_qty(text(v, "volume")?)
                .map_err(|e| format!("volume: {e}"))?,
        })
    }

    /// The level changes of the last book message applied.
    pub fn book_changes(&self) -> &[LevelChange] {
        &self.changes
    }

    /// Whether the last book message applied rebuilt the book.
    pub fn rebuilt(&self) -> bool {
        self.rebuilt
    }

    /// Follows one recorded message or snapshot.
    pub fn apply(&mut self, entry: &Entry) -> Result<(), String> {
        if entry.snapshot && entry.channel != Channel::Book {
            // Recordings keep periodic snapshots of the book only; anything
            // else marked so is not followed.
            self.ts = self.ts.max(entry.ts);
            return Ok(());
        }
        self.apply_message(entry.channel, entry.ts, &entry.json)
    }

    /// Follows one message of a stream (a recording's, or the bus's), or a
    /// book snapshot.
    pub fn apply_message(
        &mut self,
        channel: Channel,
        ts: UnixNanos,
        json: &str,
    ) -> Result<(), String> {
        self.ts = self.ts.max(ts);
        match channel {
            Channel::Book => {
                let v: Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
                let seq = v["seq"].as_u64().ok_or("no seq")?;
                self.changes.clear();
                self.rebuilt = v["type"] == "book_snapshot";
                if self.rebuilt {
                    self.book.clear();
                } else if seq <= self.book_seq {
                    return Ok(()); // already in the snapshot
                }
                self.set_levels(&v["bids"], Side::Buy)?;
                self.set_levels(&v["asks"], Side::Sell)?;
                self.book_seq = seq;
            }
            Channel::Ticker => {
                self.latest
                    .remember(channel, &Utf8Bytes::from(json.to_string()));
            }
            Channel::Candles(interval) => {
                let v: Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
                if v["type"] == "candles_snapshot" {
                    // A bus gateway's starting point (a recording has none).
                    let bars = v["candles"]
                        .as_array()
                        .ok_or("candles are not a list")?
                        .iter()
                        .map(|bar| self.bar(bar))
                        .collect::<Result<VecDeque<Candle>, String>>()?;
                    let i = interval.index();
                    self.candle_seq[i] = v["seq"].as_u64().ok_or("no seq")?;
                    self.bars[i] = bars;
                    return Ok(());
                }
                let bar = self.bar(&v)?;
                let i = interval.index();
                self.candle_seq[i] = v["seq"].as_u64().ok_or("no seq")?;
                let bars = &mut self.bars[i];
                match bars.back_mut() {
                    Some(last) if last.start == bar.start => *last = bar,
                    _ => {
                        if bars.len() == MAX_BARS {
                            bars.pop_front();
                        }
                        bars.push_back(bar);
                    }
                }
                self.latest
                    .remember(channel, &Utf8Bytes::from(json.to_string()));
            }
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::instrument::Instruments;
    use crate::stats::CandleSeries;
    use crate::types::Price;

    fn btc() -> Instrument {
        Instruments::embedded_default()
            .get("BTC-USD")
            .cloned()
            .expect("BTC-USD")
    }

    fn entry(channel: Channel, ts: UnixNanos, json: &str) -> Entry {
        Entry {
            line: 1,
            ts,
            symbol: 0,
            channel,
            snapshot: false,
            json: json.to_string(),
        }
    }

    #[test]
    fn the_book_follows_snapshots_and_updates_and_skips_what_it_already_has() {
        let mut replica = Replica::new(btc());
        let snapshot = r#"{"type":"book_snapshot","symbol":"BTC-USD","seq":5,"ts":1,"bids":[["100.00","1.0000"],["99.00","2.0000"]],"asks":[["101.00","3.0000"]],"checksum":0}"#;
        replica
            .apply(&entry(Channel::Book, 1, snapshot))
            .expect("snapshot");
        let stale = r#"{"type":"book_update","symbol":"BTC-USD","seq":5,"ts":1,"bids":[["100.00","0"]],"asks":[],"checksum":0}"#;
        replica
            .apply(&entry(Channel::Book, 1, stale))
            .expect("stale");
        let update = r#"{"type":"book_update","symbol":"BTC-USD","seq":6,"ts":2,"bids":[["99.00","0"],["100.50","0.5000"]],"asks":[["101.00","2.5000"]],"checksum":0}"#;
        replica
            .apply(&entry(Channel::Book, 2, update))
            .expect("update");
        let snapshot = replica.book_snapshot();
        let v: Value = serde_json::from_str(snapshot.as_str()).expect("JSON");
        assert_eq!(v["seq"], 6);
        assert_eq!(v["ts"], 2);
        assert_eq!(
            v["bids"],
            serde_json::json!([["100.50", "0.5000"], ["100.00", "1.0000"]])
        );
        assert_eq!(v["asks"], serde_json::json!([["101.00", "2.5000"]]));
        let mut scratch = String::new();
        let checksum = encode::book_checksum(&replica.instrument, &replica.book, &mut scratch);
        assert_eq!(v["checksum"], checksum);
    }

    #[test]
    fn candles_are_kept_as_bars_and_give_the_snapshot_live_would() {
        let instrument = btc();
        let mut series = CandleSeries::new(Interval::OneSecond);
        let mut replica = Replica::new(instrument.clone());
        let second = 1_000_000_000;
        for (ts, price, qty) in [
            (0, 100, 5),
            (second / 2, 105, 1),
            (second, 99, 2),
            (3 * second, 101, 7),
        ] {
            series.record(ts, Price(price), Qty(qty));
            let (seq, bar) = series.take_update().expect("a bar changed");
            let message = encode::candle(&instrument, "1s", seq, ts, &bar);
            replica
                .apply(&entry(
                    Channel::Candles(Interval::OneSecond),
                    ts,
                    message.as_str(),
                ))
                .expect("candle");
        }
        let live = encode::series_snapshot(&instrument, &series, 3 * second);
        assert_eq!(
            replica.candles_snapshot(Interval::OneSecond).as_str(),
            live.as_str()
        );
        let latest = replica
            .latest()
            .candle(Interval::OneSecond)
            .expect("latest");
        assert!(
            latest.as_str().contains("\"close\":\"1.01\""),
            "{}",
            latest.as_str()
        );
        assert!(replica.latest().candle(Interval::OneMinute).is_none());
    }

    #[test]
    fn a_malformed_message_is_an_error_not_a_panic() {
        let mut replica = Replica::new(btc());
        for (channel, json) in [
            (Channel::Book, "not json"),
            (Channel::Book, r#"{"type":"book_update","bids":[]}"#),
            (
                Channel::Book,
                r#"{"type":"book_update","seq":1,"bids":[["x","1"]],"asks":[]}"#,
            ),
            (
                Channel::Candles(Interval::OneMinute),
                r#"{"type":"candle","seq":1,"start":0,"open":"1.00"}"#,
            ),
        ] {
            assert!(replica.apply(&entry(channel, 1, json)).is_err(), "{json}");
        }
    }
}
