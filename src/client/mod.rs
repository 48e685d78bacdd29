//! The command-line trading client behind `tickwire order`, `cancel` and
//! the account commands (`account`): connects, authenticates, sends one
//! request and prints what comes back for it in words, until the order is
//! done.

pub mod account;

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::Message;

/// What `tickwire order` sends.
#[derive(Clone, Debug)]
pub struct OrderArgs {
    pub side: String,
    pub symbol: String,
    pub qty: String,
    /// `None`: a market order.
    pub limit: Option<String>,
    pub tif: Option<String>,
    pub post_only: bool,
    pub client_order_id: Option<String>,
    /// Keep printing fills until the order is done (else stop at the
    /// acknowledgement).
    pub follow: bool,
    /// Print each event as the JSON the server sent, not in words.
    pub json: bool,
}

/// What `tickwire cancel` names.
#[derive(Clone, Debug)]
pub struct CancelArgs {
    pub symbol: String,
    pub order_id: Option<String>,
    pub client_order_id: Option<String>,
    /// Print the answer as the JSON the server sent, not in words.
    pub json: bool,
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// How long a request waits for its answer.
const WAIT: Duration = Duration::from_secs(10);

async fn next_json(ws: &mut Ws, wait: Duration) -> Result<Value, String> {
    loop {
        let message = tokio::time::timeout(wait, ws.next())
            .await
            .map_err(|_| format!("no answer from the server within {} s", wait.as_secs()))?;
        match message {
            Some(Ok(Message::Text(text))) => {
                return serde_json::from_str(&text)
                    .map_err(|e| format!("the server sent something that is not JSON: {e}"));
            }
            Some(Ok(Message::Close(frame))) => {
                let why = frame
                    .map(|f| format!("{} {}", u16::from(f.code), f.reason))
                    .unwrap_or_default();
                return Err(format!("the server closed the connection {why}"));
            }
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(format!("connection error: {e}")),
            None => return Err("the server closed the connection".to_string()),
        }
    }
}

async fn send(ws: &mut Ws, value: Value) -> Result<(), String> {
    ws.send(Message::Text(value.to_string().into()))
        .await
        .map_err(|e| format!("cannot send: {e}"))
}

async fn connect(url: &str, token: &str, wait: Duration) -> Result<Ws, String> {
    let (mut ws, _) = connect_async(url)
        .await
        .map_err(|e| format!("cannot connect to {url}: {e}"))?;
    send(&mut ws, json!({"op":"auth","id":"auth","token":token})).await?;
    loop {
        let v = next_json(&mut ws, wait).await?;
        if v["id"] == "auth" {
            return match v["type"].as_str() {
                Some("authenticated") => Ok(ws),
                _ => Err(describe_error(&v)),
            };
        }
    }
}

fn describe_error(v: &Value) -> String {
    format!(
        "{}: {}",
        v["code"].as_str().unwrap_or("error"),
        v["message"].as_str().unwrap_or("")
    )
}

fn s<'a>(v: &'a Value, field: &str) -> &'a str {
    v[field].as_str().unwrap_or("-")
}

/// One line for a private event.
pub fn describe(v: &Value) -> String {
    match v["type"].as_str() {
        Some("order_accepted") => format!(
            "accepted {} {} {} {} {} @ {} {}{}",
            s(v, "order_id"),
            s(v, "side"),
            s(v, "qty"),
            s(v, "symbol"),
            s(v, "order_type"),
            v["price"].as_str().unwrap_or("market"),
            s(v, "tif"),
            v["client_order_id"]
                .as_str()
                .map(|c| format!(" (client order id {c})"))
                .unwrap_or_default()
        ),
        Some("fill") => format!(
            "fill {} {} {} @ {} ({}, trade {}), leaves {}, position {}",
            s(v, "order_id"),
            s(v, "side"),
            s(v, "qty"),
            s(v, "price"),
            s(v, "liquidity"),
            s(v, "trade_id"),
            s(v, "leaves_qty"),
            s(v, "position")
        ),
        Some("order_done") => {
            format!(
                "done {} {}, filled {}",
                s(v, "order_id"),
                s(v, "reason"),
                s(v, "filled_qty")
            )
        }
        Some("error") => describe_error(v),
        _ => v.to_string(),
    }
}

/// An event as a line: in words, or as its JSON.
fn line(v: &Value, json: bool) -> String {
    if json { v.to_string() } else { describe(v) }
}

/// Places an order and prints what happens to it. `print` gets each line.
pub async fn order(
    url: &str,
    token: &str,
    args: &OrderArgs,
    mut print: impl FnMut(String),
) -> Result<(), String> {
    let wait = WAIT;
    let mut ws = connect(url, token, wait).await?;
    let mut request = json!({
        "op": "order", "id": "order", "symbol": args.symbol, "side": args.side, "qty": args.qty,
        "order_type": if args.limit.is_some() { "limit" } else { "market" },
        "post_only": args.post_only,
    });
    if let Some(price) = &args.limit {
        request["price"] = json!(price);
    }
    if let Some(tif) = &args.tif {
        request["tif"] = json!(tif);
    }
    if let Some(coid) = &args.client_order_id {
        request["client_order_id"] = json!(coid);
    }
    send(&mut ws, request).await?;
    let mut order_id: Option<String> = None;
    loop {
        // A resting order may wait long for its fills: no timeout then.
        let wait = if order_id.is_some() {
            Duration::from_secs(365 * 86_400)
        } else {
            wait
        };
        let v = next_json(&mut ws, wait).await?;
        let mine = order_id.as_deref().is_some_and(|id| v["order_id"] == id);
        match v["type"].as_str() {
            Some("error") if v["id"] == "order" => return Err(describe_error(&v)),
            Some("order_accepted") if v["id"] == "order" => {
                print(line(&v, args.json));
                order_id = v["order_id"].as_str().map(str::to_string);
                if !args.follow {
                    return Ok(());
                }
            }
            Some("fill") if mine => print(line(&v, args.json)),
            Some("order_done") if mine => {
                print(line(&v, args.json));
                return Ok(());
            }
            _ => {}
        }
    }
}

/// Cancels an order and prints the outcome.
pub async fn cancel(
    url: &str,
    token: &str,
    args: &CancelArgs,
    mut print: impl FnMut(String),
) -> Result<(), String> {
    let wait = WAIT;
    let mut ws = connect(url, token, wait).await?;
    let mut request = json!({"op": "cancel", "id": "cancel", "symbol": args.symbol});
    match (&args.order_id, &args.client_order_id) {
        (Some(id), _) => request["order_id"] = json!(id),
        (None, Some(coid)) => request["client_order_id"] = json!(coid),
        (None, None) => return Err("name the order: an order id or --client-order-id".to_string()),
    }
    send(&mut ws, request).await?;
    loop {
        let v = next_json(&mut ws, wait).await?;
        if v["id"] == "cancel" {
            return match v["type"].as_str() {
                Some("order_done") => {
                    print(line(&v, args.json));
                    Ok(())
                }
                _ => Err(describe_error(&v)),
            };
        }
    }
}
