//! Errors as Binance answers them: `{"code":-1121,"msg":"Invalid symbol."}`
//! with its HTTP status (REST) or inside the response (WebSocket). The
//! codes are Binance's (`docs/binance.md` lists those used); the message
//! says what was wrong. Pure code.

use crate::json;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status of a REST answer.
    pub status: u16,
    pub code: i32,
    pub msg: String,
}

impl ApiError {
    pub fn new(status: u16, code: i32, msg: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            msg: msg.into(),
        }
    }

    /// -1020: an endpoint, method or stream tickwire does not serve.
    pub fn unsupported(what: &str) -> ApiError {
        ApiError::new(
            404,
            -1020,
            format!("This operation is not supported: {what}."),
        )
    }

    /// -1102: a mandatory parameter missing or empty.
    pub fn missing(name: &str) -> ApiError {
        ApiError::new(
            400,
            -1102,
            format!("Mandatory parameter '{name}' was not sent, was empty/null, or malformed."),
        )
    }

    /// -1100: a parameter that is not what it must be.
    pub fn illegal(name: &str, why: &str) -> ApiError {
        ApiError::new(
            400,
            -1100,
            format!("Illegal characters found in parameter '{name}': {why}."),
        )
    }

    /// -1130: a parameter out of its range.
    pub fn invalid(name: &str, why: &str) -> ApiError {
        ApiError::new(
            400,
            -1130,
            format!("Data sent for parameter '{name}' is not valid: {why}."),
        )
    }

    /// -1121.
    pub fn bad_symbol(symbol: &str) -> ApiError {
        ApiError::new(400, -1121, format!("Invalid symbol: {symbol:?}."))
    }

    /// -1120.
    pub fn bad_interval(interval: &str) -> ApiError {
        ApiError::new(
            400,
            -1120,
            format!("Invalid interval: {interval:?} (tickwire keeps 1s and 1m)."),
        )
    }

    /// -1003: more requests than the limit allows (HTTP 429).
    pub fn too_many(msg: String) -> ApiError {
        ApiError::new(429, -1003, msg)
    }

    /// -1000: something failed inside the server.
    pub fn internal(msg: impl Into<String>) -> ApiError {
        ApiError::new(500, -1000, msg)
    }

    /// The body: `{"code":..,"msg":".."}`.
    pub fn body(&self) -> String {
        let mut out = format!("{{\"code\":{},\"msg\":", self.code);
        json::push_str(&mut out, &self.msg);
        out.push('}');
        out
    }
}
