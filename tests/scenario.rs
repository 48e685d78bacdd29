//! A scripted halt on a real server over TCP: the ticker stream says
//! `halted`, orders and amends are refused with `market_halted` (cancels are
//! taken), nothing trades, then `trading` and orders are taken again.

mod common;

use common::{Server, login};
use serde_json::json;
use tickwire::instrument::Instruments;
use tickwire::scenario::Scenario;
use tickwire::trading::Accounts;

const HALT: &str = r#"
name = "short halt"
[[step]]
at = "1s"
symbol = "ETH-USD"
kind = "halt"
for = "2s"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scripted_halt_refuses_orders_and_says_when_it_starts_and_ends() {
    let mut config = common::config(5.0);
    config.scenario = Some(
        Scenario::parse("halt.toml", HALT, &Instruments::embedded_default()).expect("scenario"),
    );
    config.accounts =
        Accounts::from_env_value("alice=alice-token-1", &config.instruments).expect("accounts");
    let server = Server::start(config).await;
    let mut client = login(&server, "alice-token-1").await;
    client
        .request(
            json!({"op":"subscribe","channels":["ticker","trades"],"symbols":["ETH-USD"]}),
            1,
        )
        .await;
    let resting = client
        .request(
            json!({"op":"order","symbol":"ETH-USD","side":"buy","order_type":"limit","qty":"0.0100","price":"3000.00"}),
            2,
        )
        .await;
    assert_eq!(resting["type"], "order_accepted", "{resting}");

    let halted = client.until_type("status").await;
    assert_eq!(halted["status"], "halted", "{halted}");
    assert_eq!(halted["symbol"], "ETH-USD");
    let order = json!({"op":"order","symbol":"ETH-USD","side":"buy","order_type":"limit","qty":"0.0100","price":"3000.00"});
    let refused = client.request(order.clone(), 3).await;
    assert_eq!(refused["code"], "market_halted", "{refused}");
    assert!(
        refused["message"]
            .as_str()
            .unwrap_or_default()
            .contains("ETH-USD is halted")
    );
    let amend = client
        .request(
            json!({"op":"amend","symbol":"ETH-USD","order_id":resting["order_id"],"price":"2999.00"}),
            4,
        )
        .await;
    assert_eq!(amend["code"], "market_halted", "{amend}");
    let cancel = client
        .request(
            json!({"op":"cancel","symbol":"ETH-USD","order_id":resting["order_id"]}),
            5,
        )
        .await;
    assert_eq!(cancel["type"], "order_done", "cancels are taken: {cancel}");
    // A new ticker subscriber during the halt learns of it first.
    let mut late = server.client().await;
    late.request(
        json!({"op":"subscribe","channels":["ticker"],"symbols":["ETH-USD"]}),
        1,
    )
    .await;
    let first = late.next_json().await;
    assert_eq!(
        (first["type"].clone(), first["status"].clone()),
        (json!("status"), json!("halted"))
    );

    // Nothing trades until trading resumes, which says so.
    loop {
        let v = client.next_json().await;
        assert_ne!(v["type"], "trade", "a trade while halted: {v}");
        if v["type"] == "status" {
            assert_eq!(v["status"], "trading");
            // The ticker stream's seq goes on through the statuses.
            assert!(v["seq"].as_u64() > halted["seq"].as_u64(), "{v}");
            break;
        }
    }
    let accepted = client.request(order, 6).await;
    assert_eq!(accepted["type"], "order_accepted", "{accepted}");
    server.stop().await;
}
