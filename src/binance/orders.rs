//! Orders between the two dialects: a Binance order's parameters become a
//! native `order` request, and native answers and events (`order_status`
//! orders, `fill`s, errors) become Binance's order objects, fills and
//! error codes. Pure code over JSON values.

use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::ApiError;
use super::events::ms;

/// What a new order answers with (`newOrderRespType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Response {
    Ack,
    Result,
    Full,
}

/// A Binance order's parameters, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewOrder {
    pub buy: bool,
    /// `LIMIT`, `MARKET` or `LIMIT_MAKER`.
    pub kind: &'static str,
    pub tif: &'static str,
    pub quantity: String,
    pub price: Option<String>,
    pub client_order_id: Option<String>,
    pub response: Response,
}

/// Reads a new order from its parameters (`param` gives each by name).
pub fn new_order(param: &dyn Fn(&str) -> Option<String>) -> Result<NewOrder, ApiError> {
    let required = |name: &str| param(name).ok_or_else(|| ApiError::missing(name));
    let buy = match required("side")?.as_str() {
        "BUY" => true,
        "SELL" => false,
        other => {
            return Err(ApiError::new(
                400,
                -1117,
                format!("Invalid side: {other:?}."),
            ));
        }
    };
    let kind = match required("type")?.as_str() {
        "LIMIT" => "LIMIT",
        "MARKET" => "MARKET",
        "LIMIT_MAKER" => "LIMIT_MAKER",
        other => {
            return Err(ApiError::new(
                400,
                -1116,
                format!(
                    "Invalid orderType: {other:?} (tickwire takes LIMIT, MARKET and LIMIT_MAKER)."
                ),
            ));
        }
    };
    for unsupported in ["quoteOrderQty", "stopPrice", "trailingDelta", "icebergQty"] {
        if param(unsupported).is_some() {
            return Err(ApiError::new(
                400,
                -1106,
                format!(
                    "Parameter '{unsupported}' sent when not required (tickwire does not take it)."
                ),
            ));
        }
    }
    let tif = match (kind, param("timeInForce").as_deref()) {
        ("LIMIT", None) => return Err(ApiError::missing("timeInForce")),
        ("LIMIT", Some("GTC")) | ("LIMIT_MAKER", None) | ("MARKET", None) => "GTC",
        ("LIMIT", Some("IOC")) => "IOC",
        ("LIMIT", Some("FOK")) => "FOK",
        (_, Some(other)) => {
            return Err(ApiError::new(
                400,
                -1115,
                format!("Invalid timeInForce: {other:?}."),
            ));
        }
        _ => "GTC",
    };
    let price = param("price");
    match (kind, &price) {
        ("MARKET", Some(_)) => {
            return Err(ApiError::new(
                400,
                -1106,
                "Parameter 'price' sent when not required.",
            ));
        }
        ("LIMIT" | "LIMIT_MAKER", None) => return Err(ApiError::missing("price")),
        _ => {}
    }
    let market = kind == "MARKET";
    let response = match param("newOrderRespType").as_deref() {
        None if market || kind == "LIMIT" => Response::Full,
        None => Response::Ack,
        Some("ACK") => Response::Ack,
        Some("RESULT") => Response::Result,
        Some("FULL") => Response::Full,
        Some(other) => {
            return Err(ApiError::invalid(
                "newOrderRespType",
                &format!("{other:?} is not ACK, RESULT or FULL"),
            ));
        }
    };
    Ok(NewOrder {
        buy,
        kind,
        tif,
        quantity: required("quantity")?,
        price,
        client_order_id: param("newClientOrderId"),
        response,
    })
}

/// The native `order` request of a new order on `symbol` (native name).
pub fn native_request(symbol: &str, order: &NewOrder) -> Value {
    let mut request = json!({
        "op": "order",
        "symbol": symbol,
        "side": if order.buy { "buy" } else { "sell" },
        "order_type": if order.kind == "MARKET" { "market" } else { "limit" },
        "qty": order.quantity,
        "tif": order.tif.to_ascii_lowercase(),
    });
    if let Some(price) = &order.price {
        request["price"] = json!(price);
    }
    if order.kind == "LIMIT_MAKER" {
        request["post_only"] = json!(true);
    }
    if let Some(id) = &order.client_order_id {
        request["client_order_id"] = json!(id);
    }
    request
}

/// The number of a native order id (`BTC-USD:17` is 17).
pub fn order_number(native_id: &str) -> Option<u64> {
    native_id.rsplit(':').next()?.parse().ok()
}

/// The number of a native trade id (`BTC-USD-17`, `BTC-USD-paper-3`).
pub fn trade_number(native_id: &str) -> Option<u64> {
    native_id.rsplit('-').next()?.parse().ok()
}

/// Binance's error for a native `error` answer; `missing` is the code for
/// an unknown order (-2013 for reads, -2011 for cancels).
pub fn error_of(answer: &Value, missing: i32) -> ApiError {
    let message = answer["message"].as_str().unwrap_or("").to_string();
    let (status, code, prefix) = match answer["code"].as_str().unwrap_or("") {
        "invalid_price" => (400, -1013, "Filter failure: PRICE_FILTER"),
        "invalid_qty" => (400, -1013, "Filter failure: LOT_SIZE"),
        "price_out_of_band" => (400, -1013, "Filter failure: PERCENT_PRICE_BY_SIDE"),
        "post_only_would_cross" => (400, -2010, "Order would immediately match and take."),
        "duplicate_client_order_id" => (400, -2010, "Duplicate order sent."),
        "unknown_order" if missing == -2011 => (400, -2011, "Unknown order sent."),
        "unknown_order" => (400, -2013, "Order does not exist."),
        "position_limit" => (
            400,
            -2010,
            "Account has insufficient balance for requested action.",
        ),
        "rate_limited" => (429, -1015, "Too many new orders."),
        "market_halted" => (400, -2010, "Market is closed."),
        "replay_mode" => (400, -2010, "This server replays a recording."),
        "unknown_symbol" => (400, -1121, "Invalid symbol."),
        "bad_request" => (400, -1100, "Illegal parameter."),
        _ => (
            500,
            -1000,
            "An unknown error occurred while processing the request.",
        ),
    };
    // Clients map Binance's exact messages to their errors (ccxt's
    // `InsufficientFunds` is "Account has insufficient balance for
    // requested action."): those are sent as they are; only the filter
    // failures, mapped by code, carry tickwire's detail.
    let msg = if message.is_empty() || code != -1013 {
        prefix.to_string()
    } else {
        format!("{prefix} ({message})")
    };
    ApiError::new(status, code, msg)
}

fn decimal(v: &Value) -> Decimal {
    v.as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or(Decimal::ZERO)
}

/// Binance's status of a native order (`status`, `filled_qty`).
pub fn status_of(order: &Value) -> &'static str {
    let filled = decimal(&order["filled_qty"]);
    match order["status"].as_str().unwrap_or("open") {
        "filled" => "FILLED",
        "canceled" => "CANCELED",
        "expired" => "EXPIRED",
        _ if filled.is_zero() => "NEW",
        _ => "PARTIALLY_FILLED",
    }
}

/// Binance's order object of a native order (an `order_status` order or
/// an `open_orders` entry); `quote` is the quote quantity filled so far.
pub fn order_object(symbol: &str, order: &Value, quote: Decimal, zero_price: &str) -> Value {
    let qty = decimal(&order["qty"]);
    let filled = match order.get("filled_qty") {
        Some(f) => decimal(f),
        None => qty - decimal(&order["leaves_qty"]),
    };
    let kind = match (order["order_type"].as_str(), order["post_only"].as_bool()) {
        (Some("market"), _) => "MARKET",
        (_, Some(true)) => "LIMIT_MAKER",
        _ => "LIMIT",
    };
    let time = order["ts"].as_u64().map_or(0, ms);
    let mut status_source = order.clone();
    status_source["filled_qty"] = json!(filled.to_string());
    json!({
        "symbol": symbol,
        "orderId": order["order_id"].as_str().and_then(order_number),
        "orderListId": -1,
        "clientOrderId": order["client_order_id"].as_str().unwrap_or(""),
        "price": order["price"].as_str().unwrap_or(zero_price),
        "origQty": order["qty"],
        "executedQty": filled.to_string(),
        "cummulativeQuoteQty": quote.to_string(),
        "status": status_of(&status_source),
        "timeInForce": order["tif"].as_str().unwrap_or("gtc").to_ascii_uppercase(),
        "type": kind,
        "side": if order["side"] == "buy" { "BUY" } else { "SELL" },
        "stopPrice": "0",
        "icebergQty": "0",
        "time": time,
        "updateTime": time,
        "isWorking": true,
        "workingTime": time,
        "origQuoteOrderQty": "0",
        "selfTradePreventionMode": "EXPIRE_TAKER",
    })
}

/// A `fills` entry of a FULL answer, from a native `fill`.
pub fn fill_entry(fill: &Value, quote_asset: &str) -> Value {
    json!({
        "price": fill["price"],
        "qty": fill["qty"],
        "commission": "0",
        "commissionAsset": quote_asset,
        "tradeId": fill["trade_id"].as_str().and_then(trade_number),
    })
}

/// A `myTrades` entry, from a native `fill`.
pub fn my_trade(symbol: &str, fill: &Value, quote_asset: &str) -> Value {
    let (price, qty) = (decimal(&fill["price"]), decimal(&fill["qty"]));
    json!({
        "symbol": symbol,
        "id": fill["trade_id"].as_str().and_then(trade_number),
        "orderId": fill["order_id"].as_str().and_then(order_number),
        "orderListId": -1,
        "price": fill["price"],
        "qty": fill["qty"],
        "quoteQty": (price * qty).normalize().to_string(),
        "commission": "0",
        "commissionAsset": quote_asset,
        "time": fill["ts"].as_u64().map_or(0, ms),
        "isBuyer": fill["side"] == "buy",
        "isMaker": fill["liquidity"] == "maker",
        "isBestMatch": true,
    })
}

/// The quote quantity of fills (price × quantity, summed).
pub fn quote_of<'a>(fills: impl Iterator<Item = &'a Value>) -> Decimal {
    fills
        .map(|f| decimal(&f["price"]) * decimal(&f["qty"]))
        .sum::<Decimal>()
        .normalize()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn new_orders_are_read_as_binance_checks_them() {
        let limit = new_order(&params(&[
            ("side", "BUY"),
            ("type", "LIMIT"),
            ("timeInForce", "IOC"),
            ("quantity", "0.5"),
            ("price", "100.00"),
            ("newClientOrderId", "abc"),
        ]))
        .expect("a limit order");
        assert_eq!(limit.response, Response::Full);
        assert_eq!(
            native_request("BTC-USD", &limit),
            json!({"op":"order","symbol":"BTC-USD","side":"buy","order_type":"limit","qty":"0.5","tif":"ioc","price":"100.00","client_order_id":"abc"})
        );
        let maker = new_order(&params(&[
            ("side", "SELL"),
            ("type", "LIMIT_MAKER"),
            ("quantity", "1"),
            ("price", "5"),
        ]))
        .expect("a maker order");
        assert_eq!(native_request("X", &maker)["post_only"], true);
        let code = |pairs: &[(&str, &str)]| new_order(&params(pairs)).map_err(|e| e.code);
        assert_eq!(code(&[("side", "UP"), ("type", "LIMIT")]), Err(-1117));
        assert_eq!(code(&[("side", "BUY"), ("type", "STOP_LOSS")]), Err(-1116));
        assert_eq!(
            code(&[
                ("side", "BUY"),
                ("type", "LIMIT"),
                ("quantity", "1"),
                ("price", "1")
            ]),
            Err(-1102)
        );
        assert_eq!(
            code(&[
                ("side", "BUY"),
                ("type", "MARKET"),
                ("quantity", "1"),
                ("price", "1")
            ]),
            Err(-1106)
        );
        assert_eq!(
            code(&[
                ("side", "BUY"),
                ("type", "LIMIT"),
                ("timeInForce", "GTX"),
                ("quantity", "1"),
                ("price", "1")
            ]),
            Err(-1115)
        );
        assert_eq!(
            code(&[("side", "BUY"), ("type", "MARKET"), ("quoteOrderQty", "10")]),
            Err(-1106)
        );
    }

    #[test]
    fn native_orders_become_binance_orders() {
        let order = json!({"order_id":"BTC-USD:42","client_order_id":"c1","symbol":"BTC-USD","side":"sell","order_type":"limit","price":"100.00","qty":"2.0000","leaves_qty":"0.5000","tif":"gtc","ts":5_000_000u64});
        let o = order_object("BTCUSD", &order, Decimal::new(150, 0), "0.00");
        assert_eq!(o["orderId"], 42);
        assert_eq!(o["status"], "PARTIALLY_FILLED");
        assert_eq!(o["executedQty"], "1.5000");
        assert_eq!(
            (o["side"].as_str(), o["type"].as_str(), o["time"].as_u64()),
            (Some("SELL"), Some("LIMIT"), Some(5))
        );
        assert_eq!(trade_number("BTC-USD-paper-3"), Some(3));
        assert_eq!(
            error_of(&json!({"code":"unknown_order","message":"x"}), -2011).code,
            -2011
        );
        assert_eq!(
            error_of(&json!({"code":"invalid_qty","message":"x"}), -2013).code,
            -1013
        );
    }
}
