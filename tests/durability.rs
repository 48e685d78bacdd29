//! The data directory over real sockets and real files: recovery equals the
//! state a clean shutdown saved, field by field; a torn journal tail is
//! dropped and a damaged record stops start-up with its file and offset;
//! the directory is locked; amends keep or lose priority and survive a
//! restart; a client that missed fills gets them with `fills`; shutdown
//! delivers queued private events before close 1001.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{Client, Read, Server, instruments_with_quiet, login, quiet_order};
use serde_json::{Value, json};
use tickwire::gateway::Config;
use tickwire::gateway::durability::ServerState;
use tickwire::journal::{self, DataDir, frame, snapshot};
use tickwire::trading::Accounts;

const ACCOUNTS: &str = r#"
[[account]]
name = "alice"
token = "alice-token"
orders_per_sec = 100000

[[account]]
name = "bob"
token = "bob-token-1"
orders_per_sec = 100000

[[account]]
name = "carol"
token = "carol-token"
orders_per_sec = 100000
"#;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tickwire-dur-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// The default markets (at `scale`, so the crowd trades a lot) plus QUIET,
/// with a data directory.
fn durable_config(dir: &Path, scale: f64) -> Config {
    let instruments = instruments_with_quiet(scale);
    let accounts = Accounts::parse("accounts", ACCOUNTS, &instruments).expect("accounts");
    let mut config = Config::new(instruments, 9);
    config.accounts = accounts;
    config.requests_per_sec = 100_000.0;
    config.request_burst = 100_000.0;
    config.data_dir = Some(dir.to_path_buf());
    config.state_snapshot_every = Duration::ZERO;
    config
}

/// The state a snapshot file holds.
fn state_of(path: &Path) -> ServerState {
    let bytes = std::fs::read(path).expect("snapshot");
    snapshot::decode(&bytes).expect("decode")
}

fn bytes_of<T: serde::Serialize>(value: &T) -> Vec<u8> {
    postcard::to_stdvec(value).expect("encode")
}

fn newest_snapshot(dir: &Path) -> (u64, PathBuf) {
    let held = DataDir::open(dir).expect("dir");
    let n = *held.snapshots().expect("list").last().expect("a snapshot");
    (n, held.snapshot_path(n))
}

/// Trades for a while: alice rests orders around the touch of BTC-USD (the
/// crowd fills some), amends and cancels some; bob takes liquidity.
async fn trade_a_while(server: &Server, rounds: usize) {
    let mut alice = login(server, "alice-token").await;
    let mut bob = login(server, "bob-token-1").await;
    let mut watcher = server.client().await;
    watcher
        .request(
            json!({"op":"subscribe","channels":["ticker"],"symbols":["BTC-USD"]}),
            1,
        )
        .await;
    let ticker = watcher.until_type("ticker").await;
    let bid: f64 = ticker["bid"].as_str().expect("bid").parse().expect("bid");
    for round in 0..rounds {
        let price = format!("{:.2}", bid - (round % 5) as f64 * 0.5);
        let reply = alice
            .request(
                json!({"op":"order","symbol":"BTC-USD","side":"buy","qty":"0.01","order_type":"limit","price":price,"client_order_id":format!("a{round}")}),
                1000 + round as i64,
            )
            .await;
        assert_eq!(reply["type"], "order_accepted", "{reply}");
        let order_id = reply["order_id"].as_str().expect("id").to_string();
        match round % 3 {
            0 => {
                let r = alice
                    .request(
                        json!({"op":"amend","symbol":"BTC-USD","order_id":order_id,"qty":"0.02"}),
                        5000 + round as i64,
                    )
                    .await;
                assert!(
                    matches!(r["type"].as_str(), Some("order_amended" | "error")),
                    "{r}"
                );
            }
            1 => {
                let r = alice
                    .request(
                        json!({"op":"cancel","symbol":"BTC-USD","order_id":order_id}),
                        7000 + round as i64,
                    )
                    .await;
                assert!(
                    matches!(r["type"].as_str(), Some("order_done" | "error")),
                    "{r}"
                );
            }
            _ => {}
        }
        let r = bob
            .request(json!({"op":"order","symbol":"BTC-USD","side":"sell","qty":"0.01","order_type":"market"}), 9000 + round as i64)
            .await;
        assert_eq!(r["type"], "order_accepted", "{r}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replaying_the_journal_gives_the_state_a_clean_shutdown_saved() {
    let dir = temp_dir("equal");
    let server = Server::start(durable_config(&dir, 20.0)).await;
    trade_a_while(&server, 30).await;
    server.stop().await;
    // The final snapshot is the state at shutdown. Remove it: the next
    // start must rebuild the same state from the first snapshot and the
    // whole journal.
    let (final_n, final_path) = newest_snapshot(&dir);
    let saved = state_of(&final_path);
    std::fs::remove_file(&final_path).expect("remove");
    {
        let held = DataDir::open(&dir).expect("dir");
        assert!(
            held.snapshots().expect("list").iter().all(|&n| n < final_n),
            "only older snapshots remain"
        );
    }
    let server = Server::start(durable_config(&dir, 20.0)).await;
    server.stop().await;
    // Recovery wrote the recovered state as a snapshot before serving.
    let held = DataDir::open(&dir).expect("dir");
    let recovered_path = held
        .snapshots()
        .expect("list")
        .into_iter()
        .find(|&n| n >= final_n)
        .map(|n| held.snapshot_path(n))
        .expect("the recovery snapshot");
    drop(held);
    let recovered = state_of(&recovered_path);
    assert_eq!(
        (recovered.seed, recovered.version),
        (saved.seed, saved.version)
    );
    assert_eq!(recovered.symbols.len(), saved.symbols.len());
    for (i, (a, b)) in saved.symbols.iter().zip(&recovered.symbols).enumerate() {
        assert_eq!(
            a.heartbeat_seq, b.heartbeat_seq,
            "symbol {i}: heartbeat seq"
        );
        let (engine_a, engine_b) = (a.market.engine(), b.market.engine());
        assert_eq!(
            (
                engine_a.book_seq(),
                engine_a.trade_seq(),
                engine_a.last_order_id(),
                engine_a.now()
            ),
            (
                engine_b.book_seq(),
                engine_b.trade_seq(),
                engine_b.last_order_id(),
                engine_b.now()
            ),
            "symbol {i}: engine"
        );
        assert_eq!(
            bytes_of(engine_a.book()),
            bytes_of(engine_b.book()),
            "symbol {i}: book"
        );
        assert_eq!(
            bytes_of(a.market.sim()),
            bytes_of(b.market.sim()),
            "symbol {i}: simulator"
        );
        assert_eq!(
            bytes_of(&a.market),
            bytes_of(&b.market),
            "symbol {i}: market"
        );
    }
    assert_eq!(recovered.accounts.len(), saved.accounts.len());
    for (a, b) in saved.accounts.iter().zip(&recovered.accounts) {
        assert_eq!(
            bytes_of(&a.orders),
            bytes_of(&b.orders),
            "{}: orders",
            a.name
        );
        assert_eq!(
            bytes_of(&a.ledger),
            bytes_of(&b.ledger),
            "{}: ledger",
            a.name
        );
        assert_eq!(a.log, b.log, "{}: private log", a.name);
    }
    assert!(
        saved.accounts.iter().any(|a| a.log.last_seq() > 50),
        "the run traded: {:?}",
        saved
            .accounts
            .iter()
            .map(|a| a.log.last_seq())
            .collect::<Vec<_>>()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_torn_tail_is_dropped_and_a_damaged_record_stops_start_up() {
    let dir = temp_dir("torn");
    let server = Server::start(durable_config(&dir, 5.0)).await;
    trade_a_while(&server, 5).await;
    server.stop().await;
    // Force recovery through the journal: drop the final snapshot.
    let (_, final_path) = newest_snapshot(&dir);
    std::fs::remove_file(&final_path).expect("remove");
    let (first, segment) = {
        let held = DataDir::open(&dir).expect("dir");
        let first = *held.snapshots().expect("list").last().expect("snapshot");
        // The segment the removed snapshot began is empty: without it, the
        // journal ends where the server's last records are.
        for n in held
            .segments()
            .expect("list")
            .into_iter()
            .filter(|&n| n > first)
        {
            std::fs::remove_file(held.segment_path(n)).expect("remove");
        }
        (first, held.segment_path(first))
    };
    let bytes = std::fs::read(&segment).expect("segment");
    let mut starts = Vec::new();
    let end = frame::scan(
        &bytes[frame::SEGMENT_HEADER..],
        frame::SEGMENT_HEADER,
        |at, _| {
            starts.push(at);
            Ok(())
        },
    );
    assert_eq!(end, frame::End::Clean);
    assert!(starts.len() > 10, "{} records", starts.len());
    let whole = starts.len() as u64;
    let last = *starts.last().expect("a record");
    // Cut at every offset of the last record: the others all come back.
    for cut in last..bytes.len() {
        std::fs::write(&segment, &bytes[..cut]).expect("cut");
        let held = DataDir::open(&dir).expect("dir");
        let read = journal::read(&held, first, |_| Ok(())).expect("a torn tail is not an error");
        assert_eq!(read.records, whole - 1, "cut at {cut}");
        assert_eq!(read.torn.is_some(), cut > last, "cut at {cut}");
    }
    // Segments are created whole (their header written under a temporary
    // name, then renamed): none is shorter than a header, nothing is left
    // under the temporary name, and a newest segment cut inside its header
    // (which only damage can now make) stops recovery, named.
    std::fs::write(&segment, &bytes).expect("restore");
    let held = DataDir::open(&dir).expect("dir");
    for n in held.segments().expect("list") {
        let body = std::fs::read(held.segment_path(n)).expect("segment");
        assert_eq!(frame::check_header(&body), Ok(n), "segment {n}");
    }
    assert!(!dir.join("journal-new.tmp").exists());
    let next = held.segment_path(first + 1);
    for cut in [0, 8, frame::SEGMENT_HEADER - 1] {
        std::fs::write(&next, &frame::segment_header(first + 1)[..cut]).expect("short");
        let err = journal::read(&held, first, |_| Ok(())).expect_err("a cut header is damage");
        assert!(
            err.to_string().contains(&next.display().to_string()),
            "{err}"
        );
    }
    drop(held);
    std::fs::remove_file(&next).expect("remove");
    // A server starts on a torn journal (a cut in the middle of the last
    // record's payload) and trims it.
    std::fs::write(&segment, &bytes[..bytes.len() - 3]).expect("cut");
    let copy = temp_dir("torn-copy");
    copy_dir(&dir, &copy);
    let server = Server::start(durable_config(&copy, 5.0)).await;
    let mut c = login(&server, "alice-token").await;
    let r = c.request(json!({"op":"account"}), 1).await;
    assert_eq!(r["type"], "account", "{r}");
    server.stop().await;
    // A flipped byte in a record before the last: start-up stops, naming
    // the file and the offset.
    let middle = starts[starts.len() / 2];
    let mut damaged = bytes.clone();
    damaged[middle + frame::FRAME_HEADER] ^= 0x55;
    std::fs::write(&segment, &damaged).expect("damage");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let result = tickwire::gateway::serve(listener, durable_config(&dir, 5.0), async {}).await;
    let message = result
        .expect_err("a damaged journal stops start-up")
        .to_string();
    assert!(
        message.contains(&segment.display().to_string())
            && message.contains(&format!("offset {middle}"))
            && message.contains("--from-last-snapshot"),
        "{message}"
    );
    // --from-last-snapshot starts from the records before the damage.
    let mut config = durable_config(&dir, 5.0);
    config.from_last_snapshot = true;
    let server = Server::start(config).await;
    let mut c = login(&server, "alice-token").await;
    let r = c.request(json!({"op":"account"}), 1).await;
    assert_eq!(r["type"], "account", "{r}");
    server.stop().await;
    let kept: Vec<_> = std::fs::read_dir(&dir)
        .expect("dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".damaged"))
        .collect();
    assert!(!kept.is_empty(), "the damaged segment is kept aside");
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&copy);
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("dir").filter_map(|e| e.ok()) {
        if entry.file_name() != "LOCK" {
            std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_server_on_the_same_directory_is_refused() {
    let dir = temp_dir("lock");
    let server = Server::start(durable_config(&dir, 1.0)).await;
    let mut c = server.client().await;
    c.request(json!({"op":"ping"}), 1).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let result = tickwire::gateway::serve(listener, durable_config(&dir, 1.0), async {}).await;
    let message = result.expect_err("refused").to_string();
    assert!(
        message.contains("in use by another tickwire server")
            && message.contains(&dir.display().to_string()),
        "{message}"
    );
    server.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amends_keep_or_lose_priority_and_survive_a_restart() {
    let dir = temp_dir("amend");
    let server = Server::start(durable_config(&dir, 1.0)).await;
    let mut alice = login(&server, "alice-token").await;
    let mut bob = login(&server, "bob-token-1").await;
    let mut carol = login(&server, "carol-token").await;
    // Two sells at 101: alice's first, then bob's; carol takes.
    let a = alice
        .request(quiet_order("sell", "2", Some("101.00")), 1)
        .await;
    let a_id = a["order_id"].as_str().expect("id").to_string();
    let b = bob
        .request(quiet_order("sell", "1", Some("101.00")), 2)
        .await;
    let b_id = b["order_id"].as_str().expect("id").to_string();
    // Quantity down keeps alice first in the queue.
    let r = alice
        .request(
            json!({"op":"amend","symbol":"QUIET","order_id":a_id,"qty":"1.5"}),
            3,
        )
        .await;
    assert_eq!(r["type"], "order_amended", "{r}");
    assert_eq!(
        (
            r["qty"].as_str(),
            r["leaves_qty"].as_str(),
            r["price"].as_str()
        ),
        (Some("1.50"), Some("1.50"), Some("101.00")),
        "{r}"
    );
    assert!(r["seq"].as_u64().is_some(), "private events carry seq: {r}");
    let take = carol.request(quiet_order("buy", "0.5", None), 4).await;
    assert_eq!(take["type"], "order_accepted");
    let status = alice
        .request(
            json!({"op":"order_status","symbol":"QUIET","order_id":a_id}),
            5,
        )
        .await;
    assert_eq!(
        status["order"]["filled_qty"], "0.50",
        "alice was still first: {status}"
    );
    // Quantity up sends alice behind bob.
    let r = alice
        .request(
            json!({"op":"amend","symbol":"QUIET","order_id":a_id,"qty":"2"}),
            6,
        )
        .await;
    assert_eq!(
        (r["qty"].as_str(), r["leaves_qty"].as_str()),
        (Some("2.00"), Some("1.50")),
        "{r}"
    );
    carol.request(quiet_order("buy", "1", None), 7).await;
    let bob_status = bob
        .request(
            json!({"op":"order_status","symbol":"QUIET","order_id":b_id}),
            8,
        )
        .await;
    assert_eq!(
        bob_status["order"]["status"], "filled",
        "bob went first: {bob_status}"
    );
    // A price change also loses priority; amending below what is filled is refused.
    let r = alice
        .request(
            json!({"op":"amend","symbol":"QUIET","order_id":a_id,"qty":"0.5"}),
            9,
        )
        .await;
    assert_eq!(
        (r["type"].as_str(), r["code"].as_str()),
        (Some("error"), Some("invalid_qty")),
        "{r}"
    );
    let r = alice
        .request(
            json!({"op":"amend","symbol":"QUIET","order_id":a_id,"price":"102.00"}),
            10,
        )
        .await;
    assert_eq!(r["price"], "102.00", "{r}");
    let r = alice
        .request(
            json!({"op":"amend","symbol":"QUIET","order_id":"QUIET:999999","price":"102.00"}),
            11,
        )
        .await;
    assert_eq!(r["code"], "unknown_order", "{r}");
    let before = alice
        .request(
            json!({"op":"order_status","symbol":"QUIET","order_id":a_id}),
            12,
        )
        .await;
    let fills_before = alice.request(json!({"op":"fills","since":0}), 13).await;
    drop(alice);
    server.stop().await;
    let server = Server::start(durable_config(&dir, 1.0)).await;
    let mut alice = login(&server, "alice-token").await;
    let after = alice
        .request(
            json!({"op":"order_status","symbol":"QUIET","order_id":a_id}),
            12,
        )
        .await;
    assert_eq!(
        after["order"], before["order"],
        "the amended order comes back as it was"
    );
    let fills_after = alice.request(json!({"op":"fills","since":0}), 13).await;
    assert_eq!(fills_after["fills"], fills_before["fills"]);
    server.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// Private events in order, checking each account's `seq` has no gap.
fn seq_of(v: &Value) -> Option<u64> {
    matches!(
        v["type"].as_str(),
        Some("order_accepted" | "order_amended" | "fill" | "order_done")
    )
    .then(|| v["seq"].as_u64())
    .flatten()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_missed_fills_gets_every_one_with_fills_since() {
    let dir = temp_dir("fills");
    let server = Server::start(durable_config(&dir, 1.0)).await;
    let mut alice = login(&server, "alice-token").await;
    let mut bob = login(&server, "bob-token-1").await;
    let orders = 60;
    let mut last_seq = 0;
    for i in 0..orders {
        let r = alice
            .request(quiet_order("sell", "0.10", Some("100.50")), 10 + i)
            .await;
        assert_eq!(r["type"], "order_accepted", "{r}");
        assert_eq!(r["seq"].as_u64(), Some(last_seq + 1), "no gap: {r}");
        last_seq += 1;
    }
    // Alice reads a few of the fills of bob's sweep, then loses her connection.
    bob.send(
        json!({"op":"order","id":1,"symbol":"QUIET","side":"buy","qty":"6","order_type":"market"}),
    )
    .await;
    let mut seen = Vec::new();
    while seen.len() < 7 {
        let v = alice.next_json().await;
        if let Some(seq) = seq_of(&v) {
            assert_eq!(seq, last_seq + 1, "no gap: {v}");
            last_seq = seq;
            if v["type"] == "fill" {
                seen.push(v);
            }
        }
    }
    drop(alice);
    bob.until_type("order_done").await;
    let mut alice = login(&server, "alice-token").await;
    let mut missed = Vec::new();
    let mut since = last_seq;
    loop {
        let r = alice.request(json!({"op":"fills","since":since}), 2).await;
        let page = r["fills"].as_array().expect("fills").clone();
        if let Some(last) = page.last() {
            since = last["seq"].as_u64().expect("seq");
        }
        missed.extend(page);
        if r["more"] != true {
            break;
        }
    }
    assert_eq!(
        seen.len() + missed.len(),
        orders as usize,
        "every fill, once"
    );
    for pair in missed.windows(2) {
        assert!(
            pair[0]["seq"].as_u64() < pair[1]["seq"].as_u64(),
            "oldest first"
        );
    }
    assert!(missed.iter().all(|f| f["seq"].as_u64() > Some(last_seq)));
    let position = alice.request(json!({"op":"account"}), 3).await;
    let quiet = position["positions"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["symbol"] == "QUIET"))
        .cloned()
        .expect("a QUIET position");
    assert_eq!(quiet["position"], "-6.00", "{position}");
    // By time as well: everything from the start.
    let r = alice
        .request(json!({"op":"fills","since_ts":0,"symbol":"QUIET"}), 4)
        .await;
    assert_eq!(r["fills"].as_array().map(Vec::len), Some(orders as usize));
    let r = alice
        .request(json!({"op":"fills","since":1,"since_ts":1}), 5)
        .await;
    assert_eq!(r["code"], "bad_request", "{r}");
    server.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_delivers_queued_private_events_before_1001() {
    let dir = temp_dir("shutdown");
    let mut config = durable_config(&dir, 1.0);
    config.shutdown_grace = Duration::from_secs(20);
    config.close_timeout = Duration::from_secs(20);
    let server = Server::start(config).await;
    // Alice's socket holds little, so her events wait in the server.
    let mut alice = Client::connect_small(server.addr, 4096).await;
    let r = alice
        .request(json!({"op":"auth","token":"alice-token"}), 100)
        .await;
    assert_eq!(r["type"], "authenticated", "{r}");
    let mut bob = login(&server, "bob-token-1").await;
    // Over 16,000 private events (5 MB): more than the kernel's socket
    // buffers hold.
    let orders = 8000;
    for i in 0..orders {
        alice
            .send(json!({"op":"order","id":10 + i,"symbol":"QUIET","side":"sell","qty":"0.01","order_type":"limit","price":"100.50"}))
            .await;
    }
    let mut acks = 0;
    while acks < orders {
        if alice.next_json().await["type"] == "order_accepted" {
            acks += 1;
        }
    }
    // Bob's sweeps make a fill and an order_done for each of alice's
    // orders; the server stops as soon as bob is answered, while alice has
    // read none of them.
    for id in [1, 2] {
        let r = bob
            .request(json!({"op":"order","symbol":"QUIET","side":"buy","qty":"40","order_type":"market"}), id)
            .await;
        assert_eq!(r["type"], "order_accepted", "{r}");
    }
    let stopping = tokio::spawn(server.stop());
    // Alice starts reading only once the shutdown has reached her
    // connection, with most of her events still queued.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (mut fills, mut done) = (0, 0);
    let close = loop {
        match alice.read().await {
            Read::Text(text) => {
                let v: Value = serde_json::from_str(&text).expect("JSON");
                match v["type"].as_str() {
                    Some("fill") => fills += 1,
                    Some("order_done") => done += 1,
                    Some("shutdown") => {
                        assert_eq!(
                            (fills, done),
                            (orders, orders),
                            "everything before the notice"
                        );
                    }
                    _ => {}
                }
            }
            Read::Close(frame) => break frame,
            Read::Ended => panic!("ended without a close after {fills} fills"),
        }
    };
    assert_eq!(close.map(|f| u16::from(f.code)), Some(1001));
    assert_eq!((fills, done), (orders, orders));
    let _ = stopping.await;
    let _ = std::fs::remove_dir_all(&dir);
}
