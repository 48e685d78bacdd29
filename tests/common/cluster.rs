//! A cluster for the tests: a real `nats-server` on a free loopback port,
//! the real binary as engine and gateways (each a child process killed and
//! reaped when dropped), and WebSocket and HTTP clients of the gateways.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::Message;

use super::QUIET;
pub use super::http_send;

pub const WAIT: Duration = Duration::from_secs(20);

/// A child process, killed (SIGKILL) and reaped when dropped, so nothing a
/// test starts outlives it, even when it fails.
pub struct Proc {
    child: Child,
    /// The address the banner printed (host:port), if it is a tickwire.
    pub addr: String,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Proc {
    /// Stops the process (`SIGSTOP`) and returns once every one of its
    /// threads is stopped: the signal stops the others only once the thread
    /// it woke has run, and on a loaded machine they can run for a while
    /// before that.
    pub fn pause(&self) {
        self.signal("STOP");
        let tasks = PathBuf::from(format!("/proc/{}/task", self.child.id()));
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            let states: Vec<char> = std::fs::read_dir(&tasks)
                .expect("the process's threads")
                .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("stat")).ok())
                .filter_map(|stat| stat.rsplit_once(')')?.1.trim_start().chars().next())
                .collect();
            if !states.is_empty() && states.iter().all(|s| *s == 'T') {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "not stopped: {states:?}"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Resumes a paused process (`SIGCONT`).
    pub fn resume(&self) {
        self.signal("CONT");
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([format!("-{signal}"), self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success(), "kill -{signal}");
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// `nats-server` on `port` (the README's test command installs it).
pub fn nats(port: u16, log: &Path) -> Proc {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("log");
    let child = Command::new("nats-server")
        .args(["-a", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("nats-server must be installed (apt-get install nats-server; bash .ci/test does)");
    let deadline = std::time::Instant::now() + WAIT;
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "nats-server did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    Proc {
        child,
        addr: format!("127.0.0.1:{port}"),
    }
}

/// A tickwire in `args`' role, once its banner is out; its address is the
/// one of the banner's `health` line.
pub fn tickwire(args: &[&str], log: &Path) -> Proc {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_tickwire"))
        .args(args)
        .args(["--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(file)
        .spawn()
        .expect("start tickwire");
    let stdout = child.stdout.take().expect("stdout");
    let addr = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find_map(|line| {
            line.trim()
                .strip_prefix("health")
                .and_then(|r| r.trim().strip_prefix("http://"))
                .and_then(|r| r.strip_suffix("/healthz"))
                .map(str::to_string)
        });
    let Some(addr) = addr else {
        let _ = child.kill();
        let _ = child.wait();
        panic!(
            "tickwire {args:?} did not start:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
    };
    Proc { child, addr }
}

pub struct Cluster {
    pub dir: PathBuf,
    nats_port: u16,
    nats: Option<Proc>,
}

impl Cluster {
    pub fn new(name: &str) -> Cluster {
        let dir =
            std::env::temp_dir().join(format!("tickwire-cluster-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        let nats_port = free_port();
        let nats = Some(nats(nats_port, &dir.join("nats.log")));
        Cluster {
            dir,
            nats_port,
            nats,
        }
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.nats_port)
    }

    pub fn engine(&self, extra: &[&str]) -> Proc {
        let url = self.url();
        let mut args = vec!["engine", "--nats", &url, "--seed", "7", "--rate-scale", "5"];
        args.extend_from_slice(extra);
        tickwire(&args, &self.dir.join("engine.log"))
    }

    pub fn gateway(&self, name: &str) -> Proc {
        self.gateway_with(name, &[])
    }

    pub fn gateway_with(&self, name: &str, extra: &[&str]) -> Proc {
        let url = self.url();
        let mut args = vec!["gateway", "--nats", &url];
        args.extend_from_slice(extra);
        tickwire(&args, &self.dir.join(format!("gateway-{name}.log")))
    }

    pub fn stop_nats(&mut self) {
        self.nats = None;
    }

    pub fn start_nats(&mut self) {
        self.nats = Some(nats(self.nats_port, &self.dir.join("nats.log")));
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.nats = None;
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub async fn client(addr: &str) -> Ws {
    connect_async(format!("ws://{addr}/ws"))
        .await
        .expect("connect")
        .0
}

/// Sends `request` as a text frame.
pub async fn send(ws: &mut Ws, request: Value) {
    ws.send(Message::Text(request.to_string().into()))
        .await
        .expect("send");
}

pub async fn subscribe(ws: &mut Ws, channels: &[&str]) {
    send(
        ws,
        json!({"op":"subscribe","id":1,"channels":channels,"symbols":["BTC-USD"]}),
    )
    .await;
}

/// The next text message (raw), or None when the connection ended.
/// (`WAIT` in all: pings the server sends meanwhile do not extend it.)
pub async fn next(ws: &mut Ws) -> Option<String> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match tokio::time::timeout_at(deadline, ws.next())
            .await
            .expect("a message in time")
        {
            Some(Ok(Message::Text(t))) => return Some(t.to_string()),
            Some(Ok(_)) => continue,
            _ => return None,
        }
    }
}

pub fn parse(text: &str) -> Value {
    serde_json::from_str(text).expect("JSON")
}

/// Reads until a message of `kind`.
pub async fn until(ws: &mut Ws, kind: &str) -> Value {
    loop {
        let text = next(ws).await.expect("the connection stays open");
        let v = parse(&text);
        if v["type"] == kind {
            return v;
        }
    }
}

/// What one client saw: the book's messages and the trades by seq, raw;
/// checked contiguous from its snapshot (book) and from the first (trades).
#[derive(Default)]
pub struct Seen {
    pub book: BTreeMap<u64, String>,
    pub trades: BTreeMap<u64, String>,
}

/// Reads until at least `books` book updates and `trades` trades came
/// (counts, not a time: a loaded machine only takes longer).
pub async fn watch_until(ws: &mut Ws, books: usize, trades: usize) -> Seen {
    let mut seen = Seen::default();
    let mut book_at: Option<u64> = None;
    let mut trade_at: Option<u64> = None;
    while seen.book.len() < books || seen.trades.len() < trades {
        let text = next(ws).await.expect("open");
        let v = parse(&text);
        let seq = v["seq"].as_u64();
        match (v["type"].as_str(), seq) {
            (Some("book_snapshot"), Some(seq)) => book_at = Some(seq),
            (Some("book_update"), Some(seq)) => {
                let at = book_at.expect("a snapshot before the first update");
                assert_eq!(seq, at + 1, "book seq contiguous");
                book_at = Some(seq);
                seen.book.insert(seq, text);
            }
            (Some("trade"), Some(seq)) => {
                if let Some(at) = trade_at {
                    assert_eq!(seq, at + 1, "trade seq contiguous");
                }
                trade_at = Some(seq);
                seen.trades.insert(seq, text);
            }
            _ => {}
        }
    }
    seen
}

pub async fn http_get(addr: &str, path: &str) -> (u16, String) {
    http_send(addr, "GET", path, None, "").await
}

pub async fn http_status(addr: &str, path: &str) -> u16 {
    http_get(addr, path).await.0
}

/// Reads `count` book updates after a snapshot at `at`, checking each
/// follows the one before; returns how many were read.
pub async fn watch_for_from(ws: &mut Ws, mut at: u64, count: usize) -> usize {
    let mut read = 0;
    while read < count {
        let v = parse(&next(ws).await.expect("open"));
        if v["type"] == "book_update" {
            let seq = v["seq"].as_u64().expect("seq");
            assert_eq!(seq, at + 1, "book seq contiguous after the snapshot");
            at = seq;
            read += 1;
        }
    }
    read
}

pub const ACCOUNTS: &str = r#"
[[account]]
name = "alice"
token = "alice-token"

[[account]]
name = "bob"
token = "bob-token-1"
"#;

pub async fn request(ws: &mut Ws, request: Value) -> Value {
    let id = request["id"].clone();
    send(ws, request).await;
    loop {
        let v = parse(&next(ws).await.expect("open"));
        if v["id"] == id {
            return v;
        }
    }
}

/// Every message until `quiet` passes without one.
pub async fn drain(ws: &mut Ws, quiet: Duration) -> Vec<Value> {
    let mut out = Vec::new();
    while let Ok(Some(Ok(message))) = tokio::time::timeout(quiet, ws.next()).await {
        if let Message::Text(t) = message {
            out.push(parse(&t));
        }
    }
    out
}

/// An engine with QUIET beside the default instruments and two accounts.
pub fn trading_engine(cluster: &Cluster) -> Proc {
    let instruments = cluster.dir.join("instruments.toml");
    let defaults =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/feeds/default.toml"))
            .expect("defaults");
    std::fs::write(&instruments, format!("{defaults}{QUIET}")).expect("instruments");
    let accounts = cluster.dir.join("accounts.toml");
    std::fs::write(&accounts, ACCOUNTS).expect("accounts");
    let (instruments, accounts) = (
        instruments.display().to_string(),
        accounts.display().to_string(),
    );
    cluster.engine(&[
        "--ephemeral",
        "--instruments",
        &instruments,
        "--accounts",
        &accounts,
    ])
}

pub async fn order_status(ws: &mut Ws, client_order_id: &str) -> Value {
    let status = request(
        ws,
        json!({"op":"order_status","id":client_order_id,"symbol":"QUIET","client_order_id":client_order_id}),
    )
    .await;
    status["order"].clone()
}
