//! Market data over a real socket: a client that keeps a book from the
//! snapshot and the updates checks every seq and every checksum, and matches
//! a fresh snapshot at the end; two clients get the same bytes.

mod common;

use std::collections::HashMap;

use common::wire_book::WireBook;
use common::{Server, config};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_and_updates_reproduce_the_book_with_every_checksum() {
    // BTC-USD at 200 x 60 = 12,000 events a second.
    let server = Server::start(config(60.0)).await;
    let mut client = server.client().await;
    let subscribed = client
        .request(
            json!({"op":"subscribe","channels":["book"],"symbols":["BTC-USD"]}),
            1,
        )
        .await;
    assert_eq!(subscribed["type"], "subscribed");
    assert_eq!(
        subscribed["subscriptions"],
        json!([{"channel":"book","symbol":"BTC-USD"}])
    );
    let snapshot = client.until_type("book_snapshot").await;
    let mut book = WireBook::from_snapshot(&snapshot);
    assert_eq!(
        book.checksum() as u64,
        snapshot["checksum"].as_u64().expect("checksum")
    );
    assert!(
        book.bids.len() >= 20 && book.asks.len() >= 20,
        "a warm book: {book:?}"
    );
    let mut seq = snapshot["seq"].as_u64().expect("seq");
    let mut updates = 0;
    while updates < 10_000 {
        let update = client.next_json().await;
        assert_eq!(update["type"], "book_update", "{update}");
        assert_eq!(update["symbol"], "BTC-USD");
        seq += 1;
        assert_eq!(update["seq"].as_u64(), Some(seq), "gap-free seq");
        book.apply(&update["bids"], true);
        book.apply(&update["asks"], false);
        assert_eq!(
            book.checksum() as u64,
            update["checksum"].as_u64().expect("checksum"),
            "checksum at seq {seq}"
        );
        assert!(!book.crossed(), "crossed at seq {seq}");
        updates += 1;
    }
    // Subscribing again is the resync: a fresh snapshot, in sequence.
    client
        .send(json!({"op":"subscribe","id":2,"channels":["book"],"symbols":["BTC-USD"]}))
        .await;
    loop {
        let message = client.next_json().await;
        match message["type"].as_str() {
            Some("book_update") => {
                seq += 1;
                assert_eq!(message["seq"].as_u64(), Some(seq));
                book.apply(&message["bids"], true);
                book.apply(&message["asks"], false);
            }
            Some("subscribed") => assert_eq!(message["id"], 2),
            Some("book_snapshot") => {
                assert_eq!(
                    message["seq"].as_u64(),
                    Some(seq),
                    "the snapshot sits right after the last update"
                );
                assert_eq!(
                    WireBook::from_snapshot(&message),
                    book,
                    "the kept book equals the fresh snapshot"
                );
                break;
            }
            other => panic!("unexpected {other:?}: {message}"),
        }
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_clients_receive_byte_identical_market_data() {
    let server = Server::start(config(20.0)).await;
    let subscribe = json!({"op":"subscribe","channels":["book","trades","ticker"],"symbols":["BTC-USD","ETH-USD"]});
    let mut a = server.client().await;
    let mut b = server.client().await;
    a.request(subscribe.clone(), 1).await;
    b.request(subscribe, 1).await;
    let mut seen: [HashMap<(String, String, u64), String>; 2] = [HashMap::new(), HashMap::new()];
    for (i, client) in [&mut a, &mut b].into_iter().enumerate() {
        while seen[i].len() < 3_000 {
            let text = client.next_text().await;
            let v: Value = serde_json::from_str(&text).expect("JSON");
            if matches!(v["type"].as_str(), Some("book_update" | "trade" | "ticker")) {
                let stream = (
                    v["type"].as_str().unwrap_or("").to_string(),
                    v["symbol"].to_string(),
                    v["seq"].as_u64().unwrap_or(0),
                );
                seen[i].insert(stream, text);
            }
        }
    }
    let common: Vec<_> = seen[0]
        .keys()
        .filter(|k| seen[1].contains_key(*k))
        .collect();
    assert!(
        common.len() > 1_000,
        "the two clients overlap on {} messages",
        common.len()
    );
    for k in common {
        assert_eq!(seen[0][k], seen[1][k], "{k:?} differs");
    }
    server.stop().await;
}
