//! A panic never leaves the server half-alive: one in a connection's task
//! closes that connection (1011) and the rest goes on; one in a symbol's
//! engine stops the whole server with a message naming it, and a restart
//! on the same data directory recovers every acknowledged order from the
//! journal. The panics are set off through `Config::panic_trigger`, a
//! hook only code can set (never the command line or the network).

mod common;

use std::time::Duration;

use common::{Client, Server, instruments_with_quiet, login, quiet_order};
use futures_util::StreamExt;
use serde_json::json;
use tickwire::gateway::Config;
use tokio_tungstenite::tungstenite::Message;

const TRIGGER: &str = "PANIC-FOR-THE-TEST";

#[tokio::test]
async fn a_panic_in_a_connection_closes_it_and_nothing_else() {
    let mut config = common::config(1.0);
    config.panic_trigger = Some(TRIGGER.to_string());
    let server = Server::start(config).await;
    let mut watcher = server.client().await;
    watcher
        .send(json!({"op":"subscribe","id":1,"channels":["book"],"symbols":["BTC-USD"]}))
        .await;
    watcher.until_type("book_snapshot").await;
    let (mut doomed, _) = tokio_tungstenite::connect_async(server.ws_url())
        .await
        .expect("connect");
    use futures_util::SinkExt;
    doomed
        .send(Message::Text(TRIGGER.into()))
        .await
        .expect("send");
    let close = loop {
        match tokio::time::timeout(Duration::from_secs(10), doomed.next()).await {
            Ok(Some(Ok(Message::Close(frame)))) => break frame,
            Ok(Some(Ok(_))) => continue,
            other => panic!("no close frame: {other:?}"),
        }
    };
    let close = close.expect("a close code");
    assert_eq!(
        (u16::from(close.code), close.reason.as_str()),
        (1011, "internal error")
    );
    // Everyone else is served as before.
    for _ in 0..5 {
        watcher.until_type("book_update").await;
    }
    let mut fresh = server.client().await;
    let pong = fresh.request(json!({"op":"ping"}), 2).await;
    assert_eq!(pong["type"], "pong");
    assert_eq!(server.http_get("/healthz").await.0, 200);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while server.metric("tickwire_connections").await != 2.0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the panicked connection is gone"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.stop().await;
}

fn engine_config(data: &std::path::Path) -> (Config, String) {
    let mut config = Config::new(instruments_with_quiet(1.0), 7);
    config.data_dir = Some(data.to_path_buf());
    config.panic_trigger = Some(TRIGGER.to_string());
    let token = config.accounts.token_of(0).expect("demo").to_string();
    (config, token)
}

#[tokio::test]
async fn a_panic_in_an_engine_stops_the_server_and_a_restart_recovers() {
    let data = std::env::temp_dir().join(format!("tickwire-panics-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let (config, token) = engine_config(&data);
    let server = Server::start(config).await;
    let mut alice: Client = login(&server, &token).await;
    let mut kept = quiet_order("buy", "1.00", Some("90.00"));
    kept["client_order_id"] = json!("kept");
    let accepted = alice.request(kept, 1).await;
    assert_eq!(accepted["type"], "order_accepted", "{accepted}");
    let mut fatal = quiet_order("buy", "1.00", Some("91.00"));
    fatal["client_order_id"] = json!(TRIGGER);
    alice.send(fatal).await;
    let error = server.stopped().await.expect_err("the server stops");
    let message = error.to_string();
    assert!(
        message.contains("the engine of QUIET panicked") && message.contains("journal"),
        "{message}"
    );
    // Restarted on its data directory (the same account): the
    // acknowledged order is there.
    let (mut config, _) = engine_config(&data);
    config.accounts = tickwire::trading::Accounts::parse(
        "accounts",
        &format!("[[account]]\nname = \"demo\"\ntoken = \"{token}\"\n"),
        &config.instruments,
    )
    .expect("accounts");
    let server = Server::start(config).await;
    let mut alice = login(&server, &token).await;
    let open = alice.request(json!({"op":"open_orders"}), 2).await;
    let ids: Vec<&str> = open["orders"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|o| o["client_order_id"].as_str())
        .collect();
    assert_eq!(ids, ["kept"], "{open}");
    server.stop().await;
    let _ = std::fs::remove_dir_all(&data);
}
