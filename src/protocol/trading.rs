//! The trading requests (`order`, `cancel`), checked for shape (types,
//! allowed words, client order id format). Values that depend on the
//! instrument (tick, lot, band) are checked by the gateway and the engine.

use simd_json::BorrowedValue;
use simd_json::prelude::*;

use super::RequestError;
use super::fields::{bad, boolean, decimal, required, string};
use crate::types::{OrderId, OrderType, Side, TimeInForce};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderRequest {
    pub symbol: String,
    pub side: Side,
    pub order_type: OrderType,
    /// Decimal strings, as on the wire.
    pub qty: String,
    pub price: Option<String>,
    pub tif: Option<TimeInForce>,
    pub post_only: bool,
    pub client_order_id: Option<String>,
}

/// `amend`: a resting order's new price and/or total quantity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AmendRequest {
    pub symbol: String,
    pub order: OrderRef,
    /// Decimal strings, as on the wire; at least one is given.
    pub qty: Option<String>,
    pub price: Option<String>,
}

/// `fills`: the fills after a private `seq` (or from a time).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FillsRequest {
    pub since: Option<u64>,
    pub since_ts: Option<u64>,
    pub symbol: Option<String>,
}

/// Which order a `cancel`, `amend` or `order_status` names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OrderRef {
    OrderId(String),
    ClientOrderId(String),
}

/// 1 to 36 characters of `A-Za-z0-9_-`.
pub fn check_client_order_id(id: &str) -> Result<(), RequestError> {
    let ok = !id.is_empty()
        && id.len() <= 36
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(bad(format!(
            "client_order_id {id:?} must be 1 to 36 characters of A-Za-z0-9_-"
        )))
    }
}

pub fn order(value: &BorrowedValue) -> Result<OrderRequest, RequestError> {
    let symbol = required(value, "symbol")?;
    let side = match required(value, "side")?.as_str() {
        "buy" => Side::Buy,
        "sell" => Side::Sell,
        other => return Err(bad(format!("side {other:?} must be \"buy\" or \"sell\""))),
    };
    let order_type = match required(value, "order_type")?.as_str() {
        "limit" => OrderType::Limit,
        "market" => OrderType::Market,
        other => {
            return Err(bad(format!(
                "order_type {other:?} must be \"limit\" or \"market\""
            )));
        }
    };
    let qty = decimal(value, "qty")?.ok_or_else(|| bad("missing field \"qty\""))?;
    let price = decimal(value, "price")?;
    match (order_type, &price) {
        (OrderType::Limit, None) => return Err(bad("a limit order needs field \"price\"")),
        (OrderType::Market, Some(_)) => return Err(bad("a market order takes no \"price\"")),
        _ => {}
    }
    let tif = match string(value, "tif")?.as_deref() {
        None => None,
        Some("gtc") => Some(TimeInForce::Gtc),
        Some("ioc") => Some(TimeInForce::Ioc),
        Some("fok") => Some(TimeInForce::Fok),
        Some(other) => {
            return Err(bad(format!(
                "tif {other:?} must be \"gtc\", \"ioc\" or \"fok\""
            )));
        }
    };
    let post_only = boolean(value, "post_only")?;
    let client_order_id = string(value, "client_order_id")?;
    if let Some(id) = &client_order_id {
        check_client_order_id(id)?;
    }
    Ok(OrderRequest {
        symbol,
        side,
        order_type,
        qty,
        price,
        tif,
        post_only,
        client_order_id,
    })
}

pub fn cancel(value: &BorrowedValue) -> Result<(String, OrderRef), RequestError> {
    let symbol = required(value, "symbol")?;
    let reference = match (
        string(value, "order_id")?,
        string(value, "client_order_id")?,
    ) {
        (Some(id), None) => OrderRef::OrderId(id),
        (None, Some(id)) => OrderRef::ClientOrderId(id),
        (Some(_), Some(_)) => {
            return Err(bad("give \"order_id\" or \"client_order_id\", not both"));
        }
        (None, None) => return Err(bad("missing field \"order_id\" (or \"client_order_id\")")),
    };
    Ok((symbol, reference))
}

pub fn amend(value: &BorrowedValue) -> Result<AmendRequest, RequestError> {
    let (symbol, order) = cancel(value)?;
    let qty = decimal(value, "qty")?;
    let price = decimal(value, "price")?;
    if qty.is_none() && price.is_none() {
        return Err(bad("an amend needs \"qty\" or \"price\" (or both)"));
    }
    Ok(AmendRequest {
        symbol,
        order,
        qty,
        price,
    })
}

/// A non-negative integer field (JSON number), if present.
fn count(value: &BorrowedValue, field: &str) -> Result<Option<u64>, RequestError> {
    match value.get(field) {
        None => Ok(None),
        Some(v) => v
            .as_u64()
            .map(Some)
            .ok_or_else(|| bad(format!("field \"{field}\" must be a non-negative integer"))),
    }
}

pub fn fills(value: &BorrowedValue) -> Result<FillsRequest, RequestError> {
    let since = count(value, "since")?;
    let since_ts = count(value, "since_ts")?;
    if since.is_some() && since_ts.is_some() {
        return Err(bad("give \"since\" or \"since_ts\", not both"));
    }
    Ok(FillsRequest {
        since,
        since_ts,
        symbol: string(value, "symbol")?,
    })
}

/// The engine order id in a wire order id (`BTC-USD:5`) of `symbol`, if it
/// is one.
pub fn parse_order_id(symbol: &str, text: &str) -> Option<OrderId> {
    let number = text.strip_prefix(symbol)?.strip_prefix(':')?;
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    number.parse().ok().map(OrderId)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_ids_are_the_symbol_and_a_number() {
        assert_eq!(parse_order_id("BTC-USD", "BTC-USD:5"), Some(OrderId(5)));
        assert_eq!(parse_order_id("BTC-USD", "BTC-USD:0042"), Some(OrderId(42)));
        for wrong in [
            "BTC-USD",
            "BTC-USD:",
            "BTC-USD:-1",
            "BTC-USD:+1",
            "BTC-USD:1.0",
            "BTC-USD: 1",
            "ETH-USD:5",
            "BTC-USD:5:6",
            "btc-usd:5",
            "BTC-USD:99999999999999999999",
            "",
        ] {
            assert_eq!(parse_order_id("BTC-USD", wrong), None, "{wrong:?}");
        }
        // A symbol that is a prefix of another does not take its ids.
        assert_eq!(parse_order_id("BTC", "BTC-USD:5"), None);
    }

    #[test]
    fn client_order_ids_are_1_to_36_safe_characters() {
        assert!(check_client_order_id("a").is_ok());
        assert!(check_client_order_id(&"x".repeat(36)).is_ok());
        assert!(check_client_order_id("my-order_1").is_ok());
        for wrong in ["", &"x".repeat(37), "has space", "é", "a/b", "a\u{0}b"] {
            assert!(check_client_order_id(wrong).is_err(), "{wrong:?}");
        }
    }
}
