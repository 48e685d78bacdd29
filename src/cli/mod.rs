//! The commands of the binary: each one's arguments and run function in a
//! module of its own; what several share (instruments, accounts, the
//! runtime, the server's banner) here.

pub mod cluster;
pub mod error;
pub mod faults;
pub mod import;
pub mod loadgen;
pub mod replay;
pub mod serve;
pub mod simulate;
pub mod summary;
pub mod trade;
pub mod watch;

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use tickwire::gateway::{self, Config};
use tickwire::instrument::Instruments;
use tickwire::trading::Accounts;

pub use error::CliError;

/// A simulated exchange feed: realistic order books streamed over WebSockets.
#[derive(Parser, Debug)]
#[command(version, about, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub serve: serve::ServeArgs,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve the simulated markets over HTTP and WebSocket (the default).
    Serve(serve::ServeArgs),
    /// A cluster's engine: the markets of `serve`, published on NATS for
    /// its gateways (docs/cluster.md); no WebSocket clients.
    Engine(cluster::EngineCmd),
    /// A cluster's gateway: WebSocket clients and HTTP, the markets from
    /// the engine over NATS (docs/cluster.md).
    Gateway(cluster::GatewayCmd),
    /// Write a recording of the simulated markets, as fast as possible.
    Simulate(simulate::SimulateCmd),
    /// Serve a recording over the same protocol.
    Replay(replay::ReplayCmd),
    /// Convert market data recorded elsewhere (Tardis CSV) into a recording.
    Import(import::ImportCmd),
    /// Place an order and print its acknowledgement and fills as they come.
    Order(trade::OrderCmd),
    /// Cancel an order.
    Cancel(trade::CancelCmd),
    /// Change a resting order's quantity and/or price.
    Amend(trade::AmendCmd),
    /// Cancel every open order (of one symbol, or all).
    CancelAll(trade::CancelAllCmd),
    /// An order's state: open, or done within the last 24 hours.
    Status(trade::StatusCmd),
    /// List the account's open orders.
    OpenOrders(trade::OpenOrdersCmd),
    /// The account's cash, positions and P&L.
    Account(trade::AccountCmd),
    /// Simulate each symbol offline, as fast as possible, and print its book.
    Summary(summary::SummaryArgs),
    /// Open many connections to a server and measure what they receive.
    Loadgen(loadgen::LoadgenCmd),
    /// Watch symbols live in the terminal (JSON lines when piped), checking
    /// every seq and checksum.
    Watch(watch::WatchCmd),
}

/// A line of the server's start-up banner. A server whose stdout was closed
/// (`tickwire serve | head -3`) goes on serving rather than dying on its
/// next line.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}
pub(crate) use say;

/// The instruments of `--instruments FILE`, else the embedded ones.
pub fn load_instruments(path: &Option<PathBuf>) -> Result<Instruments, CliError> {
    Ok(match path {
        Some(path) => Instruments::load(path)?,
        None => Instruments::embedded_default(),
    })
}

/// `--rate-scale` applied to instruments.
pub fn scaled(instruments: Instruments, scale: f64) -> Result<Instruments, CliError> {
    instruments
        .with_rate_scale(scale)
        .map_err(|e| CliError::option("--rate-scale", e))
}

/// The accounts of `--accounts FILE`, else of `TICKWIRE_ACCOUNTS`, else one
/// demo account with a random token (`true`: the demo).
pub fn load_accounts(
    path: &Option<PathBuf>,
    instruments: &Instruments,
) -> Result<(Accounts, bool), CliError> {
    Ok(match (path, std::env::var("TICKWIRE_ACCOUNTS")) {
        (Some(path), _) => (Accounts::load(path, instruments)?, false),
        (None, Ok(value)) => (
            Accounts::from_env_value(&value, instruments).map_err(CliError::AccountsVariable)?,
            false,
        ),
        (None, Err(_)) => (Accounts::demo(instruments), true),
    })
}

pub fn print_accounts(accounts: &Accounts, demo: bool, address: SocketAddr) {
    if demo && let Some(token) = accounts.token_of(0) {
        say!("  account      demo, token {token}");
        say!("  trade in the UI: http://{address}/#token={token}");
    } else {
        let names: Vec<&str> = accounts.iter().map(|a| a.name.as_str()).collect();
        say!("  accounts     {}", names.join(", "));
    }
}

pub fn init_logs() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
}

/// One thread: the clients (order, cancel, watch, loadgen) are measured
/// and pinned as one core.
pub fn client_runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(CliError::Runtime)
}

/// A listener with a deep accept queue: thousands of clients connecting at
/// once (a reconnect storm, a load test) wait in it instead of having their
/// SYNs dropped and retried seconds later. The kernel caps it at somaxconn.
fn listen_on(listen: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if listen.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(listen)?;
    socket.listen(4096)
}

/// Binds, prints the URLs (and what `extra` adds), and serves until Ctrl-C
/// or SIGTERM.
pub fn run_server(
    listen: SocketAddr,
    workers: Option<u16>,
    config: Config,
    extra: impl FnOnce(SocketAddr) + Send,
) -> Result<(), CliError> {
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(workers) = workers {
        runtime.worker_threads(usize::from(workers));
    }
    let runtime = runtime.enable_all().build().map_err(CliError::Runtime)?;
    runtime.block_on(async move {
        let listener = listen_on(listen).map_err(|source| CliError::Listen {
            address: listen,
            source,
        })?;
        let address = listener.local_addr().map_err(CliError::Server)?;
        let symbols = config.instruments.len();
        // A cluster's engine takes no WebSocket clients.
        let clients = config
            .bus
            .as_ref()
            .is_none_or(|b| b.role != gateway::BusRole::Engine);
        let (http, ws) = match config.tls {
            Some(_) => ("https", "wss"),
            None => ("http", "ws"),
        };
        let banner = move || {
            say!(
                "tickwire {} serving {symbols} symbols",
                env!("CARGO_PKG_VERSION"),
            );
            if clients {
                say!("  web UI       {http}://{address}/");
                say!("  WebSocket    {ws}://{address}/ws");
            } else {
                say!("  WebSocket    none: a cluster engine; clients connect to its gateways");
            }
            say!("  instruments  {http}://{address}/api/instruments");
            say!("  health       {http}://{address}/healthz");
            say!("  metrics      {http}://{address}/metrics");
            extra(address);
        };
        gateway::serve_with(listener, config, gateway::shutdown_signal(), banner)
            .await
            .map_err(CliError::Server)
    })
}

/// A duration option (`60s`, `500ms`), in nanoseconds.
pub fn duration(flag: &'static str, text: &str) -> Result<u64, CliError> {
    tickwire::record::parse_duration(text).map_err(|e| CliError::option(flag, e))
}
