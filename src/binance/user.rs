//! The user data stream's events made from an account's native private
//! events: `executionReport` from `order_accepted`, `order_amended`,
//! `fill` and `order_done`, with what Binance reports of the order (its
//! original quantity, price, type, and what it has filled) kept per order.
//! Pure code over JSON values.

use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::events::ms;
use super::orders::{order_number, trade_number};

/// What the stream knows of one order.
#[derive(Clone, Debug, PartialEq)]
pub struct OrderInfo {
    pub symbol: String,
    pub client_order_id: String,
    pub buy: bool,
    pub kind: &'static str,
    pub tif: String,
    pub qty: String,
    pub price: String,
    pub created_ms: u64,
    pub filled: Decimal,
    pub quote: Decimal,
    /// The asset a trade's (zero) commission is in: the quote asset.
    pub commission_asset: String,
}

impl OrderInfo {
    /// From a native order (`order_accepted`, an `open_orders` entry).
    pub fn of(symbol: &str, order: &Value, zero_price: &str, quote_asset: &str) -> OrderInfo {
        let qty = decimal(&order["qty"]);
        let leaves = order.get("leaves_qty").map_or(qty, decimal);
        OrderInfo {
            symbol: symbol.to_string(),
            client_order_id: order["client_order_id"].as_str().unwrap_or("").to_string(),
            buy: order["side"] == "buy",
            kind: match (order["order_type"].as_str(), order["post_only"].as_bool()) {
                (Some("market"), _) => "MARKET",
                (_, Some(true)) => "LIMIT_MAKER",
                _ => "LIMIT",
            },
            tif: order["tif"].as_str().unwrap_or("gtc").to_ascii_uppercase(),
            qty: order["qty"].as_str().unwrap_or("0").to_string(),
            price: order["price"].as_str().unwrap_or(zero_price).to_string(),
            created_ms: order["ts"].as_u64().map_or(0, ms),
            filled: qty - leaves,
            quote: Decimal::ZERO,
            commission_asset: quote_asset.to_string(),
        }
    }
}

fn decimal(v: &Value) -> Decimal {
    v.as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or(Decimal::ZERO)
}

/// What one native private event does to its order and reports.
pub struct Report {
    pub exec: &'static str,
    pub status: &'static str,
    /// The last fill: quantity, price, trade id, maker.
    pub last: Option<(String, String, u64, bool)>,
}

/// The execution report of a native event, updating `info`; `None` for an
/// event Binance does not report (an `order_done` of a filled order: the
/// last fill said `FILLED`).
pub fn execution_report(info: &mut OrderInfo, event: &Value) -> Option<Value> {
    let kind = event["type"].as_str()?;
    let report = match kind {
        "order_accepted" => Report {
            exec: "NEW",
            status: "NEW",
            last: None,
        },
        "order_amended" => {
            info.qty = event["qty"].as_str().unwrap_or(&info.qty).to_string();
            if let Some(p) = event["price"].as_str() {
                info.price = p.to_string();
            }
            Report {
                exec: "REPLACED",
                status: if info.filled.is_zero() {
                    "NEW"
                } else {
                    "PARTIALLY_FILLED"
                },
                last: None,
            }
        }
        "fill" => {
            let (qty, price) = (decimal(&event["qty"]), decimal(&event["price"]));
            info.filled += qty;
            info.quote += qty * price;
            let done = decimal(&event["leaves_qty"]).is_zero();
            Report {
                exec: "TRADE",
                status: if done { "FILLED" } else { "PARTIALLY_FILLED" },
                last: Some((
                    event["qty"].as_str().unwrap_or("0").to_string(),
                    event["price"].as_str().unwrap_or("0").to_string(),
                    event["trade_id"]
                        .as_str()
                        .and_then(trade_number)
                        .unwrap_or(0),
                    event["liquidity"] == "maker",
                )),
            }
        }
        "order_done" => match event["reason"].as_str().unwrap_or("") {
            "filled" => return None,
            "canceled" | "disconnected" => Report {
                exec: "CANCELED",
                status: "CANCELED",
                last: None,
            },
            "self_trade_prevented" => Report {
                exec: "TRADE_PREVENTION",
                status: "EXPIRED_IN_MATCH",
                last: None,
            },
            _ => Report {
                exec: "EXPIRED",
                status: "EXPIRED",
                last: None,
            },
        },
        _ => return None,
    };
    let time = event["ts"].as_u64().map_or(0, ms);
    let (l, big_l, t, m) = match &report.last {
        Some((qty, price, trade, maker)) => (qty.clone(), price.clone(), *trade as i64, *maker),
        None => ("0".to_string(), "0".to_string(), -1, false),
    };
    let last_quote = match &report.last {
        Some((qty, price, _, _)) => {
            let q: Decimal = qty.parse().unwrap_or_default();
            let p: Decimal = price.parse().unwrap_or_default();
            (q * p).normalize().to_string()
        }
        None => "0".to_string(),
    };
    Some(json!({
        "e": "executionReport",
        "E": time,
        "s": info.symbol,
        "c": info.client_order_id,
        "S": if info.buy { "BUY" } else { "SELL" },
        "o": info.kind,
        "f": info.tif,
        "q": info.qty,
        "p": info.price,
        "P": "0",
        "F": "0",
        "g": -1,
        "C": "",
        "x": report.exec,
        "X": report.status,
        "r": "NONE",
        "i": event["order_id"].as_str().and_then(order_number),
        "l": l,
        "z": info.filled.normalize().to_string(),
        "L": big_l,
        "n": "0",
        // Binance names the commission's asset on trades (null otherwise);
        // clients read it to account the fee.
        "N": if report.last.is_some() { json!(info.commission_asset) } else { Value::Null },
        "T": time,
        "t": t,
        "I": 0,
        "w": matches!(report.status, "NEW" | "PARTIALLY_FILLED"),
        "m": m,
        "M": false,
        "O": info.created_ms,
        "Z": info.quote.normalize().to_string(),
        "Y": last_quote,
        "Q": "0",
        "W": info.created_ms,
        "V": "EXPIRE_TAKER",
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_order_is_reported_new_then_filled_in_two_trades() {
        let accepted = json!({"type":"order_accepted","order_id":"BTC-USD:7","client_order_id":"c","symbol":"BTC-USD","side":"buy","order_type":"limit","price":"100.00","qty":"2.0000","tif":"gtc","ts":3_000_000u64});
        let mut info = OrderInfo::of("BTCUSD", &accepted, "0.00", "USD");
        let new = execution_report(&mut info, &accepted).expect("a report");
        assert_eq!(
            (new["x"].as_str(), new["X"].as_str(), new["i"].as_u64()),
            (Some("NEW"), Some("NEW"), Some(7))
        );
        let fill = |qty: &str, leaves: &str, trade: &str| json!({"type":"fill","order_id":"BTC-USD:7","side":"buy","price":"100.00","qty":qty,"leaves_qty":leaves,"liquidity":"maker","trade_id":trade,"ts":4_000_000u64});
        let first =
            execution_report(&mut info, &fill("0.5000", "1.5000", "BTC-USD-11")).expect("a report");
        assert_eq!(
            (
                first["X"].as_str(),
                first["z"].as_str(),
                first["t"].as_i64()
            ),
            (Some("PARTIALLY_FILLED"), Some("0.5"), Some(11))
        );
        assert_eq!(
            (first["n"].as_str(), first["N"].as_str()),
            (Some("0"), Some("USD"))
        );
        assert_eq!(new["N"], Value::Null);
        let last =
            execution_report(&mut info, &fill("1.5000", "0.0000", "BTC-USD-12")).expect("a report");
        assert_eq!(
            (last["X"].as_str(), last["z"].as_str(), last["Z"].as_str()),
            (Some("FILLED"), Some("2"), Some("200"))
        );
        let done =
            json!({"type":"order_done","order_id":"BTC-USD:7","reason":"filled","ts":4_000_000u64});
        assert_eq!(execution_report(&mut info, &done), None);
        let canceled = json!({"type":"order_done","order_id":"BTC-USD:7","reason":"canceled","ts":5_000_000u64});
        assert_eq!(
            execution_report(&mut info, &canceled).map(|r| r["X"].clone()),
            Some(json!("CANCELED"))
        );
    }
}
