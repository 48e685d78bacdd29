//! Order entry over the socket, end to end on loopback, with the journal
//! off (`--ephemeral`) and on (a data directory, group commit), alternated
//! in one run: the round trip from sending an `order` to reading its
//! `order_accepted` (one connection, one order at a time), and accepted
//! orders per second from 50 connections keeping 32 orders in flight each
//! (a new order for each acceptance); the group
//! commit's batch sizes; then the time to recover 1,000,000 journaled
//! orders.
//!
//! ```text
//! cargo bench --bench orders
//! ```
//!
//! Under `cargo test` it runs small (a pass of each, 500 round trips, 200
//! orders per connection, 20,000 orders to recover), as a test that the
//! whole path works.
//!
//! The server runs in this process on its own runtime (two worker threads),
//! the clients on another; on a 2-core machine they share the cores, so the
//! figures include the client's own cost. Orders are IOC buys far below the
//! market (accepted, then expired at once), so the book does not grow. The
//! data directory is in the system's temporary directory (its disk and
//! fsync latency are part of the figures).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use tickwire::gateway::{self, Config};
use tickwire::instrument::Instruments;
use tickwire::trading::Accounts;
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::Message;

const CONNECTIONS: usize = 50;
const WINDOW: usize = 32;

/// How much each part does: the full run, or the quick test.
struct Sizes {
    passes: usize,
    round_trips: usize,
    orders_per_connection: usize,
    /// Orders journaled for the recovery figure.
    recovery_orders: usize,
}

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

fn config(data_dir: Option<&Path>) -> Config {
    let instruments = Instruments::embedded_default();
    let mut accounts = String::new();
    for i in 0..CONNECTIONS {
        accounts.push_str(&format!("[[account]]\nname = \"bench{i}\"\ntoken = \"bench-token-{i}\"\norders_per_sec = 1000000000\n"));
    }
    let mut config = Config::new(instruments.clone(), 1);
    config.accounts = Accounts::parse("bench accounts", &accounts, &instruments).expect("accounts");
    config.requests_per_sec = 1e9;
    config.request_burst = 1e9;
    config.data_dir = data_dir.map(Path::to_path_buf);
    config
}

struct Server {
    runtime: tokio::runtime::Runtime,
    url: String,
    addr: std::net::SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    /// From `serve` to the markets recovered and running.
    ready_after: Duration,
}

fn start(config: Config) -> Server {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let started = Instant::now();
    let task = runtime.spawn(gateway::serve_with(
        listener,
        config,
        async move {
            let _ = stopped.await;
        },
        move || {
            let _ = ready_tx.send(started.elapsed());
        },
    ));
    let ready_after = ready_rx.recv().expect("the server started");
    Server {
        runtime,
        url: format!("ws://{addr}/ws"),
        addr,
        stop: Some(stop),
        task: Some(task),
        ready_after,
    }
}

impl Server {
    fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = self.runtime.block_on(task);
        }
    }

    /// Lines of `/metrics` that start with `prefix`.
    fn metrics(&self, prefix: &str) -> Vec<String> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let addr = self.addr;
        let body = self.runtime.block_on(async move {
            let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
            s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .await
                .expect("write");
            let mut text = String::new();
            s.read_to_string(&mut text).await.expect("read");
            text
        });
        body.lines()
            .filter(|l| l.starts_with(prefix))
            .map(str::to_string)
            .collect()
    }
}

/// The round trip, one order at a time: p50, p90, p99, p99.9, max (µs).
async fn round_trips(url: &str, count: usize) -> Histogram<u64> {
    let mut ws = login(url, "bench-token-0").await;
    let mut histogram = Histogram::<u64>::new(3).expect("histogram");
    for i in 0..count + 500 {
        let started = Instant::now();
        ws.send(order(i + 1)).await.expect("send");
        accepted(&mut ws, 1).await;
        if i >= 500 {
            histogram
                .record(started.elapsed().as_micros() as u64)
                .expect("record");
        }
    }
    histogram
}

/// Every connection keeps WINDOW orders in flight (a new one for each
/// acceptance) until it has sent `per_connection`; returns accepted orders
/// per second over all connections.
async fn throughput(url: &str, per_connection: usize) -> f64 {
    let mut sockets = Vec::with_capacity(CONNECTIONS);
    for i in 0..CONNECTIONS {
        sockets.push(login(url, &format!("bench-token-{i}")).await);
    }
    let started = Instant::now();
    let mut tasks = Vec::new();
    for ws in sockets {
        tasks.push(tokio::spawn(async move {
            let (mut sink, mut stream) = ws.split();
            // One credit per acceptance: the writer sends one more order.
            let (credit, mut credits) = tokio::sync::mpsc::unbounded_channel::<()>();
            let writer = tokio::spawn(async move {
                let first = WINDOW.min(per_connection);
                for i in 0..first {
                    sink.feed(order(i + 1)).await.expect("send");
                }
                sink.flush().await.expect("flush");
                for i in first..per_connection {
                    if credits.recv().await.is_none() {
                        break;
                    }
                    sink.send(order(i + 1)).await.expect("send");
                }
                sink
            });
            let mut seen = 0;
            while seen < per_connection {
                match stream.next().await {
                    Some(Ok(Message::Text(t)))
                        if t.starts_with("{\"type\":\"order_accepted\",\"id\"") =>
                    {
                        seen += 1;
                        let _ = credit.send(());
                    }
                    Some(Ok(Message::Text(t))) if t.starts_with("{\"type\":\"error\"") => {
                        panic!("refused: {t}")
                    }
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
    (CONNECTIONS * per_connection) as f64 / started.elapsed().as_secs_f64()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tickwire-bench-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn quantiles(h: &Histogram<u64>) -> String {
    format!(
        "p50 {} µs, p90 {} µs, p99 {} µs, p99.9 {} µs, max {} µs",
        h.value_at_quantile(0.50),
        h.value_at_quantile(0.90),
        h.value_at_quantile(0.99),
        h.value_at_quantile(0.999),
        h.max()
    )
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let sizes = if full {
        Sizes {
            passes: 4,
            round_trips: 5_000,
            orders_per_connection: 2_000,
            recovery_orders: 1_000_000,
        }
    } else {
        Sizes {
            passes: 2,
            round_trips: 500,
            orders_per_connection: 200,
            recovery_orders: 20_000,
        }
    };
    let clients = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let mut rates = [Vec::new(), Vec::new()];
    // Off, on, off, on: the machine's drift falls on both.
    for pass in 0..sizes.passes {
        let journal = pass % 2 == 1;
        let dir = temp_dir(&format!("pass{pass}"));
        let server = start(config(journal.then_some(dir.as_path())));
        let label = if journal {
            "journal on "
        } else {
            "journal off"
        };
        let (histogram, rate) = clients.block_on(async {
            let histogram = round_trips(&server.url, sizes.round_trips).await;
            let rate = throughput(&server.url, sizes.orders_per_connection).await;
            (histogram, rate)
        });
        println!(
            "{label}: round trip, {} orders one at a time: {}",
            sizes.round_trips,
            quantiles(&histogram)
        );
        println!(
            "{label}: accepted orders from {CONNECTIONS} connections: {} = {rate:.0} orders/s",
            CONNECTIONS * sizes.orders_per_connection
        );
        if journal {
            for line in server.metrics("tickwire_journal_") {
                println!("{label}:   {line}");
            }
        }
        rates[journal as usize].push(rate);
        server.stop();
        let _ = std::fs::remove_dir_all(&dir);
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    println!(
        "throughput with the journal / without, same run: {:.2} (mean {:.0} vs {:.0} orders/s)",
        mean(&rates[1]) / mean(&rates[0]),
        mean(&rates[1]),
        mean(&rates[0])
    );

    // Recovery: journal a million orders, stop, drop the final snapshot so
    // the next start replays the whole journal, and time that start.
    let dir = temp_dir("recovery");
    let mut journaled = config(Some(&dir));
    journaled.state_snapshot_every = Duration::ZERO;
    let server = start(journaled);
    let recovery_orders = sizes.recovery_orders;
    let rate = clients.block_on(throughput(&server.url, recovery_orders / CONNECTIONS));
    println!("journaled {recovery_orders} orders at {rate:.0} orders/s");
    server.stop();
    let mut snapshots: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("dir")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "bin"))
        .collect();
    snapshots.sort();
    let newest = snapshots.pop().expect("a final snapshot");
    std::fs::remove_file(&newest).expect("remove");
    let journal_bytes: u64 = std::fs::read_dir(&dir)
        .expect("dir")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "log"))
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum();
    let server = start(config(Some(&dir)));
    println!(
        "recovery of {recovery_orders} journaled orders ({:.1} MB of journal, replayed from the first snapshot): {:.2} s to serving",
        journal_bytes as f64 / 1e6,
        server.ready_after.as_secs_f64()
    );
    server.stop();
    let _ = std::fs::remove_dir_all(&dir);
}
