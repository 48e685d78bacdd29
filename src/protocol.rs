//! The requests of PROTOCOL.md: parsing (with `simd-json`) into typed
//! requests, and the names of channels and error codes. Pure code.

use simd_json::BorrowedValue;
use simd_json::prelude::*;

use crate::encode::json;
use crate::stats::Interval;
use crate::trading::request::{self, OrderRef, OrderRequest};

/// A market-data channel of one symbol. Candles are one channel per
/// interval.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Channel {
    Book,
    Trades,
    Ticker,
    Candles(Interval),
    Heartbeat,
}

impl Channel {
    pub const ALL: [Channel; 6] = [
        Channel::Book,
        Channel::Trades,
        Channel::Ticker,
        Channel::Candles(Interval::OneSecond),
        Channel::Candles(Interval::OneMinute),
        Channel::Heartbeat,
    ];

    /// The wire name (`candles` for every interval).
    pub fn name(self) -> &'static str {
        match self {
            Channel::Book => "book",
            Channel::Trades => "trades",
            Channel::Ticker => "ticker",
            Channel::Candles(_) => "candles",
            Channel::Heartbeat => "heartbeat",
        }
    }

    /// A dense index, for per-channel tables.
    pub fn index(self) -> usize {
        match self {
            Channel::Book => 0,
            Channel::Trades => 1,
            Channel::Ticker => 2,
            Channel::Candles(Interval::OneSecond) => 3,
            Channel::Candles(Interval::OneMinute) => 4,
            Channel::Heartbeat => 5,
        }
    }

    /// Whether a lagging client gets fresh state for it (PROTOCOL.md: books,
    /// the newest ticker and candle); trades and heartbeats just go on.
    pub fn resyncs(self) -> bool {
        matches!(self, Channel::Book | Channel::Ticker | Channel::Candles(_))
    }
}

/// One stream: a channel of a symbol (by its index in the instruments).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId {
    pub symbol: u16,
    pub channel: Channel,
}

/// A request's `id`, kept as the JSON text to echo back.
pub type RequestId = Option<String>;

/// A request that could not be understood or is not allowed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestError {
    pub code: &'static str,
    pub message: String,
}

impl RequestError {
    pub fn new(code: &'static str, message: impl Into<String>) -> RequestError {
        RequestError {
            code,
            message: message.into(),
        }
    }

    fn bad(message: impl Into<String>) -> RequestError {
        RequestError::new("bad_request", message)
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
                request: Err(RequestError::bad(format!("not valid JSON: {e}"))),
            };
        }
    };
    let Some(object) = value.as_object() else {
        return Parsed {
            id: None,
            op: None,
            request: Err(RequestError::bad("a request must be a JSON object")),
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
        None => Err(RequestError::bad("missing field \"op\"")),
        Some(v) => match v.as_str() {
            None => Err(RequestError::bad("field \"op\" must be a string")),
            Some(op) => parse_op(op, &value),
        },
    });
    Parsed {
        id: id_ok,
        op,
        request,
    }
}

/// The JSON text of an `id`: a number or a string.
fn id_text(value: &BorrowedValue) -> Result<String, RequestError> {
    if let Some(s) = value.as_str() {
        if s.len() > 128 {
            return Err(RequestError::bad(
                "field \"id\" must be at most 128 characters",
            ));
        }
        let mut out = String::with_capacity(s.len() + 2);
        json::push_str(&mut out, s);
        return Ok(out);
    }
    if let Some(n) = value.as_i64() {
        return Ok(n.to_string());
    }
    if let Some(n) = value.as_u64() {
        return Ok(n.to_string());
    }
    if let Some(n) = value.as_f64().filter(|f| f.is_finite()) {
        return Ok(n.to_string());
    }
    Err(RequestError::bad(
        "field \"id\" must be a number or a string",
    ))
}

fn parse_op(op: &str, value: &BorrowedValue) -> Result<Request, RequestError> {
    match op {
        "subscribe" => Ok(Request::Subscribe(selection(value)?)),
        "unsubscribe" => Ok(Request::Unsubscribe(selection(value)?)),
        "instruments" => Ok(Request::Instruments),
        "ping" => Ok(Request::Ping),
        "auth" => Ok(Request::Auth {
            token: request::required(value, "token")?,
            cancel_on_disconnect: request::boolean(value, "cancel_on_disconnect")?,
        }),
        "order" => Ok(Request::Order(request::order(value)?)),
        "cancel" => {
            let (symbol, order) = request::cancel(value)?;
            Ok(Request::Cancel { symbol, order })
        }
        "cancel_all" => Ok(Request::CancelAll {
            symbol: request::string(value, "symbol")?,
        }),
        "open_orders" => Ok(Request::OpenOrders {
            symbol: request::string(value, "symbol")?,
        }),
        "account" => Ok(Request::Account),
        other => Err(RequestError::new(
            "unknown_op",
            format!("unknown op {other:?}"),
        )),
    }
}

fn string_list(value: &BorrowedValue, field: &str) -> Result<Vec<String>, RequestError> {
    let Some(v) = value.get(field) else {
        return Err(RequestError::bad(format!("missing field {field:?}")));
    };
    let Some(items) = v.as_array() else {
        return Err(RequestError::bad(format!(
            "field {field:?} must be a list of strings"
        )));
    };
    if items.is_empty() {
        return Err(RequestError::bad(format!(
            "field {field:?} must not be empty"
        )));
    }
    items
        .iter()
        .map(|item| item.as_str().map(str::to_string))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| RequestError::bad(format!("field {field:?} must be a list of strings")))
}

fn selection(value: &BorrowedValue) -> Result<StreamSelection, RequestError> {
    let channels = string_list(value, "channels")?;
    let symbols = string_list(value, "symbols")?;
    let interval = match value.get("interval") {
        None => None,
        Some(v) => match v.as_str().and_then(Interval::parse) {
            Some(i) => Some(i),
            None => {
                return Err(RequestError::bad(
                    "field \"interval\" must be \"1s\" or \"1m\"",
                ));
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
mod tests {
    use super::*;

    fn p(text: &str) -> Parsed {
        parse(text, &mut Vec::new())
    }

    fn code(text: &str) -> &'static str {
        p(text).request.unwrap_err().code
    }

    #[test]
    fn requests_parse_with_their_ids() {
        let r =
            p(r#"{"op":"subscribe","id":7,"channels":["book","trades"],"symbols":["BTC-USD"]}"#);
        assert_eq!(r.id.as_deref(), Some("7"));
        assert_eq!(
            r.request,
            Ok(Request::Subscribe(StreamSelection {
                channels: vec!["book".into(), "trades".into()],
                symbols: vec!["BTC-USD".into()],
                interval: None
            }))
        );
        assert_eq!(
            p(r#"{"op":"ping","id":"a\"b"}"#).id.as_deref(),
            Some(r#""a\"b""#)
        );
        assert_eq!(p(r#"{"op":"ping"}"#).request, Ok(Request::Ping));
        assert_eq!(p(r#"{"op":"instruments","id":null}"#).id, None);
        assert_eq!(p(r#"{"op":"account"}"#).request, Ok(Request::Account));
        let order = p(
            r#"{"op":"order","symbol":"BTC-USD","side":"buy","order_type":"limit","qty":"0.5","price":"64000.50","tif":"ioc","client_order_id":"abc-1"}"#,
        );
        assert!(
            matches!(order.request, Ok(Request::Order(o)) if o.qty == "0.5" && o.tif == Some(crate::types::TimeInForce::Ioc))
        );
        let cancel = p(r#"{"op":"cancel","symbol":"BTC-USD","client_order_id":"abc-1"}"#);
        assert!(matches!(
            cancel.request,
            Ok(Request::Cancel {
                order: OrderRef::ClientOrderId(_),
                ..
            })
        ));
        let candles =
            p(r#"{"op":"subscribe","channels":["candles"],"symbols":["X"],"interval":"1s"}"#);
        assert!(
            matches!(candles.request, Ok(Request::Subscribe(s)) if s.interval == Some(Interval::OneSecond))
        );
    }

    #[test]
    fn deep_nesting_is_a_bad_request_not_a_crash() {
        let deep = format!(
            "{{\"op\":\"ping\",\"x\":{}{}}}",
            "[".repeat(32_000),
            "]".repeat(32_000)
        );
        let error = parse(&deep, &mut Vec::new()).request.unwrap_err();
        assert_eq!(error.code, "bad_request");
        assert!(
            error.message.contains("DepthLimitExceeded"),
            "{}",
            error.message
        );
        let deep = "[".repeat(65_000);
        assert_eq!(code(&deep), "bad_request");
    }

    #[test]
    fn bad_requests_say_what_is_wrong() {
        assert_eq!(code("not json"), "bad_request");
        assert_eq!(code("[1,2]"), "bad_request");
        assert_eq!(code(r#"{"id":1}"#), "bad_request");
        assert_eq!(code(r#"{"op":5}"#), "bad_request");
        assert_eq!(code(r#"{"op":"ping","id":{"a":1}}"#), "bad_request");
        assert_eq!(
            code(r#"{"op":"subscribe","channels":"book","symbols":["BTC-USD"]}"#),
            "bad_request"
        );
        assert_eq!(
            code(r#"{"op":"subscribe","channels":["book"]}"#),
            "bad_request"
        );
        assert_eq!(
            code(r#"{"op":"subscribe","channels":[],"symbols":["X"]}"#),
            "bad_request"
        );
        assert_eq!(
            code(r#"{"op":"subscribe","channels":[1],"symbols":["X"]}"#),
            "bad_request"
        );
        assert_eq!(
            code(r#"{"op":"subscribe","channels":["candles"],"symbols":["X"],"interval":"5m"}"#),
            "bad_request"
        );
        assert_eq!(code(r#"{"op":"fly"}"#), "unknown_op");
        let order = r#"{"op":"order","symbol":"BTC-USD","side":"buy","order_type":"limit","qty":"1","price":"1.00","tif":"gtc","post_only":false,"client_order_id":"ok"}"#;
        assert!(p(order).request.is_ok());
        for (good, bad) in [
            (r#""side":"buy""#, r#""side":"up""#),
            (r#""order_type":"limit""#, r#""order_type":"stop""#),
            (r#""tif":"gtc""#, r#""tif":"day""#),
            (r#""qty":"1""#, r#""qty":1"#),
            (r#""post_only":false"#, r#""post_only":"yes""#),
            (
                r#""client_order_id":"ok""#,
                r#""client_order_id":"has space""#,
            ),
            (
                r#""client_order_id":"ok""#,
                r#""client_order_id":"0123456789012345678901234567890123456""#,
            ),
        ] {
            let text = order.replace(good, bad);
            assert_eq!(code(&text), "bad_request", "{text}");
        }
        let no_price = r#"{"op":"order","symbol":"X","side":"buy","order_type":"limit","qty":"1"}"#;
        assert_eq!(code(no_price), "bad_request");
        let market_price = r#"{"op":"order","symbol":"X","side":"buy","order_type":"market","qty":"1","price":"2"}"#;
        assert_eq!(code(market_price), "bad_request");
        assert_eq!(code(r#"{"op":"cancel","symbol":"X"}"#), "bad_request");
        assert_eq!(
            code(r#"{"op":"cancel","symbol":"X","order_id":"1","client_order_id":"a"}"#),
            "bad_request"
        );
        assert_eq!(code(r#"{"op":"auth"}"#), "bad_request");
        let r = p(r#"{"op":"subscribe","id":3,"channels":"x"}"#);
        assert_eq!(
            (r.id.as_deref(), r.op.as_deref()),
            (Some("3"), Some("subscribe"))
        );
        assert_eq!(
            r.request.unwrap_err().message,
            "field \"channels\" must be a list of strings"
        );
    }
}
