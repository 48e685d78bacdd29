//! The Binance dialect against the native protocol, measured in the same
//! run on the same server: the release `tickwire` pinned to core 0, this
//! process's clients on the other core.
//!
//! ```text
//! cargo bench --bench binance          # full: 500 clients, 20 s windows
//! ```
//!
//! Streams: N clients subscribe to BTC-USD's trades and its book at most
//! every 100 ms, natively (`trades`, `book` with `interval: 100ms`) or in
//! the dialect (`btcusd@trade`, `btcusd@depth@100ms`); rounds alternate.
//! Reported: messages delivered per second and the server's CPU time per
//! delivered message (`/proc/PID/stat`), and the ratio of the two. REST:
//! eight keep-alive connections asking `depth?limit=100` as fast as
//! answered, against `/api/book?depth=100`. Under `cargo test` it runs
//! small and fails only if nothing was delivered or answered.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::Message;

struct Plan {
    clients: usize,
    window: Duration,
    rounds: usize,
    rate_scale: f64,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Dialect {
    Native,
    Binance,
}

struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(plan: &Plan) -> Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("address");
    let child = Command::new("taskset")
        .args([
            "-c",
            "0",
            env!("CARGO_BIN_EXE_tickwire"),
            "serve",
            "--ephemeral",
        ])
        .args(["--listen", &addr.to_string()])
        .args(["--rate-scale", &plan.rate_scale.to_string()])
        .args(["--max-connections", "100000"])
        .args(["--binance-weight-per-minute", "0"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start tickwire (taskset is in util-linux)");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "tickwire did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Server { child, addr }
}

/// One client: subscribes, then counts every message.
async fn client(addr: SocketAddr, dialect: Dialect, count: Arc<AtomicU64>) {
    let (url, request) = match dialect {
        Dialect::Native => (
            format!("ws://{addr}/ws"),
            r#"{"op":"subscribe","channels":["trades","book"],"symbols":["BTC-USD"],"interval":"100ms"}"#,
        ),
        Dialect::Binance => (
            format!("ws://{addr}/binance/ws"),
            r#"{"method":"SUBSCRIBE","params":["btcusd@trade","btcusd@depth@100ms"],"id":1}"#,
        ),
    };
    let Ok((mut ws, _)) = connect_async(url).await else {
        return;
    };
    if ws.send(Message::Text(request.into())).await.is_err() {
        return;
    }
    while let Some(Ok(message)) = ws.next().await {
        if matches!(message, Message::Text(_)) {
            count.fetch_add(1, Relaxed);
        }
    }
}

struct Streams {
    messages_per_s: f64,
    cpu_us_per_message: f64,
}

async fn streams(plan: &Plan, dialect: Dialect) -> Streams {
    let server = start(plan);
    let count = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = (0..plan.clients)
        .map(|_| tokio::spawn(client(server.addr, dialect, count.clone())))
        .collect();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let pid = server.child.id();
    let (cpu0, n0, t0) = (cpu(pid), count.load(Relaxed), Instant::now());
    tokio::time::sleep(plan.window).await;
    let (cpu1, n1, elapsed) = (cpu(pid), count.load(Relaxed), t0.elapsed());
    for task in tasks {
        task.abort();
    }
    let delivered = (n1 - n0) as f64;
    Streams {
        messages_per_s: delivered / elapsed.as_secs_f64(),
        cpu_us_per_message: (cpu1 - cpu0) * 1e6 / delivered.max(1.0),
    }
}

fn cpu(pid: u32) -> f64 {
    tickwire::loadgen::sample(pid).map_or(0.0, |s| s.cpu_seconds)
}

/// Requests answered per second by `connections` keep-alive connections
/// asking `path` as fast as they are answered.
async fn rest(plan: &Plan, path: &str, connections: usize) -> f64 {
    let server = start(plan);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let count = Arc::new(AtomicU64::new(0));
    let stop = Instant::now() + plan.window;
    let tasks: Vec<_> = (0..connections)
        .map(|_| {
            let (count, path, addr) = (count.clone(), path.to_string(), server.addr);
            tokio::spawn(async move {
                let Ok(mut socket) = TcpStream::connect(addr).await else {
                    return;
                };
                let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n");
                let mut buffer = Vec::with_capacity(64 * 1024);
                while Instant::now() < stop {
                    if socket.write_all(request.as_bytes()).await.is_err() {
                        return;
                    }
                    match read_response(&mut socket, &mut buffer).await {
                        Some(200) => count.fetch_add(1, Relaxed),
                        _ => return,
                    };
                }
            })
        })
        .collect();
    let started = Instant::now();
    for task in tasks {
        let _ = task.await;
    }
    count.load(Relaxed) as f64 / started.elapsed().as_secs_f64()
}

/// Reads one HTTP/1.1 response with a `content-length`: its status, if
/// it came whole.
async fn read_response(socket: &mut TcpStream, buffer: &mut Vec<u8>) -> Option<u16> {
    buffer.clear();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buffer[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            while buffer.len() < end + 4 + length {
                match socket.read(&mut chunk).await {
                    Ok(0) | Err(_) => return None,
                    Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                }
            }
            return head.split(' ').nth(1).and_then(|s| s.parse().ok());
        }
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
    }
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let plan = if full {
        Plan {
            clients: 500,
            window: Duration::from_secs(20),
            rounds: 2,
            rate_scale: 5.0,
        }
    } else {
        Plan {
            clients: 10,
            window: Duration::from_secs(2),
            rounds: 1,
            rate_scale: 1.0,
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime");
    let mut out = format!(
        "# The Binance dialect against the native protocol\n\n{} clients on BTC-USD (trades and the book at most every 100 ms), rate scale {}, {} s windows, rounds alternating; the server on core 0.\n\n| round | dialect | messages/s | server CPU µs per message |\n|---|---|---|---|\n",
        plan.clients,
        plan.rate_scale,
        plan.window.as_secs()
    );
    let mut totals = [(0.0, 0.0); 2];
    for round in 1..=plan.rounds {
        for (i, dialect) in [Dialect::Native, Dialect::Binance].into_iter().enumerate() {
            let s = runtime.block_on(streams(&plan, dialect));
            assert!(s.messages_per_s > 0.0, "{dialect:?}: nothing delivered");
            out.push_str(&format!(
                "| {round} | {dialect:?} | {:.0} | {:.2} |\n",
                s.messages_per_s, s.cpu_us_per_message
            ));
            totals[i].0 += s.messages_per_s;
            totals[i].1 += s.cpu_us_per_message;
        }
    }
    out.push_str(&format!(
        "\nBinance / native: messages/s {:.2}x, CPU per message {:.2}x\n\n",
        totals[1].0 / totals[0].0,
        totals[1].1 / totals[0].1
    ));
    out.push_str("| REST (8 keep-alive connections) | requests/s |\n|---|---|\n");
    for (name, path) in [
        (
            "native `/api/book?depth=100`",
            "/api/book?symbol=BTC-USD&depth=100",
        ),
        (
            "Binance `depth?limit=100`",
            "/binance/api/v3/depth?symbol=BTCUSD&limit=100",
        ),
    ] {
        let per_s = runtime.block_on(rest(&plan, path, 8));
        assert!(per_s > 0.0, "{name}: nothing answered");
        out.push_str(&format!("| {name} | {per_s:.0} |\n"));
    }
    print!("{out}");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench");
    let _ = std::fs::create_dir_all(&dir);
    let name = if full {
        "binance.md"
    } else {
        "binance-smoke.md"
    };
    let _ = std::fs::write(dir.join(name), out);
}
