//! The load generator against a real server.

mod common;

use std::time::Duration;

use common::{Server, config};
use tickwire::loadgen::{LoadOptions, run};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loadgen_measures_a_real_server() {
    let server = Server::start(config(5.0)).await;
    let options = LoadOptions {
        url: server.ws_url(),
        connections: 20,
        symbols: vec!["BTC-USD".into(), "ETH-USD".into()],
        channels: vec!["book".into(), "trades".into(), "ticker".into()],
        duration: Duration::from_millis(1500),
        ramp: Duration::from_millis(200),
    };
    let report = run(options).await;
    assert_eq!(report.connected, 20);
    assert!(report.messages > 20 * 500, "{} messages", report.messages);
    assert_eq!(
        (report.gaps, report.lagged, report.disconnects),
        (0, 0, 0),
        "{report:?}"
    );
    assert!(!report.latency.is_empty() && report.latency.value_at_quantile(0.5) > 0);
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
