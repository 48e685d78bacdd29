//! Requests, errors and limits over a real socket, and the HTTP endpoints.

mod common;

use std::time::Duration;

use common::{Client, Read, Server, config};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

/// After an error, the connection must still answer.
async fn still_usable(client: &mut Client) {
    let pong = client.request(json!({"op":"ping"}), 999).await;
    assert_eq!(pong["type"], "pong");
    assert!(
        pong["ts"]
            .as_u64()
            .is_some_and(|ts| ts > 1_700_000_000_000_000_000)
    );
}

async fn expect_error(client: &mut Client, request: Value, code: &str) -> Value {
    let reply = client.request(request, 5).await;
    assert_eq!(reply["type"], "error", "{reply}");
    assert_eq!(reply["code"], code, "{reply}");
    assert!(
        reply["message"].as_str().is_some_and(|m| m.len() > 10),
        "{reply}"
    );
    still_usable(client).await;
    reply
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_market_data_error_code_leaves_the_connection_usable() {
    let mut cfg = config(1.0);
    cfg.max_subscriptions = 3;
    let server = Server::start(cfg).await;
    let mut c = server.client().await;

    // bad_request: not JSON, not an object, no op, mistyped fields.
    for raw in ["not json", "[1,2,3]", "{\"id\":3}", "{\"op\":7}"] {
        c.send_raw(Message::Text(raw.into())).await;
        let reply = c.next_json().await;
        assert_eq!(
            (reply["type"].as_str(), reply["code"].as_str()),
            (Some("error"), Some("bad_request")),
            "{raw}: {reply}"
        );
        still_usable(&mut c).await;
    }
    let reply = expect_error(
        &mut c,
        json!({"op":"subscribe","channels":"book","symbols":["BTC-USD"]}),
        "bad_request",
    )
    .await;
    assert_eq!(
        (reply["op"].as_str(), reply["id"].as_i64()),
        (Some("subscribe"), Some(5))
    );
    expect_error(
        &mut c,
        json!({"op":"subscribe","channels":["candles"],"symbols":["BTC-USD"],"interval":"5m"}),
        "bad_request",
    )
    .await;
    expect_error(&mut c, json!({"op":"launch"}), "unknown_op").await;
    let reply = expect_error(
        &mut c,
        json!({"op":"subscribe","channels":["book"],"symbols":["DOGE-USD"]}),
        "unknown_symbol",
    )
    .await;
    assert!(
        reply["message"]
            .as_str()
            .is_some_and(|m| m.contains("DOGE-USD"))
    );
    let reply = expect_error(
        &mut c,
        json!({"op":"subscribe","channels":["orderbook"],"symbols":["BTC-USD"]}),
        "unknown_channel",
    )
    .await;
    assert!(
        reply["message"]
            .as_str()
            .is_some_and(|m| m.contains("orderbook"))
    );
    expect_error(&mut c, json!({"op":"subscribe","channels":["book","trades","ticker","heartbeat"],"symbols":["BTC-USD"]}), "too_many_subscriptions").await;
    // Nothing of a failed request happened: no subscription was made.
    let reply = c
        .request(
            json!({"op":"subscribe","channels":["trades"],"symbols":["ETH-USD"]}),
            6,
        )
        .await;
    assert_eq!(
        reply["subscriptions"],
        json!([{"channel":"trades","symbol":"ETH-USD"}])
    );
    // Binary frames.
    c.send_raw(Message::Binary(vec![1, 2, 3].into())).await;
    let reply = c.until_type("error").await;
    assert_eq!(reply["code"], "unsupported_frame");
    still_usable(&mut c).await;
    // Trading needs authentication.
    expect_error(
        &mut c,
        json!({"op":"order","symbol":"BTC-USD","side":"buy","order_type":"market","qty":"0.0100"}),
        "not_authenticated",
    )
    .await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_over_64_kib_is_closed_with_1009() {
    let server = Server::start(config(1.0)).await;
    let mut c = server.client().await;
    let big = format!("{{\"op\":\"ping\",\"pad\":\"{}\"}}", "x".repeat(70 * 1024));
    c.send_raw(Message::Text(big.into())).await;
    loop {
        match c.read().await {
            Read::Close(Some(frame)) => {
                assert_eq!(u16::from(frame.code), 1009);
                break;
            }
            Read::Text(_) => continue,
            other => panic!("expected close 1009, got {other:?}"),
        }
    }
    drop(c);
    // 64 KiB itself is fine.
    let mut c = server.client().await;
    let pad = 64 * 1024 - "{\"op\":\"ping\",\"id\":1,\"pad\":\"\"}".len();
    c.send_raw(Message::Text(
        format!(
            "{{\"op\":\"ping\",\"id\":1,\"pad\":\"{}\"}}",
            "x".repeat(pad)
        )
        .into(),
    ))
    .await;
    assert_eq!(c.until_type("pong").await["id"], 1);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_beyond_the_rate_limit_are_refused_with_retry_after() {
    let mut cfg = config(1.0);
    // A token comes back every 2 s: the six requests below are sent well
    // within that even on a loaded machine, so exactly five pass.
    cfg.requests_per_sec = 0.5;
    cfg.request_burst = 5.0;
    let server = Server::start(cfg).await;
    let mut c = server.client().await;
    for id in 0..5 {
        c.send(json!({"op":"ping","id":id})).await;
    }
    c.send(json!({"op":"ping","id":5})).await;
    let mut pongs = 0;
    let limited = loop {
        let v = c.next_json().await;
        match v["type"].as_str() {
            Some("pong") => pongs += 1,
            Some("error") => break v,
            _ => {}
        }
    };
    assert_eq!(pongs, 5);
    assert_eq!(
        (
            limited["code"].as_str(),
            limited["id"].as_i64(),
            limited["op"].as_str()
        ),
        (Some("rate_limited"), Some(5), Some("ping"))
    );
    let retry = limited["retry_after_ms"].as_u64().expect("retry_after_ms");
    assert!((1..=2000).contains(&retry), "retry after {retry} ms");
    tokio::time::sleep(Duration::from_millis(retry + 50)).await;
    assert_eq!(c.request(json!({"op":"ping"}), 6).await["type"], "pong");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ticker_candles_and_heartbeat_start_with_their_state_and_stay_in_sequence() {
    let server = Server::start(config(5.0)).await;
    let mut c = server.client().await;
    let reply = c
        .request(json!({"op":"subscribe","channels":["ticker","candles","heartbeat"],"symbols":["ETH-USD"],"interval":"1s"}), 1)
        .await;
    assert_eq!(
        reply["subscriptions"],
        json!([
            {"channel":"ticker","symbol":"ETH-USD"},
            {"channel":"candles","symbol":"ETH-USD","interval":"1s"},
            {"channel":"heartbeat","symbol":"ETH-USD"}
        ])
    );
    let (mut ticker_seq, mut candle_seq, mut heartbeats) = (None::<u64>, None::<u64>, 0);
    let mut first_ticker = None;
    let mut last_ticker: Option<String> = None;
    while heartbeats < 2 || ticker_seq.is_none_or(|s| s < 5) {
        let text = c.next_text().await;
        let v: Value = serde_json::from_str(&text).expect("JSON");
        let seq = v["seq"].as_u64();
        match v["type"].as_str() {
            Some("ticker") => {
                if let Some(last) = ticker_seq {
                    assert_eq!(seq, Some(last + 1));
                } else {
                    first_ticker = Some(text.clone());
                }
                last_ticker = Some(text.clone());
                ticker_seq = seq;
                for field in ["bid", "ask", "bid_qty", "ask_qty", "volume"] {
                    assert!(v[field].is_string(), "{field} in {v}");
                }
            }
            Some("candles_snapshot") => {
                assert!(candle_seq.is_none());
                assert_eq!(v["interval"], "1s");
                assert!(
                    !v["candles"].as_array().expect("candles").is_empty(),
                    "the warm-up traded"
                );
                candle_seq = seq;
            }
            Some("candle") => {
                let last = candle_seq.expect("snapshot first");
                assert_eq!(seq, Some(last + 1));
                assert_eq!(v["interval"], "1s");
                candle_seq = seq;
            }
            Some("heartbeat") => {
                heartbeats += 1;
                let last = &v["last_seq"];
                assert!(last["book"].as_u64().is_some() && last["trades"].as_u64().is_some());
                assert!(last["ticker"].as_u64() >= ticker_seq, "{v}");
            }
            _ => panic!("unexpected {v}"),
        }
    }
    // Subscribing to the ticker again sends the latest ticker again, as is.
    let mut d = server.client().await;
    d.request(
        json!({"op":"subscribe","channels":["ticker"],"symbols":["ETH-USD"]}),
        1,
    )
    .await;
    let first = d.next_text().await;
    let resent: Value = serde_json::from_str(&first).expect("JSON");
    assert_eq!(resent["type"], "ticker", "{first}");
    assert!(first_ticker.is_some());
    // The very bytes the first subscriber got with that seq (it may have
    // got it before the second subscribed, or gets it now).
    let at = resent["seq"].as_u64().expect("seq");
    let mut seen = std::collections::BTreeMap::new();
    while ticker_seq.is_none_or(|s| s < at) || !seen.contains_key(&at) {
        let text = c.next_text().await;
        let v: Value = serde_json::from_str(&text).expect("JSON");
        if v["type"] == "ticker" {
            ticker_seq = v["seq"].as_u64();
            seen.insert(v["seq"].as_u64().unwrap_or(0), text);
        }
        if ticker_seq.is_some_and(|s| s > at) && !seen.contains_key(&at) {
            break;
        }
    }
    match seen.get(&at) {
        Some(same) => assert_eq!(same, &first, "the resent ticker is the same message"),
        // Sent to the first subscriber before this read began: it was the
        // latest one read above.
        None => assert_eq!(last_ticker.as_deref(), Some(first.as_str())),
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_of_a_stream_follows_its_unsubscribed() {
    let server = Server::start(config(20.0)).await;
    let mut c = server.client().await;
    c.request(
        json!({"op":"subscribe","channels":["book","trades"],"symbols":["BTC-USD"]}),
        1,
    )
    .await;
    for _ in 0..200 {
        c.next_json().await;
    }
    c.send(json!({"op":"unsubscribe","id":2,"channels":["book"],"symbols":["BTC-USD"]}))
        .await;
    loop {
        let v = c.next_json().await;
        if v["type"] == "unsubscribed" {
            assert_eq!(
                v["subscriptions"],
                json!([{"channel":"trades","symbol":"BTC-USD"}])
            );
            break;
        }
    }
    for _ in 0..200 {
        let v = c.next_json().await;
        assert_eq!(v["type"], "trade", "{v}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_endpoints_on_the_same_port() {
    let mut cfg = config(1.0);
    cfg.max_connections = 1;
    let server = Server::start(cfg).await;
    let (status, body) = server.http_get("/healthz").await;
    assert_eq!(
        (status, body.as_str()),
        (200, r#"{"status":"ok","mode":"live"}"#)
    );
    let (status, body) = server.http_get("/api/instruments").await;
    assert_eq!(status, 200);
    let over_http: Value = serde_json::from_str(&body).expect("JSON");
    let mut c = server.client().await;
    let mut over_ws = c.request(json!({"op":"instruments"}), 3).await;
    assert_eq!(over_ws["mode"], "live");
    over_ws.as_object_mut().expect("object").remove("id");
    assert_eq!(over_http, over_ws);
    assert_eq!(over_http["instruments"][0]["tick_size"], "0.01");
    let (status, page) = server.http_get("/").await;
    assert!(
        status == 200 && page.contains("<div id=\"root\">"),
        "the web UI at /"
    );
    let (status, _) = server.http_get("/nowhere").await;
    assert_eq!(status, 404);
    let (status, _) = server.http_get("/ws").await;
    assert_eq!(status, 426, "plain GET /ws asks for an upgrade");
    // The connection cap: one is open, the next is refused.
    let refused = tokio_tungstenite::connect_async(server.ws_url()).await;
    assert!(refused.is_err(), "a second connection over the cap of 1");
    assert!(server.metric("tickwire_connections_rejected_total").await >= 1.0);
    let metrics = server.http_get("/metrics").await.1;
    for name in [
        "tickwire_connections 1",
        "tickwire_subscriptions",
        "tickwire_messages_sent_total",
        "tickwire_bytes_sent_total",
        "tickwire_lagged_total",
        "tickwire_slow_consumer_disconnects_total",
        "tickwire_engine_events_total{symbol=\"BTC-USD\"}",
        "tickwire_outbound_queue_bytes_max",
    ] {
        assert!(metrics.contains(name), "{name} missing from /metrics");
    }
    drop(c);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_client_is_pinged_then_closed() {
    let mut cfg = config(0.01);
    cfg.ping_interval = Duration::from_millis(300);
    cfg.idle_timeout = Duration::from_millis(900);
    let server = Server::start(cfg).await;
    let mut c = server.client().await;
    // Not reading means not answering pings.
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    let mut pings = 0;
    loop {
        match tokio::time::timeout(common::WAIT, futures_util::StreamExt::next(&mut c.ws))
            .await
            .expect("in time")
        {
            Some(Ok(Message::Ping(_))) => pings += 1,
            Some(Ok(Message::Close(Some(frame)))) => {
                assert_eq!(u16::from(frame.code), 1008);
                assert_eq!(frame.reason.as_str(), "ping timeout");
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(pings >= 2, "{pings} pings before the close");
    server.stop().await;
}
