//! The naive Rust fan-out that tickwire is measured against in
//! `benches/run.sh`: the shape of the tokio-tungstenite chat example. Each
//! connection has an unbounded channel and a task that forwards it into its
//! socket; the publisher stamps and encodes each message once and sends the
//! same bytes down every subscriber's channel (as the chat example does with
//! its one `Message`). Its sockets get the buffer settings tickwire uses, so
//! what differs from tickwire is the fan-out design alone: a channel and a
//! task wake-up per message per connection, no budget, no slow-consumer
//! policy.
//!
//! With `--encode-per-subscriber` it is the first version people write
//! instead: `serde_json` encodes the message once per subscriber, stamping
//! `ts` for each.
//!
//! It plays a tickwire recording (plain JSON Lines, from `tickwire
//! simulate`) at the recorded pace, with `ts` set to the publish time, like
//! the Node peer: the same messages, sizes and rates as tickwire sends. It
//! does not loop (that would restart `seq`, which a client counts as gaps):
//! when the recording runs out it stops publishing and prints `the feed ran
//! out at <unix ns>` on stderr, so the harness can fail a run whose window
//! outlasted the feed.
//!
//! ```text
//! cargo run --release --example naive-peer -- --feed FILE [--listen 127.0.0.1:0] [--speed 1] [--encode-per-subscriber]
//! ```
//!
//! Prints `listening on IP:PORT` once it accepts connections.

use std::collections::HashMap;
use std::io::BufRead;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::{StreamExt, future};
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

type Subscribers = Arc<Mutex<HashMap<String, Vec<(u64, UnboundedSender<Message>)>>>>;

struct Entry {
    ts: u64,
    stream: String,
    msg: Value,
    /// The recorded message's text before and after its `ts` value, for
    /// stamping without re-encoding.
    head: String,
    tail: String,
}

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    let at = args.iter().position(|a| a == name)?;
    args.get(at + 1).cloned()
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

fn load(path: &str) -> Result<Vec<Entry>, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{path}: {e}"))?;
    let mut entries = Vec::new();
    for (n, line) in std::io::BufReader::new(file).lines().enumerate().skip(1) {
        let line = line.map_err(|e| format!("{path}:{}: {e}", n + 1))?;
        let mut value: Value =
            serde_json::from_str(&line).map_err(|e| format!("{path}:{}: {e}", n + 1))?;
        let (Some(ts), Some(stream), Some(msg)) = (
            value["ts"].as_u64(),
            value["stream"].as_str().map(str::to_string),
            value.get_mut("msg").map(Value::take),
        ) else {
            continue; // book snapshots of the recording
        };
        // The message as recorded, split around its `ts` value.
        let text = line
            .find("\"msg\":")
            .map(|at| &line[at + 6..line.len() - 1])
            .ok_or_else(|| format!("{path}:{}: no msg", n + 1))?;
        let ts_at = text
            .find("\"ts\":")
            .map(|at| at + 5)
            .ok_or_else(|| format!("{path}:{}: no ts in msg", n + 1))?;
        let ts_end = ts_at
            + text[ts_at..]
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(text.len() - ts_at);
        entries.push(Entry {
            ts,
            stream,
            msg,
            head: text[..ts_at].to_string(),
            tail: text[ts_end..].to_string(),
        });
    }
    if entries.is_empty() {
        return Err(format!("{path}: no messages"));
    }
    Ok(entries)
}

fn stream_key(channel: &str, symbol: &str, interval: Option<&str>) -> String {
    match channel {
        "candles" => format!("candles_{}:{symbol}", interval.unwrap_or("1m")),
        _ => format!("{channel}:{symbol}"),
    }
}

async fn connection(stream: TcpStream, id: u64, subscribers: Subscribers) {
    // The chat example leaves Nagle on; with it, small messages wait for
    // ACKs (tens of ms), which would measure the kernel, not the design.
    // Every server here sets TCP_NODELAY (Node's ws does by default).
    let _ = stream.set_nodelay(true);
    // tickwire's socket settings (gateway::http::ws_config), so the
    // comparison isolates the fan-out design.
    let config = WebSocketConfig::default()
        .read_buffer_size(512)
        .write_buffer_size(32 << 10)
        .max_write_buffer_size(32 << 10 | 4 << 20);
    let Ok(ws) = tokio_tungstenite::accept_async_with_config(stream, Some(config)).await else {
        return;
    };
    let (tx, rx) = unbounded_channel::<Message>();
    let (outgoing, incoming) = ws.split();
    let requests = incoming.for_each(|message| {
        if let Ok(Message::Text(text)) = message
            && let Ok(request) = serde_json::from_str::<Value>(&text)
            && request["op"] == "subscribe"
        {
            let mut list = Vec::new();
            let mut map = subscribers.lock().unwrap_or_else(|p| p.into_inner());
            for channel in request["channels"].as_array().into_iter().flatten() {
                for symbol in request["symbols"].as_array().into_iter().flatten() {
                    let (Some(channel), Some(symbol)) = (channel.as_str(), symbol.as_str()) else {
                        continue;
                    };
                    let key = stream_key(channel, symbol, request["interval"].as_str());
                    map.entry(key).or_default().push((id, tx.clone()));
                    list.push(serde_json::json!({"channel": channel, "symbol": symbol}));
                }
            }
            let reply = serde_json::json!({"type": "subscribed", "id": request["id"], "subscriptions": list});
            let _ = tx.send(Message::Text(reply.to_string().into()));
        }
        future::ready(())
    });
    let forward = tokio_stream_forward(rx, outgoing);
    tokio::select! {
        _ = requests => {}
        _ = forward => {}
    }
    let mut map = subscribers.lock().unwrap_or_else(|p| p.into_inner());
    for list in map.values_mut() {
        list.retain(|(conn, _)| *conn != id);
    }
}

/// `rx.map(Ok).forward(outgoing)`, as in the chat example.
async fn tokio_stream_forward<S>(mut rx: tokio::sync::mpsc::UnboundedReceiver<Message>, outgoing: S)
where
    S: futures_util::Sink<Message> + Unpin,
{
    let stream = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
    let _ = stream.map(Ok).forward(outgoing).await;
}

async fn publish(entries: Vec<Entry>, speed: f64, per_subscriber: bool, subscribers: Subscribers) {
    let first = entries[0].ts;
    let base = Instant::now();
    for entry in &entries {
        let due = base + Duration::from_nanos(((entry.ts - first) as f64 / speed) as u64);
        if due > Instant::now() {
            tokio::time::sleep_until(due.into()).await;
        }
        let map = subscribers.lock().unwrap_or_else(|p| p.into_inner());
        let Some(list) = map.get(&entry.stream) else {
            continue;
        };
        if per_subscriber {
            let mut msg = entry.msg.clone();
            for (_, tx) in list {
                // One encoding per subscriber: the first version's way.
                msg["ts"] = Value::from(now_ns());
                if let Ok(text) = serde_json::to_string(&msg) {
                    let _ = tx.send(Message::Text(text.into()));
                }
            }
        } else if !list.is_empty() {
            // Stamped and encoded once; every subscriber gets the same bytes.
            let text = format!("{}{}{}", entry.head, now_ns(), entry.tail);
            let message = Message::Text(text.into());
            for (_, tx) in list {
                let _ = tx.send(message.clone());
            }
        }
    }
    eprintln!("the feed ran out at {}", now_ns());
}

#[tokio::main]
async fn main() {
    let (Some(feed), speed) = (arg("--feed"), arg("--speed").map_or(Ok(1.0), |s| s.parse())) else {
        eprintln!(
            "usage: naive-peer --feed FILE [--listen IP:PORT] [--speed X] [--encode-per-subscriber]"
        );
        std::process::exit(2);
    };
    let speed = match speed {
        Ok(s) if s > 0.0 => s,
        _ => {
            eprintln!("--speed must be a number above 0");
            std::process::exit(2);
        }
    };
    let entries = match load(&feed) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let listen = arg("--listen").unwrap_or_else(|| "127.0.0.1:0".to_string());
    let listener = match TcpListener::bind(&listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("cannot listen on {listen}: {e}");
            std::process::exit(1);
        }
    };
    if let Ok(addr) = listener.local_addr() {
        println!("listening on {addr}");
    }
    let subscribers: Subscribers = Arc::default();
    let per_subscriber = std::env::args().any(|a| a == "--encode-per-subscriber");
    tokio::spawn(publish(entries, speed, per_subscriber, subscribers.clone()));
    let mut next_id = 0;
    while let Ok((stream, _)) = listener.accept().await {
        next_id += 1;
        tokio::spawn(connection(stream, next_id, subscribers.clone()));
    }
}
