//! The polling API of PROTOCOL.md v1.1 over real sockets, checked against
//! the WebSocket stream of the same server: `/api/book` is the book at a
//! `seq` the stream had (same levels, same checksum), `/api/trades` returns
//! the streamed trade messages byte for byte, `/api/ticker` a ticker; bad
//! parameters and unknown symbols get 400/404 with `{"code","message"}`.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::wire_book::WireBook;
use common::{Server, config, http_request};
use serde_json::{Value, json};

async fn get(server: &Server, path: &str) -> (u16, Value, Option<String>) {
    let answer = http_request(server.addr, "GET", path, &[]).await;
    let body = serde_json::from_slice(&answer.body).unwrap_or_else(|e| {
        panic!(
            "{path}: not JSON ({e}): {}",
            String::from_utf8_lossy(&answer.body)
        )
    });
    let cors = answer
        .header("access-control-allow-origin")
        .map(str::to_string);
    (answer.status, body, cors)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polled_answers_match_the_stream() {
    let server = Server::start(config(20.0)).await;
    let mut client = server.client().await;
    let answer = client
        .request(
            json!({"op":"subscribe","channels":["book","trades"],"symbols":["BTC-USD"]}),
            1,
        )
        .await;
    assert_eq!(answer["type"], "subscribed");
    // The stream's book top 10 and checksum at every seq, and its trades.
    let mut book: Option<WireBook> = None;
    let mut tops: HashMap<u64, (WireBook, u32)> = HashMap::new();
    let mut trades: HashMap<u64, String> = HashMap::new();
    let mut polled: Option<Value> = None;
    let mut trades_since = None;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the stream never reached the polled seq"
        );
        let text = client.next_text().await;
        let m: Value = serde_json::from_str(&text).expect("json");
        match m["type"].as_str() {
            Some("book_snapshot") => book = Some(WireBook::from_snapshot(&m)),
            Some("book_update") => {
                let b = book.as_mut().expect("snapshot first");
                b.apply(&m["bids"], true);
                b.apply(&m["asks"], false);
            }
            Some("trade") => {
                trades.insert(m["seq"].as_u64().expect("seq"), text.clone());
                continue;
            }
            _ => continue,
        }
        let last_book_seq = m["seq"].as_u64().expect("seq");
        let b = book.as_ref().expect("book");
        tops.insert(last_book_seq, (b.top(10), b.checksum()));
        if polled.is_none() && trades.len() >= 3 {
            // Poll while the stream is live.
            let (status, body, cors) = get(&server, "/api/book?symbol=BTC-USD&depth=10").await;
            assert_eq!(status, 200, "{body}");
            assert_eq!(cors.as_deref(), Some("*"));
            polled = Some(body);
            trades_since = trades.keys().min().copied();
        }
        if let Some(p) = &polled
            && last_book_seq >= p["seq"].as_u64().expect("seq")
        {
            break;
        }
    }
    let p = polled.expect("polled");
    let seq = p["seq"].as_u64().expect("seq");
    assert_eq!(p["symbol"], "BTC-USD");
    assert!(p["ts"].as_u64().is_some());
    let answered = WireBook::from_snapshot(&p);
    assert!(answered.bids.len() <= 10 && answered.asks.len() <= 10);
    let (top, checksum) = tops.get(&seq).expect("the stream had this seq");
    assert_eq!(
        &answered, top,
        "the polled book is the stream's at seq {seq}"
    );
    assert_eq!(p["checksum"].as_u64(), Some(*checksum as u64));

    // Trades after the first one seen: exactly the streamed messages.
    let since = trades_since.expect("trades");
    let (status, body, _) = get(
        &server,
        &format!("/api/trades?symbol=BTC-USD&since={since}"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["symbol"], "BTC-USD");
    let list = body["trades"].as_array().expect("trades");
    assert!(!list.is_empty());
    for (i, t) in list.iter().enumerate() {
        let seq = t["seq"].as_u64().expect("seq");
        assert_eq!(seq, since + 1 + i as u64, "consecutive after since");
        if let Some(streamed) = trades.get(&seq) {
            let streamed: Value = serde_json::from_str(streamed).expect("json");
            assert_eq!(t, &streamed, "trade {seq} as streamed");
        }
    }
    let (status, body, _) = get(&server, "/api/ticker?symbol=BTC-USD").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["type"], "ticker");
    assert_eq!(body["symbol"], "BTC-USD");
    // The whole book without depth.
    let (status, body, _) = get(&server, "/api/book?symbol=ETH-USD").await;
    assert_eq!(status, 200);
    assert!(body["bids"].as_array().expect("bids").len() > 10);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_polls_get_a_code_and_a_message() {
    let server = Server::start(config(1.0)).await;
    for (path, status, code) in [
        ("/api/book?symbol=NOPE", 404, "unknown_symbol"),
        ("/api/book", 400, "bad_request"),
        ("/api/book?symbol=BTC-USD&depth=0", 400, "bad_request"),
        ("/api/book?symbol=BTC-USD&depth=many", 400, "bad_request"),
        ("/api/trades?symbol=BTC-USD&since=-3", 400, "bad_request"),
        ("/api/ticker?symbol=%ZZ", 400, "bad_request"),
    ] {
        let (got, body, cors) = get(&server, path).await;
        assert_eq!(got, status, "{path}: {body}");
        assert_eq!(body["code"], code, "{path}");
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{path}"
        );
        assert_eq!(cors.as_deref(), Some("*"), "{path}");
    }
    server.stop().await;
}
