//! `tickwire serve` (the default command): the simulated markets over HTTP
//! and WebSocket.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use tickwire::fanout::LagPolicy;
use tickwire::gateway::{BusConfig, Config, defaults};

use super::{CliError, load_accounts, load_instruments, print_accounts, run_server, say, scaled};

/// What every process that takes WebSocket clients is told: `serve` and a
/// cluster's `gateway`.
#[derive(Args, Debug, Clone)]
pub struct ConnectionArgs {
    /// Address to listen on (HTTP and WebSocket on one port).
    #[arg(long, default_value = defaults::LISTEN)]
    listen: SocketAddr,
    /// Most WebSocket connections at once.
    #[arg(long, default_value_t = defaults::MAX_CONNECTIONS)]
    max_connections: usize,
    /// Most WebSocket connections from one client address, past which an
    /// upgrade is answered 429 (0: no limit).
    #[arg(long, default_value_t = defaults::MAX_CONNECTIONS_PER_IP)]
    max_connections_per_ip: usize,
    /// New WebSocket connections a second from one client address (ten
    /// seconds' worth at once), past which an upgrade is answered 429 with
    /// Retry-After (0: no limit).
    #[arg(long, default_value_t = defaults::CONNECTION_RATE_PER_IP)]
    connection_rate_per_ip: f64,
    /// Seconds a client may take to send an HTTP request's head before
    /// the connection is dropped (slow, slowloris-style clients).
    #[arg(long, default_value_t = defaults::HEADER_TIMEOUT_S)]
    header_timeout: u64,
    /// Worker threads (default: one per core this process may run on).
    /// Each writes to its share of the connections.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=1024))]
    workers: Option<u16>,
    /// Most subscriptions per connection.
    #[arg(long, default_value_t = defaults::MAX_SUBSCRIPTIONS)]
    max_subscriptions: usize,
    /// The Binance dialect's REST request weight per client address and
    /// minute, past which it answers 429 (0: no limit; load tests).
    #[arg(long, default_value_t = defaults::BINANCE_WEIGHT_PER_MINUTE)]
    binance_weight_per_minute: u64,
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
    /// Serve https:// and wss:// on the listening port with this
    /// certificate chain (PEM); needs --tls-key.
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Serve the web UI from this directory (a `vite build` output) instead
    /// of the copy embedded in the binary.
    #[arg(long)]
    web_dir: Option<PathBuf>,
}

impl ConnectionArgs {
    pub fn listen(&self) -> SocketAddr {
        self.listen
    }

    pub fn workers(&self) -> Option<u16> {
        self.workers
    }

    /// The connection side's settings.
    pub fn apply(&self, config: &mut Config) -> Result<(), CliError> {
        if let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) {
            config.tls = Some(
                tickwire::gateway::tls::load(cert, key)
                    .map_err(|message| CliError::option("--tls-cert", message))?,
            );
        }
        config.max_connections = self.max_connections;
        config.max_connections_per_ip = self.max_connections_per_ip;
        if !(self.connection_rate_per_ip >= 0.0 && self.connection_rate_per_ip.is_finite()) {
            return Err(CliError::option(
                "--connection-rate-per-ip",
                format!(
                    "{} is not a rate: give connections a second, 0 or more",
                    self.connection_rate_per_ip
                ),
            ));
        }
        config.connection_rate_per_ip = self.connection_rate_per_ip;
        config.header_timeout = Duration::from_secs(self.header_timeout.max(1));
        config.max_subscriptions = self.max_subscriptions;
        config.binance_weight_per_minute = self.binance_weight_per_minute;
        config.max_message_bytes = self.max_message_bytes;
        config.requests_per_sec = self.requests_per_sec;
        config.request_burst = self.request_burst;
        config.lag = LagPolicy {
            budget: self.queue_budget,
            ..LagPolicy::default()
        };
        config.ping_interval = Duration::from_secs(self.ping_interval.max(1));
        config.idle_timeout = Duration::from_secs(self.idle_timeout.max(1));
        config.web_dir = self.web_dir.clone();
        Ok(())
    }
}

#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Instruments file (TOML); the embedded feeds/default.toml if omitted.
    #[arg(long)]
    instruments: Option<PathBuf>,
    /// Seed of the simulated order flow (random if omitted; printed at start-up).
    #[arg(long)]
    seed: Option<u64>,
    /// Multiplies every symbol's simulated event rate.
    #[arg(long, default_value_t = 1.0)]
    rate_scale: f64,
    /// Accounts file (TOML, `[[account]]` with name and token); else the
    /// TICKWIRE_ACCOUNTS variable (name=token,...); else one demo account.
    #[arg(long)]
    accounts: Option<PathBuf>,
    /// Record every published message into this file (.jsonl or .jsonl.zst).
    #[arg(long)]
    record: Option<PathBuf>,
    /// Seconds between book snapshots in a recording.
    #[arg(long, default_value_t = defaults::SNAPSHOT_EVERY_S)]
    snapshot_every: u64,
    /// Where the journal and snapshots are kept (created if missing; one
    /// server per directory). Orders, fills, positions and every stream's
    /// seq survive a crash or a restart.
    #[arg(long, default_value = defaults::DATA_DIR, conflicts_with = "ephemeral")]
    data_dir: PathBuf,
    /// Keep nothing: no journal, no snapshots; everything acknowledged is
    /// lost when the process stops.
    #[arg(long)]
    ephemeral: bool,
    /// Seconds between state snapshots of the data directory (0: only at
    /// shutdown); recovery replays the journal after the newest one.
    #[arg(long, default_value_t = defaults::STATE_SNAPSHOT_EVERY_S)]
    state_snapshot_every: u64,
    /// If the journal is damaged before its end, start from the newest good
    /// snapshot and the whole records before the damage (what follows is
    /// lost; the damaged segments are kept as *.damaged) instead of
    /// refusing to start.
    #[arg(long)]
    from_last_snapshot: bool,
    /// A scripted market scenario (TOML; feeds/scenarios/ has some), timed
    /// from the opening. The server is then ephemeral.
    #[arg(long, conflicts_with = "data_dir")]
    scenario: Option<PathBuf>,
    #[command(flatten)]
    faults: super::faults::FaultArgs,
}

pub fn run(args: ServeArgs) -> Result<(), CliError> {
    run_with_bus(args, None)
}

/// `serve`, or a cluster's engine when given its bus (`tickwire engine`).
pub fn run_with_bus(args: ServeArgs, bus: Option<BusConfig>) -> Result<(), CliError> {
    super::init_logs();
    let instruments = scaled(load_instruments(&args.instruments)?, args.rate_scale)?;
    let scenario = match &args.scenario {
        Some(path) => Some(tickwire::scenario::Scenario::load(path, &instruments)?),
        None => None,
    };
    // A scripted market is for a test session: nothing to keep.
    let data_dir = (!args.ephemeral && scenario.is_none()).then(|| args.data_dir.clone());
    // A data directory keeps its seed: without --seed, use the one it has.
    let saved_seed = data_dir
        .as_deref()
        .and_then(tickwire::gateway::durability::saved_seed);
    let seed = args.seed.or(saved_seed).unwrap_or_else(rand::random);
    let (accounts, demo) = load_accounts(&args.accounts, &instruments)?;
    let mut config = Config::new(instruments, seed);
    config.accounts = accounts.clone();
    args.faults.apply(&mut config)?;
    if let Some(scenario) = scenario {
        say!(
            "scenario \"{}\": {} timed changes from the opening (an ephemeral server: nothing is kept)",
            scenario.name,
            scenario.changes()
        );
        config.scenario = Some(scenario);
    }
    args.connection.apply(&mut config)?;
    let bus_url = bus.as_ref().map(|b| b.url.clone());
    config.bus = bus;
    config.record = args.record.clone();
    config.record_snapshot_every_s = args.snapshot_every;
    config.data_dir = data_dir.clone();
    config.state_snapshot_every = Duration::from_secs(args.state_snapshot_every);
    config.from_last_snapshot = args.from_last_snapshot;
    if data_dir.is_none() {
        tracing::warn!(
            "--ephemeral: no journal; every order, fill and position is lost when this process stops"
        );
    }
    run_server(
        args.connection.listen(),
        args.connection.workers(),
        config,
        move |address| {
            match (&data_dir, saved_seed.is_some() && args.seed.is_none()) {
                (Some(_), true) => say!("  seed         {seed} (the data directory's)"),
                _ => say!("  seed         {seed} (repeat this run with --seed {seed})"),
            }
            match &data_dir {
                Some(dir) => say!("  data dir     {} (journal and snapshots)", dir.display()),
                None => say!(
                    "  EPHEMERAL    no data directory: every order, fill and position is lost when this process stops"
                ),
            }
            if let Some(path) = &args.record {
                say!("  recording    {}", path.display());
            }
            print_accounts(&accounts, demo, address);
            if let Some(url) = &bus_url {
                say!("  bus          {url} (cluster engine: clients connect to its gateways)");
            }
        },
    )
}
