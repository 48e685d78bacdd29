//! The auditor: an account that trades all through the soak and checks
//! that the server kept its word. Every `order_accepted` is kept; the
//! private `seq` must never skip; every acknowledged order must be known
//! to `order_status` when asked, two seconds later (within the account's
//! history).

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

const SYMBOL: &str = "BTC-USD";

#[derive(Default)]
pub struct Audit {
    /// Order ids acknowledged, in order.
    pub acked: Vec<String>,
    /// Orders refused (codes), which is allowed: they were never acked.
    pub refused: u64,
    /// Orders sent and never answered before the audit.
    pub unanswered: u64,
    pub private_gaps: u64,
    /// Acknowledged orders whose status was asked at the end.
    pub checked: usize,
    pub unknown: Vec<String>,
    pub failure: Option<String>,
}

impl Audit {
    pub fn failures(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(f) = &self.failure {
            out.push(format!("auditor: {f}"));
        }
        if self.acked.is_empty() {
            out.push("auditor: no order was acknowledged".into());
        }
        if self.unanswered > 0 {
            out.push(format!("auditor: {} orders unanswered", self.unanswered));
        }
        if self.private_gaps > 0 {
            out.push(format!("auditor: {} private seq gaps", self.private_gaps));
        }
        if !self.unknown.is_empty() {
            out.push(format!(
                "auditor: {} acknowledged orders unknown to order_status, e.g. {:?}",
                self.unknown.len(),
                &self.unknown[..self.unknown.len().min(5)]
            ));
        }
        if self.checked != self.acked.len() {
            out.push(format!(
                "auditor: {} of {} acknowledged orders checked",
                self.checked,
                self.acked.len()
            ));
        }
        out
    }
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Private `seq` checking, the answers to orders, and the status checks.
struct Reader {
    last_seq: Option<u64>,
    audit: Audit,
    /// Request ids of orders sent and not yet answered.
    pending: std::collections::BTreeSet<u64>,
    /// Acknowledged orders not yet asked about: when acknowledged, id.
    to_check: VecDeque<(Instant, String)>,
    /// `order_status` requests in flight: request id to order id.
    asking: BTreeMap<u64, String>,
}

/// Request ids of `order_status` checks start here (orders count from 1).
const STATUS_IDS: u64 = 1 << 40;

impl Reader {
    fn read(&mut self, text: &str) {
        let Ok(v) = serde_json::from_str::<Value>(text) else {
            return;
        };
        let private = matches!(
            v["type"].as_str(),
            Some("order_accepted" | "order_amended" | "fill" | "order_done")
        );
        if private && let Some(seq) = v["seq"].as_u64() {
            if let Some(last) = self.last_seq
                && seq != last + 1
            {
                self.audit.private_gaps += 1;
            }
            self.last_seq = Some(seq);
        }
        let Some(id) = v["id"].as_u64() else {
            return;
        };
        if self.pending.remove(&id) {
            match (v["type"].as_str(), v["order_id"].as_str()) {
                (Some("order_accepted"), Some(order_id)) => {
                    self.audit.acked.push(order_id.to_string());
                    self.to_check
                        .push_back((Instant::now(), order_id.to_string()));
                }
                _ => self.audit.refused += 1,
            }
        } else if let Some(order_id) = self.asking.remove(&id) {
            self.audit.checked += 1;
            let known = v["type"] == "order_status" && v["order"]["order_id"] == *order_id;
            if !known {
                self.audit.unknown.push(format!("{order_id}: {text}"));
            }
        }
    }

    /// `order_status` requests for the orders acknowledged at least
    /// `after` ago (well within the account's history).
    fn checks_due(&mut self, after: Duration, next_id: &mut u64) -> Vec<Message> {
        let mut out = Vec::new();
        while let Some((at, _)) = self.to_check.front() {
            if at.elapsed() < after {
                break;
            }
            let Some((_, order_id)) = self.to_check.pop_front() else {
                break;
            };
            *next_id += 1;
            out.push(Message::text(
                json!({"op":"order_status","id":*next_id,"symbol":SYMBOL,"order_id":order_id})
                    .to_string(),
            ));
            self.asking.insert(*next_id, order_id);
        }
        out
    }
}

async fn next_text(ws: &mut Ws) -> Result<String, String> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => return Ok(t.to_string()),
            Some(Ok(Message::Close(c))) => return Err(format!("closed: {c:?}")),
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(e.to_string()),
            None => return Err("closed".into()),
        }
    }
}

pub async fn run(url: String, token: &str, stop: Arc<AtomicBool>) -> Audit {
    let mut reader = Reader {
        last_seq: None,
        audit: Audit::default(),
        pending: Default::default(),
        to_check: VecDeque::new(),
        asking: BTreeMap::new(),
    };
    if let Err(e) = trade(&url, token, &stop, &mut reader).await {
        reader.audit.failure = Some(e);
    }
    reader.audit
}

/// Each acknowledged order is asked about this long after (the account's
/// history is 30 s).
const CHECK_AFTER: Duration = Duration::from_secs(2);

async fn trade(
    url: &str,
    token: &str,
    stop: &AtomicBool,
    reader: &mut Reader,
) -> Result<(), String> {
    let (mut ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .map_err(|e| e.to_string())?;
    let send = |v: Value| Message::text(v.to_string());
    ws.send(send(json!({"op":"auth","token":token,"id":0})))
        .await
        .map_err(|e| e.to_string())?;
    let answer = next_text(&mut ws).await?;
    if !answer.contains("\"authenticated\"") {
        return Err(format!("auth: {answer}"));
    }
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let mut id = 0u64;
    let mut status_id = STATUS_IDS;
    while !stop.load(Relaxed) {
        tokio::select! {
            _ = tick.tick() => {
                id += 1;
                let side = if id.is_multiple_of(2) { "buy" } else { "sell" };
                let order = json!({"op":"order","id":id,"symbol":SYMBOL,"side":side,
                    "order_type":"market","qty":"0.0001","client_order_id":format!("audit-{id}")});
                reader.pending.insert(id);
                ws.send(send(order)).await.map_err(|e| e.to_string())?;
                for check in reader.checks_due(CHECK_AFTER, &mut status_id) {
                    ws.send(check).await.map_err(|e| e.to_string())?;
                }
            }
            text = next_text(&mut ws) => {
                reader.read(&text?);
            }
        }
    }
    // The answers still on their way, and the last orders' checks.
    let drain = tokio::time::Instant::now() + Duration::from_secs(10);
    while !reader.pending.is_empty() {
        match tokio::time::timeout_at(drain, next_text(&mut ws)).await {
            Ok(text) => reader.read(&text?),
            Err(_) => break,
        }
    }
    reader.audit.unanswered = reader.pending.len() as u64;
    for check in reader.checks_due(Duration::ZERO, &mut status_id) {
        ws.send(check).await.map_err(|e| e.to_string())?;
    }
    let drain = tokio::time::Instant::now() + Duration::from_secs(10);
    while !reader.asking.is_empty() {
        match tokio::time::timeout_at(drain, next_text(&mut ws)).await {
            Ok(text) => reader.read(&text?),
            Err(_) => return Err("order_status answers stopped coming".into()),
        }
    }
    let _ = ws.close(None).await;
    Ok(())
}
