use std::io::Cursor;

use super::*;

const SAMPLE: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/feeds/samples/tickwire/BTC-USD-capture.jsonl"
));

fn file(text: &str) -> CaptureFile {
    CaptureFile::new(Lines::new(
        "c.jsonl",
        Box::new(Cursor::new(text.to_string())),
    ))
}

fn summary(text: &str) -> Vec<String> {
    file(text)
        .map(|e| match e {
            Ok(SourceEvent::Book {
                ts,
                snapshot,
                levels,
                ..
            }) => format!(
                "{} {} {}",
                if snapshot { "S" } else { "U" },
                ts / 1_000_000 % 100_000,
                levels.len()
            ),
            Ok(SourceEvent::Trade {
                ts, id, aggressor, ..
            }) => format!(
                "T {} {} {:?}",
                ts / 1_000_000 % 100_000,
                id.unwrap_or_default(),
                aggressor.expect("side")
            ),
            Ok(SourceEvent::Gap { ts, detail, .. }) => {
                format!("gap {} {detail}", ts / 1_000_000 % 100_000)
            }
            Err(e) => format!("error {e}"),
        })
        .collect()
}

#[test]
fn the_sample_capture_checks_every_streams_seq() {
    assert_eq!(
        summary(SAMPLE),
        [
            "S 0 4",
            "U 100 2",
            "T 100 BTC-USD-17 Buy",
            "U 200 1",
            // After `lagged`, the fresh snapshot starts the book again:
            // seq 44 to 46 dropped is no gap.
            "S 1500 5",
            "U 1600 1",
            "gap 1700 the capture skipped trade seq 18 to 19",
            "T 1700 BTC-USD-20 Buy",
            "U 1700 1",
            "gap 1900 the capture skipped book seq 50",
            "U 1900 1",
        ]
    );
    let mut read = file(SAMPLE);
    read.by_ref().for_each(drop);
    assert_eq!(read.rows(), 14);
    let declared = read.declared();
    assert_eq!(declared.len(), 1);
    assert_eq!(
        (
            declared[0].symbol.as_str(),
            declared[0].tick_size.to_string()
        ),
        ("BTC-USD", "0.01".to_string())
    );
}

#[test]
fn views_old_updates_and_other_messages_are_passed_over() {
    let text = r#"{"type":"book_snapshot","symbol":"X","seq":5,"ts":1767225600000000000,"bids":[["1.00","1"]],"asks":[]}
{"type":"book_update","symbol":"X","seq":5,"ts":1767225600000000001,"bids":[["1.00","2"]],"asks":[]}
{"type":"book_snapshot","symbol":"X","seq":3,"ts":1767225600000000002,"depth":10,"bids":[],"asks":[]}
{"type":"book_update","symbol":"X","seq":9,"ts":1767225600000000003,"interval":"100ms","bids":[],"asks":[]}
{"type":"fill","symbol":"X","seq":1,"ts":1767225600000000004}
{"type":"pong","id":1}
{"type":"book_update","symbol":"X","seq":6,"ts":1767225599000000000,"bids":[["1.00","3"]],"asks":[]}
"#;
    // The last update's time went back: taken as the previous one's.
    assert_eq!(summary(text), ["S 0 1", "U 0 1"]);
    let last = file(text).last().unwrap().unwrap();
    assert_eq!(last.symbol_and_ts().1, 1_767_225_600_000_000_000);
}

#[test]
fn bad_lines_name_the_line() {
    let bad = |line: &str| summary(line).pop().unwrap_or_default();
    assert!(bad("not json").starts_with("error c.jsonl:1: not a tickwire protocol message"));
    assert_eq!(
        bad(r#"{"type":"trade","symbol":"X","seq":1}"#),
        "error c.jsonl:1: a trade needs \"symbol\", \"seq\" and \"ts\""
    );
    assert_eq!(
        bad(r#"{"type":"trade","symbol":"X","seq":1,"ts":5,"price":"1","qty":"1","side":"up"}"#),
        "error c.jsonl:1: side \"up\" is not buy or sell"
    );
    assert_eq!(
        bad(
            r#"{"type":"book_snapshot","symbol":"X","seq":1,"ts":5,"bids":[["-1","1"]],"asks":[]}"#
        ),
        "error c.jsonl:1: price -1 is not positive"
    );
}
