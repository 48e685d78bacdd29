//! tickwire's own market-data messages, read back: the dialect is made
//! from what the native streams published (live, replayed, or next from
//! the bus alike), so both dialects always tell the same market. Decimal
//! strings are kept as they are (the instrument's decimals). Pure code.

use serde::Deserialize;

/// A `trade` message.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct Trade<'a> {
    pub seq: u64,
    pub ts: u64,
    #[serde(borrow)]
    pub price: &'a str,
    pub qty: &'a str,
    /// The taker's side.
    pub side: &'a str,
}

impl Trade<'_> {
    /// Binance's `m`: the buyer was the maker (the taker sold).
    pub fn buyer_maker(&self) -> bool {
        self.side == "sell"
    }
}

/// A `ticker` message (`null` where there is nothing yet).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct Ticker<'a> {
    pub ts: u64,
    #[serde(borrow)]
    pub bid: Option<&'a str>,
    pub bid_qty: Option<&'a str>,
    pub ask: Option<&'a str>,
    pub ask_qty: Option<&'a str>,
    pub last: Option<&'a str>,
    pub last_qty: Option<&'a str>,
    pub open: Option<&'a str>,
    pub high: Option<&'a str>,
    pub low: Option<&'a str>,
    pub volume: &'a str,
}

/// One bar of a `candle` or `candles_snapshot` message.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct Bar<'a> {
    pub start: u64,
    #[serde(borrow)]
    pub open: &'a str,
    pub high: &'a str,
    pub low: &'a str,
    pub close: &'a str,
    pub volume: &'a str,
}

/// A `candle` message.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct Candle<'a> {
    pub ts: u64,
    #[serde(borrow)]
    pub interval: &'a str,
    pub start: u64,
    pub open: &'a str,
    pub high: &'a str,
    pub low: &'a str,
    pub close: &'a str,
    pub volume: &'a str,
}

impl<'a> Candle<'a> {
    pub fn bar(&self) -> Bar<'a> {
        Bar {
            start: self.start,
            open: self.open,
            high: self.high,
            low: self.low,
            close: self.close,
            volume: self.volume,
        }
    }
}

/// A `candles_snapshot` message.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct CandlesSnapshot<'a> {
    #[serde(borrow)]
    pub candles: Vec<Bar<'a>>,
}

/// Reads a native message of type `T` (`None` if it is not one: a market
/// `status` on the ticker stream, a message written by hand that lacks a
/// field).
pub fn read<'a, T: Deserialize<'a>>(text: &'a str) -> Option<T> {
    serde_json::from_str(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_messages_of_protocol_md() {
        let trade: Option<Trade> = read(
            r#"{"type":"trade","symbol":"BTC-USD","seq":17,"ts":5,"trade_id":"BTC-USD-17","price":"64000.50","qty":"0.0100","side":"sell"}"#,
        );
        let trade = trade.expect("a trade");
        assert_eq!(
            (trade.seq, trade.price, trade.buyer_maker()),
            (17, "64000.50", true)
        );
        let ticker: Option<Ticker> = read(
            r#"{"type":"ticker","symbol":"X","seq":1,"ts":9,"bid":"1.00","bid_qty":"2","ask":null,"ask_qty":null,"last":null,"last_qty":null,"open":null,"high":null,"low":null,"volume":"0"}"#,
        );
        assert_eq!(ticker.map(|t| (t.bid, t.ask)), Some((Some("1.00"), None)));
        let status: Option<Ticker> =
            read(r#"{"type":"status","symbol":"X","seq":2,"ts":9,"status":"halted"}"#);
        assert_eq!(status, None);
    }
}
