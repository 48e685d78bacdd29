//! The Binance spot dialect (`docs/binance.md`): the same markets, engine
//! and accounts answered in Binance's shapes, so a client written for
//! Binance (ccxt, freqtrade, hummingbot) only changes its base URLs.
//!
//! This is the dialect's pure part: names (`names`), tickwire's own
//! messages read back (`native`, the dialect is made from the published
//! streams), events and REST bodies (`events`) and errors (`error`). The
//! server's side of it lives in the gateway: the
//! per-symbol streams beside the hub (`gateway::streams`), the REST routes
//! (`gateway::http`) and the WebSocket requests (`gateway::connection`).

pub mod error;
pub mod events;
pub mod names;
pub mod native;
pub mod orders;
pub mod sign;
pub mod user;

pub use error::ApiError;

/// The REST endpoint (method, path under `/api/v3/`) a signed WebSocket
/// API method is: `order.place` is `POST order`, and so on. `None` for a
/// method that is not one (`ping`, `time`, the user data stream's).
pub fn rest_of_method(method: &str) -> Option<(&'static str, &'static str)> {
    Some(match method {
        "order.place" => ("POST", "order"),
        "order.test" => ("POST", "order/test"),
        "order.cancel" => ("DELETE", "order"),
        "order.status" => ("GET", "order"),
        "openOrders.status" => ("GET", "openOrders"),
        "account.status" => ("GET", "account"),
        "myTrades" => ("GET", "myTrades"),
        "allOrders" => ("GET", "allOrders"),
        _ => return None,
    })
}

/// The WebSocket API's method that subscribes the connection to an
/// account's user data stream.
pub const SUBSCRIBE_USER_DATA: &str = "userDataStream.subscribe.signature";

/// Where a list answer starts among `len` matches, as Binance pages them:
/// from the first when the request named where to start (`fromId`,
/// `startTime`), else the latest `limit`.
pub fn first_answered(len: usize, limit: usize, from_start: bool) -> usize {
    if from_start {
        0
    } else {
        len.saturating_sub(limit)
    }
}
pub use names::{Framed, Levels, Speed, Stream};
