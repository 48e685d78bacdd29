//! Helpers for the tests that drive a real server over TCP: start one on
//! `127.0.0.1:0`, connect real WebSocket clients, read and write JSON.

#![allow(dead_code)]

pub mod cluster;
pub mod wire_book;

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tickwire::gateway::{self, Config, ReplayOptions};
use tickwire::instrument::Instruments;
use tickwire::record;
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

pub const WAIT: Duration = Duration::from_secs(10);

/// The default instruments with every event rate multiplied by `scale`.
pub fn instruments(scale: f64) -> Instruments {
    Instruments::embedded_default()
        .with_rate_scale(scale)
        .expect("valid scale")
}

/// An instrument whose simulated crowd is all but silent, so a book holds
/// only what a test puts there.
pub const QUIET: &str = r#"
[[instrument]]
symbol = "QUIET"
tick_size = "0.01"
lot_size = "0.01"
price_decimals = 2
qty_decimals = 2
max_qty = "50.00"
band = "0.10"
start_price = "100.00"
volatility = 0.0
event_rate = 0.001
"#;

/// The default instruments and QUIET, every rate multiplied by `scale`.
pub fn instruments_with_quiet(scale: f64) -> Instruments {
    let defaults =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/feeds/default.toml"))
            .expect("defaults");
    Instruments::parse("test", &format!("{defaults}{QUIET}"))
        .expect("instruments")
        .with_rate_scale(scale)
        .expect("valid scale")
}

/// A client authenticated with `token`.
pub async fn login(server: &Server, token: &str) -> Client {
    let mut c = server.client().await;
    let reply = c
        .request(serde_json::json!({"op":"auth","token":token}), 100)
        .await;
    assert_eq!(reply["type"], "authenticated", "{reply}");
    c
}

/// An order on QUIET: a limit order at `price`, or a market order.
pub fn quiet_order(side: &str, qty: &str, price: Option<&str>) -> Value {
    let mut o = serde_json::json!({"op":"order","symbol":"QUIET","side":side,"qty":qty,"order_type":"limit"});
    match price {
        Some(p) => o["price"] = serde_json::json!(p),
        None => o["order_type"] = serde_json::json!("market"),
    }
    o
}

pub fn config(scale: f64) -> Config {
    Config::new(instruments(scale), 7)
}

pub struct Server {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl Server {
    pub async fn start(config: Config) -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(gateway::serve(listener, config, async move {
            let _ = stopped.await;
        }));
        Server {
            addr,
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    pub async fn client(&self) -> Client {
        Client::connect(&self.ws_url()).await
    }

    /// Stops the server and waits for it to finish.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(WAIT, task).await;
        }
    }

    /// Waits for the server to stop on its own (within `WAIT`); what
    /// `serve` returned.
    pub async fn stopped(mut self) -> std::io::Result<()> {
        let task = self.task.take().expect("a running server");
        match tokio::time::timeout(WAIT, task).await {
            Ok(Ok(result)) => result,
            Ok(Err(e)) => Err(std::io::Error::other(format!("the server's task: {e}"))),
            Err(_) => panic!("the server did not stop within {WAIT:?}"),
        }
    }

    pub async fn http_get(&self, path: &str) -> (u16, String) {
        http_get(self.addr, path).await
    }

    /// The value of one metric from `/metrics`.
    pub async fn metric(&self, name: &str) -> f64 {
        let (_, body) = self.http_get("/metrics").await;
        body.lines()
            .find_map(|line| {
                line.strip_prefix(name)
                    .and_then(|rest| rest.strip_prefix(' '))
            })
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("metric {name} missing from:\n{body}"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A minimal HTTP/1.1 GET over a real socket.
pub async fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    let answer = http_request(addr, "GET", path, &[]).await;
    (
        answer.status,
        String::from_utf8_lossy(&answer.body).into_owned(),
    )
}

/// An HTTP response as read off the socket.
#[derive(Debug)]
pub struct HttpAnswer {
    pub status: u16,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpAnswer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.1 request over a real socket (`Connection: close`).
pub async fn http_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> HttpAnswer {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut socket = TcpStream::connect(addr).await.expect("connect");
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    socket.write_all(request.as_bytes()).await.expect("write");
    let mut response = Vec::new();
    tokio::time::timeout(WAIT, socket.read_to_end(&mut response))
        .await
        .expect("response in time")
        .expect("read");
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete head");
    let head = String::from_utf8_lossy(&response[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    HttpAnswer {
        status,
        headers,
        body: response[split + 4..].to_vec(),
    }
}

pub struct Client {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// What a client read next.
#[derive(Debug)]
pub enum Read {
    Text(String),
    Close(Option<CloseFrame>),
    Ended,
}

impl Client {
    pub async fn connect(url: &str) -> Client {
        let (ws, _) = connect_async(url).await.expect("connect");
        Client { ws }
    }

    /// A client whose socket takes at most `bytes` unread (its receive
    /// buffer), so what the server sends it queues in the server.
    pub async fn connect_small(addr: SocketAddr, bytes: u32) -> Client {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket.set_recv_buffer_size(bytes).expect("SO_RCVBUF");
        let stream = socket.connect(addr).await.expect("connect");
        let url = format!("ws://{addr}/ws");
        let (ws, _) = tokio_tungstenite::client_async(url, MaybeTlsStream::Plain(stream))
            .await
            .expect("handshake");
        Client { ws }
    }

    pub async fn send(&mut self, value: Value) {
        self.ws
            .send(Message::Text(value.to_string().into()))
            .await
            .expect("send");
    }

    pub async fn send_raw(&mut self, message: Message) {
        self.ws.send(message).await.expect("send");
    }

    /// The next text message, close, or end (pings and pongs skipped).
    pub async fn read(&mut self) -> Read {
        // `WAIT` in all: the server's pings do not extend it.
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let next = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .expect("a message in time");
            match next {
                Some(Ok(Message::Text(text))) => return Read::Text(text.to_string()),
                Some(Ok(Message::Close(frame))) => return Read::Close(frame),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return Read::Ended,
            }
        }
    }

    /// The next text message as raw text.
    pub async fn next_text(&mut self) -> String {
        match self.read().await {
            Read::Text(text) => text,
            other => panic!("expected a message, got {other:?}"),
        }
    }

    pub async fn next_json(&mut self) -> Value {
        serde_json::from_str(&self.next_text().await).expect("JSON")
    }

    /// Reads until a message of `kind` (skipping others) and returns it.
    pub async fn until_type(&mut self, kind: &str) -> Value {
        loop {
            let v = self.next_json().await;
            if v["type"] == kind {
                return v;
            }
        }
    }

    /// Sends a request and reads until its response (the message carrying
    /// its id).
    pub async fn request(&mut self, mut request: Value, id: i64) -> Value {
        request["id"] = id.into();
        self.send(request).await;
        loop {
            let v = self.next_json().await;
            if v["id"] == id {
                return v;
            }
        }
    }
}

/// A server replaying `file` at `speed` (None: as fast as clients read),
/// serving `symbols` of it (all if empty), starting at the first subscriber.
pub fn replay_config(file: &Path, speed: Option<f64>, symbols: &[&str]) -> Config {
    let header = record::open(file).expect("open").header;
    let instruments = if symbols.is_empty() {
        header.instruments
    } else {
        let list = symbols
            .iter()
            .map(|s| header.instruments.get(s).cloned().expect("symbol"))
            .collect();
        Instruments::from_list(list).expect("instruments")
    };
    let mut config = Config::new(instruments, 0);
    config.replay = Some(ReplayOptions {
        file: file.to_path_buf(),
        speed,
        from: None,
        to: None,
        paper: false,
        repeat: false,
        wait_for: 1,
        opened: None,
    });
    config
}

/// HMAC-SHA256 of `text` in hex, computed with the `hmac` crate (not the
/// server's code), as Binance clients sign requests.
pub fn hex_hmac(secret: &str, text: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("a key");
    mac.update(text.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A WebSocket API request's `params` signed as Binance clients sign them:
/// `apiKey` and `timestamp` added, every parameter sorted by name, written
/// `name=value`, joined with `&`, and its HMAC as `signature`.
pub fn ws_signed(params: Value, key: &str, secret: &str) -> Value {
    let mut params = params;
    params["apiKey"] = Value::from(key);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    params["timestamp"] = Value::from(now);
    let mut pairs: Vec<(String, String)> = params
        .as_object()
        .expect("an object")
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                v.as_str().map_or_else(|| v.to_string(), str::to_string),
            )
        })
        .collect();
    pairs.sort();
    let text = pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    params["signature"] = Value::from(hex_hmac(secret, &text));
    params
}

/// One HTTP request with a form body and an API key; the status and body.
pub async fn http_send(
    addr: &str,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: &str,
) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
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
