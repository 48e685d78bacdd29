//! The ticker: best bid and ask, last trade, and open/high/low/volume over
//! the rolling last 24 hours of engine time.
//!
//! The 24-hour window is kept as 1,440 one-minute buckets, so the window
//! slides a minute at a time: a trade leaves the figures between 24h and
//! 24h + 1 minute after it happened. Updating is O(1); the buckets outside the
//! current minute are folded only when the minute changes.

use crate::types::{NANOS_PER_SEC, Price, Qty, UnixNanos};

const MINUTE: u64 = 60 * NANOS_PER_SEC;
const BUCKETS: usize = 24 * 60;

/// Open, high, low and volume over a window; prices are `None` when the
/// window has no trade.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct WindowStats {
    pub open: Option<Price>,
    pub high: Option<Price>,
    pub low: Option<Price>,
    pub volume: Qty,
}

#[derive(Clone, Copy, Debug, Default, serde::Serialize, serde::Deserialize)]
struct Bucket {
    /// Which minute (engine time / 60 s) this bucket holds; `None` if unused.
    minute: Option<u64>,
    open: Price,
    high: Price,
    low: Price,
    volume: Qty,
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Rolling24h {
    buckets: Box<[Bucket]>,
    /// Figures of the 1,439 minutes before `folded_for`, or `None` if stale.
    folded: Option<WindowStats>,
    folded_for: u64,
}

impl Default for Rolling24h {
    fn default() -> Self {
        Rolling24h {
            buckets: vec![Bucket::default(); BUCKETS].into_boxed_slice(),
            folded: None,
            folded_for: 0,
        }
    }
}

impl Rolling24h {
    pub fn record(&mut self, ts: UnixNanos, price: Price, qty: Qty) {
        let minute = ts / MINUTE;
        let bucket = &mut self.buckets[(minute % BUCKETS as u64) as usize];
        if bucket.minute == Some(minute) {
            bucket.high = bucket.high.max(price);
            bucket.low = bucket.low.min(price);
            bucket.volume += qty;
        } else {
            *bucket = Bucket {
                minute: Some(minute),
                open: price,
                high: price,
                low: price,
                volume: qty,
            };
        }
    }

    /// The figures of the 24 hours that end at `now`.
    pub fn stats(&mut self, now: UnixNanos) -> WindowStats {
        let minute = now / MINUTE;
        if self.folded.is_none() || self.folded_for != minute {
            self.folded = Some(self.fold(minute));
            self.folded_for = minute;
        }
        let mut stats = self.folded.unwrap_or_default();
        let current = self.buckets[(minute % BUCKETS as u64) as usize];
        if current.minute == Some(minute) {
            merge(&mut stats, &current);
        }
        stats
    }

    /// Folds the buckets of the 1,439 minutes before `minute`, oldest first.
    fn fold(&self, minute: u64) -> WindowStats {
        let mut stats = WindowStats::default();
        let first = minute.saturating_sub(BUCKETS as u64 - 1);
        for m in first..minute {
            let bucket = &self.buckets[(m % BUCKETS as u64) as usize];
            if bucket.minute == Some(m) {
                merge(&mut stats, bucket);
            }
        }
        stats
    }
}

/// Adds a later bucket to the figures so far.
fn merge(stats: &mut WindowStats, bucket: &Bucket) {
    stats.open = stats.open.or(Some(bucket.open));
    stats.high = Some(stats.high.map_or(bucket.high, |h| h.max(bucket.high)));
    stats.low = Some(stats.low.map_or(bucket.low, |l| l.min(bucket.low)));
    stats.volume += bucket.volume;
}

/// What a `ticker` message shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Ticker {
    pub bid: Option<(Price, Qty)>,
    pub ask: Option<(Price, Qty)>,
    pub last: Option<(Price, Qty)>,
    pub window: WindowStats,
}

/// The ticker stream of one symbol.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct TickerState {
    rolling: Rolling24h,
    ticker: Ticker,
    /// Sequence of the last published ticker.
    seq: u64,
    ts: UnixNanos,
}

impl TickerState {
    pub fn record_trade(&mut self, ts: UnixNanos, price: Price, qty: Qty) {
        self.rolling.record(ts, price, qty);
        self.ticker.last = Some((price, qty));
    }

    /// Publishes a new ticker if the best bid, the best ask or the last trade
    /// changed since the previous one; returns its `seq`.
    pub fn update(
        &mut self,
        ts: UnixNanos,
        bid: Option<(Price, Qty)>,
        ask: Option<(Price, Qty)>,
        traded: bool,
    ) -> Option<u64> {
        if !traded && bid == self.ticker.bid && ask == self.ticker.ask {
            return None;
        }
        self.ticker.bid = bid;
        self.ticker.ask = ask;
        self.ticker.window = self.rolling.stats(ts);
        self.seq += 1;
        self.ts = ts;
        Some(self.seq)
    }

    /// A message of the ticker stream that is not a ticker (a market's
    /// `status`): its `seq`, the stream's next.
    pub fn next_seq(&mut self, ts: UnixNanos) -> u64 {
        self.seq += 1;
        self.ts = ts;
        self.seq
    }

    /// The latest published ticker, its `seq` and `ts` (seq 0: none yet).
    pub fn latest(&self) -> (u64, UnixNanos, &Ticker) {
        (self.seq, self.ts, &self.ticker)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rolling_window_covers_24_hours_of_minutes() {
        let mut r = Rolling24h::default();
        r.record(0, Price(100), Qty(1));
        r.record(30 * NANOS_PER_SEC, Price(120), Qty(2));
        r.record(2 * MINUTE, Price(90), Qty(3));
        let s = r.stats(2 * MINUTE + 1);
        assert_eq!(
            s,
            WindowStats {
                open: Some(Price(100)),
                high: Some(Price(120)),
                low: Some(Price(90)),
                volume: Qty(6)
            }
        );
        // 24h after minute 0 ends, minute 0 leaves the window.
        let s = r.stats(24 * 60 * MINUTE);
        assert_eq!(
            s,
            WindowStats {
                open: Some(Price(90)),
                high: Some(Price(90)),
                low: Some(Price(90)),
                volume: Qty(3)
            }
        );
        let s = r.stats(30 * 60 * MINUTE);
        assert_eq!(s, WindowStats::default());
        // A bucket reused a day later starts afresh.
        r.record(24 * 60 * MINUTE + 5, Price(130), Qty(1));
        let s = r.stats(24 * 60 * MINUTE + 10);
        assert_eq!(s.volume, Qty(4));
        assert_eq!(
            (s.open, s.high, s.low),
            (Some(Price(90)), Some(Price(130)), Some(Price(90)))
        );
    }

    #[test]
    fn ticker_publishes_only_on_change() {
        let mut t = TickerState::default();
        assert_eq!(
            t.update(
                1,
                Some((Price(99), Qty(1))),
                Some((Price(101), Qty(1))),
                false
            ),
            Some(1)
        );
        assert_eq!(
            t.update(
                2,
                Some((Price(99), Qty(1))),
                Some((Price(101), Qty(1))),
                false
            ),
            None
        );
        assert_eq!(
            t.update(
                3,
                Some((Price(99), Qty(2))),
                Some((Price(101), Qty(1))),
                false
            ),
            Some(2)
        );
        t.record_trade(4, Price(101), Qty(1));
        assert_eq!(
            t.update(
                4,
                Some((Price(99), Qty(2))),
                Some((Price(101), Qty(1))),
                true
            ),
            Some(3)
        );
        let (seq, ts, ticker) = t.latest();
        assert_eq!((seq, ts), (3, 4));
        assert_eq!(ticker.last, Some((Price(101), Qty(1))));
        assert_eq!(ticker.window.volume, Qty(1));
    }
}
