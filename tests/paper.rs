//! `replay --paper` over real sockets: a hand-written recording replayed
//! at its own pace, orders placed before its first trades, and the fills
//! the queue-position model gives, worked by hand (`src/paper/`): one at
//! the touch, one partly through the queue, one never reached, one
//! canceled. The public streams are the recording's, and the same run
//! twice gives the same private events.

mod common;

use std::path::{Path, PathBuf};

use common::wire_book::WireBook;
use common::{Client, Server, WAIT, replay_config};
use serde_json::{Value, json};
use tickwire::trading::Accounts;

const T: u64 = 1_767_225_600_000_000_000;
const MS: u64 = 1_000_000;
const TOKEN: &str = "paper-token-1";

/// The recording: a book at T (and heartbeats), then two sells at 100.00 (3 and 4), the
/// level down to 1.00, a buy at 101.00, and the end.
fn recording(name: &str) -> PathBuf {
    let header = json!({"format":"tickwire-recording","version":1,"tickwire":"0.1.0","seed":null,
        "start":T,"snapshot_every_s":10,"instruments":[{"symbol":"PAPER","tick_size":"0.01",
        "lot_size":"0.01","price_decimals":2,"qty_decimals":2,"max_qty":"1000.00","band":"0.10",
        "start_price":"100.00","volatility":0.0,"event_rate":1.0}]});
    let mut book = json!({"type":"book_snapshot","symbol":"PAPER","seq":0,"ts":T,
        "bids":[["100.00","5.00"],["99.00","2.00"]],"asks":[["101.00","3.00"],["102.00","4.00"]]});
    book["checksum"] = WireBook::from_snapshot(&book).checksum().into();
    let trade = |seq: u64, at: u64, price: &str, qty: &str, side: &str| {
        json!({"ts":T + at * MS,"stream":"trades:PAPER","msg":{"type":"trade","symbol":"PAPER","seq":seq,
            "ts":T + at * MS,"trade_id":format!("PAPER-{seq}"),"price":price,"qty":qty,"side":side}})
    };
    let mut after = WireBook::from_snapshot(&book);
    after.apply(&json!([["100.00", "1.00"]]), true);
    let update = json!({"ts":T + 1700 * MS,"stream":"book:PAPER","msg":{"type":"book_update","symbol":"PAPER",
        "seq":1,"ts":T + 1700 * MS,"bids":[["100.00","1.00"]],"asks":[],"checksum":after.checksum()}});
    // The pace starts at the first message published: a heartbeat at T.
    let heartbeat = |seq: u64, at: u64| {
        json!({"ts":T + at * MS,"stream":"heartbeat:PAPER","msg":{"type":"heartbeat","symbol":"PAPER",
            "seq":seq,"ts":T + at * MS,"last_seq":{"book":0,"trades":0}}})
    };
    let lines = [
        header,
        json!({"ts":T,"stream":"book:PAPER","snapshot":book}),
        heartbeat(1, 0),
        heartbeat(2, 1000),
        trade(1, 1500, "100.00", "3.00", "sell"),
        trade(2, 1600, "100.00", "4.00", "sell"),
        update,
        trade(3, 2000, "101.00", "1.00", "buy"),
    ];
    let path = std::env::temp_dir().join(format!(
        "tickwire-paper-{name}-{}.jsonl",
        std::process::id()
    ));
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&path, text).expect("write the recording");
    path
}

fn order(side: &str, price: &str, qty: &str) -> Value {
    json!({"op":"order","symbol":"PAPER","side":side,"order_type":"limit","price":price,"qty":qty})
}

/// What a client received, public and private apart.
#[derive(Default)]
struct Received {
    public: Vec<Value>,
    private: Vec<Value>,
}

impl Received {
    fn keep(&mut self, v: Value) {
        match v["type"].as_str() {
            Some("fill" | "order_done" | "order_accepted") => self.private.push(v),
            _ => self.public.push(v),
        }
    }

    /// Sends a request and waits for its answer (also kept), keeping
    /// everything before it.
    async fn ask(&mut self, client: &mut Client, mut request: Value, id: i64) -> Value {
        request["id"] = id.into();
        client.send(request).await;
        loop {
            let v = client.next_json().await;
            if v["id"] == id {
                self.keep(v.clone());
                return v;
            }
            self.keep(v);
        }
    }

    /// Reads until `replay_end`.
    async fn until_end(&mut self, client: &mut Client) {
        loop {
            let v = client.next_json().await;
            if v["type"] == "replay_end" {
                return;
            }
            self.keep(v);
        }
    }
}

/// One paper session: the orders, then everything until the end; the
/// private events (without the request ids) and the public trades.
async fn session(file: &Path) -> (Vec<Value>, Vec<Value>, Value) {
    let mut config = replay_config(file, Some(1.0), &[]);
    config.replay.as_mut().expect("replay").paper = true;
    config.accounts =
        Accounts::from_env_value(&format!("paper={TOKEN}"), &config.instruments).expect("accounts");
    let server = Server::start(config).await;
    let (status, health) = server.http_get("/healthz").await;
    assert_eq!(status, 200);
    assert!(health.contains("\"mode\":\"replay-paper\""), "{health}");

    let mut client = common::login(&server, TOKEN).await;
    let instruments = client.request(json!({"op":"instruments"}), 1).await;
    assert_eq!(instruments["mode"], "replay-paper");
    client
        .request(
            json!({"op":"subscribe","channels":["book","trades"],"symbols":["PAPER"]}),
            2,
        )
        .await;
    // All before the first trade (1.5 s of replay time away).
    let mut seen = Received::default();
    let at_touch = seen
        .ask(&mut client, order("buy", "101.00", "2.00"), 3)
        .await;
    assert_eq!(at_touch["type"], "order_accepted", "{at_touch}");
    seen.ask(&mut client, order("buy", "100.00", "4.00"), 4)
        .await;
    seen.ask(&mut client, order("buy", "99.00", "1.00"), 5)
        .await;
    let canceled = seen
        .ask(&mut client, order("sell", "105.00", "1.00"), 6)
        .await;
    let order_id = canceled["order_id"].clone();
    let cancel = json!({"op":"cancel","symbol":"PAPER","order_id":order_id});
    let done = seen.ask(&mut client, cancel, 7).await;
    assert_eq!(done["type"], "order_done", "{done}");
    assert_eq!(done["reason"], "canceled");
    seen.until_end(&mut client).await;
    let account = client.request(json!({"op":"account"}), 8).await;
    let open = client.request(json!({"op":"open_orders"}), 9).await;
    server.stop().await;

    let Received {
        public,
        mut private,
    } = seen;
    for event in &mut private {
        if let Some(map) = event.as_object_mut() {
            map.remove("id");
        }
    }
    let all = private;
    let trades = public
        .into_iter()
        .filter(|v| {
            v["type"] == "trade" || v["type"] == "book_snapshot" || v["type"] == "book_update"
        })
        .collect();
    (all, trades, json!({"account": account, "open": open}))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paper_orders_fill_by_the_queue_model_and_leave_the_public_streams_alone() {
    let file = recording("fills");
    let (events, public, state) = tokio::time::timeout(4 * WAIT, session(&file))
        .await
        .expect("the session ends");
    let fills: Vec<(String, String, String, String)> = events
        .iter()
        .filter(|e| e["type"] == "fill")
        .map(|e| {
            let s = |f: &str| e[f].as_str().unwrap_or_default().to_string();
            (s("order_id"), s("price"), s("qty"), s("liquidity"))
        })
        .collect();
    let id = |n: u64| format!("PAPER:{n}");
    assert_eq!(
        fills,
        [
            // At the touch: 2 of the 3.00 shown at 101.00.
            (id(1), "101.00".into(), "2.00".into(), "taker".into()),
            // Behind 5.00 at 100.00: the sells of 3 and 4 leave 2 for it.
            (id(2), "100.00".into(), "2.00".into(), "maker".into()),
        ]
    );
    let fill_of = |n: u64| {
        events
            .iter()
            .find(|e| e["type"] == "fill" && e["order_id"] == id(n))
            .cloned()
    };
    assert_eq!(
        fill_of(1).map(|f| f["trade_id"].clone()),
        Some(json!("PAPER-paper-1"))
    );
    let queued = fill_of(2).expect("the queued order's fill");
    assert_eq!(queued["ts"], T + 1600 * MS, "at the replayed trade's time");
    assert_eq!(queued["leaves_qty"], "2.00");
    // The order at 99.00 never filled; the one at 105.00 was canceled.
    assert!(fill_of(3).is_none() && fill_of(4).is_none());
    let open: Vec<(String, String)> = state["open"]["orders"]
        .as_array()
        .expect("open orders")
        .iter()
        .map(|o| {
            (
                o["order_id"].as_str().unwrap_or_default().to_string(),
                o["leaves_qty"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(
        open,
        [(id(2), "2.00".to_string()), (id(3), "1.00".to_string())]
    );
    let position = &state["account"]["positions"][0];
    assert_eq!(position["symbol"], "PAPER", "{state}");
    assert_eq!(position["position"], "4.00", "{state}");
    // 2 at 101.00 and 2 at 100.00, as live P&L books them.
    assert_eq!(position["avg_price"], "100.50", "{state}");
    assert_eq!(state["account"]["cash"], "-402.00", "{state}");

    // The public streams are the recording's, untouched by paper orders.
    let trades: Vec<(String, String)> = public
        .iter()
        .filter(|v| v["type"] == "trade")
        .map(|v| {
            (
                v["trade_id"].as_str().unwrap_or_default().to_string(),
                v["qty"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(
        trades,
        [
            ("PAPER-1".to_string(), "3.00".to_string()),
            ("PAPER-2".to_string(), "4.00".to_string()),
            ("PAPER-3".to_string(), "1.00".to_string())
        ]
    );
    let snapshot = public
        .iter()
        .find(|v| v["type"] == "book_snapshot")
        .expect("snapshot");
    assert_eq!(
        snapshot["asks"],
        json!([["101.00", "3.00"], ["102.00", "4.00"]])
    );

    // Again: the same file, speed and order timings give the same events.
    let (again, _, _) = tokio::time::timeout(4 * WAIT, session(&file))
        .await
        .expect("the session ends");
    assert_eq!(events, again);
    let _ = std::fs::remove_file(&file);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_paper_a_replay_still_refuses_orders() {
    let file = recording("refused");
    let mut config = replay_config(&file, Some(1.0), &[]);
    config.accounts =
        Accounts::from_env_value(&format!("paper={TOKEN}"), &config.instruments).expect("accounts");
    let server = Server::start(config).await;
    let mut client = common::login(&server, TOKEN).await;
    let reply = client.request(order("buy", "101.00", "1.00"), 1).await;
    assert_eq!(reply["code"], "replay_mode", "{reply}");
    let instruments = client.request(json!({"op":"instruments"}), 2).await;
    assert_eq!(instruments["mode"], "replay");
    server.stop().await;
    let _ = std::fs::remove_file(&file);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_halt_refuses_paper_orders_until_trading_resumes() {
    let file = recording("halt");
    // The same recording with a halt from T+100 ms to T+700 ms.
    let status = |seq: u64, at: u64, status: &str| {
        json!({"ts":T + at * MS,"stream":"ticker:PAPER","msg":{"type":"status","symbol":"PAPER",
            "seq":seq,"ts":T + at * MS,"status":status}})
    };
    let text = std::fs::read_to_string(&file).expect("recording");
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines.insert(3, status(2, 700, "trading").to_string());
    lines.insert(3, status(1, 100, "halted").to_string());
    std::fs::write(&file, lines.join("\n") + "\n").expect("write");

    let mut config = replay_config(&file, Some(1.0), &[]);
    config.replay.as_mut().expect("replay").paper = true;
    config.accounts =
        Accounts::from_env_value(&format!("paper={TOKEN}"), &config.instruments).expect("accounts");
    let server = Server::start(config).await;
    let mut client = common::login(&server, TOKEN).await;
    client
        .request(
            json!({"op":"subscribe","channels":["ticker"],"symbols":["PAPER"]}),
            1,
        )
        .await;
    let halted = client.until_type("status").await;
    assert_eq!(halted["status"], "halted");
    let refused = client.request(order("buy", "99.00", "1.00"), 2).await;
    assert_eq!(refused["code"], "market_halted", "{refused}");
    let trading = client.until_type("status").await;
    assert_eq!(trading["status"], "trading");
    let accepted = client.request(order("buy", "99.00", "1.00"), 3).await;
    assert_eq!(accepted["type"], "order_accepted", "{accepted}");
    server.stop().await;
    let _ = std::fs::remove_file(&file);
}
