//! Slow consumers and shutdown, over real sockets.

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::{Read, Server, config};
use serde_json::{Value, json};

// Time is paused: the simulated market advances only when every task, the
// fast reader included, has nothing left to do. So the fast reader keeps
// pace by construction, however loaded the machine (on real time, a stall
// of this process under two whole suites let the feed's catch-up burst
// outrun it by the 256 KiB budget, and it lagged).
#[tokio::test(start_paused = true)]
async fn a_client_that_stops_reading_lags_alone_within_its_budget() {
    let mut cfg = config(20.0);
    let budget = 256 * 1024;
    cfg.lag.budget = budget;
    let server = Server::start(cfg).await;
    let subscribe = json!({"op":"subscribe","channels":["book","trades","ticker"],"symbols":["BTC-USD","ETH-USD","SOL-USD","AAPL"]});
    let mut slow = server.client().await;
    slow.request(subscribe.clone(), 1).await;
    let mut fast = server.client().await;
    fast.request(subscribe, 1).await;

    // The slow client reads nothing until it has lagged; the fast one
    // reads everything, in order, meanwhile (at least 5,000 messages: a
    // count, not a rate), and the slow one's queue stays within budget.
    let mut last: HashMap<(String, String), u64> = HashMap::new();
    let mut received = 0u64;
    let mut max_queued = 0.0f64;
    let mut lagged = 0.0f64;
    let deadline = Instant::now() + Duration::from_secs(120);
    while received < 5_000 || lagged < 1.0 {
        assert!(
            Instant::now() < deadline,
            "the slow client never lagged ({received} read)"
        );
        let v = fast.next_json().await;
        let kind = v["type"].as_str().unwrap_or_default().to_string();
        assert_ne!(kind, "lagged", "the reading client never lags");
        let stream = match kind.as_str() {
            "book_snapshot" | "book_update" => "book",
            "trade" => "trades",
            "ticker" => "ticker",
            _ => continue,
        };
        let seq = v["seq"].as_u64().expect("seq");
        let key = (stream.to_string(), v["symbol"].to_string());
        if let Some(previous) = last.insert(key.clone(), seq) {
            assert_eq!(seq, previous + 1, "{key:?} in order");
        }
        received += 1;
        if received.is_multiple_of(200) {
            max_queued = max_queued.max(server.metric("tickwire_outbound_queue_bytes_max").await);
            lagged = server.metric("tickwire_lagged_total").await;
        }
    }
    assert!(
        max_queued <= budget as f64,
        "queued {max_queued} bytes, budget {budget}"
    );
    assert!(
        server.metric("tickwire_lagged_total").await >= 1.0,
        "the slow client lagged"
    );

    // The slow client now reads: it finds `lagged` then fresh snapshots, or
    // (after three lags) close 1008.
    let outcome = loop {
        match slow.read().await {
            Read::Text(text) => {
                let v: Value = serde_json::from_str(&text).expect("JSON");
                if v["type"] == "lagged" {
                    assert!(v["dropped"].as_u64().is_some_and(|d| d > 0), "{v}");
                    assert!(!v["streams"].as_array().expect("streams").is_empty(), "{v}");
                    let snapshot = slow.until_type("book_snapshot").await;
                    assert!(snapshot["bids"].as_array().is_some_and(|b| !b.is_empty()));
                    break "lagged";
                }
            }
            Read::Close(Some(frame)) => {
                assert_eq!(
                    (u16::from(frame.code), frame.reason.as_str()),
                    (1008, "slow consumer")
                );
                break "closed";
            }
            other => panic!("expected lagged or close 1008, got {other:?}"),
        }
    };
    println!("slow client outcome: {outcome}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_says_so_and_closes_every_client_with_1001() {
    let server = Server::start(config(5.0)).await;
    let mut clients = Vec::new();
    for _ in 0..3 {
        let mut c = server.client().await;
        c.request(
            json!({"op":"subscribe","channels":["trades","book"],"symbols":["BTC-USD"]}),
            1,
        )
        .await;
        clients.push(c);
    }
    let stopping = tokio::spawn(server.stop());
    for c in &mut clients {
        let notice = c.until_type("shutdown").await;
        assert!(notice["ts"].as_u64().is_some());
        match c.read().await {
            Read::Close(Some(frame)) => assert_eq!(u16::from(frame.code), 1001),
            other => panic!("expected close 1001, got {other:?}"),
        }
    }
    stopping.await.expect("server stopped");
}
