//! What `serve` is told: `Config`, with PROTOCOL.md's defaults. `defaults`
//! is the one place each default is written; the command line shows and
//! uses the same constants.

use std::path::PathBuf;
use std::time::Duration;

use crate::fanout::LagPolicy;
use crate::instrument::Instruments;
use crate::trading::Accounts;

use super::market::replay::options::ReplayOptions;
use crate::faults::FaultSpec;
use crate::scenario::Scenario;

/// The defaults of PROTOCOL.md and of the server's own settings.
pub mod defaults {
    /// Address the server listens on.
    pub const LISTEN: &str = "127.0.0.1:8080";
    /// Where the clients (order, cancel, watch, loadgen) connect: `LISTEN`'s
    /// WebSocket endpoint.
    pub const WS_URL: &str = "ws://127.0.0.1:8080/ws";
    /// Largest client message; larger closes with 1009.
    pub const MAX_MESSAGE_BYTES: usize = 64 << 10;
    pub const MAX_SUBSCRIPTIONS: usize = 1000;
    /// The Binance dialect's REST weight per client address and minute
    /// (Binance's own limit).
    pub const BINANCE_WEIGHT_PER_MINUTE: u64 = 6000;
    /// Requests per second per connection, and the burst allowed.
    pub const REQUESTS_PER_SEC: f64 = 50.0;
    pub const REQUEST_BURST: f64 = 100.0;
    /// Requests refused for the rate within `RATE_LIMITED_WINDOW_S` that
    /// close a connection (1008 `rate limit exceeded`): a client that
    /// honours `retry_after_ms` never comes near; one that floods would
    /// otherwise cost the server a parse and an error for every frame.
    pub const MAX_RATE_LIMITED: u32 = 100;
    pub const RATE_LIMITED_WINDOW_S: u64 = 10;
    pub const MAX_CONNECTIONS: usize = 100_000;
    /// Most WebSocket connections per client address (0: no limit; a
    /// laptop's load generator opens thousands from one address).
    pub const MAX_CONNECTIONS_PER_IP: usize = 0;
    /// New WebSocket connections a second per client address (0: no
    /// limit; the load generator opens thousands a second).
    pub const CONNECTION_RATE_PER_IP: f64 = 0.0;
    /// Seconds a client may take to send an HTTP request's head.
    pub const HEADER_TIMEOUT_S: u64 = 10;
    // The slow-consumer policy's defaults (queue budget, lags, window) are
    // `fanout::LagPolicy::default()`.
    pub const PING_INTERVAL_S: u64 = 15;
    pub const IDLE_TIMEOUT_S: u64 = 45;
    /// Authentication failures that close a connection (1008).
    pub const MAX_AUTH_FAILURES: u32 = 3;
    /// How long a closing connection may take to deliver its close frame.
    pub const CLOSE_TIMEOUT_S: u64 = 10;
    /// How long shutdown waits for connections to close.
    pub const SHUTDOWN_GRACE_S: u64 = 5;
    /// Seconds between the book snapshots of a recording.
    pub const SNAPSHOT_EVERY_S: u64 = 10;
    /// The data directory of `serve` (journal and snapshots).
    pub const DATA_DIR: &str = "./data";
    /// Seconds between the state snapshots of the data directory.
    pub const STATE_SNAPSHOT_EVERY_S: u64 = 60;
}

/// Which side of the bus this process is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BusRole {
    /// Engines, simulator, journal and trading; no WebSocket clients.
    Engine,
    /// WebSocket clients and HTTP; the markets come from the engine.
    Gateway,
}

#[derive(Clone, Debug)]
pub struct BusConfig {
    /// The NATS server (`nats://127.0.0.1:4222`).
    pub url: String,
    pub role: BusRole,
    /// How long a symbol's state request to the engine may take
    /// (`--state-timeout-ms`).
    pub state_timeout: Duration,
}

impl BusConfig {
    pub fn new(url: &str, role: BusRole) -> BusConfig {
        BusConfig {
            url: url.to_string(),
            role,
            state_timeout: Duration::from_secs(2),
        }
    }
}

/// Everything `serve` needs; `Config::new` gives the defaults above.
#[derive(Clone, Debug)]
pub struct Config {
    pub instruments: Instruments,
    pub accounts: Accounts,
    /// Authentication failures that close a connection (1008).
    pub max_auth_failures: u32,
    pub seed: u64,
    /// Largest client message (larger: close 1009).
    pub max_message_bytes: usize,
    pub max_subscriptions: usize,
    /// The Binance dialect's REST weight per client address and minute
    /// (0: no limit).
    pub binance_weight_per_minute: u64,
    /// Requests per second per connection, and the burst allowed.
    pub requests_per_sec: f64,
    pub request_burst: f64,
    pub max_connections: usize,
    /// Serve `https://` and `wss://` with this (`tls::load`); `None`: plain.
    pub tls: Option<std::sync::Arc<tokio_rustls::rustls::ServerConfig>>,
    /// Tests only (never set from the command line): a client message of
    /// exactly this text panics in its connection's task, and an order with
    /// this client order id panics in its symbol's engine, so the tests
    /// can show what a panic does.
    #[doc(hidden)]
    pub panic_trigger: Option<String>,
    /// Most WebSocket connections from one client address (0: no limit).
    pub max_connections_per_ip: usize,
    /// New WebSocket connections a second from one client address, ten
    /// seconds' worth at once (0: no limit).
    pub connection_rate_per_ip: f64,
    /// How long a client may take to send an HTTP request's head (a
    /// slow one, slowloris-style, is dropped).
    pub header_timeout: Duration,
    pub lag: LagPolicy,
    pub ping_interval: Duration,
    pub idle_timeout: Duration,
    /// How long a closing connection may take to deliver its close frame.
    pub close_timeout: Duration,
    /// How long shutdown waits for connections to close.
    pub shutdown_grace: Duration,
    /// Serve the web UI from this directory instead of the copy embedded in
    /// the binary (`--web-dir`, for trying a fresh build).
    pub web_dir: Option<PathBuf>,
    /// Record every published message into this file (`serve --record`).
    pub record: Option<PathBuf>,
    /// Seconds between the book snapshots in a recording.
    pub record_snapshot_every_s: u64,
    /// Serve a recording instead of the simulated markets (`instruments`
    /// must then be the recording's, or those of them to serve).
    pub replay: Option<ReplayOptions>,
    /// Where the journal and the snapshots live (`None`: ephemeral, every
    /// acknowledged order is lost with the process).
    pub data_dir: Option<PathBuf>,
    /// Time between state snapshots (zero: only at shutdown).
    pub state_snapshot_every: Duration,
    /// Start from the newest good snapshot and the whole records before a
    /// damaged one, instead of refusing to start (`--from-last-snapshot`).
    pub from_last_snapshot: bool,
    /// A fault schedule every connection gets (`--faults`; `crate::faults`).
    pub faults: Option<FaultSpec>,
    /// Clients may set their own connection's faults (`{"op":"faults"}`,
    /// `--allow-fault-requests`): for testing clients only.
    pub allow_fault_requests: bool,
    /// A scripted scenario for the simulated markets (`--scenario`),
    /// timed from when the server opens.
    pub scenario: Option<Scenario>,
    /// Cluster mode: this process's side of the bus (`None`: `serve`, all
    /// in one process).
    pub bus: Option<BusConfig>,
}

impl Config {
    /// A cluster gateway: its markets and accounts are the engine's, over
    /// the bus.
    pub fn is_cluster_gateway(&self) -> bool {
        self.bus
            .as_ref()
            .is_some_and(|b| b.role == BusRole::Gateway)
    }

    pub fn new(instruments: Instruments, seed: u64) -> Config {
        Config {
            accounts: Accounts::demo(&instruments),
            max_auth_failures: defaults::MAX_AUTH_FAILURES,
            instruments,
            seed,
            max_message_bytes: defaults::MAX_MESSAGE_BYTES,
            max_subscriptions: defaults::MAX_SUBSCRIPTIONS,
            binance_weight_per_minute: defaults::BINANCE_WEIGHT_PER_MINUTE,
            requests_per_sec: defaults::REQUESTS_PER_SEC,
            request_burst: defaults::REQUEST_BURST,
            max_connections: defaults::MAX_CONNECTIONS,
            tls: None,
            panic_trigger: None,
            max_connections_per_ip: defaults::MAX_CONNECTIONS_PER_IP,
            connection_rate_per_ip: defaults::CONNECTION_RATE_PER_IP,
            header_timeout: Duration::from_secs(defaults::HEADER_TIMEOUT_S),
            lag: LagPolicy::default(),
            ping_interval: Duration::from_secs(defaults::PING_INTERVAL_S),
            idle_timeout: Duration::from_secs(defaults::IDLE_TIMEOUT_S),
            close_timeout: Duration::from_secs(defaults::CLOSE_TIMEOUT_S),
            shutdown_grace: Duration::from_secs(defaults::SHUTDOWN_GRACE_S),
            web_dir: None,
            record: None,
            record_snapshot_every_s: defaults::SNAPSHOT_EVERY_S,
            replay: None,
            data_dir: None,
            state_snapshot_every: Duration::from_secs(defaults::STATE_SNAPSHOT_EVERY_S),
            from_last_snapshot: false,
            faults: None,
            allow_fault_requests: false,
            scenario: None,
            bus: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::defaults;

    #[test]
    fn the_clients_default_url_is_the_servers_default_address() {
        assert_eq!(defaults::WS_URL, format!("ws://{}/ws", defaults::LISTEN));
    }
}
