use std::io::Write;
use std::path::Path;

use rust_decimal::Decimal;

use super::*;
use crate::import::source::fixtures::{book, level};

const SAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/feeds/samples/tardis");

fn d(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

fn all(file: TardisFile) -> Vec<SourceEvent> {
    file.map(|e| e.unwrap()).collect()
}

fn read_text(text: &str) -> Result<Vec<SourceEvent>, ImportError> {
    read("t.csv", std::io::Cursor::new(text.as_bytes().to_vec()))?.collect()
}

fn expected_book() -> Vec<SourceEvent> {
    use Side::{Buy, Sell};
    vec![
        // The snapshot's rows span two local_timestamps: still one.
        book(
            1_767_225_600_001_000_000,
            true,
            vec![
                level(Sell, "64000.5", "1.250"),
                level(Sell, "64001.0", "0.500"),
                level(Buy, "63999.5", "2.000"),
                level(Buy, "63999.0", "3.100"),
            ],
        ),
        book(
            1_767_225_600_101_000_000,
            false,
            vec![
                level(Sell, "64000.5", "0.750"),
                level(Buy, "63998.5", "1.000"),
            ],
        ),
        book(
            1_767_225_600_202_000_000,
            false,
            vec![level(Buy, "63999.5", "0")],
        ),
        book(
            1_767_225_600_303_000_000,
            false,
            vec![level(Sell, "64000.0", "0.010")],
        ),
        // A snapshot after updates: a new book (the source reconnected).
        book(
            1_767_225_601_004_000_000,
            true,
            vec![
                level(Sell, "64002.0", "1.000"),
                level(Buy, "63998.0", "1.000"),
            ],
        ),
    ]
}

#[test]
fn an_incremental_book_file_becomes_one_event_per_message() {
    let path = Path::new(SAMPLES).join("binance-futures_incremental_book_L2_BTCUSDT.csv");
    let file = open(&path).unwrap();
    assert_eq!(file.dataset(), Dataset::IncrementalBookL2);
    assert_eq!(all(file), expected_book());
}

#[test]
fn a_trades_file_keeps_ids_sides_and_exponent_amounts() {
    let path = Path::new(SAMPLES).join("binance-futures_trades_BTCUSDT.csv");
    let file = open(&path).unwrap();
    assert_eq!(file.dataset(), Dataset::Trades);
    let trade = |ts, id: Option<&str>, price, qty, aggressor| SourceEvent::Trade {
        symbol: "BTCUSDT".into(),
        ts,
        id: id.map(str::to_string),
        price: d(price),
        qty: d(qty),
        aggressor,
    };
    assert_eq!(
        all(file),
        vec![
            trade(
                1_767_225_600_151_000_000,
                Some("5001"),
                "64000.5",
                "0.500",
                Some(Side::Buy)
            ),
            trade(
                1_767_225_600_251_000_000,
                Some("5002"),
                "63999.5",
                "0.250",
                Some(Side::Sell)
            ),
            trade(1_767_225_600_352_000_000, None, "64000.0", "0.015", None),
        ]
    );
}

#[test]
fn gzip_is_read_whatever_the_name_and_columns_in_any_order() {
    let path = Path::new(SAMPLES).join("binance-futures_incremental_book_L2_BTCUSDT.csv");
    let text = std::fs::read(&path).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&text).unwrap();
    let file = read("sample.csv", std::io::Cursor::new(gz.finish().unwrap())).unwrap();
    assert_eq!(all(file), expected_book());

    // The same rows with the columns reordered and one more column.
    let text = String::from_utf8(text).unwrap();
    let mut moved = String::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split(',').collect();
        let extra = if f[0] == "exchange" { "note" } else { "x" };
        moved += &format!(
            "{},{},{},{},{},{},{},{},{extra}\n",
            f[7], f[6], f[5], f[4], f[3], f[2], f[1], f[0]
        );
    }
    assert_eq!(read_text(&moved).unwrap(), expected_book());
}

#[test]
fn bad_input_names_the_file_the_line_and_what_was_wrong() {
    let header = "exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount\n";
    let row = "x,BTCUSDT,1,1000,false,bid,100.5,1\n";
    let cases = [
        ("", "t.csv:1: the file is empty (no header)".to_string()),
        (
            "a,b,c\n",
            "t.csv:1: not a Tardis incremental_book_L2 or trades header".into(),
        ),
        (
            "exchange,symbol,timestamp,is_snapshot,side,price,amount\n",
            "t.csv:1: the header has no \"local_timestamp\" column".into(),
        ),
        (
            &format!("{header}{row}x,BTCUSDT,1,1000,false,bid,100.5\n"),
            "t.csv:3: 7 fields where the header has 8".into(),
        ),
        (
            &format!("{header}x,BTCUSDT,1,1000,maybe,bid,100.5,1\n"),
            "t.csv:2: is_snapshot \"maybe\" is not true or false".into(),
        ),
        (
            &format!("{header}x,BTCUSDT,1,1000,false,buy,100.5,1\n"),
            "t.csv:2: side \"buy\" is not bid or ask".into(),
        ),
        (
            &format!("{header}x,BTCUSDT,1,1000,false,bid,1O0.5,1\n"),
            "t.csv:2: price \"1O0.5\" is not a decimal number".into(),
        ),
        (
            &format!("{header}x,BTCUSDT,1,1000,false,bid,0,1\n"),
            "t.csv:2: price 0 is not positive".into(),
        ),
        (
            &format!("{header}x,BTCUSDT,1,1000,false,bid,100.5,-1\n"),
            "t.csv:2: amount -1 is negative".into(),
        ),
        (
            &format!("{header}x,BTCUSDT,1,soon,false,bid,100.5,1\n"),
            "t.csv:2: local_timestamp \"soon\" is not microseconds since the epoch".into(),
        ),
        (
            &format!("{header}{row}\nx,BTCUSDT,1,999,false,bid,100.5,1\n"),
            "t.csv:4: local_timestamp goes back from 1000 to 999".into(),
        ),
        (
            &format!("{header}x,,1,1000,false,bid,100.5,1\n"),
            "t.csv:2: the symbol is empty".into(),
        ),
        (
            "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\nx,S,1,1,7,taker,1,1\n",
            "t.csv:2: side \"taker\" is not buy, sell or unknown".into(),
        ),
        (
            "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\nx,S,1,1,7,buy,1,0\n",
            "t.csv:2: amount 0 is not positive".into(),
        ),
    ];
    for (text, expected) in cases {
        let error = read_text(text).expect_err(text);
        assert!(
            error.to_string().starts_with(&expected),
            "{text:?}: {error} (expected {expected})"
        );
    }
}

#[test]
fn nothing_follows_an_error_and_a_missing_file_is_named() {
    let text = "exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount\n\
                x,S,1,1000,false,bid,1,1\nx,S,1,1000,false,bid,bad,1\nx,S,1,2000,false,bid,1,1\n";
    let mut file = read("t.csv", std::io::Cursor::new(text.as_bytes().to_vec())).unwrap();
    assert!(file.next().unwrap().is_err());
    assert!(file.next().is_none());
    let missing = open(Path::new("/nonexistent/book.csv")).err().unwrap();
    assert!(
        missing
            .to_string()
            .starts_with("/nonexistent/book.csv: No such file"),
        "{missing}"
    );
}
