//! Cluster mode over a real NATS server (`nats-server`, started here on a
//! free loopback port) with the real binary in its two roles: one engine,
//! gateways in front of it, clients on the gateways. The gateways must send
//! the same bytes with contiguous `seq`, survive NATS and the engine going
//! away (a notice, then fresh snapshots), and a client of a gateway that
//! dies resyncs on another.

mod common;

use std::time::Duration;

use common::cluster::*;
use common::wire_book::WireBook;
use serde_json::{Value, json};

#[tokio::test]
async fn two_gateways_send_the_same_bytes_with_contiguous_seq() {
    let cluster = Cluster::new("same-bytes");
    let engine = cluster.engine(&["--ephemeral"]);
    let (a, b) = (cluster.gateway("a"), cluster.gateway("b"));
    assert_eq!(
        http_status(&engine.addr, "/ws").await,
        503,
        "an engine takes no WebSocket clients"
    );
    let (mut on_a, mut on_b) = (client(&a.addr).await, client(&b.addr).await);
    subscribe(&mut on_a, &["book", "trades"]).await;
    subscribe(&mut on_b, &["book", "trades"]).await;
    let (seen_a, seen_b) = tokio::join!(
        watch_until(&mut on_a, 1000, 10),
        watch_until(&mut on_b, 1000, 10)
    );
    let common: Vec<&u64> = seen_a
        .book
        .keys()
        .filter(|s| seen_b.book.contains_key(s))
        .collect();
    assert!(
        common.len() > 100,
        "only {} book updates in common",
        common.len()
    );
    for seq in common {
        assert_eq!(seen_a.book[seq], seen_b.book[seq], "book update {seq}");
    }
    let trades: Vec<&u64> = seen_a
        .trades
        .keys()
        .filter(|s| seen_b.trades.contains_key(s))
        .collect();
    assert!(!trades.is_empty(), "no trade in common");
    for seq in trades {
        assert_eq!(seen_a.trades[seq], seen_b.trades[seq], "trade {seq}");
    }
    assert_eq!(http_status(&a.addr, "/healthz").await, 200);
    // The polling API and the Binance dialect's market data, from the
    // gateway's own state.
    let (status, book) = http_get(&b.addr, "/api/book?symbol=BTC-USD&depth=5").await;
    assert_eq!(status, 200, "{book}");
    let (status, depth) = http_get(&b.addr, "/binance/api/v3/depth?symbol=BTCUSD&limit=5").await;
    assert_eq!(status, 200, "{depth}");
}

#[tokio::test]
async fn nats_going_away_interrupts_the_streams_and_its_return_resumes_them() {
    let mut cluster = Cluster::new("nats-restart");
    let _engine = cluster.engine(&["--ephemeral"]);
    let gateway = cluster.gateway("a");
    let mut ws = client(&gateway.addr).await;
    subscribe(&mut ws, &["book"]).await;
    let before = watch_until(&mut ws, 50, 0).await;
    let last = *before.book.keys().last().expect("book updates");

    cluster.stop_nats();
    let notice = until(&mut ws, "stream_interrupted").await;
    assert_eq!(
        (notice["symbol"].as_str(), notice["reason"].as_str()),
        (Some("BTC-USD"), Some("bus"))
    );
    let (status, health) = http_get(&gateway.addr, "/healthz").await;
    assert_eq!(status, 503, "unhealthy without the bus: {health}");
    let health: Value = serde_json::from_str(&health).expect("JSON");
    assert_eq!(health["status"], "unhealthy");
    assert_eq!(
        health["cluster"],
        json!({"role":"gateway","bus":false,"engine":false})
    );

    cluster.start_nats();
    until(&mut ws, "stream_resumed").await;
    let snapshot = until(&mut ws, "book_snapshot").await;
    let at = snapshot["seq"].as_u64().expect("seq");
    assert!(at > last, "the fresh snapshot is newer than what was seen");
    let after = watch_for_from(&mut ws, at, 20).await;
    assert_eq!(after, 20);
    assert_eq!(http_status(&gateway.addr, "/healthz").await, 200);
}

#[tokio::test]
async fn trades_made_while_the_bus_was_away_reach_the_subscribers_without_a_gap() {
    // A trade is a log, not a state: after an interruption the gateway
    // sends each one the engine made meanwhile that its state still
    // holds, so the trade stream goes on without a `seq` gap.
    let mut cluster = Cluster::new("nats-trades");
    let engine = cluster.engine(&["--ephemeral"]);
    let gateway = cluster.gateway("a");
    let mut ws = client(&gateway.addr).await;
    subscribe(&mut ws, &["trades"]).await;
    let mut trades = Vec::new();
    while trades.len() < 3 {
        until_noting_trades(&mut ws, "trade", &mut trades).await;
    }
    cluster.stop_nats();
    until_noting_trades(&mut ws, "stream_interrupted", &mut trades).await;
    let last = *trades.last().expect("trades");
    // The engine trades on while the bus is away: its polling API shows
    // three trades past what the subscriber had (a count, not a time).
    let deadline = tokio::time::Instant::now() + WAIT;
    let made = loop {
        let path = format!("/api/trades?symbol=BTC-USD&since={last}");
        let (status, body) = http_get(&engine.addr, &path).await;
        assert_eq!(status, 200, "{body}");
        let body: Value = serde_json::from_str(&body).expect("JSON");
        let seqs: Vec<u64> = body["trades"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t["seq"].as_u64())
            .collect();
        if seqs.len() >= 3 {
            break seqs.into_iter().max().unwrap_or(last);
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the engine made no trades while the bus was away"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    cluster.start_nats();
    until_noting_trades(&mut ws, "stream_resumed", &mut trades).await;
    while trades.last().is_some_and(|seq| *seq <= made) {
        until_noting_trades(&mut ws, "trade", &mut trades).await;
    }
    let every: Vec<u64> = (trades[0]..=trades[trades.len() - 1]).collect();
    assert_eq!(
        trades, every,
        "every trade once and in order, across the outage (made while away: {last} to {made})"
    );
}

/// Reads until a message of `kind`, noting the `seq` of every trade on
/// the way (and of the message itself, if a trade).
async fn until_noting_trades(ws: &mut Ws, kind: &str, trades: &mut Vec<u64>) -> Value {
    loop {
        let v = parse(&next(ws).await.expect("open"));
        if v["type"] == "trade" {
            trades.push(v["seq"].as_u64().expect("seq"));
        }
        if v["type"] == kind {
            return v;
        }
    }
}

#[tokio::test]
async fn a_client_of_a_gateway_that_dies_resyncs_on_another() {
    let cluster = Cluster::new("gateway-dies");
    let _engine = cluster.engine(&["--ephemeral"]);
    let (a, b) = (cluster.gateway("a"), cluster.gateway("b"));
    let mut ws = client(&a.addr).await;
    subscribe(&mut ws, &["book"]).await;
    let seen = watch_until(&mut ws, 50, 0).await;
    let last = *seen.book.keys().last().expect("book updates");
    drop(a); // SIGKILL
    while next(&mut ws).await.is_some() {}
    let mut ws = client(&b.addr).await;
    subscribe(&mut ws, &["book"]).await;
    let snapshot = until(&mut ws, "book_snapshot").await;
    let at = snapshot["seq"].as_u64().expect("seq");
    assert!(at >= last, "the other gateway is at least as far");
    assert_eq!(watch_for_from(&mut ws, at, 20).await, 20);
}

#[tokio::test]
async fn the_engine_killed_and_restarted_continues_every_seq_on_the_gateways() {
    let cluster = Cluster::new("engine-restart");
    let data = cluster.dir.join("data");
    let accounts = cluster.dir.join("accounts.toml");
    std::fs::write(&accounts, ACCOUNTS).expect("accounts");
    let (data, accounts) = (data.display().to_string(), accounts.display().to_string());
    let engine_args = ["--data-dir", &data, "--accounts", &accounts];
    let engine = cluster.engine(&engine_args);
    let gateway = cluster.gateway("a");
    let mut ws = client(&gateway.addr).await;
    subscribe(&mut ws, &["book"]).await;
    let seen = watch_until(&mut ws, 50, 0).await;
    let last = *seen.book.keys().last().expect("book updates");

    // Orders flow on another connection while the engine is killed.
    let mut alice = client(&gateway.addr).await;
    let answer = request(
        &mut alice,
        json!({"op":"auth","id":0,"token":"alice-token"}),
    )
    .await;
    assert_eq!(answer["type"], "authenticated", "{answer}");
    // How many orders are acknowledged so far: the kill waits for a few,
    // not for a time (a fixed 700 ms saw only 4 on a loaded machine).
    let (progress, mut acknowledged_so_far) = tokio::sync::watch::channel(0usize);
    let flow = tokio::spawn(async move {
        let mut acknowledged = Vec::new();
        for n in 1..10_000 {
            // Within the gateway's 50 requests per second.
            tokio::time::sleep(Duration::from_millis(25)).await;
            let order = json!({"op":"order","id":n,"symbol":"BTC-USD","side":"buy","order_type":"limit",
                "qty":"0.0100","price":"60000.00","client_order_id":format!("k{n}")});
            let answer = request(&mut alice, order).await;
            match answer["type"].as_str() {
                Some("order_accepted") => {
                    acknowledged.push(format!("k{n}"));
                    progress.send_replace(acknowledged.len());
                }
                _ => {
                    // The engine is gone: the gateway says so, never a
                    // success it did not get.
                    assert_eq!(answer["code"], "internal", "{answer}");
                    return (alice, acknowledged);
                }
            }
        }
        (alice, acknowledged)
    });
    tokio::time::timeout(
        Duration::from_secs(30),
        acknowledged_so_far.wait_for(|&n| n > 5),
    )
    .await
    .expect("6 orders acknowledged within 30 s")
    .expect("the order flow ended before 6 orders were acknowledged");
    drop(engine); // SIGKILL, mid-flow
    let (mut alice, acknowledged) = flow.await.expect("the order flow");
    let notice = until(&mut ws, "stream_interrupted").await;
    assert_eq!(notice["reason"], "engine");

    let _engine = cluster.engine(&engine_args);
    until(&mut ws, "stream_resumed").await;
    let snapshot = until(&mut ws, "book_snapshot").await;
    let at = snapshot["seq"].as_u64().expect("seq");
    assert!(
        at >= last,
        "the book's seq continues from the journal ({at} after {last})"
    );
    assert_eq!(watch_for_from(&mut ws, at, 20).await, 20);
    // Every acknowledged order is there, asked through the same gateway
    // connection (still authenticated).
    let open = request(&mut alice, json!({"op":"open_orders","id":"after"})).await;
    let ids: std::collections::BTreeSet<&str> = open["orders"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|o| o["client_order_id"].as_str())
        .collect();
    for id in &acknowledged {
        assert!(
            ids.contains(id.as_str()),
            "order {id} was acknowledged and lost"
        );
    }
}

/// A copy of a data directory (the engine's journal and snapshots).
fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("dir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

/// A subscriber's book kept from the wire: reads until `updates` book
/// updates were applied, each after the one before and giving its
/// checksum (a snapshot starts the book again); the snapshots' `seq`s.
async fn follow_book(ws: &mut Ws, book: &mut Option<(u64, WireBook)>, updates: usize) -> Vec<u64> {
    let mut applied = 0;
    let mut snapshots = Vec::new();
    while applied < updates {
        let v = parse(&next(ws).await.expect("open"));
        let seq = v["seq"].as_u64().unwrap_or(0);
        match v["type"].as_str() {
            Some("book_snapshot") => {
                snapshots.push(seq);
                *book = Some((seq, WireBook::from_snapshot(&v)));
            }
            Some("book_update") => {
                let (at, local) = book.as_mut().expect("a snapshot before the first update");
                assert_eq!(seq, *at + 1, "book seq contiguous");
                *at = seq;
                local.apply(&v["bids"], true);
                local.apply(&v["asks"], false);
                assert_eq!(
                    Some(u64::from(local.checksum())),
                    v["checksum"].as_u64(),
                    "the subscriber's book differs from the engine's at {seq}"
                );
                applied += 1;
            }
            _ => {}
        }
    }
    snapshots
}

#[tokio::test]
async fn an_engine_that_comes_back_behind_is_followed_from_its_state() {
    // An engine that comes back can be behind what the gateway had (its
    // journal is older than what it published, or it is another data
    // directory): the `seq`s it publishes are ones the gateway already
    // had, which seq checks alone would skip, and then carry on as if
    // they followed on, from another book. Forced here with a second
    // engine (another seed, started later so it is behind) that runs on a
    // NATS of its own, then is restarted at once on the cluster's, within
    // the gateway's 3 s silence check, as the first dies. Its
    // `engine.started` must make the gateway follow it from its state: the
    // subscriber's book, kept from the wire, must give every checksum sent.
    let cluster = Cluster::new("engine-behind");
    let first = cluster.engine(&["--ephemeral"]);
    let gateway = cluster.gateway("a");
    let mut ws = client(&gateway.addr).await;
    subscribe(&mut ws, &["book"]).await;
    let mut book = None;
    let other_nats = nats(free_port(), &cluster.dir.join("other-nats.log"));
    let other_data = cluster.dir.join("other-data").display().to_string();
    let other = |url: &str| {
        let args = ["engine", "--nats", url, "--seed", "8", "--rate-scale", "5"];
        let log = cluster.dir.join("other-engine.log");
        tickwire(&[&args[..], &["--data-dir", &other_data]].concat(), &log)
    };
    // The first engine's head start: about 2 s of book updates (more than
    // a restart takes, even on a loaded machine; a restarted engine
    // simulates the time it was down, so a shorter one could come back
    // ahead).
    follow_book(&mut ws, &mut book, 2_000).await;
    let second = other(&format!("nats://{}", other_nats.addr));
    follow_book(&mut ws, &mut book, 300).await;
    let last = book.as_ref().map_or(0, |(at, _)| *at);
    drop(first);
    drop(second);
    let _second = other(&cluster.url());
    let snapshots = follow_book(&mut ws, &mut book, 1000).await;
    assert!(
        snapshots.first().is_some_and(|at| *at < last),
        "the engine came back behind {last}: {snapshots:?}"
    );
}

#[tokio::test]
async fn an_engine_restarted_on_an_older_journal_keeps_every_book_checksum_right() {
    // An engine restarted at once on an older copy of its data directory
    // recovers less than it published and simulates the time it was down,
    // so its streams carry on from another history; here its first `seq`
    // is past the gateway's (a gap: the gateway fetches its state). The
    // subscriber's book, kept from the wire across both restarts, must
    // give every checksum the engine sends.
    let cluster = Cluster::new("engine-older-journal");
    let (data, older) = (cluster.dir.join("data"), cluster.dir.join("older"));
    let (data_arg, older_arg) = (data.display().to_string(), older.display().to_string());
    let engine = cluster.engine(&["--data-dir", &data_arg]);
    let gateway = cluster.gateway("a");
    let mut ws = client(&gateway.addr).await;
    subscribe(&mut ws, &["book"]).await;
    let mut book = None;
    follow_book(&mut ws, &mut book, 50).await;
    drop(engine);
    copy_dir(&data, &older);
    let engine = cluster.engine(&["--data-dir", &data_arg]);
    follow_book(&mut ws, &mut book, 300).await;
    drop(engine);
    let _engine = cluster.engine(&["--data-dir", &older_arg]);
    follow_book(&mut ws, &mut book, 1000).await;
}
