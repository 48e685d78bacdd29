//! OHLCV bars per interval, the last `MAX_BARS` of them kept.

use std::collections::VecDeque;

use crate::types::{NANOS_PER_SEC, Price, Qty, UnixNanos};

/// How many finished and current bars a series keeps (and a snapshot shows).
pub const MAX_BARS: usize = 500;

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum Interval {
    OneSecond,
    OneMinute,
}

impl Interval {
    pub const ALL: [Interval; 2] = [Interval::OneSecond, Interval::OneMinute];

    pub fn nanos(self) -> u64 {
        match self {
            Interval::OneSecond => NANOS_PER_SEC,
            Interval::OneMinute => 60 * NANOS_PER_SEC,
        }
    }

    /// The wire name (`1s`, `1m`).
    pub fn as_str(self) -> &'static str {
        match self {
            Interval::OneSecond => "1s",
            Interval::OneMinute => "1m",
        }
    }

    pub fn parse(text: &str) -> Option<Interval> {
        Interval::ALL.into_iter().find(|i| i.as_str() == text)
    }

    /// Its place in `ALL`, for per-interval tables.
    pub fn index(self) -> usize {
        match self {
            Interval::OneSecond => 0,
            Interval::OneMinute => 1,
        }
    }
}

/// One bar. `start` is the bar's opening time (a multiple of the interval).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Candle {
    pub start: UnixNanos,
    pub open: Price,
    pub high: Price,
    pub low: Price,
    pub close: Price,
    pub volume: Qty,
}

/// The bars of one symbol at one interval. Bars exist only for intervals
/// with trades (as on Coinbase's candles), so a quiet market leaves gaps in
/// `start` rather than inventing flat bars.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct CandleSeries {
    interval: Interval,
    bars: VecDeque<Candle>,
    /// Sequence of the last `candle` message of this stream.
    seq: u64,
    /// Whether the current bar changed since the last `take_update`.
    dirty: bool,
}

impl CandleSeries {
    pub fn new(interval: Interval) -> CandleSeries {
        CandleSeries {
            interval,
            bars: VecDeque::with_capacity(MAX_BARS + 1),
            seq: 0,
            dirty: false,
        }
    }

    pub fn interval(&self) -> Interval {
        self.interval
    }

    /// Adds a trade to the bar that contains `ts` (a trade older than the
    /// current bar counts in the current bar: engine time never goes back).
    pub fn record(&mut self, ts: UnixNanos, price: Price, qty: Qty) {
        let start = ts - ts % self.interval.nanos();
        match self.bars.back_mut() {
            Some(bar) if bar.start >= start => {
                bar.high = bar.high.max(price);
                bar.low = bar.low.min(price);
                bar.close = price;
                bar.volume += qty;
            }
            _ => {
                if self.bars.len() == MAX_BARS {
                    self.bars.pop_front();
                }
                self.bars.push_back(Candle {
                    start,
                    open: price,
                    high: price,
                    low: price,
                    close: price,
                    volume: qty,
                });
            }
        }
        self.dirty = true;
    }

    /// If the current bar changed since the last call, the next `seq` and
    /// the bar to publish.
    pub fn take_update(&mut self) -> Option<(u64, Candle)> {
        if !std::mem::take(&mut self.dirty) {
            return None;
        }
        let bar = *self.bars.back()?;
        self.seq += 1;
        Some((self.seq, bar))
    }

    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// The kept bars, oldest first; the last one is the current bar.
    pub fn bars(&self) -> impl ExactSizeIterator<Item = &Candle> {
        self.bars.iter()
    }

    pub fn current(&self) -> Option<&Candle> {
        self.bars.back()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = NANOS_PER_SEC;

    #[test]
    fn trades_build_bars_per_interval() {
        let mut series = CandleSeries::new(Interval::OneSecond);
        assert_eq!(series.take_update(), None);
        series.record(10 * S + 1, Price(100), Qty(1));
        series.record(10 * S + 500, Price(103), Qty(2));
        series.record(10 * S + 900, Price(99), Qty(3));
        series.record(10 * S + 999_999_999, Price(101), Qty(4));
        let (seq, bar) = series.take_update().expect("update");
        assert_eq!(seq, 1);
        assert_eq!(
            bar,
            Candle {
                start: 10 * S,
                open: Price(100),
                high: Price(103),
                low: Price(99),
                close: Price(101),
                volume: Qty(10)
            }
        );
        assert_eq!(series.take_update(), None, "no change, no update");
        series.record(13 * S, Price(105), Qty(1));
        let (seq, bar) = series.take_update().expect("update");
        assert_eq!(
            (seq, bar.start, bar.open, bar.volume),
            (2, 13 * S, Price(105), Qty(1))
        );
        let starts: Vec<_> = series.bars().map(|b| b.start / S).collect();
        assert_eq!(starts, vec![10, 13], "quiet seconds leave no bar");
    }

    #[test]
    fn only_the_last_500_bars_are_kept() {
        let mut series = CandleSeries::new(Interval::OneMinute);
        for minute in 0..600u64 {
            series.record(minute * 60 * S, Price(100 + minute as i64), Qty(1));
        }
        assert_eq!(series.bars().len(), MAX_BARS);
        assert_eq!(series.bars().next().map(|b| b.start), Some(100 * 60 * S));
        assert_eq!(series.current().map(|b| b.close), Some(Price(699)));
    }

    #[test]
    fn interval_names() {
        assert_eq!(Interval::parse("1s"), Some(Interval::OneSecond));
        assert_eq!(Interval::parse("1m"), Some(Interval::OneMinute));
        assert_eq!(Interval::parse("5m"), None);
        assert_eq!(Interval::OneMinute.nanos(), 60 * S);
    }
}
