//! `tickwire import` end to end: the hand-written Tardis samples
//! (`feeds/samples/`) imported by the real binary, the recording replayed by
//! a real server, and a client following it over a real socket: every book
//! update's checksum matches the book the client keeps, the last book is
//! the source's last snapshot, and the trades are the source's.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::wire_book::WireBook;
use common::{Server, replay_config};
use serde_json::json;

const SAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/feeds/samples/tardis");
const INSTRUMENTS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/feeds/samples/tardis/instruments.toml"
);

/// `tickwire import --format FORMAT FILES... --out OUT EXTRA...`.
fn import_files(
    format: &str,
    files: &[String],
    out: &PathBuf,
    extra: &[&str],
) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tickwire"))
        .args(["import", "--format", format])
        .args(files)
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .expect("run tickwire import")
}

/// The Tardis samples imported.
fn import(out: &PathBuf, extra: &[&str]) -> std::process::Output {
    let files = [
        format!("{SAMPLES}/binance-futures_incremental_book_L2_BTCUSDT.csv"),
        format!("{SAMPLES}/binance-futures_trades_BTCUSDT.csv"),
    ];
    import_files("tardis", &files, out, extra)
}

/// Runs an import that must succeed; its standard output.
fn imported(out: &PathBuf, extra: &[&str]) -> String {
    succeeded(import(out, extra))
}

fn succeeded(output: std::process::Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn levels(side: &std::collections::BTreeMap<i64, (String, String)>) -> Vec<(String, String)> {
    side.values().cloned().collect()
}

/// (price, qty, side) of each trade.
type Trades = Vec<(String, String, String)>;

fn strings(list: &[(&str, &str, &str)]) -> Trades {
    list.iter()
        .map(|(p, q, s)| (p.to_string(), q.to_string(), s.to_string()))
        .collect()
}

/// Replays `file` as fast as one client reads, once it has subscribed
/// (so it sees everything), checking every book update's `seq` and
/// checksum: the client's last book, the trades it saw, and the recorded
/// warnings the replay reached (its metric).
async fn follow(file: &Path, symbol: &str) -> (WireBook, Trades, f64) {
    let server = Server::start(replay_config(file, None, &[])).await;
    let mut client = server.client().await;
    client
        .request(
            json!({"op":"subscribe","channels":["book","trades"],"symbols":[symbol]}),
            1,
        )
        .await;
    let snapshot = client.until_type("book_snapshot").await;
    let mut book = WireBook::from_snapshot(&snapshot);
    assert_eq!(
        snapshot["checksum"].as_u64(),
        Some(u64::from(book.checksum()))
    );
    let mut seq = snapshot["seq"].as_u64().expect("seq");
    let mut trades = Vec::new();
    loop {
        let v = client.next_json().await;
        match v["type"].as_str() {
            Some("replay_end") => break,
            Some("book_update") => {
                seq += 1;
                assert_eq!(v["seq"].as_u64(), Some(seq), "{v}");
                book.apply(&v["bids"], true);
                book.apply(&v["asks"], false);
                assert_eq!(
                    v["checksum"].as_u64(),
                    Some(u64::from(book.checksum())),
                    "{v}"
                );
            }
            Some("trade") => trades.push((
                v["price"].as_str().unwrap_or_default().to_string(),
                v["qty"].as_str().unwrap_or_default().to_string(),
                v["side"].as_str().unwrap_or_default().to_string(),
            )),
            _ => {}
        }
    }
    let warnings = server.metric("tickwire_replay_warnings_total").await;
    server.stop().await;
    (book, trades, warnings)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_imported_tardis_sample_replays_as_the_source_book_and_trades() {
    let out =
        std::env::temp_dir().join(format!("tickwire-import-{}.jsonl.zst", std::process::id()));
    let stdout = imported(
        &out,
        &[
            "--symbol-map",
            "BTCUSDT=BTC-USDT",
            "--instruments",
            INSTRUMENTS,
        ],
    );
    assert!(
        stdout
            .contains("imported 13 rows, 8 events (4 book updates, 3 trades, 2 source snapshots)"),
        "{stdout}"
    );

    let (book, trades, warnings) = follow(&out, "BTC-USDT").await;
    assert_eq!(warnings, 0.0);
    // The source's last snapshot (a reconnect) is the last book.
    assert_eq!(
        levels(&book.bids),
        vec![("63998.0".to_string(), "1.000".to_string())]
    );
    assert_eq!(
        levels(&book.asks),
        vec![("64002.0".to_string(), "1.000".to_string())]
    );
    let expected = strings(&[
        ("64000.5", "0.500", "buy"),
        ("63999.5", "0.250", "sell"),
        // `unknown` in the source, at the ask: a buy.
        ("64000.0", "0.015", "buy"),
    ]);
    assert_eq!(trades, expected);
    let _ = std::fs::remove_file(&out);
}

#[test]
fn an_import_without_the_symbol_in_the_instruments_says_so_and_writes_nothing() {
    let out =
        std::env::temp_dir().join(format!("tickwire-import-bad-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&out);
    let output = import(&out, &["--instruments", INSTRUMENTS]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("no instrument \"BTCUSDT\""), "{stderr}");
    assert!(stderr.contains("--symbol-map"), "{stderr}");
    assert!(!out.exists(), "nothing written");
    let output = import(&out, &["--symbol-map", "BTCUSDT"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--symbol-map: \"BTCUSDT\" is not SOURCE=SYMBOL"),
        "{stderr}"
    );
}

#[test]
fn without_instruments_the_sizes_are_inferred_from_the_data_and_printed() {
    let out = std::env::temp_dir().join(format!(
        "tickwire-import-infer-{}.jsonl",
        std::process::id()
    ));
    let stdout = imported(&out, &[]);
    assert!(
        stdout.contains("BTCUSDT: tick_size 0.5, lot_size 0.005, price_decimals 1, qty_decimals 3"),
        "{stdout}"
    );
    let header = tickwire::record::open(&out).expect("open").header;
    let instrument = header
        .instruments
        .get("BTCUSDT")
        .expect("the source's symbol");
    assert_eq!(instrument.tick_size.to_string(), "0.5");
    assert_eq!(instrument.lot_size.to_string(), "0.005");
    let _ = std::fs::remove_file(&out);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binance_depth_and_aggregate_trades_replay_as_binances_rules_rebuild_them() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/feeds/samples/binance");
    let out = std::env::temp_dir().join(format!(
        "tickwire-import-binance-{}.jsonl.zst",
        std::process::id()
    ));
    let files = [
        format!("{dir}/BTCUSDT-depth-2026-01-01.jsonl"),
        format!("{dir}/BTCUSDT-aggTrades-2026-01-01.csv"),
    ];
    let stdout = succeeded(import_files(
        "binance",
        &files,
        &out,
        &[
            "--instruments",
            &format!("{dir}/instruments.toml"),
            "--symbol-map",
            "BTCUSDT=BTC-USDT",
        ],
    ));
    assert!(
        stdout
            .contains("imported 13 rows, 13 events (7 book updates, 4 trades, 2 source snapshots)"),
        "{stdout}"
    );
    // The second snapshot came after lost updates: it differs, and the
    // recording starts again from it without a warning. The loss at the
    // end has no snapshot after it: a warning.
    assert!(stdout.contains("1 source snapshot differed"), "{stdout}");
    assert!(
        stdout.contains("1 gap in the source's sequences, recorded as warnings")
            && stdout.contains("BTC-USDT: the depth stream skipped update ids 116 to 119"),
        "{stdout}"
    );

    let (book, trades, warnings) = follow(&out, "BTC-USDT").await;
    assert_eq!(warnings, 1.0, "the replay reached the recorded warning");
    // Worked by hand from the sample (its comments in src/import/binance/depth/tests.rs).
    let pairs = |list: &[(&str, &str)]| {
        list.iter()
            .map(|(p, q)| (p.to_string(), q.to_string()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        levels(&book.bids),
        pairs(&[
            ("86998.00", "1.00000"),
            ("86999.00", "4.00000"),
            ("87000.00", "1.10000")
        ])
    );
    assert_eq!(
        levels(&book.asks),
        pairs(&[("87000.02", "0.90000"), ("87000.50", "2.50000")])
    );
    // isBuyerMaker true: the taker sold.
    assert_eq!(
        trades,
        strings(&[
            ("87000.02", "0.25000", "buy"),
            ("87000.00", "0.10000", "sell"),
            ("87000.01", "0.05000", "buy"),
            ("87000.00", "0.20000", "sell"),
        ])
    );
    let _ = std::fs::remove_file(&out);
}

/// A live server watched with `tickwire watch --capture`, the capture
/// imported and replayed: the replay ends on the book the capture ends on,
/// with the same trades, and the sizes come from the capture.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_capture_of_a_live_server_replays_as_it_was_received() {
    let server = Server::start(common::config(1.0)).await;
    let tmp = std::env::temp_dir();
    let capture = tmp.join(format!("tickwire-capture-{}.jsonl", std::process::id()));
    let out = tmp.join(format!("tickwire-capture-{}.rec.jsonl", std::process::id()));
    let watch = tokio::process::Command::new(env!("CARGO_BIN_EXE_tickwire"))
        .args([
            "watch",
            "--url",
            &server.ws_url(),
            "--duration",
            "2s",
            "--capture",
        ])
        .arg(&capture)
        .arg("BTC-USD")
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .expect("run tickwire watch");
    assert!(
        watch.status.success(),
        "{}",
        String::from_utf8_lossy(&watch.stderr)
    );
    server.stop().await;

    // What the client saw, kept from the capture itself.
    let text = std::fs::read_to_string(&capture).expect("capture");
    let mut seen = WireBook::default();
    let mut seen_trades = Vec::new();
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
        match v["type"].as_str() {
            Some("book_snapshot") => seen = WireBook::from_snapshot(&v),
            Some("book_update") => {
                seen.apply(&v["bids"], true);
                seen.apply(&v["asks"], false);
            }
            Some("trade") => seen_trades.push((
                v["price"].as_str().unwrap_or_default().to_string(),
                v["qty"].as_str().unwrap_or_default().to_string(),
                v["side"].as_str().unwrap_or_default().to_string(),
            )),
            _ => {}
        }
    }
    assert!(
        text.lines()
            .next()
            .unwrap_or_default()
            .contains("\"instruments\"")
    );
    assert!(
        !seen_trades.is_empty(),
        "two seconds of BTC-USD have trades"
    );

    let stdout = succeeded(import_files(
        "tickwire",
        &[capture.display().to_string()],
        &out,
        &[],
    ));
    assert!(
        !stdout.contains("inferred"),
        "sizes from the capture: {stdout}"
    );
    assert!(!stdout.contains("gaps"), "{stdout}");
    let header = tickwire::record::open(&out).expect("open").header;
    assert_eq!(
        header
            .instruments
            .get("BTC-USD")
            .map(|i| i.tick_size.to_string()),
        Some("0.01".to_string())
    );

    let (book, trades, _) = follow(&out, "BTC-USD").await;
    assert_eq!(levels(&book.bids), levels(&seen.bids));
    assert_eq!(levels(&book.asks), levels(&seen.asks));
    assert_eq!(trades, seen_trades);
    let _ = std::fs::remove_file(&capture);
    let _ = std::fs::remove_file(&out);
}
