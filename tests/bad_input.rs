//! Malformed and hostile client messages, a table of them, each with the
//! outcome it must get (an error code, or a close code), over a real
//! socket. After each one the connection must still work (a `ping` is the
//! very next thing answered: nothing else was sent), and after all of
//! them the account's orders and balances must be exactly as before: a bad
//! request changes nothing.

mod common;

use common::{Client, Server, instruments_with_quiet, login};
use futures_util::StreamExt;
use serde_json::{Value, json};
use tickwire::gateway::Config;
use tokio_tungstenite::tungstenite::Message;

/// A request as sent (text, so it can be anything) and the error code it
/// must be answered with.
type Case = (&'static str, String, &'static str);

fn order(fields: &str) -> String {
    format!(
        r#"{{"op":"order","id":"o","symbol":"QUIET","side":"buy","order_type":"limit","qty":"1.00","price":"95.00"{fields}}}"#
    )
}

/// The base order without `field`, as text ending before its `}`.
fn order_without_open(field: &str) -> String {
    let mut base: Value = serde_json::from_str(&order("")).expect("the base order is JSON");
    base.as_object_mut().expect("object").remove(field);
    let mut text = base.to_string();
    text.pop();
    text
}

/// The base order with `field` written as `value` (raw JSON text, which
/// may be what serde_json would never write).
fn order_with(field: &str, value: &str) -> String {
    format!("{},\"{field}\":{value}}}", order_without_open(field))
}

fn order_without(field: &str) -> String {
    order_without_open(field) + "}"
}

fn cases() -> Vec<Case> {
    let s = |t: &str| t.to_string();
    let deep = format!(
        r#"{{"op":"ping","x":{}{}}}"#,
        "[".repeat(5_000),
        "]".repeat(5_000)
    );
    vec![
        // Not a request at all.
        ("not JSON", s("not json"), "bad_request"),
        ("an empty message", s(""), "bad_request"),
        ("only spaces", s("   "), "bad_request"),
        ("an array", s("[1,2,3]"), "bad_request"),
        ("a string", s("\"ping\""), "bad_request"),
        ("a number", s("42"), "bad_request"),
        ("null", s("null"), "bad_request"),
        ("truncated JSON", s(r#"{"op":"ping""#), "bad_request"),
        ("trailing garbage", s(r#"{"op":"ping"} x"#), "bad_request"),
        (
            "a raw control character in a string",
            s("{\"op\":\"pi\u{1}ng\"}"),
            "bad_request",
        ),
        ("invalid escape", s(r#"{"op":"p\qing"}"#), "bad_request"),
        (
            "a lone surrogate escape",
            s(r#"{"op":"\ud800"}"#),
            "bad_request",
        ),
        ("deep nesting (5,000 levels)", deep, "bad_request"),
        ("NaN", s(r#"{"op":"ping","id":NaN}"#), "bad_request"),
        (
            "Infinity",
            s(r#"{"op":"ping","id":Infinity}"#),
            "bad_request",
        ),
        // op and id.
        ("no op", s(r#"{"id":1}"#), "bad_request"),
        ("op a number", s(r#"{"op":7}"#), "bad_request"),
        ("op null", s(r#"{"op":null}"#), "bad_request"),
        ("op an object", s(r#"{"op":{}}"#), "bad_request"),
        ("an unknown op", s(r#"{"op":"launch"}"#), "unknown_op"),
        ("op in capitals", s(r#"{"op":"PING"}"#), "unknown_op"),
        ("an empty op", s(r#"{"op":""}"#), "unknown_op"),
        (
            "an over-long op",
            format!(r#"{{"op":"{}"}}"#, "x".repeat(10_000)),
            "unknown_op",
        ),
        ("id an object", s(r#"{"op":"ping","id":{}}"#), "bad_request"),
        ("id an array", s(r#"{"op":"ping","id":[1]}"#), "bad_request"),
        (
            "id a boolean",
            s(r#"{"op":"ping","id":true}"#),
            "bad_request",
        ),
        (
            "id a huge number",
            s(r#"{"op":"ping","id":1e999}"#),
            "bad_request",
        ),
        (
            "duplicate op keys",
            s(r#"{"op":"ping","op":"launch"}"#),
            "bad_request",
        ),
        // subscribe.
        (
            "channels not a list",
            s(r#"{"op":"subscribe","channels":"book","symbols":["BTC-USD"]}"#),
            "bad_request",
        ),
        (
            "no channels",
            s(r#"{"op":"subscribe","channels":[],"symbols":["BTC-USD"]}"#),
            "bad_request",
        ),
        (
            "no symbols",
            s(r#"{"op":"subscribe","channels":["book"],"symbols":[]}"#),
            "bad_request",
        ),
        (
            "a symbol a number",
            s(r#"{"op":"subscribe","channels":["book"],"symbols":[1]}"#),
            "bad_request",
        ),
        (
            "an unknown channel",
            s(r#"{"op":"subscribe","channels":["gossip"],"symbols":["BTC-USD"]}"#),
            "unknown_channel",
        ),
        (
            "an unknown symbol",
            s(r#"{"op":"subscribe","channels":["book"],"symbols":["DOGE-USD"]}"#),
            "unknown_symbol",
        ),
        (
            "an empty symbol",
            s(r#"{"op":"subscribe","channels":["book"],"symbols":[""]}"#),
            "unknown_symbol",
        ),
        (
            "an over-long symbol",
            format!(
                r#"{{"op":"subscribe","channels":["book"],"symbols":["{}"]}}"#,
                "A".repeat(5_000)
            ),
            "unknown_symbol",
        ),
        (
            "a symbol in lower case",
            s(r#"{"op":"subscribe","channels":["book"],"symbols":["btc-usd"]}"#),
            "unknown_symbol",
        ),
        (
            "an unknown candle interval",
            s(r#"{"op":"subscribe","channels":["candles"],"symbols":["BTC-USD"],"interval":"7m"}"#),
            "bad_request",
        ),
        (
            "one good and one unknown symbol",
            s(r#"{"op":"subscribe","channels":["book"],"symbols":["BTC-USD","NOPE"]}"#),
            "unknown_symbol",
        ),
        // order: every field of the wrong type, or out of range.
        (
            "order without a symbol",
            order_without("symbol"),
            "bad_request",
        ),
        (
            "order with a number for a symbol",
            order_with("symbol", "5"),
            "bad_request",
        ),
        (
            "order on an unknown symbol",
            order_with("symbol", "\"NOPE\""),
            "unknown_symbol",
        ),
        ("order without a side", order_without("side"), "bad_request"),
        (
            "order with side up",
            order_with("side", "\"up\""),
            "bad_request",
        ),
        (
            "order with side in capitals",
            order_with("side", "\"BUY\""),
            "bad_request",
        ),
        (
            "order with an unknown type",
            order_with("order_type", "\"stop\""),
            "bad_request",
        ),
        ("order without qty", order_without("qty"), "bad_request"),
        ("qty a number", order_with("qty", "1"), "bad_request"),
        ("qty a float", order_with("qty", "1.5"), "bad_request"),
        ("qty null", order_with("qty", "null"), "bad_request"),
        (
            "qty not a number",
            order_with("qty", "\"abc\""),
            "invalid_qty",
        ),
        (
            "qty negative",
            order_with("qty", "\"-1.00\""),
            "invalid_qty",
        ),
        ("qty zero", order_with("qty", "\"0\""), "invalid_qty"),
        (
            "qty finer than the lot",
            order_with("qty", "\"1.001\""),
            "invalid_qty",
        ),
        (
            "qty in exponent form",
            order_with("qty", "\"1e2\""),
            "invalid_qty",
        ),
        (
            "qty NaN as text",
            order_with("qty", "\"NaN\""),
            "invalid_qty",
        ),
        (
            "qty huge",
            order_with("qty", "\"99999999999999999999999999999\""),
            "invalid_qty",
        ),
        (
            "qty over the instrument's max",
            order_with("qty", "\"50.01\""),
            "invalid_qty",
        ),
        (
            "qty with spaces",
            order_with("qty", "\" 1.00\""),
            "invalid_qty",
        ),
        ("price a number", order_with("price", "95.0"), "bad_request"),
        (
            "price not a number",
            order_with("price", "\"abc\""),
            "invalid_price",
        ),
        (
            "price negative",
            order_with("price", "\"-95.00\""),
            "invalid_price",
        ),
        ("price zero", order_with("price", "\"0\""), "invalid_price"),
        (
            "price off the tick",
            order_with("price", "\"95.005\""),
            "invalid_price",
        ),
        (
            "price huge",
            order_with("price", "\"1e308\""),
            "invalid_price",
        ),
        (
            "price outside the band",
            order_with("price", "\"50.00\""),
            "price_out_of_band",
        ),
        (
            "a limit order without a price",
            order_without("price"),
            "bad_request",
        ),
        (
            "an unknown time in force",
            order(r#","tif":"forever""#),
            "bad_request",
        ),
        (
            "post_only a string",
            order(r#","post_only":"yes""#),
            "bad_request",
        ),
        (
            "client_order_id a number",
            order(r#","client_order_id":5"#),
            "bad_request",
        ),
        (
            "an empty client_order_id",
            order(r#","client_order_id":"""#),
            "bad_request",
        ),
        (
            "an over-long client_order_id",
            order(&format!(r#","client_order_id":"{}""#, "c".repeat(200))),
            "bad_request",
        ),
        (
            "a client_order_id with a control character",
            order(r#","client_order_id":"a\u0001b""#),
            "bad_request",
        ),
        (
            "a post-only order that would cross",
            s(
                r#"{"op":"order","symbol":"QUIET","side":"buy","order_type":"limit","qty":"1.00","price":"105.00","post_only":true}"#,
            ),
            "post_only_would_cross",
        ),
        // cancel, amend, status, fills.
        (
            "cancel of an unknown order",
            s(r#"{"op":"cancel","symbol":"QUIET","order_id":"QUIET-999999"}"#),
            "unknown_order",
        ),
        (
            "cancel naming no order",
            s(r#"{"op":"cancel","symbol":"QUIET"}"#),
            "bad_request",
        ),
        (
            "cancel with a number for an order id",
            s(r#"{"op":"cancel","symbol":"QUIET","order_id":5}"#),
            "bad_request",
        ),
        (
            "cancel of an unknown client order id",
            s(r#"{"op":"cancel","symbol":"QUIET","client_order_id":"never"}"#),
            "unknown_order",
        ),
        (
            "amend of an unknown order",
            s(r#"{"op":"amend","symbol":"QUIET","order_id":"QUIET-999999","qty":"2.00"}"#),
            "unknown_order",
        ),
        (
            "amend with a negative qty",
            s(r#"{"op":"amend","symbol":"QUIET","order_id":"QUIET:1","qty":"-2.00"}"#),
            "invalid_qty",
        ),
        (
            "amend with an off-tick price",
            s(r#"{"op":"amend","symbol":"QUIET","order_id":"QUIET:1","price":"104.001"}"#),
            "invalid_price",
        ),
        (
            "status of an unknown order",
            s(r#"{"op":"order_status","symbol":"QUIET","order_id":"QUIET-999999"}"#),
            "unknown_order",
        ),
        (
            "fills since a string",
            s(r#"{"op":"fills","since":"x"}"#),
            "bad_request",
        ),
        (
            "fills since a negative number",
            s(r#"{"op":"fills","since":-1}"#),
            "bad_request",
        ),
        (
            "cancel_all of an unknown symbol",
            s(r#"{"op":"cancel_all","symbol":"NOPE"}"#),
            "unknown_symbol",
        ),
        (
            "faults on a server that does not allow them",
            s(r#"{"op":"faults","spec":"drop=0.5"}"#),
            "unauthorized",
        ),
    ]
}

/// What the account has: its open orders and its balances.
async fn state(c: &mut Client) -> (Value, Value) {
    let open = c.request(json!({"op":"open_orders"}), 900).await;
    let account = c.request(json!({"op":"account"}), 901).await;
    (open["orders"].clone(), account)
}

/// Sends `text` and checks the answer is the error `code`, then that the
/// next thing answered is a ping's pong; the problems, if any.
async fn check(c: &mut Client, name: &str, text: &str, code: &str) -> Option<String> {
    c.send_raw(Message::Text(text.into())).await;
    let reply = c.next_json().await;
    let wrong = if reply["type"] != "error" || reply["code"] != code {
        Some(format!("{name}: want {code}, got {reply}"))
    } else if reply["message"].as_str().is_none_or(|m| m.len() < 10) {
        Some(format!("{name}: the message says nothing: {reply}"))
    } else {
        None
    };
    c.send(json!({"op":"ping","id":"alive"})).await;
    let pong = c.next_json().await;
    if pong["type"] != "pong" || pong["id"] != "alive" {
        return Some(format!("{name}: after it, not the pong but {pong}"));
    }
    wrong
}

fn server_config() -> (Config, String) {
    let mut config = Config::new(instruments_with_quiet(1.0), 7);
    // The table is sent as fast as it goes: the request limit is tested
    // elsewhere.
    config.requests_per_sec = 1e6;
    config.request_burst = 1e6;
    let token = config.accounts.token_of(0).expect("demo").to_string();
    (config, token)
}

#[tokio::test]
async fn each_malformed_message_gets_its_error_and_changes_nothing() {
    let (config, token) = server_config();
    let server = Server::start(config).await;
    let mut c = login(&server, &token).await;
    // Something to leave alone: a resting order.
    let resting = c
        .request(
            json!({"op":"order","symbol":"QUIET","side":"sell","order_type":"limit","qty":"2.00","price":"104.00","client_order_id":"resting"}),
            1,
        )
        .await;
    assert_eq!(resting["type"], "order_accepted", "{resting}");
    let before = state(&mut c).await;
    let cases = cases();
    assert!(cases.len() >= 60, "{} cases", cases.len());
    let mut problems = Vec::new();
    for (name, text, code) in &cases {
        problems.extend(check(&mut c, name, text, code).await);
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert_eq!(
        state(&mut c).await,
        before,
        "a bad request changed the account"
    );
    server.stop().await;
}

#[tokio::test]
async fn before_auth_and_at_the_edges_of_the_connection() {
    let (config, token) = server_config();
    let server = Server::start(config).await;
    let mut c = server.client().await;
    let mut problems = Vec::new();
    for (name, text, code) in [
        ("an order before auth", order(""), "not_authenticated"),
        (
            "a cancel before auth",
            r#"{"op":"cancel","symbol":"QUIET","order_id":"QUIET-1"}"#.to_string(),
            "not_authenticated",
        ),
        (
            "open orders before auth",
            r#"{"op":"open_orders"}"#.to_string(),
            "not_authenticated",
        ),
        (
            "fills before auth",
            r#"{"op":"fills","since":0}"#.to_string(),
            "not_authenticated",
        ),
        (
            "auth without a token",
            r#"{"op":"auth"}"#.to_string(),
            "bad_request",
        ),
        (
            "auth with a number for a token",
            r#"{"op":"auth","token":7}"#.to_string(),
            "bad_request",
        ),
        (
            "auth with a wrong token",
            r#"{"op":"auth","token":"wrong"}"#.to_string(),
            "unauthorized",
        ),
        (
            "auth with an empty token",
            r#"{"op":"auth","token":""}"#.to_string(),
            "unauthorized",
        ),
    ] {
        problems.extend(check(&mut c, name, &text, code).await);
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // The third wrong token closes the connection with 1008.
    c.send(json!({"op":"auth","token":"wrong again"})).await;
    assert_eq!(close_code(&mut c).await, Some(1008));

    // A binary frame is refused, the connection kept.
    let mut c = login(&server, &token).await;
    c.send_raw(Message::Binary(vec![0, 159, 146, 150].into()))
        .await;
    let reply = c.next_json().await;
    assert_eq!(reply["code"], "unsupported_frame", "{reply}");
    // 64 KiB is the most a message may be: one byte more closes with 1009.
    let padding = 64 * 1024 - r#"{"op":"ping","pad":""}"#.len();
    let most = format!(r#"{{"op":"ping","pad":"{}"}}"#, "x".repeat(padding));
    assert_eq!(most.len(), 64 * 1024);
    c.send_raw(Message::Text(most.into())).await;
    assert_eq!(c.next_json().await["type"], "pong");
    let over = format!(r#"{{"op":"ping","pad":"{}"}}"#, "x".repeat(padding + 1));
    c.send_raw(Message::Text(over.into())).await;
    assert_eq!(close_code(&mut c).await, Some(1009));
    server.stop().await;
}

/// Reads until the server's close frame: its code.
async fn close_code(c: &mut Client) -> Option<u16> {
    loop {
        match tokio::time::timeout(std::time::Duration::from_secs(10), c.ws.next()).await {
            Ok(Some(Ok(Message::Close(frame)))) => return frame.map(|f| u16::from(f.code)),
            Ok(Some(Ok(_))) => continue,
            _ => return None,
        }
    }
}

/// The Binance dialect's REST: (what, method, path, body, HTTP status,
/// Binance error code).
#[tokio::test]
async fn the_binance_dialect_refuses_bad_requests_with_its_codes() {
    let (config, token) = server_config();
    let server = Server::start(config).await;
    let addr = server.addr.to_string();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let signed = |query: &str| {
        let query = format!("{query}&timestamp={now}");
        let signature = common::hex_hmac(&token, &query);
        format!("{query}&signature={signature}")
    };
    let rest: Vec<(&str, &str, String, String, u16, i64)> = vec![
        (
            "depth of an unknown symbol",
            "GET",
            "/binance/api/v3/depth?symbol=NOPE".into(),
            String::new(),
            400,
            -1121,
        ),
        (
            "depth without a symbol",
            "GET",
            "/binance/api/v3/depth".into(),
            String::new(),
            400,
            -1102,
        ),
        (
            "depth with a limit that is not a number",
            "GET",
            "/binance/api/v3/depth?symbol=BTCUSD&limit=abc".into(),
            String::new(),
            400,
            -1100,
        ),
        (
            "depth with an over-long symbol",
            "GET",
            format!("/binance/api/v3/depth?symbol={}", "A".repeat(3000)),
            String::new(),
            400,
            -1121,
        ),
        (
            "klines of an interval not served",
            "GET",
            "/binance/api/v3/klines?symbol=BTCUSD&interval=7m".into(),
            String::new(),
            400,
            -1120,
        ),
        (
            "tickers with symbols not a list",
            "GET",
            "/binance/api/v3/ticker/price?symbols=BTCUSD".into(),
            String::new(),
            400,
            -1100,
        ),
        (
            "an unknown endpoint",
            "GET",
            "/binance/api/v3/historicalTrades?symbol=BTCUSD".into(),
            String::new(),
            404,
            -1020,
        ),
        (
            "a signed endpoint without a signature",
            "GET",
            "/binance/api/v3/account".into(),
            String::new(),
            400,
            -1102,
        ),
        (
            "an order with a bad signature",
            "POST",
            "/binance/api/v3/order".into(),
            format!(
                "symbol=QUIET&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=95&timestamp={now}&signature=00"
            ),
            400,
            -1022,
        ),
        (
            "an order without a timestamp",
            "POST",
            "/binance/api/v3/order".into(),
            {
                let q = "symbol=QUIET&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=95";
                format!("{q}&signature={}", common::hex_hmac(&token, q))
            },
            400,
            -1102,
        ),
        (
            "an order with a side that is not one",
            "POST",
            "/binance/api/v3/order".into(),
            signed("symbol=QUIET&side=UP&type=LIMIT&timeInForce=GTC&quantity=1&price=95"),
            400,
            -1117,
        ),
        (
            "an order with a type that is not one",
            "POST",
            "/binance/api/v3/order".into(),
            signed("symbol=QUIET&side=BUY&type=STOP&timeInForce=GTC&quantity=1&price=95"),
            400,
            -1116,
        ),
        (
            "an order with a negative quantity",
            "POST",
            "/binance/api/v3/order".into(),
            signed("symbol=QUIET&side=BUY&type=LIMIT&timeInForce=GTC&quantity=-1&price=95"),
            400,
            -1013,
        ),
        (
            "an order with a quantity that is not a number",
            "POST",
            "/binance/api/v3/order".into(),
            signed("symbol=QUIET&side=BUY&type=LIMIT&timeInForce=GTC&quantity=abc&price=95"),
            400,
            -1100,
        ),
        (
            "an order off the tick",
            "POST",
            "/binance/api/v3/order".into(),
            signed("symbol=QUIET&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=95.001"),
            400,
            -1013,
        ),
        (
            "a cancel of an unknown order",
            "DELETE",
            "/binance/api/v3/order".into(),
            signed("symbol=QUIET&orderId=999999"),
            400,
            -2011,
        ),
    ];
    let mut problems = Vec::new();
    for (name, method, path, body, status, code) in &rest {
        let (got_status, got) = common::http_send(&addr, method, path, Some(&token), body).await;
        let got: Value = serde_json::from_str(&got).unwrap_or(Value::Null);
        if (got_status, got["code"].as_i64()) != (*status, Some(*code)) {
            problems.push(format!(
                "{name}: want {status} {code}, got {got_status} {got}"
            ));
        }
    }
    // The WebSocket API.
    let mut api = Client::connect(&format!("ws://{addr}/binance/ws-api/v3")).await;
    for (name, text, code) in [
        ("not JSON", "not json".to_string(), -1102),
        ("no method", r#"{"id":1}"#.to_string(), -1102),
        (
            "params not an object",
            r#"{"id":1,"method":"order.place","params":[1]}"#.to_string(),
            -1100,
        ),
        (
            "an unknown method",
            r#"{"id":1,"method":"order.amend"}"#.to_string(),
            -1020,
        ),
        (
            "an unsigned order",
            r#"{"id":1,"method":"order.place","params":{"symbol":"QUIET"}}"#.to_string(),
            -2014,
        ),
    ] {
        api.send_raw(Message::Text(text.into())).await;
        let got = api.next_json().await;
        if got["error"]["code"].as_i64() != Some(code) {
            problems.push(format!("WebSocket API, {name}: want {code}, got {got}"));
        }
    }
    api.send(json!({"id":"alive","method":"ping"})).await;
    assert_eq!(api.next_json().await["status"], 200);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let mut c = login(&server, &token).await;
    let open = c.request(json!({"op":"open_orders"}), 1).await;
    assert_eq!(
        open["orders"],
        json!([]),
        "a refused request placed an order"
    );
    server.stop().await;
}
