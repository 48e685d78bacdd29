//! Channels and streams: the one table of channel names, on the wire
//! (`book`, `candles`) and in recordings (`candles_1s`), and the book's
//! views of v1.1 (a depth, an interval, or both), each a stream of its own.

use crate::binance::Framed;
use crate::stats::Interval;
use crate::types::SymbolId;

/// A market-data channel of one symbol. Candles are one channel per
/// interval; the book is the whole book at every change (`Book`) or one of
/// its views (`BookView`), each its own stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Channel {
    Book,
    Trades,
    Ticker,
    Candles(Interval),
    Heartbeat,
    BookView(BookView),
    /// A stream of the Binance dialect (`crate::binance`), made from the
    /// others; never recorded, never named on the native protocol.
    Binance(Framed),
}

/// The top levels a book view keeps per side.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Depth {
    D10,
    D25,
    D100,
}

impl Depth {
    pub const ALL: [Depth; 3] = [Depth::D10, Depth::D25, Depth::D100];

    pub fn levels(self) -> usize {
        match self {
            Depth::D10 => 10,
            Depth::D25 => 25,
            Depth::D100 => 100,
        }
    }

    pub fn from_levels(levels: u64) -> Option<Depth> {
        Depth::ALL.into_iter().find(|d| d.levels() as u64 == levels)
    }
}

/// How often a throttled book view sends: at most one update per period,
/// with the net change since the last one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Throttle {
    Ms100,
    S1,
}

impl Throttle {
    pub const ALL: [Throttle; 2] = [Throttle::Ms100, Throttle::S1];
    /// The tick every throttled view is checked on.
    pub const TICK_MS: u64 = 100;

    pub fn as_str(self) -> &'static str {
        match self {
            Throttle::Ms100 => "100ms",
            Throttle::S1 => "1s",
        }
    }

    pub fn parse(text: &str) -> Option<Throttle> {
        Throttle::ALL.into_iter().find(|t| t.as_str() == text)
    }

    /// Its period in ticks of `TICK_MS`.
    pub fn ticks(self) -> u32 {
        match self {
            Throttle::Ms100 => 1,
            Throttle::S1 => 10,
        }
    }
}

/// A view of the book other than the whole book at every change: a depth,
/// an interval, or both (never neither: that is `Channel::Book`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BookView {
    pub depth: Option<Depth>,
    pub throttle: Option<Throttle>,
}

impl BookView {
    /// Every view, in `index` order.
    pub const ALL: [BookView; 11] = {
        const fn v(depth: Option<Depth>, throttle: Option<Throttle>) -> BookView {
            BookView { depth, throttle }
        }
        use Depth::*;
        use Throttle::*;
        [
            v(Some(D10), None),
            v(Some(D25), None),
            v(Some(D100), None),
            v(None, Some(Ms100)),
            v(Some(D10), Some(Ms100)),
            v(Some(D25), Some(Ms100)),
            v(Some(D100), Some(Ms100)),
            v(None, Some(S1)),
            v(Some(D10), Some(S1)),
            v(Some(D25), Some(S1)),
            v(Some(D100), Some(S1)),
        ]
    };

    /// The book channel for a depth and an interval (both absent: the whole
    /// book at every change).
    pub fn channel(depth: Option<Depth>, throttle: Option<Throttle>) -> Channel {
        if depth.is_none() && throttle.is_none() {
            Channel::Book
        } else {
            Channel::BookView(BookView { depth, throttle })
        }
    }

    pub fn index(self) -> usize {
        let depth = match self.depth {
            None => 0,
            Some(Depth::D10) => 1,
            Some(Depth::D25) => 2,
            Some(Depth::D100) => 3,
        };
        match self.throttle {
            None => depth - 1,
            Some(Throttle::Ms100) => 3 + depth,
            Some(Throttle::S1) => 7 + depth,
        }
    }

    /// The key of this view's `seq` in a heartbeat's `last_seq`:
    /// `book_10`, `book_100ms`, `book_25_1s`.
    pub fn heartbeat_key(self, out: &mut String) {
        use std::fmt::Write as _;
        out.push_str("book");
        if let Some(depth) = self.depth {
            let _ = write!(out, "_{}", depth.levels());
        }
        if let Some(throttle) = self.throttle {
            let _ = write!(out, "_{}", throttle.as_str());
        }
    }
}

impl Channel {
    /// Where the Binance dialect's streams start in `index` order.
    const BINANCE_AT: usize = 6 + BookView::ALL.len();
    /// Every channel including the book views and the Binance dialect's
    /// streams, in `index` order.
    pub const COUNT: usize = Channel::BINANCE_AT + Framed::COUNT;
    pub const EVERY: [Channel; Channel::COUNT] = {
        let mut every = [Channel::Book; Channel::COUNT];
        let mut i = 0;
        while i < 6 {
            every[i] = Channel::ALL[i];
            i += 1;
        }
        while i < Channel::BINANCE_AT {
            every[i] = Channel::BookView(BookView::ALL[i - 6]);
            i += 1;
        }
        while i < Channel::COUNT {
            every[i] = Channel::Binance(Framed::ALL[i - Channel::BINANCE_AT]);
            i += 1;
        }
        every
    };

    pub const ALL: [Channel; 6] = [
        Channel::Book,
        Channel::Trades,
        Channel::Ticker,
        Channel::Candles(Interval::OneSecond),
        Channel::Candles(Interval::OneMinute),
        Channel::Heartbeat,
    ];

    /// The wire name (`candles` for every interval, `book` for every view).
    pub fn name(self) -> &'static str {
        match self {
            Channel::BookView(_) => "book",
            Channel::Binance(framed) => framed.stream.suffix(),
            _ => NAMES[self.index()].1,
        }
    }

    /// The name of the stream's channel in a recording, where each candle
    /// interval is a stream of its own (`candles_1s`). Book views are
    /// derived from the book and never recorded.
    pub fn stream_name(self) -> &'static str {
        match self {
            Channel::BookView(_) => "book",
            Channel::Binance(framed) => framed.stream.suffix(),
            _ => NAMES[self.index()].2,
        }
    }

    /// The channel of a recording's stream name.
    pub fn from_stream_name(name: &str) -> Option<Channel> {
        NAMES.iter().find(|n| n.2 == name).map(|n| n.0)
    }

    /// The channels a `subscribe` or `unsubscribe` names with `name`:
    /// candles of `interval`, or of every interval when there is none
    /// (`unsubscribe` without one removes both); `None` for an unknown name.
    pub fn named(name: &str, interval: Option<Interval>) -> Option<Vec<Channel>> {
        let wanted = |n: &&(Channel, &str, &str)| {
            n.1 == name
                && match (n.0, interval) {
                    (Channel::Candles(i), Some(asked)) => i == asked,
                    _ => true,
                }
        };
        let found: Vec<Channel> = NAMES.iter().filter(wanted).map(|n| n.0).collect();
        (!found.is_empty()).then_some(found)
    }

    /// A dense index, for per-channel tables.
    pub fn index(self) -> usize {
        match self {
            Channel::Book => 0,
            Channel::Trades => 1,
            Channel::Ticker => 2,
            Channel::Candles(Interval::OneSecond) => 3,
            Channel::Candles(Interval::OneMinute) => 4,
            Channel::Heartbeat => 5,
            Channel::BookView(view) => 6 + view.index(),
            Channel::Binance(framed) => Channel::BINANCE_AT + framed.index(),
        }
    }

    /// Whether a lagging client gets fresh state for it (PROTOCOL.md: books,
    /// the newest ticker and candle); trades and heartbeats just go on.
    pub fn resyncs(self) -> bool {
        matches!(
            self,
            Channel::Book | Channel::BookView(_) | Channel::Ticker | Channel::Candles(_)
        )
    }

    /// Whether it is the book or one of its views.
    pub fn is_book(self) -> bool {
        matches!(self, Channel::Book | Channel::BookView(_))
    }
}

/// One stream: a channel of a symbol (by its index in the instruments).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId {
    pub symbol: SymbolId,
    pub channel: Channel,
}

/// Every channel with its wire name and its recording stream name, in
/// `Channel::index` order: the only place channel names are written.
const NAMES: [(Channel, &str, &str); 6] = [
    (Channel::Book, "book", "book"),
    (Channel::Trades, "trades", "trades"),
    (Channel::Ticker, "ticker", "ticker"),
    (
        Channel::Candles(Interval::OneSecond),
        "candles",
        "candles_1s",
    ),
    (
        Channel::Candles(Interval::OneMinute),
        "candles",
        "candles_1m",
    ),
    (Channel::Heartbeat, "heartbeat", "heartbeat"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_follows_the_channel_index() {
        for (i, (channel, _, _)) in NAMES.iter().enumerate() {
            assert_eq!(channel.index(), i);
            assert_eq!(
                Channel::from_stream_name(channel.stream_name()),
                Some(*channel)
            );
        }
        assert_eq!(Channel::named("book", None), Some(vec![Channel::Book]));
        assert_eq!(
            Channel::named("candles", Some(Interval::OneSecond)),
            Some(vec![Channel::Candles(Interval::OneSecond)])
        );
        assert_eq!(
            Channel::named("candles", None),
            Some(Interval::ALL.map(Channel::Candles).to_vec())
        );
        assert_eq!(Channel::named("news", None), None);
        for (i, channel) in Channel::EVERY.iter().enumerate() {
            assert_eq!(channel.index(), i);
        }
        let mut key = String::new();
        BookView::ALL[5].heartbeat_key(&mut key);
        assert_eq!(key, "book_25_100ms");
        assert_eq!(Channel::from_stream_name("candles"), None);
    }
}
