//! The NATS subjects of a cluster (`docs/cluster.md` lists them with their
//! payloads). Symbols are 1 to 20 characters of A-Z, 0-9 and '-', so they
//! are always a valid subject token.

use crate::protocol::Channel;

/// Market data of one symbol's stream: `md.<symbol>.<stream>`, the stream
/// named as in recordings (`book`, `trades`, `ticker`, `candles_1s`,
/// `candles_1m`, `heartbeat`). Core NATS, published by the engine.
pub fn market(symbol: &str, channel: Channel) -> String {
    format!("md.{symbol}.{}", channel.stream_name())
}

/// Every stream of one symbol (a gateway's subscription).
pub fn market_of(symbol: &str) -> String {
    format!("md.{symbol}.*")
}

/// The stream a market-data subject names, if it is one.
/// (Book views and the Binance streams are derived at each gateway, never
/// on the bus.)
pub fn channel_of(subject: &str) -> Option<Channel> {
    Channel::from_stream_name(subject.rsplit('.').next()?)
}

/// A symbol's state now (request/reply, answered by the engine with a
/// `SymbolState`).
pub fn state(symbol: &str) -> String {
    format!("state.{symbol}")
}

/// The engine's instruments (request/reply; `bus::instruments`' JSON).
pub const INSTRUMENTS: &str = "engine.instruments";

/// A trading request that names a symbol (`order`, `cancel`, `amend`,
/// `order_status`, `cancel_all` of one symbol): request/reply, a
/// `bus::Forwarded` in, the answer's frames out.
pub fn trade(symbol: &str) -> String {
    format!("trade.{symbol}")
}

/// A request of an account that names no symbol (`auth`, `open_orders`,
/// `account`, `fills`, `cancel_all` of every symbol).
pub const ACCOUNT: &str = "account";

/// A signed request of the Binance dialect's REST API (request/reply, a
/// `bus::forward::BinanceRest` in, a `BinanceAnswer` out).
pub const BINANCE_REST: &str = "binance.rest";

/// A signed request of the Binance dialect's WebSocket API (request/reply,
/// a `bus::forward::BinanceApi` in, a `BinanceAnswer` out).
pub const BINANCE_API: &str = "binance.api";

/// An account's Binance user data stream events (`executionReport`,
/// `outboundAccountPosition`), made by the engine from the account's
/// private events once a gateway's client subscribed (core NATS).
pub fn binance_user(account: &str) -> String {
    format!("binance.user.{account}")
}

/// An engine started (its random instance id; core NATS): every gateway
/// fetches the state of each symbol it follows again, since a restarted
/// engine's streams may have gone back to what its journal kept.
pub const ENGINE_STARTED: &str = "engine.started";

/// A gateway is alive (its id; every second, core NATS): the engine
/// cancels the `cancel_on_disconnect` orders of a gateway silent for
/// `GATEWAY_SILENT_MS`, whose connections are gone with it.
pub const GATEWAY_ALIVE: &str = "gateway.alive";

/// A gateway's connection ended (its origin, `<gateway>.<connection>`).
pub const GATEWAY_DISCONNECTED: &str = "gateway.disconnected";

/// How long a gateway may be silent before the engine takes its
/// connections for gone.
pub const GATEWAY_SILENT_MS: u64 = 5_000;

/// Every private event of an account, as its connections are sent them
/// without a request `id` (core NATS, published by the engine).
pub fn private(account: &str) -> String {
    format!("private.{account}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Interval;

    #[test]
    fn each_stream_has_a_subject_that_names_it_back() {
        for channel in Channel::ALL {
            let subject = market("BTC-USD", channel);
            assert_eq!(channel_of(&subject), Some(channel), "{subject}");
        }
        assert_eq!(
            market("ETH-USD", Channel::Candles(Interval::OneMinute)),
            "md.ETH-USD.candles_1m"
        );
        assert_eq!(channel_of("md.BTC-USD.nonsense"), None);
        assert_eq!(market_of("SOL-USD"), "md.SOL-USD.*");
        assert_eq!(state("AAPL"), "state.AAPL");
    }
}
