//! A client's trading request as a gateway forwards it to the engine, and
//! the engine's answer: the request's text exactly as the client sent it
//! (its `id` included, so every answering frame is the one a socket of the
//! engine would have been sent), and the account the gateway's connection
//! is authenticated as (`None` for the `auth` itself).

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Forwarded {
    pub account: Option<String>,
    pub request: String,
    /// The gateway's connection (`<gateway>.<connection>`): the same for
    /// each of its requests, so its orders are its own on the engine (for
    /// `cancel_on_disconnect`).
    #[serde(default)]
    pub origin: Option<String>,
    /// The connection asked for cancel-on-disconnect when it authenticated
    /// (kept by the gateway, so an engine restarted meanwhile knows too).
    #[serde(default)]
    pub cancel_on_disconnect: bool,
}

impl Forwarded {
    pub fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn decode(payload: &[u8]) -> Result<Forwarded, String> {
        serde_json::from_slice(payload).map_err(|e| format!("a forwarded request: {e}"))
    }
}

/// A signed request of the Binance dialect's REST API as a gateway
/// forwards it (`binance.rest`): the engine checks the key and signature
/// and carries it out, as `serve` does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BinanceRest {
    pub method: String,
    pub endpoint: String,
    pub query: String,
    pub body: String,
    pub key: Option<String>,
}

/// A signed request of the Binance dialect's WebSocket API as a gateway
/// forwards it (`binance.api`): its method and params as the client sent
/// them (the signature is of the params), checked and carried out by the
/// engine. For `userDataStream.subscribe.signature` the engine answers
/// `{"account":<name>}`, and the gateway follows `binance.user.<name>`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BinanceApi {
    pub method: String,
    pub params: serde_json::Map<String, serde_json::Value>,
}

impl BinanceApi {
    pub fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn decode(payload: &[u8]) -> Result<BinanceApi, String> {
        serde_json::from_slice(payload)
            .map_err(|e| format!("a forwarded Binance WebSocket API request: {e}"))
    }
}

/// The engine's answer to a `BinanceRest` or a `BinanceApi`: the HTTP status and the body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BinanceAnswer {
    pub status: u16,
    pub body: String,
}

impl BinanceRest {
    pub fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn decode(payload: &[u8]) -> Result<BinanceRest, String> {
        serde_json::from_slice(payload).map_err(|e| format!("a forwarded Binance request: {e}"))
    }
}

impl BinanceAnswer {
    pub fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn decode(payload: &[u8]) -> Result<BinanceAnswer, String> {
        serde_json::from_slice(payload).map_err(|e| format!("a Binance answer: {e}"))
    }
}

/// The answer: each frame on a line of its own (frames are one-line JSON).
pub fn encode_answer<S: AsRef<str>>(frames: &[S]) -> String {
    let mut out = String::new();
    for frame in frames {
        out.push_str(frame.as_ref());
        out.push('\n');
    }
    out
}

pub fn decode_answer(payload: &[u8]) -> Result<Vec<String>, String> {
    let text = std::str::from_utf8(payload).map_err(|e| format!("an answer: {e}"))?;
    Ok(text.lines().map(str::to_string).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_answers_travel_unchanged() {
        let request = Forwarded {
            account: Some("alice".into()),
            request: "{\"op\":\"order\",\"id\":\"a\\\"b\"}".into(),
            origin: Some("g1.7".into()),
            cancel_on_disconnect: true,
        };
        assert_eq!(Forwarded::decode(request.encode().as_bytes()), Ok(request));
        assert!(Forwarded::decode(b"{\"account\":1}").is_err());
        let frames = ["{\"type\":\"order_accepted\"}", "{\"type\":\"fill\"}"];
        assert_eq!(
            decode_answer(encode_answer(&frames).as_bytes()).expect("answer"),
            frames
        );
        assert_eq!(decode_answer(b"").expect("empty"), Vec::<String>::new());
        let rest = BinanceRest {
            method: "POST".into(),
            endpoint: "order".into(),
            query: String::new(),
            body: "symbol=BTCUSD&signature=ab".into(),
            key: Some("k".into()),
        };
        assert_eq!(BinanceRest::decode(rest.encode().as_bytes()), Ok(rest));
        let answer = BinanceAnswer {
            status: 400,
            body: "{\"code\":-1102}".into(),
        };
        assert_eq!(
            BinanceAnswer::decode(answer.encode().as_bytes()),
            Ok(answer)
        );
        assert!(BinanceAnswer::decode(b"[]").is_err());
        let api = BinanceApi {
            method: "order.place".into(),
            params: serde_json::from_str(
                "{\"apiKey\":\"k\",\"quantity\":\"1\",\"recvWindow\":5000}",
            )
            .expect("params"),
        };
        assert_eq!(BinanceApi::decode(api.encode().as_bytes()), Ok(api));
        assert!(BinanceApi::decode(b"{\"method\":\"x\",\"params\":[]}").is_err());
    }
}
