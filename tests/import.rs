//! `tickwire import` end to end: the hand-written Tardis samples
//! (`feeds/samples/`) imported by the real binary, the recording replayed by
//! a real server, and a client following it over a real socket: every book
//! update's checksum matches the book the client keeps, the last book is
//! the source's last snapshot, and the trades are the source's.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::wire_book::WireBook;
use common::{Server, replay_config};
use serde_json::json;

const SAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/feeds/samples/tardis");
const INSTRUMENTS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/feeds/samples/tardis/instruments.toml"
);

fn import(out: &PathBuf, extra: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tickwire"))
        .args(["import", "--format", "tardis"])
        .arg(format!(
            "{SAMPLES}/binance-futures_incremental_book_L2_BTCUSDT.csv"
        ))
        .arg(format!("{SAMPLES}/binance-futures_trades_BTCUSDT.csv"))
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .expect("run tickwire import")
}

/// Runs an import that must succeed; its standard output.
fn imported(out: &PathBuf, extra: &[&str]) -> String {
    let output = import(out, extra);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
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

    // As fast as the client reads, once it has subscribed: it sees everything.
    let config = replay_config(&out, None, &[]);
    let server = Server::start(config).await;
    let mut client = server.client().await;
    client
        .request(
            json!({"op":"subscribe","channels":["book","trades"],"symbols":["BTC-USDT"]}),
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
    // The source's last snapshot (a reconnect) is the last book.
    let levels = |side: &std::collections::BTreeMap<i64, (String, String)>| {
        side.values().cloned().collect::<Vec<_>>()
    };
    assert_eq!(
        levels(&book.bids),
        vec![("63998.0".to_string(), "1.000".to_string())]
    );
    assert_eq!(
        levels(&book.asks),
        vec![("64002.0".to_string(), "1.000".to_string())]
    );
    let expected = [
        ("64000.5", "0.500", "buy"),
        ("63999.5", "0.250", "sell"),
        // `unknown` in the source, at the ask: a buy.
        ("64000.0", "0.015", "buy"),
    ];
    let expected: Vec<(String, String, String)> = expected
        .iter()
        .map(|(p, q, s)| (p.to_string(), q.to_string(), s.to_string()))
        .collect();
    assert_eq!(trades, expected);
    server.stop().await;
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
