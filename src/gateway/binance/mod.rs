//! The Binance dialect's trading, shared by its REST endpoints
//! (`http::binance`) and its WebSocket API (`connection`): signed requests
//! checked as Binance checks them, orders placed through a socketless
//! native connection of the account (`connection::Proxy`), balances, and
//! the user data stream's events made from the account's native private
//! events (`user`).

pub mod balances;
pub mod signed;
pub mod user;

/// Milliseconds of wall-clock time (what signed requests' `timestamp` is
/// checked against, and `time`'s answer; never published).
pub fn wall_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
