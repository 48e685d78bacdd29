//! The Binance dialect over real sockets: REST shapes, errors and weight
//! headers, the market streams' requests, and Binance's documented
//! "how to manage a local order book" procedure (REST snapshot + `@depth`
//! diffs) run by hand over more than 10,000 book updates, checked against
//! the partial depth stream at every step where both are at the same
//! update id.

mod common;

use std::collections::BTreeMap;

use common::{Client, Server, http_get, http_request};
use serde_json::{Value, json};

fn parse(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

async fn get(server: &Server, path: &str) -> (u16, Value) {
    let (status, body) = http_get(server.addr, &format!("/binance/api/v3/{path}")).await;
    (status, parse(&body))
}

#[tokio::test]
async fn rest_answers_in_binance_shapes_and_refuses_with_binance_codes() {
    let server = Server::start(common::config(1.0)).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    assert_eq!(get(&server, "ping").await, (200, json!({})));
    let (_, time) = get(&server, "time").await;
    assert!(
        time["serverTime"]
            .as_u64()
            .is_some_and(|t| t > 1_700_000_000_000),
        "{time}"
    );

    let (status, info) = get(&server, "exchangeInfo").await;
    assert_eq!(status, 200);
    let symbols = info["symbols"].as_array().expect("symbols");
    let names: Vec<&str> = symbols
        .iter()
        .filter_map(|s| s["symbol"].as_str())
        .collect();
    assert_eq!(names, ["BTCUSD", "ETHUSD", "SOLUSD", "AAPL"]);
    let btc = &symbols[0];
    assert_eq!(
        (btc["baseAsset"].as_str(), btc["quoteAsset"].as_str()),
        (Some("BTC"), Some("USD"))
    );
    assert_eq!(
        (
            symbols[3]["baseAsset"].as_str(),
            symbols[3]["quoteAsset"].as_str()
        ),
        (Some("AAPL"), Some("USD"))
    );
    let filter = |name: &str| {
        btc["filters"]
            .as_array()
            .and_then(|f| f.iter().find(|f| f["filterType"] == name))
            .cloned()
            .unwrap_or(Value::Null)
    };
    assert_eq!(filter("PRICE_FILTER")["tickSize"], "0.01");
    assert_eq!(filter("LOT_SIZE")["stepSize"], "0.0001");
    assert_eq!(filter("LOT_SIZE")["maxQty"], "100.0000");
    assert!(filter("NOTIONAL").is_object());

    let (status, depth) = get(&server, "depth?symbol=BTCUSD&limit=5").await;
    assert_eq!(status, 200);
    assert!(
        depth["lastUpdateId"].as_u64().is_some_and(|id| id > 0),
        "{depth}"
    );
    let bids = depth["bids"].as_array().expect("bids");
    let asks = depth["asks"].as_array().expect("asks");
    assert_eq!((bids.len(), asks.len()), (5, 5));
    let price = |l: &Value| {
        l[0].as_str()
            .and_then(|p| p.parse::<f64>().ok())
            .expect("price")
    };
    assert!(
        bids.windows(2).all(|w| price(&w[0]) > price(&w[1])),
        "bids best first"
    );
    assert!(
        asks.windows(2).all(|w| price(&w[0]) < price(&w[1])),
        "asks best first"
    );
    assert!(price(&bids[0]) < price(&asks[0]), "not crossed");

    let (_, trades) = get(&server, "trades?symbol=BTCUSD&limit=3").await;
    let trades = trades.as_array().expect("trades");
    assert!(!trades.is_empty() && trades.len() <= 3);
    let ids: Vec<u64> = trades.iter().filter_map(|t| t["id"].as_u64()).collect();
    assert!(ids.windows(2).all(|w| w[1] == w[0] + 1), "{ids:?}");
    assert!(trades[0]["isBuyerMaker"].is_boolean() && trades[0]["quoteQty"].is_string());
    let (_, aggs) = get(
        &server,
        &format!("aggTrades?symbol=BTCUSD&fromId={}", ids[0]),
    )
    .await;
    assert_eq!(aggs[0]["a"].as_u64(), Some(ids[0]), "{aggs}");

    let (_, klines) = get(&server, "klines?symbol=BTCUSD&interval=1s&limit=2").await;
    let row = &klines[0];
    assert_eq!(row.as_array().map(Vec::len), Some(12), "{klines}");
    assert_eq!(row[6].as_u64(), row[0].as_u64().map(|t| t + 999));

    let (_, all) = get(&server, "ticker/24hr").await;
    assert_eq!(all.as_array().map(Vec::len), Some(4));
    let (_, one) = get(&server, "ticker/24hr?symbol=ETHUSD").await;
    assert_eq!(one["symbol"], "ETHUSD");
    let (_, prices) = get(
        &server,
        "ticker/price?symbols=%5B%22BTCUSD%22,%22AAPL%22%5D",
    )
    .await;
    let names: Vec<&str> = prices
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["symbol"].as_str())
        .collect();
    assert_eq!(names, ["BTCUSD", "AAPL"]);
    let (_, top) = get(&server, "ticker/bookTicker?symbol=BTCUSD").await;
    assert!(
        top["bidPrice"].is_string() && top["askQty"].is_string(),
        "{top}"
    );

    // Errors: Binance's codes and statuses, nothing else changes.
    for (path, status, code) in [
        ("depth?symbol=DOGEUSD", 400, -1121),
        ("depth", 400, -1102),
        ("depth?symbol=BTCUSD&limit=ten", 400, -1100),
        ("depth?symbol=BTCUSD&limit=0", 400, -1130),
        ("klines?symbol=BTCUSD&interval=5m", 400, -1120),
        ("klines?symbol=BTCUSD", 400, -1102),
        ("ticker/price?symbols=BTCUSD", 400, -1100),
        ("ticker/price?symbol=BTCUSD&symbols=%5B%5D", 400, -1101),
        ("historicalTrades?symbol=BTCUSD", 404, -1020),
    ] {
        let (got, body) = get(&server, path).await;
        assert_eq!(
            (got, body["code"].as_i64()),
            (status, Some(code)),
            "{path}: {body}"
        );
        assert!(body["msg"].as_str().is_some_and(|m| !m.is_empty()));
    }
    let answer = http_request(
        server.addr,
        "GET",
        "/binance/api/v3/depth?symbol=BTCUSD",
        &[],
    )
    .await;
    let used = |a: &common::HttpAnswer| {
        a.header("x-mbx-used-weight-1m")
            .and_then(|v| v.parse::<u64>().ok())
    };
    let before = used(&answer).expect("weight header");
    let answer = http_request(
        server.addr,
        "GET",
        "/binance/api/v3/depth?symbol=BTCUSD&limit=1000",
        &[],
    )
    .await;
    assert_eq!(
        used(&answer),
        Some(before + 50),
        "a 1000-level depth weighs 50"
    );
    server.stop().await;
}

fn is_answer(v: &Value) -> bool {
    v.get("id").is_some() && (v.get("result").is_some() || v.get("code").is_some())
}

/// The next answer to a request, skipping events.
async fn answer(client: &mut Client) -> Value {
    loop {
        let v = client.next_json().await;
        if is_answer(&v) {
            return v;
        }
    }
}

#[tokio::test]
async fn stream_requests_subscribe_list_unsubscribe_and_refuse_bad_ones() {
    let server = Server::start(common::config(4.0)).await;
    let url = format!("ws://{}/binance/ws/btcusd@trade", server.addr);
    let mut c = Client::connect(&url).await;
    let mut last = None;
    for _ in 0..5 {
        let t = c.next_json().await;
        assert_eq!(
            (t["e"].as_str(), t["s"].as_str()),
            (Some("trade"), Some("BTCUSD")),
            "{t}"
        );
        let id = t["t"].as_u64().expect("trade id");
        if let Some(last) = last {
            assert_eq!(id, last + 1, "trade ids are the trades stream's seq");
        }
        last = Some(id);
    }
    c.send(
        json!({"method":"SUBSCRIBE","params":["ethusd@bookTicker","btcusd@depth5@100ms"],"id":1}),
    )
    .await;
    assert_eq!(answer(&mut c).await, json!({"result":null,"id":1}));
    c.send(json!({"method":"SUBSCRIBE","params":["ethusd@trade","btcusd@kline_5m"],"id":2}))
        .await;
    let refused = answer(&mut c).await;
    assert_eq!(
        (refused["code"].as_i64(), refused["id"].as_i64()),
        (Some(2), Some(2)),
        "{refused}"
    );
    assert!(
        refused["msg"]
            .as_str()
            .is_some_and(|m| m.contains("btcusd@kline_5m")),
        "{refused}"
    );
    c.send(json!({"method":"LIST_SUBSCRIPTIONS","id":"list"}))
        .await;
    let mut listed: Vec<String> = answer(&mut c).await["result"]
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|s| s.as_str().map(str::to_string))
        .collect();
    listed.sort();
    assert_eq!(
        listed,
        ["btcusd@depth5@100ms", "btcusd@trade", "ethusd@bookTicker"],
        "the refused request changed nothing"
    );
    c.send_raw(tokio_tungstenite::tungstenite::Message::Text(
        "{nope".into(),
    ))
    .await;
    assert_eq!(answer(&mut c).await["code"], 3);
    c.send(json!({"method":"FLY","id":3})).await;
    assert_eq!(answer(&mut c).await["code"], 2);
    c.send(json!({"method":"GET_PROPERTY","params":["combined"],"id":4}))
        .await;
    assert_eq!(answer(&mut c).await, json!({"result":false,"id":4}));
    c.send(json!({"method":"SET_PROPERTY","params":["combined",true],"id":5}))
        .await;
    assert_eq!(answer(&mut c).await["code"], 2);

    // Seen: each subscribed stream's events in its own shape.
    let mut seen = BTreeMap::new();
    while seen.len() < 3 {
        let v = c.next_json().await;
        let kind = if v.get("e").is_some() {
            v["e"].as_str().unwrap_or("").to_string()
        } else if v.get("lastUpdateId").is_some() {
            "partial".to_string()
        } else if v.get("u").is_some() && v.get("b").is_some() {
            "bookTicker".to_string()
        } else {
            panic!("unexpected {v}")
        };
        seen.insert(kind, v);
    }
    assert_eq!(seen["partial"]["bids"].as_array().map(Vec::len), Some(5));
    assert_eq!(seen["bookTicker"]["s"], "ETHUSD");

    c.send(json!({"method":"UNSUBSCRIBE","params":["btcusd@trade"],"id":6}))
        .await;
    assert_eq!(answer(&mut c).await, json!({"result":null,"id":6}));
    for _ in 0..200 {
        let v = c.next_json().await;
        assert_ne!(
            v["e"], "trade",
            "nothing of a stream follows its UNSUBSCRIBE answer"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn a_url_naming_an_unknown_stream_is_refused_at_the_handshake() {
    let server = Server::start(common::config(1.0)).await;
    let url = format!(
        "ws://{}/binance/stream?streams=btcusd@trade/dogeusd@trade",
        server.addr
    );
    let refused = tokio_tungstenite::connect_async(url).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 400);
        }
        other => panic!("expected an HTTP refusal, got {other:?}"),
    }
    // ccxt connects to /ws/<a number> and subscribes afterwards.
    let mut c = Client::connect(&format!("ws://{}/binance/ws/0", server.addr)).await;
    c.send(json!({"method":"LIST_SUBSCRIPTIONS","id":1})).await;
    assert_eq!(answer(&mut c).await, json!({"result":[],"id":1}));
    server.stop().await;
}

/// A side of a local book: price as a number (ordering) to the strings.
type Side = BTreeMap<i64, (String, String)>;

fn apply(side: &mut Side, levels: &Value) {
    for level in levels.as_array().expect("levels") {
        let (price, qty) = (
            level[0].as_str().expect("price"),
            level[1].as_str().expect("qty"),
        );
        let zero = qty.parse::<f64>().expect("qty") == 0.0;
        if zero {
            // Binance sends removals of levels a client may never have had.
            side.remove(&common::wire_book::key(price));
        } else {
            side.insert(
                common::wire_book::key(price),
                (price.to_string(), qty.to_string()),
            );
        }
    }
}

fn top(side: &Side, bids: bool, n: usize) -> Vec<(String, String)> {
    let levels: Vec<&(String, String)> = if bids {
        side.values().rev().take(n).collect()
    } else {
        side.values().take(n).collect()
    };
    levels.into_iter().cloned().collect()
}

fn levels(v: &Value) -> Vec<(String, String)> {
    v.as_array()
        .expect("levels")
        .iter()
        .map(|l| {
            (
                l[0].as_str().unwrap_or("").to_string(),
                l[1].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn binance_local_order_book_procedure_holds_over_10000_updates() {
    // BTC-USD at 20 times its rate: about 4,000 events a second.
    let server = Server::start(common::config(20.0)).await;
    let url = format!(
        "ws://{}/binance/stream?streams=btcusd@depth@100ms/btcusd@depth20@100ms",
        server.addr
    );
    // 1. Open the stream; 2. buffer the events; 3. get a depth snapshot.
    let mut c = Client::connect(&url).await;
    let first = c.next_json().await;
    let (_, snapshot) = get(&server, "depth?symbol=BTCUSD&limit=5000").await;
    let snapshot_id = snapshot["lastUpdateId"].as_u64().expect("lastUpdateId");
    let mut bids = Side::new();
    let mut asks = Side::new();
    apply(&mut bids, &snapshot["bids"]);
    apply(&mut asks, &snapshot["asks"]);
    let mut last_u: Option<u64> = None;
    let mut compared = 0;
    let mut pending = vec![first];
    loop {
        let v = match pending.pop() {
            Some(v) => v,
            None => c.next_json().await,
        };
        let data = &v["data"];
        match v["stream"].as_str() {
            Some("btcusd@depth@100ms") => {
                assert_eq!(data["e"], "depthUpdate");
                let (big_u, u) = (
                    data["U"].as_u64().expect("U"),
                    data["u"].as_u64().expect("u"),
                );
                assert!(big_u <= u);
                // 4. Drop any event where u <= lastUpdateId of the snapshot.
                if u <= snapshot_id {
                    continue;
                }
                match last_u {
                    // 5. The first event must straddle lastUpdateId + 1.
                    None => assert!(
                        big_u <= snapshot_id + 1 && snapshot_id < u,
                        "U {big_u} u {u} snapshot {snapshot_id}"
                    ),
                    // 6. Each next event's U is the last u + 1.
                    Some(last) => assert_eq!(big_u, last + 1, "a gap in the diff stream"),
                }
                apply(&mut bids, &data["b"]);
                apply(&mut asks, &data["a"]);
                last_u = Some(u);
                if let (Some(b), Some(a)) = (bids.keys().next_back(), asks.keys().next()) {
                    assert!(b < a, "the local book crossed at u {u}");
                }
            }
            Some("btcusd@depth20@100ms") => {
                let id = data["lastUpdateId"].as_u64().expect("lastUpdateId");
                if last_u == Some(id) {
                    assert_eq!(top(&bids, true, 20), levels(&data["bids"]), "bids at {id}");
                    assert_eq!(top(&asks, false, 20), levels(&data["asks"]), "asks at {id}");
                    compared += 1;
                }
            }
            other => panic!("unexpected stream {other:?}: {v}"),
        }
        if last_u.is_some_and(|u| u - snapshot_id >= 10_000) && compared >= 10 {
            break;
        }
    }
    assert!(compared >= 10, "compared {compared} times");
    server.stop().await;
}

/// A replay (and a paper replay) speaks the dialect too: it is made from
/// the published streams, whatever their source.
#[tokio::test]
async fn a_replay_and_a_paper_replay_speak_the_dialect() {
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("feeds/recordings/sample-30s.jsonl.zst");
    let mut config = common::replay_config(&file, Some(1.0), &[]);
    let token = "paper-token-0001";
    config.accounts =
        tickwire::trading::Accounts::from_env_value(&format!("paper={token}"), &config.instruments)
            .expect("accounts");
    if let Some(replay) = &mut config.replay {
        replay.paper = true;
    }
    let server = Server::start(config).await;
    let url = format!(
        "ws://{}/binance/stream?streams=btcusd@trade/btcusd@depth@100ms",
        server.addr
    );
    let mut c = Client::connect(&url).await;
    let (mut last_trade, mut last_u, mut trades, mut diffs) = (None, None, 0, 0);
    while trades < 5 || diffs < 5 {
        let v = c.next_json().await;
        let data = &v["data"];
        match v["stream"].as_str() {
            Some("btcusd@trade") => {
                let t = data["t"].as_u64().expect("t");
                if let Some(last) = last_trade {
                    assert_eq!(t, last + 1, "replayed trades in order, none missing");
                }
                last_trade = Some(t);
                trades += 1;
            }
            Some("btcusd@depth@100ms") => {
                let (big_u, u) = (
                    data["U"].as_u64().expect("U"),
                    data["u"].as_u64().expect("u"),
                );
                if let Some(last) = last_u {
                    assert_eq!(big_u, last + 1, "the diffs chain");
                }
                last_u = Some(u);
                diffs += 1;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    let (status, depth) = get(&server, "depth?symbol=BTCUSD&limit=5").await;
    assert_eq!(status, 200);
    assert!(
        depth["lastUpdateId"]
            .as_u64()
            .is_some_and(|id| id >= last_u.unwrap_or(0)),
        "{depth}"
    );

    // Paper trading through the dialect: a resting buy far from the touch.
    let price = depth["bids"][0][0]
        .as_str()
        .and_then(|p| p.parse::<f64>().ok())
        .expect("a bid")
        * 0.99;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let query = format!(
        "symbol=BTCUSD&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.0100&price={price:.2}&timestamp={now}"
    );
    let signature = tickwire::binance::sign::sign(token, &query);
    let path = format!("/binance/api/v3/order?{query}&signature={signature}");
    let answer = http_request(server.addr, "POST", &path, &[("X-MBX-APIKEY", token)]).await;
    let order = parse(&String::from_utf8_lossy(&answer.body));
    assert_eq!(
        (answer.status, order["status"].as_str()),
        (200, Some("NEW")),
        "{order}"
    );
    server.stop().await;
}

/// A kline's bar is sent once more, closed (`"x":true`), when the next
/// bar starts, and the next one starts after it, on a bar boundary.
#[tokio::test]
async fn a_kline_is_closed_before_the_next_bar() {
    let server = Server::start(common::config(4.0)).await;
    let mut c = Client::connect(&format!("ws://{}/binance/ws/btcusd@kline_1s", server.addr)).await;
    let mut closed: Option<Value> = None;
    loop {
        let v = c.next_json().await;
        let k = &v["k"];
        assert_eq!(
            (v["e"].as_str(), k["i"].as_str()),
            (Some("kline"), Some("1s")),
            "{v}"
        );
        match &closed {
            None if k["x"] == true => closed = Some(k.clone()),
            None => {}
            Some(previous) => {
                assert_eq!(k["x"], false, "one closing message per bar");
                let (start, ended) = (
                    k["t"].as_u64().expect("t"),
                    previous["T"].as_u64().expect("T"),
                );
                assert!(
                    start > ended && (start - ended - 1) % 1000 == 0,
                    "{previous} then {k}"
                );
                break;
            }
        }
    }
    server.stop().await;
}
