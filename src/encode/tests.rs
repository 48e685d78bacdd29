use super::*;
use crate::book::Book;
use crate::error_code::ErrorCode;
use crate::instrument::Instruments;
use crate::protocol::Mode;
use crate::stats::{Interval, WindowStats};
use crate::types::{OrderId, Owner};

fn btc() -> Instrument {
    Instruments::embedded_default()
        .get("BTC-USD")
        .cloned()
        .expect("BTC-USD")
}

fn book(levels: &[(Side, &str, &str)]) -> Book {
    let i = btc();
    let mut book = Book::default();
    for (n, (side, price, qty)) in levels.iter().enumerate() {
        let (price, qty) = (
            i.parse_price(price).expect("price"),
            i.parse_qty(qty).expect("qty"),
        );
        book.insert(
            OrderId(n as u64 + 1),
            Owner(1),
            *side,
            price,
            qty,
            Qty::ZERO,
            0,
        );
    }
    book
}

#[test]
fn checksum_matches_zlib_crc32_of_the_protocol_string() {
    let b = book(&[
        (Side::Buy, "64000.50", "1.25"),
        (Side::Buy, "64000.00", "0.5"),
        (Side::Sell, "64001.00", "0.75"),
    ]);
    let mut scratch = String::new();
    // zlib.crc32(b"64000.50:1.2500,64000.00:0.5000|64001.00:0.7500")
    assert_eq!(book_checksum(&btc(), &b, &mut scratch), 1_801_057_275);
    assert_eq!(scratch, "64000.50:1.2500,64000.00:0.5000|64001.00:0.7500");
    assert_eq!(
        book_checksum(&btc(), &Book::default(), &mut scratch),
        2_343_686_810,
        "empty book: \"|\""
    );
}

#[test]
fn checksum_covers_ten_levels_per_side() {
    let levels: Vec<(Side, String)> = (0..15)
        .map(|n| (Side::Buy, format!("{}.00", 60_000 - n)))
        .collect();
    let refs: Vec<(Side, &str, &str)> = levels.iter().map(|(s, p)| (*s, p.as_str(), "1")).collect();
    let mut scratch = String::new();
    book_checksum(&btc(), &book(&refs), &mut scratch);
    assert_eq!(scratch.matches(',').count(), 9);
    assert!(scratch.ends_with("59991.00:1.0000|"));
}

#[test]
fn market_data_messages_are_exact() {
    let i = btc();
    let b = book(&[
        (Side::Buy, "64000.50", "1.25"),
        (Side::Sell, "64001.00", "0.75"),
    ]);
    assert_eq!(
        book_snapshot(&i, &b, 41, 5, 7).as_str(),
        r#"{"type":"book_snapshot","symbol":"BTC-USD","seq":41,"ts":5,"bids":[["64000.50","1.2500"]],"asks":[["64001.00","0.7500"]],"checksum":7}"#
    );
    let changes = [
        LevelChange {
            side: Side::Buy,
            price: Price(6_400_050),
            qty: Qty(7_500),
        },
        LevelChange {
            side: Side::Sell,
            price: Price(6_400_100),
            qty: Qty(0),
        },
    ];
    assert_eq!(
        book_update(&i, &changes, 42, 6, 9).as_str(),
        r#"{"type":"book_update","symbol":"BTC-USD","seq":42,"ts":6,"bids":[["64000.50","0.7500"]],"asks":[["64001.00","0"]],"checksum":9}"#
    );
    assert_eq!(
        trade(&i, 17, 8, Price(6_400_050), Qty(100), Side::Buy).as_str(),
        r#"{"type":"trade","symbol":"BTC-USD","seq":17,"ts":8,"trade_id":"BTC-USD-17","price":"64000.50","qty":"0.0100","side":"buy"}"#
    );
    let t = Ticker {
        bid: Some((Price(6_400_050), Qty(10_000))),
        ask: None,
        last: Some((Price(6_400_000), Qty(1))),
        window: WindowStats {
            open: Some(Price(6_300_000)),
            high: Some(Price(6_500_000)),
            low: Some(Price(6_200_000)),
            volume: Qty(20_000),
        },
    };
    assert_eq!(
        ticker(&i, 3, 9, &t).as_str(),
        r#"{"type":"ticker","symbol":"BTC-USD","seq":3,"ts":9,"bid":"64000.50","bid_qty":"1.0000","ask":null,"ask_qty":null,"last":"64000.00","last_qty":"0.0001","open":"63000.00","high":"65000.00","low":"62000.00","volume":"2.0000"}"#
    );
    let bar = Candle {
        start: 60,
        open: Price(1),
        high: Price(3),
        low: Price(1),
        close: Price(2),
        volume: Qty(5),
    };
    assert_eq!(
        candle(&i, "1m", 4, 70, &bar).as_str(),
        r#"{"type":"candle","symbol":"BTC-USD","seq":4,"ts":70,"interval":"1m","start":60,"open":"0.01","high":"0.03","low":"0.01","close":"0.02","volume":"0.0005"}"#
    );
    let mut series = CandleSeries::new(Interval::OneMinute);
    series.record(60, Price(1), Qty(5));
    series.take_update();
    assert_eq!(
        series_snapshot(&i, &series, 80).as_str(),
        r#"{"type":"candles_snapshot","symbol":"BTC-USD","seq":1,"ts":80,"interval":"1m","candles":[{"start":0,"open":"0.01","high":"0.01","low":"0.01","close":"0.01","volume":"0.0005"}]}"#
    );
    assert_eq!(
        heartbeat("BTC-USD", 2, 10, 123, 45, 80).as_str(),
        r#"{"type":"heartbeat","symbol":"BTC-USD","seq":2,"ts":10,"last_seq":{"book":123,"trades":45,"ticker":80}}"#
    );
}

#[test]
fn responses_are_exact() {
    use crate::protocol::Channel;
    let id = Some("7".to_string());
    assert_eq!(
        subscriptions(
            "subscribed",
            &id,
            [
                (Channel::Book, "BTC-USD"),
                (Channel::Candles(Interval::OneSecond), "AAPL")
            ]
        )
        .as_str(),
        r#"{"type":"subscribed","id":7,"subscriptions":[{"channel":"book","symbol":"BTC-USD"},{"channel":"candles","symbol":"AAPL","interval":"1s"}]}"#
    );
    assert_eq!(
        error(
            &id,
            Some("order"),
            ErrorCode::InvalidPrice,
            "price \"x\"",
            None
        )
        .as_str(),
        r#"{"type":"error","id":7,"op":"order","code":"invalid_price","message":"price \"x\""}"#
    );
    assert_eq!(
        error(&None, None, ErrorCode::RateLimited, "slow down", Some(20)).as_str(),
        r#"{"type":"error","op":null,"code":"rate_limited","message":"slow down","retry_after_ms":20}"#
    );
    assert_eq!(pong(&None, 5).as_str(), r#"{"type":"pong","ts":5}"#);
    let all = Instruments::embedded_default();
    let text = instruments(&id, &all, &Mode::Live);
    assert!(text.as_str().starts_with(
        r#"{"type":"instruments","id":7,"mode":"live","instruments":[{"symbol":"BTC-USD","tick_size":"0.01","lot_size":"0.0001","price_decimals":2,"qty_decimals":4,"max_qty":"100.0000","band":"0.10"},"#
    ));
    assert_eq!(
        lagged(3, [(Channel::Trades, "ETH-USD")]).as_str(),
        r#"{"type":"lagged","dropped":3,"streams":[{"channel":"trades","symbol":"ETH-USD"}]}"#
    );
    assert_eq!(shutdown(9).as_str(), r#"{"type":"shutdown","ts":9}"#);
}

#[test]
fn private_events_carry_seq_and_amends_their_own_time() {
    use crate::trading::OpenOrder;
    use crate::types::{OrderType, Price, Qty, SymbolId, TimeInForce};
    let order = OpenOrder {
        symbol: SymbolId(0),
        order_id: OrderId(42),
        client_order_id: Some("c1".to_string()),
        side: Side::Buy,
        order_type: OrderType::Limit,
        price: Some(Price(6_400_000)),
        qty: Qty(3_000),
        leaves: Qty(2_000),
        tif: TimeInForce::Gtc,
        post_only: false,
        ts: 100,
        conn: 1,
    };
    let btc = btc();
    assert_eq!(
        order_amended(&Some("9".to_string()), &btc, &order, 250, 17).as_str(),
        r#"{"type":"order_amended","id":9,"seq":17,"order_id":"BTC-USD:42","client_order_id":"c1","symbol":"BTC-USD","side":"buy","order_type":"limit","price":"64000.00","qty":"0.3000","leaves_qty":"0.2000","tif":"gtc","ts":250}"#
    );
    assert_eq!(
        order_status(&None, &btc, &order, "open").as_str(),
        r#"{"type":"order_status","order":{"order_id":"BTC-USD:42","client_order_id":"c1","symbol":"BTC-USD","side":"buy","order_type":"limit","price":"64000.00","qty":"0.3000","leaves_qty":"0.2000","tif":"gtc","ts":100,"status":"open","filled_qty":"0.1000"}}"#
    );
    assert_eq!(
        fills(&None, [r#"{"type":"fill","seq":3}"#], true).as_str(),
        r#"{"type":"fills","fills":[{"type":"fill","seq":3}],"more":true}"#
    );
}
