//! The requests of PROTOCOL.md: parsing (with `simd-json`) into typed
//! requests, and the names of channels and error codes. Pure code.

use simd_json::BorrowedValue;
use simd_json::prelude::*;

mod channel;
mod fields;
mod trading;

pub use channel::{Channel, StreamId};
pub use trading::{
    AmendRequest, FillsRequest, OrderRef, OrderRequest, check_client_order_id, parse_order_id,
};

use crate::error_code::ErrorCode;
use crate::stats::Interval;
use fields::{bad, boolean, id_text, required, string, string_list};

/// How the server is running, for `instruments` and `/healthz`.
#[derive(Clone, Debug, PartialEq)]
pub enum Mode {
    Live,
    Replay { file: String, speed: String },
}

/// A request's `id`, kept as the JSON text to echo back.
pub type RequestId = Option<String>;

/// A request that could not be understood or is not allowed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestError {
    pub code: ErrorCode,
    pub message: String,
}

impl RequestError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> RequestError {
        RequestError {
            code,
            message: message.into(),
        }
    }
}

/// The market-data channels and symbols named by `subscribe`/`unsubscribe`,
/// still as names (the gateway checks them against its instruments).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamSelection {
    pub channels: Vec<String>,
    pub symbols: Vec<String>,
    pub interval: Option<Interval>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    Subscribe(StreamSelection),
    Unsubscribe(StreamSelection),
    Instruments,
    Ping,
    Auth {
        token: String,
        cancel_on_disconnect: bool,
    },
    Order(OrderRequest),
    Cancel {
        symbol: String,
        order: OrderRef,
    },
    CancelAll {
        symbol: Option<String>,
    },
    OpenOrders {
        symbol: Option<String>,
    },
    Account,
    Amend(AmendRequest),
    OrderStatus {
        symbol: String,
        order: OrderRef,
    },
    Fills(FillsRequest),
}

/// A parsed request frame: its `id` and `op` (for the error, if any) and
/// the request or what is wrong with it.
#[derive(Clone, Debug)]
pub struct Parsed {
    pub id: RequestId,
    pub op: Option<String>,
    pub request: Result<Request, RequestError>,
}

/// Parses one text frame. `scratch` is reused between frames (simd-json
/// parses in place).
pub fn parse(text: &str, scratch: &mut Vec<u8>) -> Parsed {
    scratch.clear();
    scratch.extend_from_slice(text.as_bytes());
    let value = match simd_json::to_borrowed_value(scratch) {
        Ok(v) => v,
        Err(e) => {
            return Parsed {
                id: None,
                op: None,
                request: Err(bad(format!("not valid JSON: {e}"))),
            };
        }
    };
    let Some(object) = value.as_object() else {
        return Parsed {
            id: None,
            op: None,
            request: Err(bad("a request must be a JSON object")),
        };
    };
    let id = match object.get("id") {
        None | Some(BorrowedValue::Static(simd_json::StaticNode::Null)) => Ok(None),
        Some(v) => id_text(v).map(Some),
    };
    let op = object
        .get("op")
        .and_then(|v| v.as_str())
        .map(str::to_string);
    let id_ok = id.clone().unwrap_or(None);
    let request = id.and_then(|_| match object.get("op") {
        None => Err(bad("missing field \"op\"")),
        Some(v) => match v.as_str() {
            None => Err(bad("field \"op\" must be a string")),
            Some(op) => parse_op(op, &value),
        },
    });
    Parsed {
        id: id_ok,
        op,
        request,
    }
}

fn parse_op(op: &str, value: &BorrowedValue) -> Result<Request, RequestError> {
    match op {
        "subscribe" => Ok(Request::Subscribe(selection(value)?)),
        "unsubscribe" => Ok(Request::Unsubscribe(selection(value)?)),
        "instruments" => Ok(Request::Instruments),
        "ping" => Ok(Request::Ping),
        "auth" => Ok(Request::Auth {
            token: required(value, "token")?,
            cancel_on_disconnect: boolean(value, "cancel_on_disconnect")?,
        }),
        "order" => Ok(Request::Order(trading::order(value)?)),
        "cancel" => {
            let (symbol, order) = trading::cancel(value)?;
            Ok(Request::Cancel { symbol, order })
        }
        "cancel_all" => Ok(Request::CancelAll {
            symbol: string(value, "symbol")?,
        }),
        "open_orders" => Ok(Request::OpenOrders {
            symbol: string(value, "symbol")?,
        }),
        "account" => Ok(Request::Account),
        "amend" => Ok(Request::Amend(trading::amend(value)?)),
        "order_status" => {
            let (symbol, order) = trading::cancel(value)?;
            Ok(Request::OrderStatus { symbol, order })
        }
        "fills" => Ok(Request::Fills(trading::fills(value)?)),
        other => Err(RequestError::new(
            ErrorCode::UnknownOp,
            format!("unknown op {other:?}"),
        )),
    }
}

fn selection(value: &BorrowedValue) -> Result<StreamSelection, RequestError> {
    let channels = string_list(value, "channels")?;
    let symbols = string_list(value, "symbols")?;
    let interval = match value.get("interval") {
        None => None,
        Some(v) => match v.as_str().and_then(Interval::parse) {
            Some(i) => Some(i),
            None => {
                return Err(bad("field \"interval\" must be \"1s\" or \"1m\""));
            }
        },
    };
    Ok(StreamSelection {
        channels,
        symbols,
        interval,
    })
}

#[cfg(test)]
mod tests;
