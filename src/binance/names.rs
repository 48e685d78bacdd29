//! Names as Binance writes them: symbols (`BTC-USD` is `BTCUSD`, or what
//! the instruments file says) and market streams (`btcusd@depth@100ms`).
//! Pure code.

use crate::instrument::{Instrument, Instruments};
use crate::stats::Interval;
use crate::types::SymbolId;

/// How often a Binance stream sends: in real time (`None` in the streams
/// that have no choice), every 100 ms or every second.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Speed {
    Ms100,
    S1,
}

impl Speed {
    /// Its period in ticks of 100 ms.
    pub fn ticks(self) -> u32 {
        match self {
            Speed::Ms100 => 1,
            Speed::S1 => 10,
        }
    }
}

/// The levels of a partial book depth stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Levels {
    L5,
    L10,
    L20,
}

impl Levels {
    pub const ALL: [Levels; 3] = [Levels::L5, Levels::L10, Levels::L20];

    pub fn count(self) -> usize {
        match self {
            Levels::L5 => 5,
            Levels::L10 => 10,
            Levels::L20 => 20,
        }
    }
}

/// A Binance market stream of one symbol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stream {
    Trade,
    AggTrade,
    /// Diff depth (`@depth` every second, `@depth@100ms`).
    Depth(Speed),
    /// Partial book depth (`@depth5`, `@depth10@100ms`...).
    Partial(Levels, Speed),
    BookTicker,
    Kline(Interval),
    /// The rolling 24 h ticker, every second.
    Ticker,
    MiniTicker,
}

impl Stream {
    pub const COUNT: usize = 15;
    /// Every stream, in `index` order.
    pub const ALL: [Stream; Stream::COUNT] = [
        Stream::Trade,
        Stream::AggTrade,
        Stream::Depth(Speed::S1),
        Stream::Depth(Speed::Ms100),
        Stream::Partial(Levels::L5, Speed::S1),
        Stream::Partial(Levels::L10, Speed::S1),
        Stream::Partial(Levels::L20, Speed::S1),
        Stream::Partial(Levels::L5, Speed::Ms100),
        Stream::Partial(Levels::L10, Speed::Ms100),
        Stream::Partial(Levels::L20, Speed::Ms100),
        Stream::BookTicker,
        Stream::Kline(Interval::OneSecond),
        Stream::Kline(Interval::OneMinute),
        Stream::Ticker,
        Stream::MiniTicker,
    ];

    /// A dense index, for per-stream tables.
    pub fn index(self) -> usize {
        let level = |l: Levels| match l {
            Levels::L5 => 0,
            Levels::L10 => 1,
            Levels::L20 => 2,
        };
        match self {
            Stream::Trade => 0,
            Stream::AggTrade => 1,
            Stream::Depth(Speed::S1) => 2,
            Stream::Depth(Speed::Ms100) => 3,
            Stream::Partial(l, Speed::S1) => 4 + level(l),
            Stream::Partial(l, Speed::Ms100) => 7 + level(l),
            Stream::BookTicker => 10,
            Stream::Kline(Interval::OneSecond) => 11,
            Stream::Kline(Interval::OneMinute) => 12,
            Stream::Ticker => 13,
            Stream::MiniTicker => 14,
        }
    }

    /// Whether it follows the book's level changes.
    pub fn follows_book(self) -> bool {
        matches!(
            self,
            Stream::Depth(_) | Stream::Partial(..) | Stream::BookTicker
        )
    }

    /// The stream's name after `symbol@` (`depth10@100ms`), as Binance
    /// lists it (`LIST_SUBSCRIPTIONS`, the combined stream's `stream`).
    pub fn suffix(self) -> &'static str {
        match self {
            Stream::Trade => "trade",
            Stream::AggTrade => "aggTrade",
            Stream::Depth(Speed::S1) => "depth",
            Stream::Depth(Speed::Ms100) => "depth@100ms",
            Stream::Partial(Levels::L5, Speed::S1) => "depth5",
            Stream::Partial(Levels::L10, Speed::S1) => "depth10",
            Stream::Partial(Levels::L20, Speed::S1) => "depth20",
            Stream::Partial(Levels::L5, Speed::Ms100) => "depth5@100ms",
            Stream::Partial(Levels::L10, Speed::Ms100) => "depth10@100ms",
            Stream::Partial(Levels::L20, Speed::Ms100) => "depth20@100ms",
            Stream::BookTicker => "bookTicker",
            Stream::Kline(Interval::OneSecond) => "kline_1s",
            Stream::Kline(Interval::OneMinute) => "kline_1m",
            Stream::Ticker => "ticker",
            Stream::MiniTicker => "miniTicker",
        }
    }

    /// The stream of a name's part after `symbol@`; Binance's explicit
    /// `@1000ms` is the default speed written out.
    pub fn parse_suffix(text: &str) -> Option<Stream> {
        let text = text.strip_suffix("@1000ms").unwrap_or(text);
        Stream::ALL.into_iter().find(|s| s.suffix() == text)
    }
}

/// A stream as a connection has it: raw (`/ws`: the event alone) or
/// combined (`/stream`: `{"stream":name,"data":event}`), each sent to its
/// subscribers as one shared frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Framed {
    pub stream: Stream,
    pub combined: bool,
}

impl Framed {
    pub const COUNT: usize = 2 * Stream::COUNT;
    /// Every framed stream, in `index` order.
    pub const ALL: [Framed; Framed::COUNT] = {
        let mut all = [Framed {
            stream: Stream::Trade,
            combined: false,
        }; Framed::COUNT];
        let mut i = 0;
        while i < Framed::COUNT {
            all[i] = Framed {
                stream: Stream::ALL[i / 2],
                combined: i % 2 == 1,
            };
            i += 1;
        }
        all
    };

    pub fn index(self) -> usize {
        2 * self.stream.index() + usize::from(self.combined)
    }
}

/// The Binance name of an instrument's symbol.
pub fn symbol_of(instrument: &Instrument) -> String {
    instrument.binance_symbol()
}

/// The instrument a Binance symbol names (`BTCUSD`; stream names write it
/// in lower case, which is accepted too).
pub fn find_symbol(instruments: &Instruments, name: &str) -> Option<SymbolId> {
    instruments
        .with_ids()
        .find(|(_, i)| i.binance_symbol().eq_ignore_ascii_case(name))
        .map(|(id, _)| id)
}

/// Why a stream name is not served.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NameError {
    /// Not `symbol@stream`.
    Malformed(String),
    UnknownSymbol(String),
    UnknownStream(String),
}

impl std::fmt::Display for NameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NameError::Malformed(name) => {
                write!(f, "{name:?} is not a stream name (symbol@stream)")
            }
            NameError::UnknownSymbol(name) => write!(f, "{name:?}: unknown symbol"),
            NameError::UnknownStream(name) => write!(f, "{name:?}: unknown stream"),
        }
    }
}

/// The symbol and stream of a full stream name (`btcusd@trade`).
pub fn parse_stream(
    instruments: &Instruments,
    name: &str,
) -> Result<(SymbolId, Stream), NameError> {
    let Some((symbol, rest)) = name.split_once('@') else {
        return Err(NameError::Malformed(name.to_string()));
    };
    let stream = Stream::parse_suffix(rest).ok_or(NameError::UnknownStream(name.to_string()))?;
    let id = find_symbol(instruments, symbol).ok_or(NameError::UnknownSymbol(name.to_string()))?;
    Ok((id, stream))
}

/// The full name of a stream (`btcusd@depth@100ms`).
pub fn stream_name(instrument: &Instrument, stream: Stream) -> String {
    let mut name = instrument.binance_symbol().to_ascii_lowercase();
    name.push('@');
    name.push_str(stream.suffix());
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_framed_stream_has_its_index() {
        for (i, framed) in Framed::ALL.iter().enumerate() {
            assert_eq!(framed.index(), i);
        }
    }

    #[test]
    fn every_stream_has_its_index_and_its_name() {
        for (i, stream) in Stream::ALL.iter().enumerate() {
            assert_eq!(stream.index(), i);
            assert_eq!(Stream::parse_suffix(stream.suffix()), Some(*stream));
        }
        assert_eq!(
            Stream::parse_suffix("depth@1000ms"),
            Some(Stream::Depth(Speed::S1))
        );
        assert_eq!(
            Stream::parse_suffix("depth20@1000ms"),
            Some(Stream::Partial(Levels::L20, Speed::S1))
        );
        assert_eq!(Stream::parse_suffix("kline_5m"), None);
        assert_eq!(Stream::parse_suffix("Trade"), None);
    }

    #[test]
    fn stream_names_name_a_symbol_in_either_case() {
        let instruments = Instruments::embedded_default();
        let btc = instruments.id_of("BTC-USD").map(|id| (id, Stream::Trade));
        assert_eq!(parse_stream(&instruments, "btcusd@trade").ok(), btc);
        assert_eq!(parse_stream(&instruments, "BTCUSD@trade").ok(), btc);
        assert_eq!(
            parse_stream(&instruments, "dogeusd@trade"),
            Err(NameError::UnknownSymbol("dogeusd@trade".into()))
        );
        assert_eq!(
            parse_stream(&instruments, "btcusd"),
            Err(NameError::Malformed("btcusd".into()))
        );
        let i = instruments
            .get("ETH-USD")
            .map(|i| stream_name(i, Stream::Depth(Speed::Ms100)));
        assert_eq!(i.as_deref(), Some("ethusd@depth@100ms"));
    }
}
