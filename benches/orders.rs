//! Order entry over the socket, end to end on loopback: the round trip from
//! sending an `order` to reading its `order_accepted` (one connection,
//! orders one at a time), and accepted orders per second from many
//! connections sending at once.
//!
//! ```text
//! cargo bench --bench orders
//! ```
//!
//! The server runs in this process on its own runtime (two worker threads),
//! the clients on another; on a 2-core machine they share the cores, so the
//! figures include the client's own cost. Orders are IOC buys far below the
//! market (accepted, then expired at once), so the book does not grow.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use tickwire::gateway::{self, Config};
use tickwire::instrument::Instruments;
use tickwire::trading::Accounts;
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::Message;

const CONNECTIONS: usize = 50;
const ROUND_TRIPS: usize = 5_000;
const ORDERS_PER_CONNECTION: usize = 2_000;
const WINDOW: usize = 32;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

fn order(id: usize) -> Message {
    Message::Text(
        format!(
            r#"{{"op":"order","id":{id},"symbol":"BTC-USD","side":"buy","order_type":"limit","qty":"0.0100","price":"60000.00","tif":"ioc"}}"#
        )
        .into(),
    )
}

async fn login(url: &str, token: &str) -> Ws {
    let (mut ws, _) = connect_async(url).await.expect("connect");
    ws.send(Message::Text(
        format!(r#"{{"op":"auth","id":0,"token":"{token}"}}"#).into(),
    ))
    .await
    .expect("send");
    loop {
        if let Some(Ok(Message::Text(t))) = ws.next().await
            && t.contains("\"authenticated\"")
        {
            return ws;
        }
    }
}

/// Reads until `count` `order_accepted` responses have come (errors fail).
async fn accepted(ws: &mut Ws, count: usize) {
    let mut seen = 0;
    while seen < count {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => {
                if t.starts_with("{\"type\":\"order_accepted\",\"id\"") {
                    seen += 1;
                } else if t.starts_with("{\"type\":\"error\"") {
                    panic!("refused: {t}");
                }
            }
            Some(Ok(_)) => {}
            other => panic!("connection ended: {other:?}"),
        }
    }
}

fn main() {
    let instruments = Instruments::embedded_default();
    let mut accounts = String::new();
    for i in 0..CONNECTIONS {
        accounts.push_str(&format!("[[account]]\nname = \"bench{i}\"\ntoken = \"bench-token-{i}\"\norders_per_sec = 1000000000\n"));
    }
    let mut config = Config::new(instruments.clone(), 1);
    config.accounts = Accounts::parse("bench accounts", &accounts, &instruments).expect("accounts");
    config.requests_per_sec = 1e9;
    config.request_burst = 1e9;

    let server = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let listener = server
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let url = format!("ws://{}/ws", listener.local_addr().expect("addr"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    server.spawn(gateway::serve(listener, config, async move {
        let _ = stopped.await;
    }));

    let clients = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    clients.block_on(async {
        // Round trip, one order at a time.
        let mut ws = login(&url, "bench-token-0").await;
        let mut histogram = Histogram::<u64>::new(3).expect("histogram");
        for i in 0..ROUND_TRIPS + 500 {
            let started = Instant::now();
            ws.send(order(i + 1)).await.expect("send");
            accepted(&mut ws, 1).await;
            if i >= 500 {
                histogram.record(started.elapsed().as_micros() as u64).expect("record");
            }
        }
        println!(
            "order round trip (submit to order_accepted), {ROUND_TRIPS} orders: p50 {} µs, p90 {} µs, p99 {} µs, p99.9 {} µs, max {} µs",
            histogram.value_at_quantile(0.50),
            histogram.value_at_quantile(0.90),
            histogram.value_at_quantile(0.99),
            histogram.value_at_quantile(0.999),
            histogram.max()
        );

        // Throughput: every connection keeps WINDOW orders in flight.
        let mut sockets = Vec::with_capacity(CONNECTIONS);
        for i in 0..CONNECTIONS {
            sockets.push(login(&url, &format!("bench-token-{i}")).await);
        }
        let started = Instant::now();
        let mut tasks = Vec::new();
        for ws in sockets {
            tasks.push(tokio::spawn(async move {
                let (mut sink, mut stream) = ws.split();
                let writer = tokio::spawn(async move {
                    for i in 0..ORDERS_PER_CONNECTION {
                        sink.feed(order(i + 1)).await.expect("send");
                        if i % WINDOW == WINDOW - 1 {
                            sink.flush().await.expect("flush");
                            tokio::time::sleep(Duration::from_micros(1)).await;
                        }
                    }
                    sink.flush().await.expect("flush");
                    sink
                });
                let mut seen = 0;
                while seen < ORDERS_PER_CONNECTION {
                    match stream.next().await {
                        Some(Ok(Message::Text(t))) if t.starts_with("{\"type\":\"order_accepted\",\"id\"") => seen += 1,
                        Some(Ok(Message::Text(t))) if t.starts_with("{\"type\":\"error\"") => panic!("refused: {t}"),
                        Some(Ok(_)) => {}
                        other => panic!("connection ended: {other:?}"),
                    }
                }
                let _ = writer.await;
            }));
        }
        for task in tasks {
            task.await.expect("client task");
        }
        let elapsed = started.elapsed().as_secs_f64();
        let total = CONNECTIONS * ORDERS_PER_CONNECTION;
        println!(
            "accepted orders from {CONNECTIONS} connections: {total} in {elapsed:.2} s = {:.0} orders/s",
            total as f64 / elapsed
        );
    });
    let _ = stop.send(());
    drop(server);
}
