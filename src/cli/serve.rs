//! `tickwire serve` (the default command): the simulated markets over HTTP
//! and WebSocket.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use tickwire::fanout::LagPolicy;
use tickwire::gateway::{Config, defaults};

use super::{CliError, load_accounts, load_instruments, print_accounts, run_server, say, scaled};

#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Address to listen on (HTTP and WebSocket on one port).
    #[arg(long, default_value = defaults::LISTEN)]
    listen: SocketAddr,
    /// Instruments file (TOML); the embedded feeds/default.toml if omitted.
    #[arg(long)]
    instruments: Option<PathBuf>,
    /// Seed of the simulated order flow (random if omitted; printed at start-up).
    #[arg(long)]
    seed: Option<u64>,
    /// Multiplies every symbol's simulated event rate.
    #[arg(long, default_value_t = 1.0)]
    rate_scale: f64,
    /// Most WebSocket connections at once.
    #[arg(long, default_value_t = defaults::MAX_CONNECTIONS)]
    max_connections: usize,
    /// Most subscriptions per connection.
    #[arg(long, default_value_t = defaults::MAX_SUBSCRIPTIONS)]
    max_subscriptions: usize,
    /// Largest client message in bytes (larger: close 1009).
    #[arg(long, default_value_t = defaults::MAX_MESSAGE_BYTES)]
    max_message_bytes: usize,
    /// Requests per second per connection.
    #[arg(long, default_value_t = defaults::REQUESTS_PER_SEC)]
    requests_per_sec: f64,
    /// Request burst per connection.
    #[arg(long, default_value_t = defaults::REQUEST_BURST)]
    request_burst: f64,
    /// Market-data bytes a connection may have queued before it lags.
    #[arg(long, default_value_t = LagPolicy::default().budget)]
    queue_budget: usize,
    /// Seconds between WebSocket pings.
    #[arg(long, default_value_t = defaults::PING_INTERVAL_S)]
    ping_interval: u64,
    /// Seconds of silence after which a connection is closed.
    #[arg(long, default_value_t = defaults::IDLE_TIMEOUT_S)]
    idle_timeout: u64,
    /// Accounts file (TOML, `[[account]]` with name and token); else the
    /// TICKWIRE_ACCOUNTS variable (name=token,...); else one demo account.
    #[arg(long)]
    accounts: Option<PathBuf>,
    /// Serve the web UI from this directory (a `vite build` output) instead
    /// of the copy embedded in the binary.
    #[arg(long)]
    web_dir: Option<PathBuf>,
    /// Record every published message into this file (.jsonl or .jsonl.zst).
    #[arg(long)]
    record: Option<PathBuf>,
    /// Seconds between book snapshots in a recording.
    #[arg(long, default_value_t = defaults::SNAPSHOT_EVERY_S)]
    snapshot_every: u64,
}

pub fn run(args: ServeArgs) -> Result<(), CliError> {
    super::init_logs();
    let instruments = scaled(load_instruments(&args.instruments)?, args.rate_scale)?;
    let seed = args.seed.unwrap_or_else(rand::random);
    let (accounts, demo) = load_accounts(&args.accounts, &instruments)?;
    let mut config = Config::new(instruments, seed);
    config.accounts = accounts.clone();
    config.max_connections = args.max_connections;
    config.max_subscriptions = args.max_subscriptions;
    config.max_message_bytes = args.max_message_bytes;
    config.requests_per_sec = args.requests_per_sec;
    config.request_burst = args.request_burst;
    config.lag = LagPolicy {
        budget: args.queue_budget,
        ..LagPolicy::default()
    };
    config.ping_interval = Duration::from_secs(args.ping_interval.max(1));
    config.idle_timeout = Duration::from_secs(args.idle_timeout.max(1));
    config.web_dir = args.web_dir;
    config.record = args.record.clone();
    config.record_snapshot_every_s = args.snapshot_every;
    run_server(args.listen, config, move |address| {
        say!("  seed         {seed} (repeat this run with --seed {seed})");
        if let Some(path) = &args.record {
            say!("  recording    {}", path.display());
        }
        print_accounts(&accounts, demo, address);
    })
}
