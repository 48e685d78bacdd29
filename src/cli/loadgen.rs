//! `tickwire loadgen --connections 1000 --duration 30s`: many connections
//! that subscribe (and trade) and measure what they receive.

use std::time::Duration;

use clap::Args;
use tickwire::gateway::defaults;

use super::{CliError, client_runtime, duration};

#[derive(Args, Debug)]
pub struct LoadgenCmd {
    /// The server's WebSocket URL (ws://IP:PORT/ws, or wss:// with --tls-ca).
    #[arg(long, default_value = defaults::WS_URL)]
    url: String,
    /// For a wss:// URL: the PEM certificate to trust, the server's own (a
    /// self-signed one) or the authority that signed it. It must name the
    /// URL's IP address.
    #[arg(long, value_name = "FILE")]
    tls_ca: Option<std::path::PathBuf>,
    #[arg(long, default_value_t = 100)]
    connections: usize,
    /// Symbols to subscribe to (comma-separated).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "BTC-USD,ETH-USD,SOL-USD,AAPL"
    )]
    symbols: Vec<String>,
    /// Channels to subscribe to (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "book,trades,ticker")]
    channels: Vec<String>,
    /// How long to measure.
    #[arg(long, default_value = "10s")]
    duration: String,
    /// Open the connections evenly over this time first.
    #[arg(long, default_value = "1s")]
    ramp: String,
    /// Extra connections that send orders (spread over the symbols).
    #[arg(long, default_value_t = 0)]
    traders: usize,
    /// Orders per second, over all traders (open loop).
    #[arg(long, default_value_t = 0.0)]
    orders_per_sec: f64,
    /// Account tokens for the traders, used in turn (comma-separated).
    #[arg(long, value_delimiter = ',', env = "TICKWIRE_TOKEN")]
    token: Vec<String>,
    /// Each connection subscribes to one of the symbols, in turn (a screen
    /// that shows one market), instead of to all of them.
    #[arg(long)]
    one_symbol_each: bool,
    /// How long after the ramp to wait for every subscription's answer
    /// before measuring without the unanswered connections.
    #[arg(long, default_value = "60s")]
    settle_timeout: String,
    /// Subscribe to the book's top N levels (10, 25, 100) instead of all.
    #[arg(long)]
    book_depth: Option<u32>,
    /// Subscribe to the book at most once per interval (100ms, 1s).
    #[arg(long)]
    book_interval: Option<String>,
    /// Poll the HTTP API (/api/book, /api/trades) at this interval instead
    /// of subscribing: each connection follows one symbol's book (at
    /// --book-depth) and trades.
    #[arg(long)]
    poll: Option<String>,
    /// The server's process id: report its CPU and memory (from /proc).
    #[arg(long)]
    server_pid: Option<u32>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// No progress lines on stderr.
    #[arg(long)]
    quiet: bool,
}

pub fn run(cmd: LoadgenCmd) -> Result<(), CliError> {
    let mut traders = cmd.traders;
    if cmd.orders_per_sec > 0.0 && traders == 0 {
        traders = 1;
    }
    let options = tickwire::loadgen::LoadOptions {
        url: cmd.url,
        tls_ca: cmd.tls_ca,
        connections: cmd.connections,
        symbols: cmd.symbols,
        channels: cmd.channels,
        duration: Duration::from_nanos(duration("--duration", &cmd.duration)?),
        ramp: Duration::from_nanos(duration("--ramp", &cmd.ramp)?),
        traders,
        orders_per_sec: cmd.orders_per_sec,
        tokens: cmd.token,
        server_pid: cmd.server_pid,
        progress: !cmd.quiet,
        one_symbol_each: cmd.one_symbol_each,
        settle_timeout: Duration::from_nanos(duration("--settle-timeout", &cmd.settle_timeout)?),
        book_depth: cmd.book_depth,
        book_interval: cmd.book_interval,
        poll: match &cmd.poll {
            Some(p) => Some(Duration::from_nanos(duration("--poll", p)?)),
            None => None,
        },
    };
    let report = client_runtime()?
        .block_on(tickwire::loadgen::run(options))
        .map_err(CliError::Client)?;
    if cmd.json {
        println!("{}", report.to_json());
    } else {
        print!("{}", report.to_table());
    }
    if report.connected == 0 {
        let message = "no connection could be opened: is the server running at --url?";
        return Err(CliError::Client(message.to_string()));
    }
    Ok(())
}
