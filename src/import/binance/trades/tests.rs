use std::io::Cursor;

use super::*;
use crate::import::input::Lines;

fn trades(text: &str) -> Vec<Result<SourceEvent, ImportError>> {
    let mut lines = Lines::new("t.csv", Box::new(Cursor::new(text.to_string())));
    let first = match lines.next_line() {
        Some(line) => line.unwrap().to_string(),
        None => panic!("empty"),
    };
    match TradesFile::new(lines, &first, "BTCUSDT".into()) {
        Ok(file) => file.collect(),
        Err(e) => vec![Err(e)],
    }
}

/// (id, ts, price, qty, taker side) of each trade; gaps as their detail.
fn summary(text: &str) -> Vec<String> {
    trades(text)
        .into_iter()
        .map(|e| match e {
            Ok(SourceEvent::Trade {
                ts,
                id,
                price,
                qty,
                aggressor,
                ..
            }) => format!(
                "{} {ts} {price} {qty} {:?}",
                id.unwrap_or_default(),
                aggressor.expect("side")
            ),
            Ok(SourceEvent::Gap { ts, detail, .. }) => format!("gap {ts} {detail}"),
            Ok(other) => panic!("{other:?}"),
            Err(e) => format!("error {e}"),
        })
        .collect()
}

#[test]
fn spot_trades_without_a_header_in_micro_and_milliseconds() {
    let text = "\
1001,87000.01000000,0.25000000,21750.00250000,1767225600150000,false,true
1002,87000.00000000,0.10000000,8700.00000000,1767225600250123,True,true
";
    assert_eq!(
        summary(text),
        [
            "1001 1767225600150000000 87000.01000000 0.25000000 Buy",
            "1002 1767225600250123000 87000.00000000 0.10000000 Sell",
        ]
    );
    let millis = "7,1.5,2,3,1700000000123,false,true\n";
    assert_eq!(summary(millis), ["7 1700000000123000000 1.5 2 Buy"]);
}

#[test]
fn futures_trades_and_aggregates_with_their_headers_in_any_order() {
    let text = "\
id,price,qty,quote_qty,time,is_buyer_maker
5,64000.5,0.010,640.005,1767225600000,true
6,64001.0,0.020,1280.02,1767225600001,false
";
    assert_eq!(
        summary(text),
        [
            "5 1767225600000000000 64000.5 0.010 Sell",
            "6 1767225600001000000 64001.0 0.020 Buy",
        ]
    );
    let agg = "\
agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker
10,64000.5,0.010,100,101,1767225600000,false
11,64000.0,0.030,102,102,1767225600002,true
";
    assert_eq!(
        summary(agg),
        [
            "10 1767225600000000000 64000.5 0.010 Buy",
            "11 1767225600002000000 64000.0 0.030 Sell",
        ]
    );
}

#[test]
fn skipped_ids_are_gaps_before_the_trade_after_them() {
    let spot = "\
1,10.00,1,10,1767225600000000,false,true
4,10.01,1,10,1767225600100000,false,true
5,10.02,1,10,1767225600200000,false,true
";
    assert_eq!(
        summary(spot),
        [
            "1 1767225600000000000 10.00 1 Buy",
            "gap 1767225600100000000 the source skipped trade ids 2 to 3",
            "4 1767225600100000000 10.01 1 Buy",
            "5 1767225600200000000 10.02 1 Buy",
        ]
    );
    // Consecutive aggregates whose trades do not run on.
    let agg = "\
1,10.00,1,100,101,1767225600000000,false,true
2,10.01,1,105,105,1767225600100000,true,true
";
    assert_eq!(
        summary(agg)[1],
        "gap 1767225600100000000 the source skipped underlying trade ids 102 to 104"
    );
}

#[test]
fn bad_rows_name_the_line_and_what_is_wrong() {
    let first = "1,10.00,1,10,1767225600000000,false,true\n";
    let bad = |row: &str| {
        summary(&format!("{first}{row}\n"))
            .pop()
            .unwrap_or_default()
    };
    assert_eq!(
        bad("1,10.00,1,10,1767225600000001,false,true"),
        "error t.csv:2: id 1 is not after the previous trade's 1 (a dump is in id order)"
    );
    assert_eq!(
        bad("2,10.00,1,10,1767225500000000,false,true"),
        "error t.csv:2: time 1767225500000000 is before the previous trade's (a dump is in id order, times never going back)"
    );
    assert_eq!(
        bad("2,ten,1,10,1767225600000000,false,true"),
        "error t.csv:2: price \"ten\" is not a decimal number"
    );
    assert_eq!(
        bad("2,10.00,0,10,1767225600000000,false,true"),
        "error t.csv:2: quantity 0 is not positive"
    );
    assert_eq!(
        bad("2,10.00,1,10,1767225600000000,maybe,true"),
        "error t.csv:2: isBuyerMaker \"maybe\" is not true or false"
    );
    assert_eq!(
        bad("2,10.00,1"),
        "error t.csv:2: 3 fields where the file has 7: \"2,10.00,1\""
    );
    assert!(
        summary("1,2,3\n")[0]
            .starts_with("error t.csv:1: 3 fields: a Binance spot trades dump has 7")
    );
    assert!(
        summary("symbol,price\n")[0]
            .starts_with("error t.csv:1: not a Binance trades or aggTrades header")
    );
}
