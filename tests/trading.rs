//! Trading over a real socket: orders, cancels, private events, positions,
//! and every rejection. Most tests trade on `QUIET`, an instrument whose
//! simulated crowd is all but silent, so the book holds only what the test
//! puts there; one test trades against the simulated BTC-USD market.

mod common;

use common::{Client, Read, Server, instruments_with_quiet, login, quiet_order};
use serde_json::{Value, json};
use tickwire::gateway::Config;
use tickwire::trading::Accounts;

const ACCOUNTS: &str = r#"
[[account]]
name = "alice"
token = "alice-token"
[account.position_limits]
QUIET = "5"

[[account]]
name = "bob"
token = "bob-token-1"

[[account]]
name = "slow"
token = "slow-token"
orders_per_sec = 0.5
"#;

fn trading_config() -> Config {
    let instruments = instruments_with_quiet(1.0);
    let accounts = Accounts::parse("accounts", ACCOUNTS, &instruments).expect("accounts");
    let mut config = Config::new(instruments, 3);
    config.accounts = accounts;
    config
}

/// Sends an order and returns its acceptance (or error) and the order id.
async fn place(c: &mut Client, request: Value, id: i64) -> (Value, String) {
    let reply = c.request(request, id).await;
    let order_id = reply["order_id"].as_str().unwrap_or_default().to_string();
    (reply, order_id)
}

/// Private events up to and including this order's `order_done`.
async fn until_done(c: &mut Client, order_id: &str) -> Vec<Value> {
    let mut events = Vec::new();
    loop {
        let v = c.next_json().await;
        let done = v["type"] == "order_done" && v["order_id"] == order_id;
        events.push(v);
        if done {
            return events;
        }
    }
}

async fn open_orders(c: &mut Client) -> Vec<Value> {
    let reply = c.request(json!({"op":"open_orders"}), 900).await;
    reply["orders"].as_array().expect("orders").clone()
}

async fn account(c: &mut Client) -> Value {
    c.request(json!({"op":"account"}), 901).await
}

async fn quiet_book(server: &Server) -> (Value, Value) {
    let mut c = server.client().await;
    c.request(
        json!({"op":"subscribe","channels":["book"],"symbols":["QUIET"]}),
        1,
    )
    .await;
    let snapshot = c.until_type("book_snapshot").await;
    (snapshot["bids"].clone(), snapshot["asks"].clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resting_order_then_cancel_and_the_public_book_moves() {
    let server = Server::start(trading_config()).await;
    let mut watcher = server.client().await;
    watcher
        .request(
            json!({"op":"subscribe","channels":["book"],"symbols":["QUIET"]}),
            1,
        )
        .await;
    let snapshot = watcher.until_type("book_snapshot").await;
    assert_eq!(
        (snapshot["bids"].clone(), snapshot["asks"].clone()),
        (json!([]), json!([])),
        "a quiet, empty book"
    );

    let mut alice = login(&server, "alice-token").await;
    let mut request = quiet_order("buy", "1.50", Some("99.50"));
    request["client_order_id"] = json!("first-order");
    let (accepted, id) = place(&mut alice, request, 1).await;
    assert_eq!(accepted["type"], "order_accepted", "{accepted}");
    assert_eq!(
        (
            &accepted["symbol"],
            &accepted["side"],
            &accepted["order_type"],
            &accepted["price"],
            &accepted["qty"],
            &accepted["tif"]
        ),
        (
            &json!("QUIET"),
            &json!("buy"),
            &json!("limit"),
            &json!("99.50"),
            &json!("1.50"),
            &json!("gtc")
        )
    );
    assert_eq!(accepted["client_order_id"], "first-order");
    assert!(id.starts_with("QUIET:") && accepted["ts"].as_u64().is_some());
    let update = watcher.until_type("book_update").await;
    assert_eq!(
        update["bids"],
        json!([["99.50", "1.50"]]),
        "every subscriber sees the client's order"
    );

    let open = open_orders(&mut alice).await;
    assert_eq!(open.len(), 1);
    assert_eq!(
        (open[0]["order_id"].as_str(), open[0]["leaves_qty"].as_str()),
        (Some(id.as_str()), Some("1.50"))
    );

    let done = alice
        .request(json!({"op":"cancel","symbol":"QUIET","order_id":id}), 2)
        .await;
    assert_eq!(
        (
            done["type"].as_str(),
            done["reason"].as_str(),
            done["filled_qty"].as_str()
        ),
        (Some("order_done"), Some("canceled"), Some("0.00"))
    );
    assert_eq!(
        watcher.until_type("book_update").await["bids"],
        json!([["99.50", "0"]])
    );
    assert!(open_orders(&mut alice).await.is_empty());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ioc_fok_market_post_only_and_self_trade_prevention() {
    let server = Server::start(trading_config()).await;
    let mut bob = login(&server, "bob-token-1").await;
    let (_, ask1) = place(&mut bob, quiet_order("sell", "1.00", Some("100.00")), 1).await;
    let (_, _ask2) = place(&mut bob, quiet_order("sell", "1.00", Some("100.50")), 2).await;
    let mut alice = login(&server, "alice-token").await;

    // IOC: fills the 1.00 at 100.00 it can reach, expires the rest.
    let mut ioc = quiet_order("buy", "1.50", Some("100.00"));
    ioc["tif"] = json!("ioc");
    let (_, id) = place(&mut alice, ioc, 3).await;
    let events = until_done(&mut alice, &id).await;
    let fills: Vec<_> = events.iter().filter(|e| e["type"] == "fill").collect();
    assert_eq!(fills.len(), 1);
    assert_eq!(
        (
            fills[0]["price"].as_str(),
            fills[0]["qty"].as_str(),
            fills[0]["liquidity"].as_str()
        ),
        (Some("100.00"), Some("1.00"), Some("taker"))
    );
    assert_eq!(
        (
            fills[0]["leaves_qty"].as_str(),
            fills[0]["position"].as_str()
        ),
        (Some("0.50"), Some("1.00"))
    );
    let done = events.last().expect("done");
    assert_eq!(
        (done["reason"].as_str(), done["filled_qty"].as_str()),
        (Some("expired"), Some("1.00"))
    );
    // Bob's resting order filled: he hears of it as the maker.
    let maker = bob.until_type("fill").await;
    assert_eq!(
        (
            maker["order_id"].as_str(),
            maker["liquidity"].as_str(),
            maker["side"].as_str()
        ),
        (Some(ask1.as_str()), Some("maker"), Some("sell"))
    );
    assert_eq!(bob.until_type("order_done").await["reason"], "filled");

    // FOK: 2.00 cannot all fill at 100.50 (1.00 there): nothing fills.
    let mut fok = quiet_order("buy", "2.00", Some("100.50"));
    fok["tif"] = json!("fok");
    let (_, id) = place(&mut alice, fok.clone(), 4).await;
    let events = until_done(&mut alice, &id).await;
    assert!(events.iter().all(|e| e["type"] != "fill"));
    assert_eq!(
        (
            events.last().expect("done")["reason"].as_str(),
            events.last().expect("done")["filled_qty"].as_str()
        ),
        (Some("expired"), Some("0.00"))
    );

    // Post-only that would cross is refused.
    let mut post = quiet_order("buy", "0.10", Some("100.50"));
    post["post_only"] = json!(true);
    let (error, _) = place(&mut alice, post, 5).await;
    assert_eq!(error["code"], "post_only_would_cross", "{error}");

    // Market: takes the 1.00 at 100.50.
    let (accepted, id) = place(&mut alice, quiet_order("buy", "1.00", None), 6).await;
    assert_eq!(
        (
            accepted["order_type"].as_str(),
            accepted["price"].is_null(),
            accepted["tif"].as_str()
        ),
        (Some("market"), true, Some("ioc"))
    );
    let events = until_done(&mut alice, &id).await;
    assert_eq!(events.last().expect("done")["reason"], "filled");
    assert_eq!(
        events.iter().find(|e| e["type"] == "fill").expect("fill")["price"],
        "100.50"
    );

    // Self-trade prevention across two connections of one account.
    let mut alice2 = login(&server, "alice-token").await;
    let (_, resting) = place(&mut alice2, quiet_order("sell", "1.00", Some("101.00")), 7).await;
    let (_, id) = place(&mut alice, quiet_order("buy", "2.00", Some("101.00")), 8).await;
    let events = until_done(&mut alice, &id).await;
    assert!(
        events
            .iter()
            .all(|e| e["type"] != "fill" || e["order_id"] != id.as_str())
    );
    let done = events.last().expect("done");
    assert_eq!(
        (done["reason"].as_str(), done["filled_qty"].as_str()),
        (Some("self_trade_prevented"), Some("0.00"))
    );
    let open = open_orders(&mut alice).await;
    assert_eq!(open.len(), 1, "the resting order is untouched");
    assert_eq!(open[0]["order_id"], resting.as_str());
    // The other connection of the account hears of it too.
    let seen = until_done(&mut alice2, &id).await;
    assert_eq!(seen.last().expect("done")["reason"], "self_trade_prevented");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_marketable_order_fills_against_the_simulated_crowd_and_shows_in_public_trades() {
    let server = Server::start(trading_config()).await;
    let mut public = server.client().await;
    public
        .request(
            json!({"op":"subscribe","channels":["trades","ticker"],"symbols":["BTC-USD"]}),
            1,
        )
        .await;
    let ticker = public.until_type("ticker").await;
    let ask: f64 = ticker["ask"]
        .as_str()
        .expect("ask")
        .parse()
        .expect("number");
    let mut alice = login(&server, "alice-token").await;
    let price = format!("{:.2}", ask + 5.0);
    let request = json!({"op":"order","symbol":"BTC-USD","side":"buy","order_type":"limit","qty":"0.0100","price":price,"tif":"ioc"});
    let (accepted, id) = place(&mut alice, request, 2).await;
    assert_eq!(accepted["type"], "order_accepted", "{accepted}");
    let events = until_done(&mut alice, &id).await;
    let fills: Vec<&Value> = events.iter().filter(|e| e["type"] == "fill").collect();
    assert!(!fills.is_empty(), "{events:?}");
    assert_eq!(events.last().expect("done")["reason"], "filled");
    for fill in fills {
        let trade = loop {
            let t = public.until_type("trade").await;
            if t["trade_id"] == fill["trade_id"] {
                break t;
            }
        };
        assert_eq!(
            (&trade["price"], &trade["qty"], &trade["side"]),
            (&fill["price"], &fill["qty"], &json!("buy"))
        );
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rejection_leaves_no_trace() {
    let server = Server::start(trading_config()).await;
    let mut anonymous = server.client().await;
    let reply = anonymous
        .request(quiet_order("buy", "1.00", Some("99.00")), 1)
        .await;
    assert_eq!(reply["code"], "not_authenticated");
    let mut alice = login(&server, "alice-token").await;
    let (_, resting) = place(&mut alice, quiet_order("buy", "1.00", Some("99.00")), 2).await;
    let book_before = quiet_book(&server).await;
    let account_before = account(&mut alice).await;

    let mut duplicate = quiet_order("buy", "0.10", Some("98.00"));
    duplicate["client_order_id"] = json!("dup-1");
    place(&mut alice, duplicate.clone(), 3).await;
    let cases = [
        (quiet_order("buy", "1.00", Some("99.005")), "invalid_price"),
        (quiet_order("buy", "1.00", Some("0")), "invalid_price"),
        (quiet_order("buy", "1.005", Some("99.00")), "invalid_qty"),
        (quiet_order("buy", "50.01", Some("99.00")), "invalid_qty"),
        (quiet_order("buy", "0", Some("99.00")), "invalid_qty"),
        (
            quiet_order("buy", "1.00", Some("110.01")),
            "price_out_of_band",
        ),
        (
            quiet_order("sell", "1.00", Some("89.99")),
            "price_out_of_band",
        ),
        (
            json!({"op":"order","symbol":"QUIET","side":"sell","qty":"1.00","order_type":"limit","price":"99.00","post_only":true}),
            "post_only_would_cross",
        ),
        (quiet_order("buy", "4.01", Some("98.00")), "position_limit"),
        (duplicate.clone(), "duplicate_client_order_id"),
        (
            json!({"op":"order","symbol":"NOPE","side":"buy","qty":"1","order_type":"market"}),
            "unknown_symbol",
        ),
        (
            json!({"op":"order","symbol":"QUIET","side":"buy","qty":"1.00","order_type":"market","price":"99.00"}),
            "bad_request",
        ),
        (
            json!({"op":"cancel","symbol":"QUIET","order_id":"QUIET:999"}),
            "unknown_order",
        ),
        (
            json!({"op":"cancel","symbol":"QUIET","order_id":"nonsense"}),
            "unknown_order",
        ),
        (
            json!({"op":"cancel","symbol":"QUIET","client_order_id":"never-used"}),
            "unknown_order",
        ),
    ];
    for (n, (request, code)) in cases.into_iter().enumerate() {
        let reply = alice.request(request.clone(), 10 + n as i64).await;
        assert_eq!(
            (reply["type"].as_str(), reply["code"].as_str()),
            (Some("error"), Some(code)),
            "{request} gave {reply}"
        );
        assert!(reply["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    let dup = alice.request(duplicate, 40).await;
    assert_eq!(
        (
            dup["status"].as_str(),
            dup["order_id"].as_str().map(|s| s.starts_with("QUIET:"))
        ),
        (Some("open"), Some(true))
    );

    // Nothing changed but the one accepted order.
    let open = open_orders(&mut alice).await;
    assert_eq!(open.len(), 2);
    assert_eq!(open[0]["order_id"], resting.as_str());
    let (bids, asks) = quiet_book(&server).await;
    assert_eq!(asks, book_before.1);
    assert_eq!(bids, json!([["99.00", "1.00"], ["98.00", "0.10"]]));
    assert_eq!(account(&mut alice).await, account_before);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_client_order_ids_name_the_order_and_its_status() {
    let server = Server::start(trading_config()).await;
    let mut alice = login(&server, "alice-token").await;
    let mut request = quiet_order("buy", "1.00", Some("97.00"));
    request["client_order_id"] = json!("mine_1");
    let (_, id) = place(&mut alice, request.clone(), 1).await;
    let dup = alice.request(request.clone(), 2).await;
    assert_eq!(
        (
            dup["code"].as_str(),
            dup["order_id"].as_str(),
            dup["status"].as_str()
        ),
        (
            Some("duplicate_client_order_id"),
            Some(id.as_str()),
            Some("open")
        )
    );
    let done = alice
        .request(
            json!({"op":"cancel","symbol":"QUIET","client_order_id":"mine_1"}),
            3,
        )
        .await;
    assert_eq!(
        (done["reason"].as_str(), done["client_order_id"].as_str()),
        (Some("canceled"), Some("mine_1"))
    );
    let dup = alice.request(request, 4).await;
    assert_eq!(
        (dup["order_id"].as_str(), dup["status"].as_str()),
        (Some(id.as_str()), Some("canceled"))
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_are_isolated() {
    let server = Server::start(trading_config()).await;
    let mut alice = login(&server, "alice-token").await;
    let mut bob = login(&server, "bob-token-1").await;
    let (_, id) = place(&mut alice, quiet_order("buy", "1.00", Some("96.00")), 1).await;
    let reply = bob
        .request(json!({"op":"cancel","symbol":"QUIET","order_id":id}), 2)
        .await;
    let missing = bob
        .request(
            json!({"op":"cancel","symbol":"QUIET","order_id":"QUIET:12345"}),
            3,
        )
        .await;
    assert_eq!(reply["code"], "unknown_order");
    assert_eq!(missing["code"], "unknown_order");
    let strip = |v: &Value| {
        v["message"]
            .as_str()
            .unwrap_or("")
            .replace("QUIET:12345", "X")
            .replace(&id, "X")
    };
    assert_eq!(
        strip(&reply),
        strip(&missing),
        "a foreign order looks exactly like a missing one"
    );
    assert!(open_orders(&mut bob).await.is_empty());
    assert_eq!(open_orders(&mut alice).await.len(), 1);
    // Bob hears nothing of Alice's orders.
    let (accepted, _) = place(&mut alice, quiet_order("buy", "1.00", Some("95.00")), 4).await;
    assert_eq!(accepted["type"], "order_accepted");
    // Everything Bob receives up to his pong (sent after Alice's order was
    // accepted) is his pong: no private event of Alice's in between.
    bob.send(json!({"op":"ping","id":5})).await;
    let next = bob.next_json().await;
    assert_eq!(
        (next["type"].as_str(), next["id"].as_i64()),
        (Some("pong"), Some(5)),
        "{next}"
    );
    let cancelled = bob.request(json!({"op":"cancel_all"}), 6).await;
    assert_eq!(cancelled, json!({"type":"canceled_all","id":6,"count":0}));
    let cancelled = alice
        .request(json!({"op":"cancel_all","symbol":"QUIET"}), 7)
        .await;
    assert_eq!(cancelled["count"], 2);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_on_disconnect_cancels_that_connections_orders() {
    let server = Server::start(trading_config()).await;
    let mut watcher = login(&server, "alice-token").await;
    let (_, kept) = place(&mut watcher, quiet_order("buy", "1.00", Some("94.00")), 1).await;
    let mut leaving = server.client().await;
    let reply = leaving
        .request(
            json!({"op":"auth","token":"alice-token","cancel_on_disconnect":true}),
            1,
        )
        .await;
    assert_eq!(
        reply,
        json!({"type":"authenticated","id":1,"account":"alice"})
    );
    let (_, gone) = place(&mut leaving, quiet_order("buy", "1.00", Some("93.00")), 2).await;
    drop(leaving);
    let done = until_done(&mut watcher, &gone).await;
    let done = done.last().expect("done");
    assert_eq!(
        (done["reason"].as_str(), done["filled_qty"].as_str()),
        (Some("disconnected"), Some("0.00"))
    );
    let open = open_orders(&mut watcher).await;
    assert_eq!(open.len(), 1);
    assert_eq!(open[0]["order_id"], kept.as_str());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_per_account_are_rate_limited_and_bad_tokens_close_the_connection() {
    let server = Server::start(trading_config()).await;
    // Half an order a second: one can be placed (a rate under one still
    // saves up a whole order), the next waits 2 s for its token, which a
    // loaded machine's delay between two requests never reaches.
    let mut slow = login(&server, "slow-token").await;
    let (reply, _) = place(&mut slow, quiet_order("buy", "0.10", Some("90.00")), 0).await;
    assert_eq!(reply["type"], "order_accepted", "{reply}");
    let (reply, _) = place(&mut slow, quiet_order("buy", "0.10", Some("90.00")), 2).await;
    assert_eq!(reply["code"], "rate_limited");
    assert!(
        reply["retry_after_ms"]
            .as_u64()
            .is_some_and(|ms| (1..=2000).contains(&ms)),
        "{reply}"
    );
    assert_eq!(open_orders(&mut slow).await.len(), 1);

    let mut c = server.client().await;
    for attempt in 1..=3 {
        let reply = c
            .request(json!({"op":"auth","token":"wrong-token"}), attempt)
            .await;
        assert_eq!(reply["code"], "unauthorized");
    }
    match c.read().await {
        Read::Close(Some(frame)) => assert_eq!(
            (u16::from(frame.code), frame.reason.as_str()),
            (1008, "authentication failed")
        ),
        other => panic!("expected close 1008, got {other:?}"),
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn positions_and_pnl_match_a_hand_computation() {
    let server = Server::start(trading_config()).await;
    let mut alice = login(&server, "alice-token").await;
    let mut bob = login(&server, "bob-token-1").await;
    place(&mut bob, quiet_order("sell", "1.00", Some("100.00")), 1).await;
    place(&mut bob, quiet_order("sell", "1.00", Some("101.00")), 2).await;
    let (_, id) = place(&mut alice, quiet_order("buy", "2.00", Some("101.00")), 3).await;
    until_done(&mut alice, &id).await;
    place(&mut bob, quiet_order("buy", "1.00", Some("103.00")), 4).await;
    let (_, id) = place(&mut alice, quiet_order("sell", "1.00", Some("103.00")), 5).await;
    let events = until_done(&mut alice, &id).await;
    assert_eq!(
        events.iter().find(|e| e["type"] == "fill").expect("fill")["position"],
        "1.00"
    );
    // Alice bought 1 at 100 and 1 at 101 (average 100.50), sold 1 at 103:
    // realised 2.50, cash -201 + 103 = -98.
    assert_eq!(
        account(&mut alice).await,
        json!({"type":"account","id":901,"account":"alice","cash":"-98.00",
               "positions":[{"symbol":"QUIET","position":"1.00","avg_price":"100.50","realized_pnl":"2.50"}]})
    );
    // Bob, the other side: short 2 at 100.50 on average, bought 1 back at 103.
    assert_eq!(
        account(&mut bob).await,
        json!({"type":"account","id":901,"account":"bob","cash":"98.00",
               "positions":[{"symbol":"QUIET","position":"-1.00","avg_price":"100.50","realized_pnl":"-2.50"}]})
    );
    server.stop().await;
}
