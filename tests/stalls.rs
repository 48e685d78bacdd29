//! A symbol's task never wedges. Found by the soak (benches/soak.sh): a
//! subscription that reached a symbol while an order's effects waited for
//! the journal was deferred; when the journal caught up within the same
//! turn, nothing ran the deferred work again, and intake stayed closed for
//! good: that symbol's new subscribers got no state, the next state
//! snapshot paused the other symbols for ever, and connections piled up
//! behind them. Here orders await the journal without pause while
//! subscribers come and go and state snapshots are taken every 200 ms;
//! every subscriber must get its book, and the server must stay healthy.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use common::*;
use serde_json::json;
use tickwire::gateway::Config;
use tickwire::trading::Accounts;

const ACCOUNTS: &str = r#"
[[account]]
name = "alice"
token = "alice-token"
orders_per_sec = 100000
history = "10s"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_and_snapshots_go_on_while_orders_await_the_journal() {
    let dir = std::env::temp_dir().join(format!("tickwire-stalls-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let instruments = instruments_with_quiet(1.0);
    let mut config = Config::new(instruments.clone(), 5);
    config.accounts = Accounts::parse("accounts", ACCOUNTS, &instruments).expect("accounts");
    config.requests_per_sec = 100_000.0;
    config.request_burst = 100_000.0;
    config.data_dir = Some(dir.clone());
    config.state_snapshot_every = Duration::from_millis(200);
    let server = Server::start(config).await;
    let stop = Arc::new(AtomicBool::new(false));

    // Orders on QUIET, one after another, each answered only once durable.
    let mut alice = login(&server, "alice-token").await;
    let trading = {
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut n = 0i64;
            while !stop.load(Relaxed) {
                n += 1;
                let price = if n % 2 == 0 { "95.00" } else { "105.00" };
                let side = if n % 2 == 0 { "buy" } else { "sell" };
                let reply = alice
                    .request(quiet_order(side, "0.01", Some(price)), n)
                    .await;
                assert_eq!(reply["type"], "order_accepted", "{reply}");
                if n % 40 == 0 {
                    let done = alice.request(json!({"op":"cancel_all"}), -n).await;
                    assert_eq!(done["type"], "canceled_all", "{done}");
                }
            }
            n
        })
    };

    // Subscribers to QUIET's and BTC-USD's books, four at a time, each
    // reading its snapshot (the client's read deadline fails a wedge).
    let subscribed = Arc::new(AtomicU64::new(0));
    let mut subscribers = Vec::new();
    for _ in 0..4 {
        let (stop, subscribed, url) = (stop.clone(), subscribed.clone(), server.ws_url());
        subscribers.push(tokio::spawn(async move {
            while !stop.load(Relaxed) {
                let mut client = Client::connect(&url).await;
                client
                    .send(json!({"op":"subscribe","channels":["book","trades"],"symbols":["QUIET","BTC-USD"],"id":1}))
                    .await;
                let mut books = 0;
                while books < 2 {
                    if client.next_json().await["type"] == "book_snapshot" {
                        books += 1;
                    }
                }
                subscribed.fetch_add(1, Relaxed);
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(8)).await;
    stop.store(true, Relaxed);
    for s in subscribers {
        s.await.expect("every subscriber got its books");
    }
    let orders = trading.await.expect("every order answered");
    assert!(orders > 0 && subscribed.load(Relaxed) > 0);
    let (status, body) = server.http_get("/healthz").await;
    assert_eq!(status, 200, "{body}");
    assert!(server.metric("tickwire_snapshots_total").await >= 2.0);
    server.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}
