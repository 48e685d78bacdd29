//! Cluster mode over a real NATS server (`nats-server`, started here on a
//! free loopback port) with the real binary in its two roles: one engine,
//! gateways in front of it, clients on the gateways. The gateways must send
//! the same bytes with contiguous `seq`, survive NATS and the engine going
//! away (a notice, then fresh snapshots), and a client of a gateway that
//! dies resyncs on another.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::Message;

use common::{QUIET, hex_hmac};

const WAIT: Duration = Duration::from_secs(20);

/// A child process, killed (SIGKILL) and reaped when dropped, so nothing a
/// test starts outlives it, even when it fails.
struct Proc {
    child: Child,
    /// The address the banner printed (host:port), if it is a tickwire.
    addr: String,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// `nats-server` on `port` (the README's test command installs it).
fn nats(port: u16, log: &Path) -> Proc {
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
fn tickwire(args: &[&str], log: &Path) -> Proc {
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

struct Cluster {
    dir: PathBuf,
    nats_port: u16,
    nats: Option<Proc>,
}

impl Cluster {
    fn new(name: &str) -> Cluster {
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

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.nats_port)
    }

    fn engine(&self, extra: &[&str]) -> Proc {
        let url = self.url();
        let mut args = vec!["engine", "--nats", &url, "--seed", "7", "--rate-scale", "5"];
        args.extend_from_slice(extra);
        tickwire(&args, &self.dir.join("engine.log"))
    }

    fn gateway(&self, name: &str) -> Proc {
        let url = self.url();
        tickwire(
            &["gateway", "--nats", &url],
            &self.dir.join(format!("gateway-{name}.log")),
        )
    }

    fn stop_nats(&mut self) {
        self.nats = None;
    }

    fn start_nats(&mut self) {
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

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn client(addr: &str) -> Ws {
    connect_async(format!("ws://{addr}/ws"))
        .await
        .expect("connect")
        .0
}

async fn subscribe(ws: &mut Ws, channels: &[&str]) {
    let request = json!({"op":"subscribe","id":1,"channels":channels,"symbols":["BTC-USD"]});
    ws.send(Message::Text(request.to_string().into()))
        .await
        .expect("send");
}

/// The next text message (raw), or None when the connection ended.
async fn next(ws: &mut Ws) -> Option<String> {
    loop {
        match tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("a message in time")
        {
            Some(Ok(Message::Text(t))) => return Some(t.to_string()),
            Some(Ok(_)) => continue,
            _ => return None,
        }
    }
}

fn parse(text: &str) -> Value {
    serde_json::from_str(text).expect("JSON")
}

/// Reads until a message of `kind`.
async fn until(ws: &mut Ws, kind: &str) -> Value {
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
struct Seen {
    book: BTreeMap<u64, String>,
    trades: BTreeMap<u64, String>,
}

/// Reads until at least `books` book updates and `trades` trades came
/// (counts, not a time: a loaded machine only takes longer).
async fn watch_until(ws: &mut Ws, books: usize, trades: usize) -> Seen {
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

async fn http_get(addr: &str, path: &str) -> (u16, String) {
    http_send(addr, "GET", path, None, "").await
}

/// One HTTP request with a form body and an API key; the status and body.
async fn http_send(
    addr: &str,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: &str,
) -> (u16, String) {
    let mut socket = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(key) = key {
        request.push_str(&format!("X-MBX-APIKEY: {key}\r\n"));
    }
    request.push_str(&format!(
        "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    ));
    socket.write_all(request.as_bytes()).await.expect("write");
    let mut response = String::new();
    socket.read_to_string(&mut response).await.expect("read");
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status");
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

async fn http_status(addr: &str, path: &str) -> u16 {
    http_get(addr, path).await.0
}

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
    // gateway's own state; the dialect's WebSocket API is refused, saying
    // why.
    let (status, book) = http_get(&b.addr, "/api/book?symbol=BTC-USD&depth=5").await;
    assert_eq!(status, 200, "{book}");
    let (status, depth) = http_get(&b.addr, "/binance/api/v3/depth?symbol=BTCUSD&limit=5").await;
    assert_eq!(status, 200, "{depth}");
    let (status, refused) = http_get(&b.addr, "/binance/ws-api/v3").await;
    assert_eq!(status, 404, "{refused}");
    assert!(
        refused.contains("-1020") && refused.contains("cluster gateway"),
        "{refused}"
    );
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

/// Reads `count` book updates after a snapshot at `at`, checking each
/// follows the one before; returns how many were read.
async fn watch_for_from(ws: &mut Ws, mut at: u64, count: usize) -> usize {
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
    let flow = tokio::spawn(async move {
        let mut acknowledged = Vec::new();
        for n in 1..10_000 {
            // Within the gateway's 50 requests per second.
            tokio::time::sleep(Duration::from_millis(25)).await;
            let order = json!({"op":"order","id":n,"symbol":"BTC-USD","side":"buy","order_type":"limit",
                "qty":"0.0100","price":"60000.00","client_order_id":format!("k{n}")});
            let answer = request(&mut alice, order).await;
            match answer["type"].as_str() {
                Some("order_accepted") => acknowledged.push(format!("k{n}")),
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
    tokio::time::sleep(Duration::from_millis(700)).await;
    drop(engine); // SIGKILL, mid-flow
    let (mut alice, acknowledged) = flow.await.expect("the order flow");
    assert!(acknowledged.len() > 5, "only {} orders", acknowledged.len());
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

const ACCOUNTS: &str = r#"
[[account]]
name = "alice"
token = "alice-token"

[[account]]
name = "bob"
token = "bob-token-1"
"#;

async fn request(ws: &mut Ws, request: Value) -> Value {
    let id = request["id"].clone();
    ws.send(Message::Text(request.to_string().into()))
        .await
        .expect("send");
    loop {
        let v = parse(&next(ws).await.expect("open"));
        if v["id"] == id {
            return v;
        }
    }
}

/// Every message until `quiet` passes without one.
async fn drain(ws: &mut Ws, quiet: Duration) -> Vec<Value> {
    let mut out = Vec::new();
    while let Ok(Some(Ok(message))) = tokio::time::timeout(quiet, ws.next()).await {
        if let Message::Text(t) = message {
            out.push(parse(&t));
        }
    }
    out
}

/// An engine with QUIET beside the default instruments and two accounts.
fn trading_engine(cluster: &Cluster) -> Proc {
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

async fn order_status(ws: &mut Ws, client_order_id: &str) -> Value {
    let status = request(
        ws,
        json!({"op":"order_status","id":client_order_id,"symbol":"QUIET","client_order_id":client_order_id}),
    )
    .await;
    status["order"].clone()
}

#[tokio::test]
async fn cancel_on_disconnect_holds_through_a_gateway_and_its_death() {
    let cluster = Cluster::new("cancel-on-disconnect");
    let _engine = trading_engine(&cluster);
    let (a, b) = (cluster.gateway("a"), cluster.gateway("b"));
    let mut watcher = client(&b.addr).await;
    let answer = request(
        &mut watcher,
        json!({"op":"auth","id":1,"token":"alice-token"}),
    )
    .await;
    assert_eq!(answer["type"], "authenticated");
    // Three connections of alice on gateway A, two asking for
    // cancel-on-disconnect, each with a resting order.
    let mut placed = Vec::new();
    for (name, cancel) in [("c1", true), ("c2", true), ("c3", false)] {
        let mut ws = client(&a.addr).await;
        let auth = json!({"op":"auth","id":1,"token":"alice-token","cancel_on_disconnect":cancel});
        assert_eq!(request(&mut ws, auth).await["type"], "authenticated");
        let order = json!({"op":"order","id":2,"symbol":"QUIET","side":"sell","order_type":"limit",
            "qty":"1.00","price":"105.00","client_order_id":name});
        let accepted = request(&mut ws, order).await;
        assert_eq!(accepted["type"], "order_accepted", "{accepted}");
        placed.push(ws);
    }
    // c1's connection closes: its order goes, the others stay.
    let mut c1 = placed.remove(0);
    c1.close(None).await.expect("close");
    drop(c1);
    let deadline = tokio::time::Instant::now() + WAIT;
    while order_status(&mut watcher, "c1").await["status"] == "open" {
        assert!(tokio::time::Instant::now() < deadline, "c1 still open");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let c1 = order_status(&mut watcher, "c1").await;
    assert_eq!(c1["status"], "canceled", "{c1}");
    assert_eq!(order_status(&mut watcher, "c2").await["status"], "open");
    // Gateway A dies with c2 and c3: the engine hears it no more and
    // cancels c2 (asked for), not c3.
    drop(a);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while order_status(&mut watcher, "c2").await["status"] == "open" {
        assert!(tokio::time::Instant::now() < deadline, "c2 still open");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(order_status(&mut watcher, "c2").await["status"], "canceled");
    assert_eq!(order_status(&mut watcher, "c3").await["status"], "open");
    drop(placed);
}

#[tokio::test]
async fn an_order_through_one_gateway_fills_and_is_seen_on_the_other() {
    let cluster = Cluster::new("orders");
    let _engine = trading_engine(&cluster);
    let (a, b) = (cluster.gateway("a"), cluster.gateway("b"));

    let mut alice_a = client(&a.addr).await;
    let mut alice_b = client(&b.addr).await;
    let mut bob = client(&a.addr).await;
    let mut watcher = client(&b.addr).await;
    let refused = request(
        &mut alice_a,
        json!({"op":"order","id":1,"symbol":"QUIET","side":"buy","order_type":"limit","qty":"1.00","price":"100.00"}),
    )
    .await;
    assert_eq!(refused["code"], "not_authenticated", "{refused}");
    let wrong = request(&mut alice_a, json!({"op":"auth","id":2,"token":"nope"})).await;
    assert_eq!(wrong["code"], "unauthorized", "{wrong}");
    for (ws, token) in [
        (&mut alice_a, "alice-token"),
        (&mut alice_b, "alice-token"),
        (&mut bob, "bob-token-1"),
    ] {
        let answer = request(ws, json!({"op":"auth","id":3,"token":token})).await;
        assert_eq!(answer["type"], "authenticated", "{answer}");
    }
    let subscribed = request(
        &mut watcher,
        json!({"op":"subscribe","id":4,"channels":["trades"],"symbols":["QUIET"]}),
    )
    .await;
    assert_eq!(subscribed["type"], "subscribed");

    let resting = request(
        &mut bob,
        json!({"op":"order","id":5,"symbol":"QUIET","side":"sell","order_type":"limit","qty":"1.00","price":"100.00"}),
    )
    .await;
    assert_eq!(resting["type"], "order_accepted", "{resting}");
    let accepted = request(
        &mut alice_a,
        json!({"op":"order","id":6,"symbol":"QUIET","side":"buy","order_type":"limit","qty":"1.00","price":"100.00","client_order_id":"c1"}),
    )
    .await;
    assert_eq!(accepted["type"], "order_accepted", "{accepted}");

    // The requester: its answer, then the fill (no `id`, as on `serve`),
    // each once.
    let rest = drain(&mut alice_a, Duration::from_millis(700)).await;
    let fills: Vec<&Value> = rest.iter().filter(|v| v["type"] == "fill").collect();
    assert_eq!(fills.len(), 1, "{rest:?}");
    assert!(fills[0].get("id").is_none(), "{rest:?}");
    assert!(
        !rest.iter().any(|v| v["type"] == "order_accepted"),
        "the answer came once: {rest:?}"
    );
    // The account's connection on the other gateway: the same events
    // without an id, in seq order.
    let other = drain(&mut alice_b, Duration::from_millis(700)).await;
    let kinds: Vec<(&str, u64)> = other
        .iter()
        .filter_map(|v| Some((v["type"].as_str()?, v["seq"].as_u64()?)))
        .collect();
    let seq = accepted["seq"].as_u64().expect("seq");
    assert_eq!(
        kinds[..2],
        [("order_accepted", seq), ("fill", seq + 1)],
        "{other:?}"
    );
    assert!(other.iter().all(|v| v.get("id").is_none()));
    // The public trade on the other gateway.
    let trade = until(&mut watcher, "trade").await;
    assert_eq!(
        (trade["symbol"].as_str(), trade["price"].as_str()),
        (Some("QUIET"), Some("100.00"))
    );
    // A Binance-dialect order through gateway B's signed REST: carried out
    // by the engine, seen natively by the account's connection on A.
    let query = format!(
        "symbol=QUIET&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=90.00&newClientOrderId=bn1&timestamp={}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0)
    );
    let signature = hex_hmac("alice-token", &query);
    let (status, placed) = http_send(
        &b.addr,
        "POST",
        "/binance/api/v3/order",
        Some("alice-token"),
        &format!("{query}&signature={signature}"),
    )
    .await;
    assert_eq!(status, 200, "{placed}");
    let placed: Value = serde_json::from_str(&placed).expect("JSON");
    assert_eq!(placed["status"], "NEW", "{placed}");
    let seen = until(&mut alice_a, "order_accepted").await;
    assert_eq!(seen["client_order_id"], "bn1", "{seen}");
    let (status, refused) = http_send(
        &b.addr,
        "GET",
        "/binance/api/v3/openOrders?timestamp=1",
        Some("nobody"),
        "",
    )
    .await;
    assert_eq!(status, 401, "{refused}");
    assert!(refused.contains("-2015"), "{refused}");

    // The engine's state, asked through the other gateway.
    let status = request(
        &mut alice_b,
        json!({"op":"order_status","id":7,"symbol":"QUIET","client_order_id":"c1"}),
    )
    .await;
    assert_eq!(status["order"]["status"], "filled", "{status}");
}

#[tokio::test]
async fn an_engine_restarted_at_once_is_followed_from_its_fresh_state() {
    let cluster = Cluster::new("engine-quick-restart");
    let data = cluster.dir.join("data").display().to_string();
    let engine = cluster.engine(&["--data-dir", &data]);
    let gateway = cluster.gateway("a");
    let mut ws = client(&gateway.addr).await;
    subscribe(&mut ws, &["book"]).await;
    watch_until(&mut ws, 50, 0).await;
    // Killed and started again before the gateway's silence check (3 s):
    // its `engine.started` makes the gateway start again from its state,
    // so the subscriber gets a fresh snapshot, whatever the journal kept.
    drop(engine);
    let _engine = cluster.engine(&["--data-dir", &data]);
    let snapshot = until(&mut ws, "book_snapshot").await;
    let at = snapshot["seq"].as_u64().expect("seq");
    assert_eq!(watch_for_from(&mut ws, at, 20).await, 20);
}
