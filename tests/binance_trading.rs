//! The Binance dialect's trading over real sockets: signed REST requests
//! checked as Binance checks them (each refusal changing nothing), orders
//! that reach the account's native connections as private events, spot
//! balances, and the WebSocket API's user data stream reporting a fill made
//! by another account. Signatures are computed here with the `hmac` crate,
//! not with the server's code.

mod common;

use std::net::SocketAddr;

use common::{Client, Server, hex_hmac, instruments_with_quiet, login, quiet_order};
use serde_json::{Value, json};
use tickwire::gateway::Config;
use tickwire::trading::Accounts;

const KEY: &str = "alice-binance-key";
const SECRET: &str = "alice-binance-secret";

const ACCOUNTS: &str = r#"
[[account]]
name = "alice"
token = "alice-token"
api_key = "alice-binance-key"
api_secret = "alice-binance-secret"
balances = { USD = "1000", QUIET = "3" }

[[account]]
name = "bob"
token = "bob-token-1"
"#;

fn config() -> Config {
    let instruments = instruments_with_quiet(1.0);
    let accounts = Accounts::parse("accounts", ACCOUNTS, &instruments).expect("accounts");
    let mut config = Config::new(instruments, 3);
    config.accounts = accounts;
    config
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// One HTTP request with a form body; the status and the JSON answer.
async fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: &str,
) -> (u16, Value) {
    let (status, body) = common::http_send(&addr.to_string(), method, path, key, body).await;
    (
        status,
        serde_json::from_str(&body).unwrap_or_else(|_| panic!("JSON: {body}")),
    )
}

/// A signed request: `params` plus `timestamp`, signed with `secret`,
/// sent in the query (GET, DELETE) or the body (POST).
async fn signed(
    addr: SocketAddr,
    method: &str,
    endpoint: &str,
    params: &str,
    secret: &str,
) -> (u16, Value) {
    let query = format!("{params}&timestamp={}", now_ms());
    let signed = format!("{query}&signature={}", hex_hmac(secret, &query));
    let path = format!("/binance/api/v3/{endpoint}");
    if method == "POST" {
        send(addr, method, &path, Some(KEY), &signed).await
    } else {
        send(addr, method, &format!("{path}?{signed}"), Some(KEY), "").await
    }
}

fn free(account: &Value, asset: &str) -> (String, String) {
    let b = account["balances"]
        .as_array()
        .and_then(|b| b.iter().find(|b| b["asset"] == asset))
        .cloned()
        .unwrap_or(Value::Null);
    (
        b["free"].as_str().unwrap_or("?").to_string(),
        b["locked"].as_str().unwrap_or("?").to_string(),
    )
}

#[tokio::test]
async fn signed_requests_are_checked_as_binance_does_and_refusals_change_nothing() {
    let server = Server::start(config()).await;
    let addr = server.addr;
    let (status, account) = signed(addr, "GET", "account", "recvWindow=5000", SECRET).await;
    assert_eq!(status, 200, "{account}");
    assert_eq!(free(&account, "USD"), ("1000".into(), "0".into()));
    assert_eq!(free(&account, "QUIET"), ("3".into(), "0".into()));

    let query = format!("timestamp={}", now_ms());
    let good = format!("{query}&signature={}", hex_hmac(SECRET, &query));
    for (key, path, status, code) in [
        (None, format!("account?{good}"), 401, -2014),
        (
            Some("nobody-has-this-key"),
            format!("account?{good}"),
            401,
            -2015,
        ),
        (
            Some(KEY),
            format!("account?{query}&signature={}", hex_hmac("wrong", &query)),
            400,
            -1022,
        ),
        (Some(KEY), format!("account?{query}"), 400, -1102),
    ] {
        let (got, body) = send(addr, "GET", &format!("/binance/api/v3/{path}"), key, "").await;
        assert_eq!(
            (got, body["code"].as_i64()),
            (status, Some(code)),
            "{path}: {body}"
        );
    }
    let stale = format!("timestamp={}", now_ms() - 10_000);
    let stale = format!("{stale}&signature={}", hex_hmac(SECRET, &stale));
    let (_, body) = send(
        addr,
        "GET",
        &format!("/binance/api/v3/account?{stale}"),
        Some(KEY),
        "",
    )
    .await;
    assert_eq!(body["code"], -1021, "{body}");

    // Refused orders, each changing nothing.
    for (params, code) in [
        (
            "symbol=QUIET&side=SELL&type=LIMIT&timeInForce=GTC&quantity=4&price=10.00",
            -2010,
        ),
        (
            "symbol=QUIET&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=2000.00",
            -2010,
        ),
        (
            "symbol=QUIET&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=10.005",
            -1013,
        ),
        ("symbol=QUIET&side=BUY&type=STOP_LOSS&quantity=1", -1116),
        ("symbol=NOPE&side=BUY&type=MARKET&quantity=1", -1121),
    ] {
        let (_, body) = signed(addr, "POST", "order", params, SECRET).await;
        assert_eq!(body["code"], code, "{params}: {body}");
    }
    let (_, open) = signed(addr, "GET", "openOrders", "symbol=QUIET", SECRET).await;
    assert_eq!(open, json!([]));
    let (_, account) = signed(addr, "GET", "account", "recvWindow=5000", SECRET).await;
    assert_eq!(free(&account, "USD"), ("1000".into(), "0".into()));
    let (_, body) = signed(addr, "DELETE", "order", "symbol=QUIET&orderId=999", SECRET).await;
    assert_eq!(body["code"], -2011, "{body}");
    let (_, body) = signed(addr, "GET", "order", "symbol=QUIET&orderId=999", SECRET).await;
    assert_eq!(body["code"], -2013, "{body}");
    server.stop().await;
}

#[tokio::test]
async fn a_binance_order_is_a_native_order_of_the_account() {
    let server = Server::start(config()).await;
    let addr = server.addr;
    let mut alice_native = login(&server, "alice-token").await;
    let (status, order) = signed(
        addr,
        "POST",
        "order",
        "symbol=QUIET&side=SELL&type=LIMIT&timeInForce=GTC&quantity=2&price=101.00&newClientOrderId=b1",
        SECRET,
    )
    .await;
    assert_eq!(status, 200, "{order}");
    assert_eq!(
        (order["status"].as_str(), order["clientOrderId"].as_str()),
        (Some("NEW"), Some("b1"))
    );
    assert_eq!(order["fills"], json!([]));
    let accepted = alice_native.until_type("order_accepted").await;
    assert_eq!(
        accepted["client_order_id"], "b1",
        "the account's native connection is told"
    );
    assert_eq!(accepted["order_id"], format!("QUIET:{}", order["orderId"]));
    let (_, account) = signed(addr, "GET", "account", "recvWindow=5000", SECRET).await;
    assert_eq!(
        free(&account, "QUIET"),
        ("1".into(), "2".into()),
        "the sell locks its quantity"
    );

    // Bob buys 0.5 natively: alice's order fills partly.
    let mut bob = login(&server, "bob-token-1").await;
    let reply = bob.request(quiet_order("buy", "0.50", None), 1).await;
    assert_eq!(reply["type"], "order_accepted", "{reply}");
    let (_, status) = signed(
        addr,
        "GET",
        "order",
        "symbol=QUIET&origClientOrderId=b1",
        SECRET,
    )
    .await;
    assert_eq!(
        (status["status"].as_str(), status["executedQty"].as_str()),
        (Some("PARTIALLY_FILLED"), Some("0.50")),
        "{status}"
    );
    assert_eq!(status["cummulativeQuoteQty"], "50.5");
    let (_, trades) = signed(addr, "GET", "myTrades", "symbol=QUIET", SECRET).await;
    assert_eq!(trades.as_array().map(Vec::len), Some(1), "{trades}");
    assert_eq!(
        (
            trades[0]["isBuyer"].as_bool(),
            trades[0]["isMaker"].as_bool()
        ),
        (Some(false), Some(true))
    );
    let (_, account) = signed(addr, "GET", "account", "recvWindow=5000", SECRET).await;
    assert_eq!(free(&account, "QUIET"), ("1".into(), "1.5".into()));
    assert_eq!(free(&account, "USD"), ("1050.5".into(), "0".into()));

    let (_, canceled) = signed(
        addr,
        "DELETE",
        "order",
        &format!("symbol=QUIET&orderId={}", order["orderId"]),
        SECRET,
    )
    .await;
    assert_eq!(canceled["status"], "CANCELED", "{canceled}");
    let done = alice_native.until_type("order_done").await;
    assert_eq!(done["reason"], "canceled");
    let (_, all) = signed(addr, "GET", "allOrders", "symbol=QUIET", SECRET).await;
    let listed: Vec<(Option<&str>, Option<&str>)> = all
        .as_array()
        .into_iter()
        .flatten()
        .map(|o| (o["clientOrderId"].as_str(), o["status"].as_str()))
        .collect();
    assert_eq!(listed, [(Some("b1"), Some("CANCELED"))], "{all}");
    assert_eq!(all[0]["executedQty"], "0.50");
    server.stop().await;
}

fn ws_signed(params: Value, secret: &str) -> Value {
    common::ws_signed(params, KEY, secret)
}

/// The next message of a WebSocket API connection that is not an event.
async fn answer(c: &mut Client) -> Value {
    loop {
        let v = c.next_json().await;
        if v.get("status").is_some() {
            return v;
        }
    }
}

#[tokio::test]
async fn the_user_data_stream_reports_an_order_and_its_fill() {
    let server = Server::start(config()).await;
    let mut api = Client::connect(&format!("ws://{}/binance/ws-api/v3", server.addr)).await;
    api.send(json!({"id":"a","method":"userDataStream.subscribe.signature","params":ws_signed(json!({}), "wrong")})).await;
    let refused = answer(&mut api).await;
    assert_eq!(
        (
            refused["status"].as_u64(),
            refused["error"]["code"].as_i64()
        ),
        (Some(400), Some(-1022)),
        "{refused}"
    );
    api.send(json!({"id":"b","method":"userDataStream.subscribe.signature","params":ws_signed(json!({}), SECRET)})).await;
    assert_eq!(
        answer(&mut api).await["result"],
        json!({"subscriptionId": 0})
    );

    let order = ws_signed(
        json!({"symbol":"QUIET","side":"BUY","type":"LIMIT","timeInForce":"GTC","quantity":"1","price":"99.00"}),
        SECRET,
    );
    api.send(json!({"id":"c","method":"order.place","params":order}))
        .await;
    let mut events = Vec::new();
    let placed = loop {
        let v = api.next_json().await;
        if v.get("status").is_some() {
            break v;
        }
        events.push(v);
    };
    assert_eq!(placed["result"]["status"], "NEW", "{placed}");
    let mut bob = login(&server, "bob-token-1").await;
    let reply = bob.request(quiet_order("sell", "1.00", None), 1).await;
    assert_eq!(reply["type"], "order_accepted", "{reply}");
    while events.iter().filter(|e| e["subscriptionId"] == 0).count() < 3 {
        events.push(api.next_json().await);
    }
    let kinds: Vec<(String, String)> = events
        .iter()
        .map(|e| &e["event"])
        .map(|e| {
            (
                e["e"].as_str().unwrap_or("").to_string(),
                e["X"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("executionReport".to_string(), "NEW".to_string()),
            ("executionReport".to_string(), "FILLED".to_string()),
            ("outboundAccountPosition".to_string(), String::new()),
        ]
    );
    let fill = &events[1]["event"];
    assert_eq!(
        (
            fill["x"].as_str(),
            fill["l"].as_str(),
            fill["L"].as_str(),
            fill["m"].as_bool()
        ),
        (Some("TRADE"), Some("1.00"), Some("99.00"), Some(true))
    );
    let position = &events[2]["event"]["B"];
    assert!(
        position
            .as_array()
            .is_some_and(|b| b.iter().any(|a| a["a"] == "QUIET" && a["f"] == "4")),
        "{position}"
    );
    server.stop().await;
}

/// Past the weight limit a request is refused before it is carried out:
/// an order refused with 429 is not placed.
#[tokio::test]
async fn a_request_past_the_weight_limit_is_refused_and_not_carried_out() {
    let mut config = config();
    config.binance_weight_per_minute = 2;
    let server = Server::start(config).await;
    let addr = server.addr;
    for expected in [200, 200, 429] {
        let (status, _) = send(addr, "GET", "/binance/api/v3/ping", None, "").await;
        assert_eq!(status, expected);
    }
    let (status, body) = signed(
        addr,
        "POST",
        "order",
        "symbol=QUIET&side=SELL&type=LIMIT&timeInForce=GTC&quantity=1&price=101.00",
        SECRET,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_i64()),
        (429, Some(-1003)),
        "{body}"
    );
    let mut alice = login(&server, "alice-token").await;
    let open = alice.request(json!({"op":"open_orders"}), 1).await;
    assert_eq!(
        open["orders"],
        json!([]),
        "the refused order was not placed"
    );
    server.stop().await;
}

/// A busy account: more fills than one native `fills` page (1,000). Binance
/// answers `myTrades` with the newest trades unless told where to start, and
/// an order's `cummulativeQuoteQty` counts all of its fills.
#[tokio::test]
async fn my_trades_and_quote_quantities_of_a_busy_account_use_its_newest_fills() {
    let instruments = instruments_with_quiet(1.0);
    let accounts = Accounts::parse(
        "accounts",
        r#"
[[account]]
name = "alice"
token = "alice-token"
api_key = "alice-binance-key"
api_secret = "alice-binance-secret"

[[account]]
name = "bob"
token = "bob-token-1"
orders_per_sec = 100000
"#,
        &instruments,
    )
    .expect("accounts");
    let mut config = Config::new(instruments, 3);
    config.accounts = accounts;
    config.requests_per_sec = 100_000.0;
    config.request_burst = 100_000.0;
    let server = Server::start(config).await;
    let addr = server.addr;
    let mut alice = login(&server, "alice-token").await;
    let placed = alice
        .request(quiet_order("sell", "12.00", Some("101.00")), 1)
        .await;
    assert_eq!(placed["type"], "order_accepted", "{placed}");
    let order_id = placed["order_id"]
        .as_str()
        .expect("an order id")
        .to_string();
    let number = order_id.rsplit(':').next().expect("a number").to_string();
    // Bob takes it 0.01 at a time: 1,100 fills of alice's one order.
    let mut bob = login(&server, "bob-token-1").await;
    for id in 0..1100 {
        let reply = bob
            .request(quiet_order("buy", "0.01", Some("101.00")), 10 + id)
            .await;
        assert_eq!(reply["type"], "order_accepted", "{reply}");
    }
    let (_, last) = send(
        addr,
        "GET",
        "/binance/api/v3/trades?symbol=QUIET&limit=1",
        None,
        "",
    )
    .await;
    let newest = last[0]["id"].as_u64().expect("the newest trade id");

    let (_, trades) = signed(addr, "GET", "myTrades", "symbol=QUIET&limit=1000", SECRET).await;
    let ids: Vec<u64> = trades
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["id"].as_u64())
        .collect();
    assert_eq!(ids.len(), 1000, "{trades}");
    assert_eq!(ids.last(), Some(&newest), "the newest trade is answered");
    assert_eq!(
        ids,
        ((newest - 999)..=newest).collect::<Vec<_>>(),
        "the newest 1,000, oldest first"
    );
    let (_, first) = signed(
        addr,
        "GET",
        "myTrades",
        &format!("symbol=QUIET&limit=5&fromId={}", newest - 1099),
        SECRET,
    )
    .await;
    let first: Vec<u64> = first
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["id"].as_u64())
        .collect();
    assert_eq!(
        first,
        ((newest - 1099)..(newest - 1094)).collect::<Vec<_>>()
    );

    let (_, status) = signed(
        addr,
        "GET",
        "order",
        &format!("symbol=QUIET&orderId={number}"),
        SECRET,
    )
    .await;
    assert_eq!(
        (
            status["executedQty"].as_str(),
            status["cummulativeQuoteQty"].as_str()
        ),
        (Some("11.00"), Some("1111")),
        "every fill counted: {status}"
    );
    server.stop().await;
}
