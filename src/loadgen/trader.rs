//! A trading connection of the load generator: it authenticates, learns its
//! symbol's lot size and touch (from `instruments` and the ticker), then
//! sends post-only limit orders at the touch on a fixed schedule (open
//! loop: whatever the answers), alternating sides, and cancels each one once
//! accepted so the book and the position stay where they were. It times
//! each order from submission to its `order_accepted`.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use rustc_hash::FxHashMap;

use super::fields::{field_str, field_u64};
use super::wire::WsClient;
use super::{RunContext, report};

pub struct Plan {
    pub symbol: String,
    pub token: String,
    pub orders_per_sec: f64,
    /// Which trader this is (spreads the first orders over one interval).
    pub index: usize,
}

pub struct TraderStats {
    pub connected: bool,
    pub disconnected: bool,
    pub sent: u64,
    pub accepted: u64,
    pub rejected: BTreeMap<String, u64>,
    /// Orders sent in the window and still unanswered when the drain
    /// after it gave up (`DRAIN`): the server lost or withheld answers.
    pub unanswered: u64,
    pub rtt: Histogram<u64>,
}

/// How long a trader waits after the window for the answers of the orders
/// it sent in it (each one is counted, one way or the other).
const DRAIN: Duration = Duration::from_secs(10);

/// What the trader learns before it sends: set from the first answers.
#[derive(Default)]
struct Market {
    authenticated: bool,
    lot: Option<String>,
    bid: Option<String>,
    ask: Option<String>,
}

impl Market {
    fn ready(&self) -> bool {
        self.authenticated && self.lot.is_some() && self.bid.is_some() && self.ask.is_some()
    }

    /// Reads the answers that matter before trading, and the ticker always.
    fn observe(&mut self, symbol: &str, text: &[u8]) {
        match field_str(text, b"\"type\":\"") {
            Some(b"authenticated") => self.authenticated = true,
            Some(b"instruments") => {
                let parsed: Option<serde_json::Value> = serde_json::from_slice(text).ok();
                self.lot = parsed.as_ref().and_then(|v| {
                    v["instruments"].as_array()?.iter().find_map(|i| {
                        (i["symbol"].as_str()? == symbol)
                            .then(|| i["lot_size"].as_str().map(str::to_string))?
                    })
                });
            }
            Some(b"ticker") => {
                let price = |key: &[u8]| {
                    field_str(text, key)
                        .and_then(|p| std::str::from_utf8(p).ok())
                        .map(str::to_string)
                };
                if let (Some(bid), Some(ask)) = (price(b"\"bid\":\""), price(b"\"ask\":\"")) {
                    self.bid = Some(bid);
                    self.ask = Some(ask);
                }
            }
            _ => {}
        }
    }
}

pub async fn run(ctx: Arc<RunContext>, source: IpAddr, plan: Plan) -> TraderStats {
    let mut stats = TraderStats {
        connected: false,
        disconnected: false,
        sent: 0,
        accepted: 0,
        rejected: BTreeMap::new(),
        unanswered: 0,
        rtt: report::histogram(),
    };
    let settle = || ctx.live.settled.fetch_add(1, Relaxed);
    let Ok(mut client) = WsClient::connect(&ctx.dialer, source, &ctx.path).await else {
        settle();
        return stats;
    };
    stats.connected = true;
    ctx.live.connected.fetch_add(1, Relaxed);
    let symbol = &plan.symbol;
    client.queue_text(
        format!(
            "{{\"op\":\"auth\",\"id\":\"auth\",\"token\":\"{}\",\"cancel_on_disconnect\":true}}",
            plan.token
        )
        .as_bytes(),
    );
    client.queue_text(b"{\"op\":\"instruments\",\"id\":\"instruments\"}");
    client.queue_text(
        format!(
            "{{\"op\":\"subscribe\",\"id\":\"ticker\",\"channels\":[\"ticker\"],\"symbols\":[\"{symbol}\"]}}"
        )
        .as_bytes(),
    );
    let mut market = Market::default();
    let mut stop = ctx.stop.clone();
    // Until it can trade: answers, or an error that says why not.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut refused = None;
    while !market.ready() && refused.is_none() {
        if client.flush().await.is_err() {
            break;
        }
        let read = tokio::select! {
            _ = stop.changed() => break,
            _ = tokio::time::sleep_until(deadline) => break,
            read = client.fill() => read,
        };
        if !matches!(read, Ok(n) if n > 0) {
            break;
        }
        let parsed = client.parse(|text| {
            if field_str(text, b"\"type\":\"") == Some(b"error") {
                refused = Some(String::from_utf8_lossy(text).into_owned());
            }
            market.observe(symbol, text);
        });
        if !matches!(parsed, Ok(true)) {
            break;
        }
    }
    settle();
    if !market.ready() {
        if let Some(error) = refused {
            tracing::warn!(%error, "a trader could not start");
        }
        stats.disconnected = true;
        ctx.live.disconnects.fetch_add(1, Relaxed);
        return stats;
    }
    let lot = market.lot.clone().unwrap_or_default();
    let interval = Duration::from_secs_f64(1.0 / plan.orders_per_sec.max(1e-3));
    let mut next = tokio::time::Instant::now() + interval.mul_f64((plan.index % 97) as f64 / 97.0);
    let mut in_flight: FxHashMap<u64, Instant> = FxHashMap::default();
    let mut order_id: u64 = 0;
    let mut cancels = Vec::new();
    // After the window: no more orders; the answers of those in flight
    // are awaited (until `DRAIN`), so every order sent is counted.
    let mut draining: Option<tokio::time::Instant> = None;
    loop {
        if client.flush().await.is_err() {
            stats.disconnected = true;
            break;
        }
        if draining.is_some() && in_flight.is_empty() {
            break;
        }
        let drain_until = draining.unwrap_or_else(|| tokio::time::Instant::now() + DRAIN);
        tokio::select! {
            biased;
            _ = stop.changed(), if draining.is_none() => {
                draining = Some(tokio::time::Instant::now() + DRAIN);
            }
            _ = tokio::time::sleep_until(drain_until), if draining.is_some() => break,
            _ = tokio::time::sleep_until(next), if draining.is_none() => {
                next += interval;
                order_id += 1;
                let (side, price) = if order_id.is_multiple_of(2) {
                    ("buy", market.bid.as_deref().unwrap_or_default())
                } else {
                    ("sell", market.ask.as_deref().unwrap_or_default())
                };
                client.queue_text(format!(
                    "{{\"op\":\"order\",\"id\":{order_id},\"symbol\":\"{symbol}\",\"side\":\"{side}\",\"order_type\":\"limit\",\"price\":\"{price}\",\"qty\":\"{lot}\",\"tif\":\"gtc\",\"post_only\":true}}"
                ).as_bytes());
                let now = Instant::now();
                if ctx.measuring(now) {
                    stats.sent += 1;
                    ctx.live.orders.fetch_add(1, Relaxed);
                    in_flight.insert(order_id, now);
                }
            }
            read = client.fill() => {
                if !matches!(read, Ok(n) if n > 0) {
                    stats.disconnected = true;
                    break;
                }
                let now = Instant::now();
                let parsed = client.parse(|text| {
                    match field_str(text, b"\"type\":\"") {
                        Some(b"order_accepted") => {
                            let Some(id) = field_u64(text, b"\"id\":") else { return };
                            if let Some(sent) = in_flight.remove(&id) {
                                stats.accepted += 1;
                                let micros = (now - sent).as_micros() as u64;
                                let _ = stats.rtt.record(micros.clamp(1, 60_000_000));
                            }
                            if let Some(order) = field_str(text, b"\"order_id\":\"") {
                                cancels.push(order.to_vec());
                            }
                        }
                        Some(b"error") => {
                            let Some(id) = field_u64(text, b"\"id\":") else { return };
                            if in_flight.remove(&id).is_some() {
                                let code = field_str(text, b"\"code\":\"").unwrap_or(b"?");
                                *stats.rejected.entry(String::from_utf8_lossy(code).into_owned()).or_default() += 1;
                            }
                        }
                        _ => market.observe(symbol, text),
                    }
                });
                for order in cancels.drain(..) {
                    let mut request = format!("{{\"op\":\"cancel\",\"id\":\"cancel\",\"symbol\":\"{symbol}\",\"order_id\":\"").into_bytes();
                    request.extend_from_slice(&order);
                    request.extend_from_slice(b"\"}");
                    client.queue_text(&request);
                }
                if !matches!(parsed, Ok(true)) {
                    stats.disconnected = true;
                    break;
                }
            }
        }
    }
    stats.unanswered = in_flight.len() as u64;
    if stats.disconnected {
        ctx.live.disconnects.fetch_add(1, Relaxed);
    } else {
        client.close().await;
    }
    stats
}
