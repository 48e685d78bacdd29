//! The load generator against a real server.

mod common;

use std::time::Duration;

use common::{Server, config};
use tickwire::loadgen::{LoadOptions, run};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loadgen_measures_a_real_server() {
    let server = Server::start(config(5.0)).await;
    let mut options = LoadOptions::new(&server.ws_url());
    options.connections = 20;
    options.symbols = vec!["BTC-USD".into(), "ETH-USD".into()];
    options.duration = Duration::from_millis(1500);
    options.ramp = Duration::from_millis(200);
    options.server_pid = Some(std::process::id());
    let report = run(options).await.expect("run");
    assert_eq!(report.connected, 20);
    // Counts, not a rate (a loaded machine only delivers fewer): every
    // connection got messages, and every message was timed.
    assert!(report.min_per_connection > 0, "{report:?}");
    assert_eq!(report.latency.len(), report.messages, "{report:?}");
    assert_eq!(
        (
            report.gaps,
            report.lagged,
            report.disconnects,
            report.unsettled
        ),
        (0, 0, 0, 0),
        "{report:?}"
    );
    assert!(
        report.latency.value_at_quantile(0.5) <= report.latency.value_at_quantile(0.99)
            && report.latency.value_at_quantile(0.99) <= report.latency.max(),
        "{report:?}"
    );
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).expect("JSON");
    for key in [
        "messages_per_sec",
        "latency_us",
        "seq_gaps",
        "lagged",
        "loadgen_cpu_cores",
    ] {
        assert!(json.get(key).is_some(), "{key} missing");
    }
    assert!(report.to_table().contains("msgs/s"));
    // The server saw them too.
    assert!(server.metric("tickwire_connections_opened_total").await >= 20.0);
    server.stop().await;
}

/// Traders: orders priced from the ticker, timed to `order_accepted`,
/// while watchers read; every order is accepted and cancelled, none lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loadgen_traders_time_their_orders() {
    let mut config = config(2.0);
    let accounts = "[[account]]\nname = \"t1\"\ntoken = \"trader-token-1\"\norders_per_sec = 1000\n\n[[account]]\nname = \"t2\"\ntoken = \"trader-token-2\"\norders_per_sec = 1000\n";
    config.accounts = tickwire::trading::Accounts::parse("accounts", accounts, &config.instruments)
        .expect("accounts");
    config.requests_per_sec = 1000.0;
    config.request_burst = 1000.0;
    let server = Server::start(config).await;
    let mut options = LoadOptions::new(&server.ws_url());
    options.connections = 5;
    options.traders = 4;
    options.orders_per_sec = 200.0;
    options.tokens = vec!["trader-token-1".into(), "trader-token-2".into()];
    options.symbols = vec!["BTC-USD".into(), "ETH-USD".into()];
    options.duration = Duration::from_millis(1500);
    options.ramp = Duration::from_millis(100);
    let report = run(options).await.expect("run");
    assert_eq!(report.connected, 9, "{report:?}");
    assert!(report.orders_sent > 0, "{report:?}");
    // Post-only at the touch can meet a book that moved (post_only_would_cross);
    // nothing else may go wrong, and every order sent is answered one way or
    // the other (the traders wait for the answers of those in flight when
    // the window closed).
    let rejected: u64 = report.orders_rejected.values().sum();
    for code in report.orders_rejected.keys() {
        assert_eq!(code, "post_only_would_cross", "{report:?}");
    }
    assert_eq!(report.orders_unanswered, 0, "{report:?}");
    assert_eq!(
        report.orders_accepted + rejected,
        report.orders_sent,
        "{report:?}"
    );
    assert!(
        report.orders_accepted > report.orders_sent / 2,
        "{report:?}"
    );
    assert_eq!(report.order_rtt.len(), report.orders_accepted);
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).expect("JSON");
    assert_eq!(json["orders"]["accepted"], report.orders_accepted);
    assert!(json["orders"]["rtt_us"]["p99"].as_u64().is_some());
    assert!(report.to_table().contains("order round trip"));
    // Every accepted order was cancelled again: the accounts hold nothing.
    let mut alice = server.client().await;
    let reply = alice
        .request(serde_json::json!({"op":"auth","token":"trader-token-1"}), 1)
        .await;
    assert_eq!(reply["type"], "authenticated");
    let open = alice
        .request(serde_json::json!({"op":"open_orders"}), 2)
        .await;
    assert!(
        open["orders"].as_array().expect("orders").len() <= 2,
        "{open}"
    );
    server.stop().await;
}

#[tokio::test]
async fn loadgen_refuses_what_it_cannot_do() {
    let mut options = LoadOptions::new("http://127.0.0.1:1/ws");
    assert!(run(options.clone()).await.unwrap_err().contains("ws://"));
    options.url = "ws://127.0.0.1:1/ws".into();
    options.traders = 2;
    let error = run(options.clone()).await.unwrap_err();
    assert!(error.contains("--token"), "{error}");
    options.traders = 0;
    options.server_pid = Some(u32::MAX);
    let error = run(options).await.unwrap_err();
    assert!(error.contains("/proc"), "{error}");
}

/// A subscription the server refuses is counted, and the measured window
/// does not wait for an answer that will never be `subscribed`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loadgen_counts_refused_subscriptions() {
    let server = Server::start(config(1.0)).await;
    let mut options = LoadOptions::new(&server.ws_url());
    options.connections = 3;
    options.symbols = vec!["NOPE-USD".into()];
    options.duration = Duration::from_millis(300);
    options.ramp = Duration::from_millis(50);
    let report = run(options).await.expect("run");
    // The window opened on the three errors, not after the 60 s give-up.
    assert_eq!(report.unsettled, 0, "{report:?}");
    assert_eq!(
        (report.connected, report.errors, report.messages),
        (3, 3, 0)
    );
    assert!(
        report.to_table().contains("3 errors"),
        "{}",
        report.to_table()
    );
    server.stop().await;
}
