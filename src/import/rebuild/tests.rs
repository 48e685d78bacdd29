use super::*;
use crate::import::source::fixtures::{book, level};
use crate::record;

fn instruments() -> Instruments {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/feeds/samples/tardis/instruments.toml"
    ))
    .unwrap();
    Instruments::parse("instruments.toml", &text).unwrap()
}

/// Rebuilds `events` into a temporary recording; its entries' JSON.
fn rebuilt(name: &str, events: &[SourceEvent]) -> (Result<ImportStats, ImportError>, Vec<String>) {
    let path = std::env::temp_dir().join(format!(
        "tickwire-rebuild-{}-{name}.jsonl",
        std::process::id()
    ));
    let writer = RecordWriter::create(&path).unwrap();
    let map = vec![("BTCUSDT".to_string(), "BTC-USDT".to_string())];
    let mut rebuild = Rebuild::new(instruments(), map, writer, 10);
    let result = events
        .iter()
        .try_for_each(|e| rebuild.apply(e))
        .and_then(|()| rebuild.finish());
    let text = std::fs::read_to_string(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    (result, text.lines().map(str::to_string).collect())
}

const T: u64 = 1_767_225_600_000_000_000;

#[test]
fn updates_before_the_first_snapshot_are_left_out_and_a_missing_level_changes_nothing() {
    let events = [
        book(T, false, vec![level(Side::Buy, "100.0", "1")]),
        book(
            T + 1,
            true,
            vec![
                level(Side::Buy, "100.0", "1"),
                level(Side::Sell, "101.0", "2"),
            ],
        ),
        // Removing a level that is not there: no update.
        book(T + 2, false, vec![level(Side::Buy, "99.5", "0")]),
        // The same level twice in one message: the last stands, once.
        book(
            T + 3,
            false,
            vec![
                level(Side::Buy, "100.0", "3"),
                level(Side::Buy, "100.0", "4"),
            ],
        ),
    ];
    let (stats, lines) = rebuilt("skips", &events);
    let stats = stats.unwrap();
    assert_eq!(stats.skipped_before_snapshot, 1);
    assert_eq!(stats.book_updates, 1);
    let updates: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("\"book_update\""))
        .collect();
    assert_eq!(updates.len(), 1);
    assert!(updates[0].contains("\"seq\":1"), "{}", updates[0]);
    assert!(
        updates[0].contains("\"bids\":[[\"100.0\",\"4.000\"]],\"asks\":[]"),
        "{}",
        updates[0]
    );
}

#[test]
fn a_source_snapshot_after_updates_is_an_update_to_the_new_book_and_a_fresh_snapshot() {
    let events = [
        book(
            T,
            true,
            vec![
                level(Side::Buy, "100.0", "1"),
                level(Side::Sell, "101.0", "2"),
            ],
        ),
        book(
            T + 5,
            true,
            vec![
                level(Side::Buy, "100.0", "1"),
                level(Side::Sell, "102.0", "2"),
            ],
        ),
    ];
    let (stats, lines) = rebuilt("reconnect", &events);
    assert_eq!(stats.unwrap().snapshots_in_source, 2);
    let book_lines: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("\"stream\":\"book:"))
        .collect();
    assert_eq!(book_lines.len(), 3, "{book_lines:#?}");
    assert!(book_lines[0].contains("\"snapshot\":"));
    assert!(
        book_lines[1].contains("\"asks\":[[\"101.0\",\"0\"],[\"102.0\",\"2.000\"]]"),
        "{}",
        book_lines[1]
    );
    assert!(book_lines[2].contains("\"snapshot\":") && book_lines[2].contains("\"seq\":1,"));
}

#[test]
fn off_grid_values_and_unknown_symbols_are_refused_with_what_was_wrong() {
    let (result, _) = rebuilt(
        "grid",
        &[book(T, true, vec![level(Side::Buy, "100.25", "1")])],
    );
    let error = result.unwrap_err().to_string();
    assert!(error.contains("BTC-USDT at 1767225600000000000"), "{error}");
    assert!(error.contains("tick 0.5"), "{error}");
    let (result, _) = rebuilt(
        "symbol",
        &[SourceEvent::Trade {
            symbol: "DOGEUSDT".into(),
            ts: T,
            id: None,
            price: Decimal::ONE,
            qty: Decimal::ONE,
            aggressor: None,
        }],
    );
    let error = result.unwrap_err().to_string();
    assert!(error.contains("no instrument \"DOGEUSDT\""), "{error}");
}

#[test]
fn an_unknown_taker_side_comes_from_the_book_then_the_tick_rule() {
    let mut b = Book::default();
    let (bid, ask) = (Price(200), Price(204));
    b.insert(
        level_id(Side::Buy, bid),
        Owner::SIM,
        Side::Buy,
        bid,
        Qty(1),
        Qty::ZERO,
        0,
    );
    b.insert(
        level_id(Side::Sell, ask),
        Owner::SIM,
        Side::Sell,
        ask,
        Qty(1),
        Qty::ZERO,
        0,
    );
    assert_eq!(taker_side(&b, None, Price(204)), Side::Buy);
    assert_eq!(taker_side(&b, None, Price(200)), Side::Sell);
    assert_eq!(taker_side(&b, Some(Price(203)), Price(202)), Side::Sell);
    assert_eq!(taker_side(&b, Some(Price(201)), Price(202)), Side::Buy);
    assert_eq!(taker_side(&Book::default(), None, Price(5)), Side::Buy);
}

#[test]
fn the_samples_import_into_a_recording_that_reads_back() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/feeds/samples/tardis");
    let out =
        std::env::temp_dir().join(format!("tickwire-import-{}.jsonl.zst", std::process::id()));
    let options = crate::import::ImportOptions {
        format: crate::import::Format::Tardis,
        symbol: None,
        files: vec![
            format!("{dir}/binance-futures_incremental_book_L2_BTCUSDT.csv").into(),
            format!("{dir}/binance-futures_trades_BTCUSDT.csv").into(),
        ],
        out: out.clone(),
        instruments: Some(instruments()),
        symbol_map: vec![("BTCUSDT".into(), "BTC-USDT".into())],
        snapshot_every_s: 10,
    };
    let stats = crate::import::import(&options).unwrap().stats;
    assert_eq!((stats.events, stats.trades, stats.book_updates), (8, 3, 4));
    let recording = record::open(&out).unwrap();
    assert_eq!(recording.header.instruments.len(), 1);
    assert_eq!(recording.header.start, T + 1_000_000);
    let entries: Vec<_> = recording.map(|e| e.unwrap()).collect();
    // Time order across the two files.
    assert!(entries.windows(2).all(|w| w[0].ts <= w[1].ts));
    let _ = std::fs::remove_file(&out);
}

#[test]
fn a_source_gap_is_a_warning_the_reader_logs_and_counts_not_an_entry() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/feeds/samples/binance");
    let out = std::env::temp_dir().join(format!("tickwire-gap-{}.jsonl", std::process::id()));
    let options = crate::import::ImportOptions {
        format: crate::import::Format::Binance,
        symbol: None,
        files: vec![format!("{dir}/BTCUSDT-depth-2026-01-01.jsonl").into()],
        out: out.clone(),
        instruments: None,
        symbol_map: Vec::new(),
        snapshot_every_s: 10,
    };
    let stats = crate::import::import(&options).unwrap().stats;
    assert_eq!(stats.gaps, 1);
    assert_eq!(
        stats.warnings,
        [
            "BTCUSDT: the depth stream skipped update ids 116 to 119: the book may differ from the exchange's until the source's next snapshot"
        ]
    );
    assert_eq!(stats.snapshot_differences, 1);
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(text.matches("\"warning\":").count(), 1);
    let mut recording = record::open(&out).unwrap();
    let entries = recording.by_ref().filter(|e| e.is_ok()).count();
    assert_eq!(
        entries,
        text.lines().count() - 2,
        "every line but the header and the warning"
    );
    assert_eq!(recording.warnings, 1);
    let _ = std::fs::remove_file(&out);
}
