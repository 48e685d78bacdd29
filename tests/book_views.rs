//! The book's views of PROTOCOL.md v1.1 over a real socket: one client
//! follows the whole book, its top 10 at every change and its top 25 at
//! most every 100 ms, each from its own snapshot with its own gap-free
//! `seq` and the checksum; every view message equals the top of the whole
//! book the client holds at that point; heartbeats carry each view's `seq`.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::wire_book::WireBook;
use common::{Server, config};
use serde_json::{Value, json};

/// One stream as the client follows it.
#[derive(Default)]
struct Followed {
    book: Option<WireBook>,
    seq: u64,
    updates: u64,
    snapshots: u64,
}

/// `full`, `10`, `25_100ms`: which stream a book message belongs to.
fn stream_key(m: &Value) -> String {
    match (m["depth"].as_u64(), m["interval"].as_str()) {
        (None, None) => "full".into(),
        (Some(d), None) => d.to_string(),
        (None, Some(i)) => i.to_string(),
        (Some(d), Some(i)) => format!("{d}_{i}"),
    }
}

fn depth_of(key: &str) -> Option<usize> {
    key.split('_').next().and_then(|d| d.parse().ok())
}

/// Applies a book message to its stream, checking seq, checksum and, for
/// a view, that it equals the top of the whole book held now.
fn follow(streams: &mut BTreeMap<String, Followed>, m: &Value) {
    let key = stream_key(m);
    let seq = m["seq"].as_u64().expect("seq");
    let full_top = |depth: usize, streams: &BTreeMap<String, Followed>| {
        streams
            .get("full")
            .and_then(|f| f.book.as_ref())
            .map(|b| b.top(depth))
    };
    let s = streams.entry(key.clone()).or_default();
    if m["type"] == "book_snapshot" {
        s.book = Some(WireBook::from_snapshot(m));
        s.snapshots += 1;
    } else {
        assert_eq!(seq, s.seq + 1, "{key}: seq {seq} after {}", s.seq);
        let book = s.book.as_mut().expect("an update after the snapshot");
        book.apply(&m["bids"], true);
        book.apply(&m["asks"], false);
        s.updates += 1;
    }
    s.seq = seq;
    let book = s.book.as_ref().expect("book");
    assert_eq!(
        book.checksum() as u64,
        m["checksum"].as_u64().expect("checksum"),
        "{key}: checksum at seq {seq}"
    );
    assert!(!book.crossed(), "{key}: crossed at {seq}");
    if let Some(depth) = depth_of(&key) {
        assert!(book.bids.len() <= depth && book.asks.len() <= depth);
        let view = WireBook {
            bids: book.bids.clone(),
            asks: book.asks.clone(),
        };
        if let Some(top) = full_top(depth, streams) {
            assert_eq!(
                view, top,
                "{key} at seq {seq} differs from the whole book's top"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn views_follow_the_book_with_their_own_seq_and_checksum() {
    // BTC-USD at 200 x 20 = 4,000 events a second.
    let server = Server::start(config(20.0)).await;
    let mut client = server.client().await;
    let sub = |id: i64, extra: Value| {
        let mut r = json!({"op":"subscribe","id":id,"channels":["book"],"symbols":["BTC-USD"]});
        for (k, v) in extra.as_object().expect("object") {
            r[k] = v.clone();
        }
        r
    };
    // Sent back to back: nothing is read (and lost) between them.
    let subscribing = Instant::now();
    client.send(sub(1, json!({}))).await;
    client.send(sub(2, json!({"depth": 10}))).await;
    client
        .send(sub(3, json!({"depth": 25, "interval": "100ms"})))
        .await;
    client
        .send(json!({"op":"subscribe","id":4,"channels":["heartbeat"],"symbols":["BTC-USD"]}))
        .await;
    let mut streams: BTreeMap<String, Followed> = BTreeMap::new();
    let mut heartbeats = 0;
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(3500) {
        let m = client.next_json().await;
        match m["type"].as_str() {
            Some("subscribed") if m["id"] == 3 => {
                let list = m["subscriptions"].as_array().expect("list");
                assert!(list.contains(&json!({"channel":"book","symbol":"BTC-USD"})));
                assert!(list.contains(&json!({"channel":"book","symbol":"BTC-USD","depth":10})));
                assert!(list.contains(
                    &json!({"channel":"book","symbol":"BTC-USD","depth":25,"interval":"100ms"})
                ));
            }
            Some("book_snapshot" | "book_update") => {
                follow(&mut streams, &m);
            }
            Some("heartbeat") => {
                let last = &m["last_seq"];
                for (key, name) in [
                    ("full", "book"),
                    ("10", "book_10"),
                    ("25_100ms", "book_25_100ms"),
                ] {
                    if let Some(s) = streams.get(key) {
                        assert_eq!(last[name].as_u64(), Some(s.seq), "heartbeat {name}: {m}");
                    }
                }
                heartbeats += 1;
            }
            Some("error") => panic!("{m}"),
            _ => {}
        }
    }
    assert!(heartbeats >= 2, "heartbeats: {heartbeats}");
    let (full, ten, throttled) = (&streams["full"], &streams["10"], &streams["25_100ms"]);
    assert!(full.updates > 1000, "full: {}", full.updates);
    assert!(
        ten.updates > 10 && ten.updates < full.updates,
        "top 10: {}",
        ten.updates
    );
    assert!(throttled.updates > 5, "25 at 100 ms: {}", throttled.updates);
    // At most one update per 100 ms tick: every update counted was sent
    // between the subscription and the last read, and ticks are never
    // closer than 100 ms (a slow machine only makes this span longer).
    let allowed = subscribing.elapsed().as_millis() as u64 / 100 + 1;
    assert!(
        throttled.updates <= allowed,
        "{} updates, {allowed} allowed",
        throttled.updates
    );

    // Subscribing again is the resync: a snapshot at the view's seq.
    client.send(sub(5, json!({"depth": 10}))).await;
    loop {
        let m = client.next_json().await;
        if m["type"] == "book_snapshot" && stream_key(&m) == "10" {
            let before = streams["10"].seq;
            assert!(m["seq"].as_u64() >= Some(before), "resync seq");
            follow(&mut streams, &m);
            break;
        }
        if m["type"].as_str().is_some_and(|t| t.starts_with("book_")) {
            follow(&mut streams, &m);
        }
    }

    // `unsubscribe` names each book stream exactly: the whole book alone
    // leaves the views; then the views go too, and nothing of them follows
    // the answer.
    client
        .send(json!({"op":"unsubscribe","id":6,"channels":["book"],"symbols":["BTC-USD"]}))
        .await;
    client
        .send(
            json!({"op":"unsubscribe","id":7,"channels":["book"],"symbols":["BTC-USD"],"depth":10}),
        )
        .await;
    client
        .send(json!({"op":"unsubscribe","id":8,"channels":["book"],"symbols":["BTC-USD"],"depth":25,"interval":"100ms"}))
        .await;
    loop {
        let m = client.next_json().await;
        if m["id"] == 6 {
            let list = m["subscriptions"].as_array().expect("list");
            assert_eq!(list.len(), 3, "{m}");
            assert!(!list.contains(&json!({"channel":"book","symbol":"BTC-USD"})));
        }
        if m["id"] == 8 {
            assert_eq!(m["type"], "unsubscribed");
            assert_eq!(
                m["subscriptions"],
                json!([{"channel":"heartbeat","symbol":"BTC-USD"}])
            );
            break;
        }
    }
    let quiet_until = Instant::now() + Duration::from_millis(1200);
    while Instant::now() < quiet_until {
        let m = client.next_json().await;
        assert!(
            !m["type"].as_str().is_some_and(|t| t.starts_with("book_")),
            "a book message after unsubscribed: {m}"
        );
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_depths_and_intervals_are_refused_and_change_nothing() {
    let server = Server::start(config(1.0)).await;
    let mut client = server.client().await;
    let base = json!({"op":"subscribe","channels":["trades"],"symbols":["BTC-USD"]});
    let answer = client.request(base, 1).await;
    assert_eq!(answer["type"], "subscribed");
    for (i, (channels, extra)) in [
        (json!(["book"]), json!({"depth": 20})),
        (json!(["book"]), json!({"depth": "10"})),
        (json!(["trades"]), json!({"depth": 10})),
        (json!(["book"]), json!({"interval": "250ms"})),
        (json!(["candles"]), json!({"interval": "100ms"})),
        (json!(["book", "candles"]), json!({"interval": "100ms"})),
    ]
    .into_iter()
    .enumerate()
    {
        let mut request = json!({"op":"subscribe","channels":channels,"symbols":["BTC-USD"]});
        for (k, v) in extra.as_object().expect("object") {
            request[k] = v.clone();
        }
        let answer = client.request(request.clone(), 10 + i as i64).await;
        assert_eq!(answer["type"], "error", "{request}: {answer}");
        assert_eq!(answer["code"], "bad_request");
        let message = answer["message"].as_str().expect("message");
        assert!(
            message.contains("depth") || message.contains("interval"),
            "{message}"
        );
    }
    // Still exactly the one subscription.
    let answer = client
        .request(
            json!({"op":"subscribe","channels":["trades"],"symbols":["BTC-USD"]}),
            99,
        )
        .await;
    assert_eq!(
        answer["subscriptions"],
        json!([{"channel":"trades","symbol":"BTC-USD"}])
    );
    server.stop().await;
}
