//! Channels and streams: the one table of channel names, on the wire
//! (`book`, `candles`) and in recordings (`candles_1s`).

use crate::stats::Interval;
use crate::types::SymbolId;

/// A market-data channel of one symbol. Candles are one channel per
/// interval.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Channel {
    Book,
    Trades,
    Ticker,
    Candles(Interval),
    Heartbeat,
}

impl Channel {
    pub const ALL: [Channel; 6] = [
        Channel::Book,
        Channel::Trades,
        Channel::Ticker,
        Channel::Candles(Interval::OneSecond),
        Channel::Candles(Interval::OneMinute),
        Channel::Heartbeat,
    ];

    /// The wire name (`candles` for every interval).
    pub fn name(self) -> &'static str {
        NAMES[self.index()].1
    }

    /// The name of the stream's channel in a recording, where each candle
    /// interval is a stream of its own (`candles_1s`).
    pub fn stream_name(self) -> &'static str {
        NAMES[self.index()].2
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
        }
    }

    /// Whether a lagging client gets fresh state for it (PROTOCOL.md: books,
    /// the newest ticker and candle); trades and heartbeats just go on.
    pub fn resyncs(self) -> bool {
        matches!(self, Channel::Book | Channel::Ticker | Channel::Candles(_))
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
        assert_eq!(Channel::from_stream_name("candles"), None);
    }
}
