use std::io::Cursor;

use super::*;
use crate::import::input::Lines;

const SAMPLE: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/feeds/samples/binance/BTCUSDT-depth-2026-01-01.jsonl"
));

fn events(text: &str) -> Vec<Result<SourceEvent, ImportError>> {
    let mut lines = Lines::new("d.jsonl", Box::new(Cursor::new(text.to_string())));
    let first = match lines.next_line() {
        Some(line) => line.unwrap().to_string(),
        None => panic!("empty"),
    };
    DepthFile::new(lines, first).unwrap().collect()
}

/// Each event briefly: `S ts` a snapshot, `U ts` an update (then its
/// levels as side:price:qty), `gap ts detail`, `error ...`.
fn summary(text: &str) -> Vec<String> {
    events(text)
        .into_iter()
        .map(|e| match e {
            Ok(SourceEvent::Book {
                ts,
                snapshot,
                levels,
                symbol,
            }) => {
                let levels: Vec<String> = levels
                    .iter()
                    .map(|l| {
                        format!(
                            "{:?}:{}:{}",
                            l.side,
                            l.price.normalize(),
                            l.amount.normalize()
                        )
                    })
                    .collect();
                let kind = if snapshot { "S" } else { "U" };
                format!(
                    "{kind} {symbol} {} {}",
                    ts / 1_000_000 % 100_000,
                    levels.join(" ")
                )
            }
            Ok(SourceEvent::Gap { ts, detail, .. }) => {
                format!("gap {} {detail}", ts / 1_000_000 % 100_000)
            }
            Ok(other) => panic!("{other:?}"),
            Err(e) => format!("error {e}"),
        })
        .collect()
}

#[test]
fn the_sample_follows_binances_rules_for_a_local_book() {
    assert_eq!(
        summary(SAMPLE),
        [
            // The first update (u 102 <= 104) is in the snapshot: dropped;
            // the second straddles it and is applied after it, the
            // snapshot stamped with its time.
            "S BTCUSDT 100 Buy:87000:1.5 Buy:86999.99:0.8 Buy:86999.5:2 Sell:87000.01:0.7 Sell:87000.02:1.2 Sell:87000.5:3",
            "U BTCUSDT 100 Buy:87000:1.25 Sell:87000.01:0",
            "U BTCUSDT 200 Sell:87000.01:0.3",
            "U BTCUSDT 300 Buy:86999.99:0 Buy:86999:4",
            // 109 to 111 skipped: the update is held, the next snapshot
            // (112) starts the book again and the held update follows it:
            // no warning.
            "S BTCUSDT 500 Buy:87000:1.25 Buy:86999.5:2 Buy:86999:4 Buy:86998:1 Sell:87000.01:0.3 Sell:87000.02:1.2 Sell:87000.5:2.5",
            "U BTCUSDT 500 Buy:87000:1 Sell:87000.02:0.9",
            "U BTCUSDT 700 Buy:87000:1.1 Sell:87000.01:0",
            // 116 to 119 skipped and no snapshot before the end: a gap,
            // and the update applied to the book as it was.
            "gap 900 the depth stream skipped update ids 116 to 119",
            "U BTCUSDT 900 Buy:86999.5:0",
        ]
    );
}

fn update(time: u64, first: u64, last: u64, pu: Option<u64>, bid: &str) -> String {
    let pu = pu.map(|p| format!(",\"pu\":{p}")).unwrap_or_default();
    format!(
        r#"{{"e":"depthUpdate","E":{time},"T":{time},"s":"BTCUSDT","U":{first},"u":{last}{pu},"b":[["{bid}","1"]],"a":[]}}"#
    )
}

#[test]
fn futures_streams_chain_by_pu_and_the_straddling_rule_is_theirs() {
    let snapshot = r#"{"lastUpdateId":50,"E":1767225600040,"T":1767225600040,"bids":[["9","1"]],"asks":[["11","1"]]}"#;
    let text = [
        update(1767225600010, 40, 49, Some(39), "1"), // u < 50: dropped
        update(1767225600020, 45, 50, Some(49), "2"), // u = 50 straddles (futures: u >= id)
        snapshot.to_string(),
        update(1767225600060, 51, 55, Some(50), "3"),
        update(1767225600070, 58, 60, Some(55), "4"), // pu runs on: ids may jump
        update(1767225600080, 61, 62, Some(59), "5"), // pu 59 is not 60: broken
    ]
    .join("\n");
    assert_eq!(
        summary(&text),
        [
            "S BTCUSDT 20 Buy:9:1 Sell:11:1",
            "U BTCUSDT 20 Buy:2:1",
            "U BTCUSDT 60 Buy:3:1",
            "U BTCUSDT 70 Buy:4:1",
            "gap 80 the depth stream broke: an update's pu 59 is not the previous update's u 60",
            "U BTCUSDT 80 Buy:5:1",
        ]
    );
}

#[test]
fn a_broken_book_waits_for_a_snapshot_only_so_long() {
    let mut lines = vec![
        r#"{"lastUpdateId":1,"symbol":"BTCUSDT","bids":[],"asks":[]}"#.to_string(),
        update(1767225600000, 2, 2, None, "1"),
    ];
    for i in 0..=HOLD_LIMIT as u64 {
        lines.push(update(1767225600001 + i, 10 + i, 10 + i, None, "2"));
    }
    let out = summary(&lines.join("\n"));
    assert_eq!(out.len(), 3 + HOLD_LIMIT + 1, "{:?}", &out[..4]);
    assert_eq!(out[2], "gap 1 the depth stream skipped update ids 3 to 9");
}

#[test]
fn combined_streams_and_several_symbols() {
    let wrap = |symbol: &str, first: u64| {
        format!(
            r#"{{"stream":"{}@depth@100ms","data":{{"e":"depthUpdate","E":1767225600100,"s":"{symbol}","U":{first},"u":{first},"b":[],"a":[["5","1"]]}}}}"#,
            symbol.to_lowercase()
        )
    };
    let text = [
        r#"{"lastUpdateId":7,"symbol":"ETHUSDT","bids":[],"asks":[]}"#.to_string(),
        wrap("ETHUSDT", 8),
        wrap("BTCUSDT", 3),
        r#"{"lastUpdateId":2,"symbol":"BTCUSDT","bids":[],"asks":[]}"#.to_string(),
    ]
    .join("\n");
    assert_eq!(
        summary(&text),
        [
            "S ETHUSDT 100 ",
            "U ETHUSDT 100 Sell:5:1",
            "S BTCUSDT 100 ",
            "U BTCUSDT 100 Sell:5:1",
        ]
    );
    let ambiguous = [
        wrap("ETHUSDT", 8),
        wrap("BTCUSDT", 3),
        r#"{"lastUpdateId":2,"bids":[],"asks":[]}"#.to_string(),
    ]
    .join("\n");
    assert_eq!(
        summary(&ambiguous),
        [
            "error d.jsonl:3: a depth snapshot without \"symbol\" in a file of several symbols: add \"symbol\":\"...\" to it"
        ]
    );
}

#[test]
fn bad_lines_name_the_line() {
    let bad = |line: &str| {
        summary(&format!(
            "{}\n{line}",
            update(1767225600000, 1, 1, None, "1")
        ))
        .pop()
        .unwrap_or_default()
    };
    assert!(
        bad("{").starts_with("error d.jsonl:2: not a Binance depthUpdate event or depth snapshot")
    );
    assert_eq!(
        bad(r#"{"e":"trade","E":1,"s":"BTCUSDT"}"#),
        "error d.jsonl:2: event \"trade\" is not a depthUpdate (import depth streams only)"
    );
    assert_eq!(
        bad(r#"{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":5,"u":4}"#),
        "error d.jsonl:2: u 4 is before U 5"
    );
    assert_eq!(
        bad(r#"{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":5,"u":6,"b":[["x","1"]]}"#),
        "error d.jsonl:2: price \"x\" is not a decimal number"
    );
    assert_eq!(
        bad(r#"{"e":"depthUpdate","s":"BTCUSDT","U":5,"u":6}"#),
        "error d.jsonl:2: a depthUpdate needs \"s\", \"E\", \"U\" and \"u\""
    );
}
