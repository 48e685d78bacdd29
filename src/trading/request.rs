//! The fields of the trading requests, checked for shape (types, allowed
//! words, client order id format). Values that depend on the instrument
//! (tick, lot, band) are checked by the gateway and the engine.

use simd_json::BorrowedValue;
use simd_json::prelude::*;

use crate::protocol::RequestError;
use crate::types::{OrderType, Side, TimeInForce};

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

/// Which order a `cancel` names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OrderRef {
    OrderId(String),
    ClientOrderId(String),
}

fn bad(message: impl Into<String>) -> RequestError {
    RequestError::new("bad_request", message)
}

pub fn string(value: &BorrowedValue, field: &str) -> Result<Option<String>, RequestError> {
    match value.get(field) {
        None => Ok(None),
        Some(v) if v.is_null() => Ok(None),
        Some(v) => match v.as_str() {
            Some(s) => Ok(Some(s.to_string())),
            None => Err(bad(format!("field {field:?} must be a string"))),
        },
    }
}

pub fn required(value: &BorrowedValue, field: &str) -> Result<String, RequestError> {
    string(value, field)?.ok_or_else(|| bad(format!("missing field {field:?}")))
}

pub fn boolean(value: &BorrowedValue, field: &str) -> Result<bool, RequestError> {
    match value.get(field) {
        None => Ok(false),
        Some(v) => v
            .as_bool()
            .ok_or_else(|| bad(format!("field {field:?} must be true or false"))),
    }
}

/// A decimal field: a JSON string (numbers would lose exactness).
fn decimal(value: &BorrowedValue, field: &str) -> Result<Option<String>, RequestError> {
    match value.get(field) {
        Some(v) if v.is_number() => Err(bad(format!(
            "field {field:?} must be a decimal string such as \"1.25\", not a JSON number"
        ))),
        _ => string(value, field),
    }
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
