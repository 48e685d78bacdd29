//! Faults on demand over real sockets: each fault of `tickwire::faults`
//! set by a client (`{"op":"faults"}`) on a server that allows it, seen
//! from the wire, never reaching another connection; and the server-wide
//! `--faults` schedule.

mod common;

use std::time::{Duration, Instant};

use common::wire_book::WireBook;
use common::{Client, Read, Server, config};
use serde_json::{Value, json};
use tickwire::faults::FaultSpec;
use tickwire::gateway::Config;

fn allowing() -> Config {
    let mut config = config(20.0);
    config.allow_fault_requests = true;
    config
}

/// A client following BTC-USD's book: the snapshot it got.
async fn book_client(server: &Server) -> (Client, Value) {
    let mut client = server.client().await;
    client
        .request(
            json!({"op":"subscribe","channels":["book"],"symbols":["BTC-USD"]}),
            1,
        )
        .await;
    let snapshot = client.until_type("book_snapshot").await;
    (client, snapshot)
}

async fn set(client: &mut Client, spec: &str) -> Value {
    let answer = client.request(json!({"op":"faults","spec":spec}), 2).await;
    assert_eq!(answer["type"], "faults", "{answer}");
    answer
}

/// The next `n` book updates.
async fn updates(client: &mut Client, n: usize) -> Vec<Value> {
    let mut out = Vec::new();
    while out.len() < n {
        let v = client.next_json().await;
        if v["type"] == "book_update" {
            out.push(v);
        }
    }
    out
}

fn seqs(updates: &[Value]) -> Vec<u64> {
    updates.iter().filter_map(|u| u["seq"].as_u64()).collect()
}

/// The steps between consecutive `seq`s other than 1.
fn odd_steps(seqs: &[u64]) -> Vec<i64> {
    seqs.windows(2)
        .map(|w| w[1] as i64 - w[0] as i64)
        .filter(|d| *d != 1)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_requests_are_refused_unless_allowed_and_bad_specs_say_why() {
    let server = Server::start(config(1.0)).await;
    let mut client = server.client().await;
    let refused = client
        .request(json!({"op":"faults","spec":"drop"}), 1)
        .await;
    assert_eq!(refused["code"], "unauthorized", "{refused}");
    assert!(
        refused["message"]
            .as_str()
            .unwrap_or_default()
            .contains("--allow-fault-requests")
    );
    server.stop().await;

    let server = Server::start(allowing()).await;
    let mut client = server.client().await;
    let bad = client
        .request(json!({"op":"faults","spec":"drop:orders"}), 1)
        .await;
    assert_eq!(bad["code"], "bad_request", "{bad}");
    assert_eq!(
        bad["message"],
        "spec: unknown channel \"orders\" (one of book, trades, ticker, candles, heartbeat)"
    );
    let missing = client.request(json!({"op":"faults"}), 2).await;
    assert_eq!(missing["code"], "bad_request", "{missing}");
    let answer = set(&mut client, "seed=9;drop@after=5").await;
    assert_eq!(answer["spec"], "seed=9;drop@after=5");
    assert_eq!(answer["seed"], 9);
    let cleared = set(&mut client, "").await;
    assert_eq!(cleared["spec"], "");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_duplicated_and_reordered_messages_reach_only_their_connection() {
    let server = Server::start(allowing()).await;
    let (mut faulty, _) = book_client(&server).await;
    let (mut other, _) = book_client(&server).await;

    set(&mut faulty, "drop:book:3@after=4").await;
    assert_eq!(odd_steps(&seqs(&updates(&mut faulty, 300).await)), [4]);
    set(&mut faulty, "duplicate:book@after=3").await;
    assert_eq!(odd_steps(&seqs(&updates(&mut faulty, 300).await)), [0]);
    set(&mut faulty, "reorder:book@after=3").await;
    assert_eq!(
        odd_steps(&seqs(&updates(&mut faulty, 300).await)),
        [2, -1, 2]
    );

    // The other connection saw every update once, in order.
    let clean = seqs(&updates(&mut other, 80).await);
    assert!(odd_steps(&clean).is_empty(), "{clean:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupted_checksum_is_wrong_once_and_the_book_itself_is_right() {
    let server = Server::start(allowing()).await;
    // Set before subscribing, so that the client sees every update.
    let mut client = server.client().await;
    set(&mut client, "corrupt@after=3").await;
    client
        .request(
            json!({"op":"subscribe","channels":["book"],"symbols":["BTC-USD"]}),
            1,
        )
        .await;
    let snapshot = client.until_type("book_snapshot").await;
    let mut book = WireBook::from_snapshot(&snapshot);
    let mut seq = snapshot["seq"].as_u64().unwrap_or_default();
    let mut wrong = 0;
    for update in updates(&mut client, 100).await {
        seq += 1;
        assert_eq!(update["seq"].as_u64(), Some(seq));
        book.apply(&update["bids"], true);
        book.apply(&update["asks"], false);
        if update["checksum"].as_u64() != Some(u64::from(book.checksum())) {
            wrong += 1;
        }
    }
    assert_eq!(wrong, 1);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stall_holds_everything_back_then_lets_it_through() {
    let server = Server::start(allowing()).await;
    let (mut client, _) = book_client(&server).await;
    set(&mut client, "stall:1s@after=2").await;
    let mut longest = Duration::ZERO;
    let mut last = Instant::now();
    for _ in 0..40 {
        client.next_json().await;
        longest = longest.max(last.elapsed());
        last = Instant::now();
    }
    // Data the socket held from before the stall may be read in its first
    // moments, so the silence seen can be a little under the 1 s.
    assert!(
        longest >= Duration::from_millis(800),
        "longest silence {longest:?}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closes_lags_and_shutdowns_on_demand() {
    let server = Server::start(allowing()).await;

    let (mut abrupt, _) = book_client(&server).await;
    set(&mut abrupt, "close:abrupt@after=2").await;
    loop {
        match abrupt.read().await {
            Read::Text(_) => continue,
            Read::Close(frame) => panic!("a close frame: {frame:?}"),
            Read::Ended => break,
        }
    }

    let (mut coded, _) = book_client(&server).await;
    set(&mut coded, "close:4001@after=2").await;
    loop {
        match coded.read().await {
            Read::Text(_) => continue,
            Read::Close(frame) => {
                let frame = frame.expect("a close frame with a code");
                assert_eq!(u16::from(frame.code), 4001);
                break;
            }
            Read::Ended => panic!("ended without a close frame"),
        }
    }

    let (mut lagging, _) = book_client(&server).await;
    set(&mut lagging, "lagged@after=2").await;
    let lagged = lagging.until_type("lagged").await;
    assert_eq!(lagged["streams"][0]["channel"], "book", "{lagged}");
    let fresh = lagging.until_type("book_snapshot").await;
    assert_eq!(fresh["symbol"], "BTC-USD");

    let (mut stopping, _) = book_client(&server).await;
    set(&mut stopping, "shutdown@after=2").await;
    stopping.until_type("shutdown").await;
    loop {
        match stopping.read().await {
            Read::Text(_) => continue,
            Read::Close(frame) => {
                assert_eq!(frame.map(|f| u16::from(f.code)), Some(1001));
                break;
            }
            Read::Ended => panic!("ended without a close frame"),
        }
    }
    // The server itself goes on.
    let (mut after, _) = book_client(&server).await;
    assert!(odd_steps(&seqs(&updates(&mut after, 10).await)).is_empty());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_servers_schedule_applies_to_every_connection() {
    let mut config = config(20.0);
    config.faults = Some(FaultSpec::parse("drop:book:2@after=6").expect("spec"));
    let server = Server::start(config).await;
    for _ in 0..2 {
        let (mut client, snapshot) = book_client(&server).await;
        let mut seen = vec![snapshot["seq"].as_u64().unwrap_or_default()];
        seen.extend(seqs(&updates(&mut client, 20).await));
        assert_eq!(odd_steps(&seen), [3], "{seen:?}");
    }
    // A client cannot change it without --allow-fault-requests.
    let mut client = server.client().await;
    let refused = client.request(json!({"op":"faults","spec":""}), 1).await;
    assert_eq!(refused["code"], "unauthorized");
    server.stop().await;
}
