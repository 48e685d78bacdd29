//! The requests of PROTOCOL.md: parsing (with `simd-json`) into typed
//! requests, and the names of channels and error codes. Pure code.

use simd_json::BorrowedValue;
use simd_json::prelude::*;

mod channel;
mod fields;
mod trading;

pub use channel::{BookView, Channel, Depth, StreamId, Throttle};
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
    /// `paper`: orders are taken and filled against the replayed market
    /// (`"mode":"replay-paper"`).
    Replay {
        file: String,
        speed: String,
        paper: bool,
    },
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
    /// `interval` read as a candle interval (`1s`, `1m`).
    pub interval: Option<Interval>,
    /// `interval` read as a book interval (`100ms`, `1s`).
    pub throttle: Option<Throttle>,
    /// `depth` (book only: 10, 25, 100).
    pub depth: Option<Depth>,
}

impl StreamSelection {
    /// The book stream this selection names (v1.1): its depth, and its
    /// interval unless the interval is the candles' (`1s` with `candles`
    /// among the channels keeps v1's meaning: 1 s candles, the book at
    /// every change).
    pub fn book_channel(&self) -> Channel {
        let candles = self.channels.iter().any(|c| c == "candles");
        let throttle = self
            .throttle
            .filter(|_| !(candles && self.interval.is_some()));
        BookView::channel(self.depth, throttle)
    }
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
    /// Set this connection's fault schedule (`spec`, empty to clear), on a
    /// server that allows it.
    Faults {
        spec: String,
    },
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
    // Keys given twice would be read as one of them, maybe not the one a
    // proxy or a log in front of the server read: refused.
    let duplicate = top_level_keys(text) != object.len() || {
        let mut keys: Vec<&str> = object.keys().map(|k| k.as_ref()).collect();
        keys.sort_unstable();
        keys.windows(2).any(|w| w[0] == w[1])
    };
    let request = id.and_then(|_| match object.get("op") {
        _ if duplicate => Err(bad(
            "a field appears twice in the request; give each field once",
        )),
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

/// How many keys the top-level object of `text` (valid JSON) writes,
/// counting repeats.
fn top_level_keys(text: &str) -> usize {
    let bytes = text.as_bytes();
    let (mut depth, mut keys, mut i) = (0usize, 0usize, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth = depth.saturating_sub(1),
            b'"' => {
                // The string's end (an escape skips the next byte).
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                let next = bytes[i.saturating_add(1).min(bytes.len())..]
                    .iter()
                    .find(|b| !b.is_ascii_whitespace());
                if depth == 1 && next == Some(&b':') {
                    keys += 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    keys
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
        "faults" => Ok(Request::Faults {
            spec: required(value, "spec")?,
        }),
        other => Err(RequestError::new(
            ErrorCode::UnknownOp,
            format!("unknown op {other:?}"),
        )),
    }
}

fn selection(value: &BorrowedValue) -> Result<StreamSelection, RequestError> {
    let channels = string_list(value, "channels")?;
    let symbols = string_list(value, "symbols")?;
    let (interval, throttle) = match value.get("interval") {
        None => (None, None),
        Some(v) => {
            let text = v.as_str().unwrap_or("");
            let (interval, throttle) = (Interval::parse(text), Throttle::parse(text));
            if interval.is_none() && throttle.is_none() {
                return Err(bad(
                    "field \"interval\" must be \"1s\" or \"1m\" for candles, \"100ms\" or \"1s\" for the book",
                ));
            }
            (interval, throttle)
        }
    };
    let depth = match value.get("depth") {
        None => None,
        Some(v) => Some(v.as_u64().and_then(Depth::from_levels).ok_or_else(|| {
            bad("field \"depth\" must be 10, 25 or 100 (levels per side of the book)")
        })?),
    };
    let book = channels.iter().any(|c| c == "book");
    if depth.is_some() && !book {
        return Err(bad("field \"depth\" applies to the book channel only"));
    }
    if throttle.is_some() && interval.is_none() && channels.iter().any(|c| c == "candles") {
        return Err(bad(
            "candles take \"interval\" \"1s\" or \"1m\"; subscribe to a 100 ms book in its own request",
        ));
    }
    if throttle.is_some() && interval.is_none() && !book {
        return Err(bad("interval \"100ms\" applies to the book channel only"));
    }
    Ok(StreamSelection {
        channels,
        symbols,
        interval,
        throttle,
        depth,
    })
}

#[cfg(test)]
mod tests;
