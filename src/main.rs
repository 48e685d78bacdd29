//! The tickwire binary.
//!
//! ```text
//! cargo run --release                                       # serve on 127.0.0.1:8080, embedded instruments
//! cargo run --release -- serve --seed 42 --record feed.jsonl.zst
//! cargo run --release -- simulate --seed 42 --duration 60s --out feed.jsonl.zst
//! cargo run --release -- replay feed.jsonl.zst --speed 10
//! cargo run --release -- order --token T buy BTC-USD 0.5 --limit 64000.50
//! cargo run --release -- summary --seed 42 --seconds 600    # simulate offline, print the books
//! cargo run --release -- watch BTC-USD ETH-USD               # a live ladder in the terminal
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand};
use tickwire::client;
use tickwire::fanout::LagPolicy;
use tickwire::gateway::{self, Config, ReplayOptions};
use tickwire::instrument::Instruments;
use tickwire::record::{self, RecordWriter, SimulateOptions};
use tickwire::trading::Accounts;
use tickwire::types::NANOS_PER_SEC;

/// A simulated exchange feed: realistic order books streamed over WebSockets.
#[derive(Parser, Debug)]
#[command(version, about, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve the simulated markets over HTTP and WebSocket (the default).
    Serve(ServeArgs),
    /// Write a recording of the simulated markets, as fast as possible.
    Simulate(SimulateCmd),
    /// Serve a recording over the same protocol.
    Replay(ReplayCmd),
    /// Place an order and print its acknowledgement and fills as they come.
    Order(OrderCmd),
    /// Cancel an order.
    Cancel(CancelCmd),
    /// Simulate each symbol offline, as fast as possible, and print its book.
    Summary(SummaryArgs),
    /// Open many connections to a server and measure what they receive.
    Loadgen(LoadgenCmd),
    /// Watch symbols live in the terminal (JSON lines when piped), checking
    /// every seq and checksum.
    Watch(WatchCmd),
}

/// `tickwire watch BTC-USD ETH-USD`
#[derive(Args, Debug)]
struct WatchCmd {
    /// The server's WebSocket URL.
    #[arg(long, default_value = "ws://127.0.0.1:8080/ws")]
    url: String,
    /// Symbols to watch.
    #[arg(required = true)]
    symbols: Vec<String>,
    /// Channels to subscribe to (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "book,trades,ticker")]
    channels: Vec<String>,
    /// Stop after this long (30s, 5m); else at Ctrl-C.
    #[arg(long)]
    duration: Option<String>,
}

/// `tickwire loadgen --connections 1000 --duration 30s`
#[derive(Args, Debug)]
struct LoadgenCmd {
    /// The server's WebSocket URL (ws://IP:PORT/ws).
    #[arg(long, default_value = "ws://127.0.0.1:8080/ws")]
    url: String,
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

#[derive(Args, Debug, Clone)]
struct ServeArgs {
    /// Address to listen on (HTTP and WebSocket on one port).
    #[arg(long, default_value = "127.0.0.1:8080")]
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
    #[arg(long, default_value_t = 100_000)]
    max_connections: usize,
    /// Most subscriptions per connection.
    #[arg(long, default_value_t = 1000)]
    max_subscriptions: usize,
    /// Largest client message in bytes (larger: close 1009).
    #[arg(long, default_value_t = 64 * 1024)]
    max_message_bytes: usize,
    /// Requests per second per connection.
    #[arg(long, default_value_t = 50.0)]
    requests_per_sec: f64,
    /// Request burst per connection.
    #[arg(long, default_value_t = 100.0)]
    request_burst: f64,
    /// Market-data bytes a connection may have queued before it lags.
    #[arg(long, default_value_t = 4 * 1024 * 1024)]
    queue_budget: usize,
    /// Seconds between WebSocket pings.
    #[arg(long, default_value_t = 15)]
    ping_interval: u64,
    /// Seconds of silence after which a connection is closed.
    #[arg(long, default_value_t = 45)]
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
    #[arg(long, default_value_t = 10)]
    snapshot_every: u64,
}

/// `tickwire simulate --seed 42 --duration 60s --out feed.jsonl.zst`
#[derive(Args, Debug)]
struct SimulateCmd {
    /// Seed of the simulated order flow (random if omitted; printed).
    #[arg(long)]
    seed: Option<u64>,
    /// Simulated time to record: 60s, 10m, 1h...
    #[arg(long, default_value = "60s")]
    duration: String,
    /// The recording to write (.jsonl, or .jsonl.zst to compress).
    #[arg(long)]
    out: PathBuf,
    /// Instruments file (TOML); the embedded feeds/default.toml if omitted.
    #[arg(long)]
    instruments: Option<PathBuf>,
    /// Multiplies every symbol's simulated event rate.
    #[arg(long, default_value_t = 1.0)]
    rate_scale: f64,
    /// Seconds between book snapshots in the recording.
    #[arg(long, default_value_t = 10)]
    snapshot_every: u64,
    /// Engine time of the recording's start, ns since the Unix epoch.
    #[arg(long, default_value_t = 1_767_225_600_000_000_000)]
    start: u64,
}

/// `tickwire replay feed.jsonl.zst --speed 10`
#[derive(Args, Debug)]
struct ReplayCmd {
    /// The recording to serve.
    file: PathBuf,
    /// Times the recorded pace (1 keeps it).
    #[arg(long, default_value_t = 1.0)]
    speed: f64,
    /// As fast as the clients read.
    #[arg(long, conflicts_with = "speed")]
    max_speed: bool,
    /// Start here: a duration from the recording's start (90s) or engine
    /// time in ns.
    #[arg(long)]
    from: Option<String>,
    /// Stop here (same forms as --from).
    #[arg(long)]
    to: Option<String>,
    /// Serve only these symbols (comma-separated).
    #[arg(long, value_delimiter = ',')]
    symbols: Vec<String>,
    /// Start again at the end, announcing each new pass.
    #[arg(long = "loop")]
    repeat: bool,
    /// With --max-speed: start once this many connections have subscribed.
    #[arg(long, default_value_t = 1)]
    wait_for: usize,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Accounts file, as for serve: clients can authenticate, and their
    /// orders are answered with replay_mode.
    #[arg(long)]
    accounts: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct Connection {
    /// The server's WebSocket URL.
    #[arg(long, default_value = "ws://127.0.0.1:8080/ws")]
    url: String,
    /// The account's token (or the TICKWIRE_TOKEN variable).
    #[arg(long, env = "TICKWIRE_TOKEN", hide_env_values = true)]
    token: String,
}

/// `tickwire order buy BTC-USD 0.5 --limit 64000.50`
#[derive(Args, Debug)]
struct OrderCmd {
    #[command(flatten)]
    connection: Connection,
    /// buy or sell
    side: String,
    symbol: String,
    qty: String,
    /// Limit price; without it, a market order.
    #[arg(long)]
    limit: Option<String>,
    /// gtc, ioc or fok.
    #[arg(long)]
    tif: Option<String>,
    #[arg(long)]
    post_only: bool,
    #[arg(long)]
    client_order_id: Option<String>,
    /// Stop at the acknowledgement instead of following the order until it
    /// is done (the order stays open).
    #[arg(long)]
    no_follow: bool,
}

/// `tickwire cancel BTC-USD BTC-USD:42`
#[derive(Args, Debug)]
struct CancelCmd {
    #[command(flatten)]
    connection: Connection,
    symbol: String,
    /// The order id (as in order_accepted).
    order_id: Option<String>,
    #[arg(long)]
    client_order_id: Option<String>,
}

#[derive(Args, Debug)]
struct SummaryArgs {
    /// Instruments file (TOML); the embedded feeds/default.toml if omitted.
    #[arg(long)]
    instruments: Option<PathBuf>,
    /// Seed of the simulated order flow (random if omitted).
    #[arg(long)]
    seed: Option<u64>,
    /// Simulated seconds to run each symbol for.
    #[arg(long, default_value_t = 60)]
    seconds: u64,
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

fn load_instruments(path: &Option<PathBuf>) -> Result<Instruments, String> {
    match path {
        Some(path) => Instruments::load(path).map_err(|e| e.to_string()),
        None => Ok(Instruments::embedded_default()),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Serve(args)) => serve(args),
        Some(Command::Simulate(cmd)) => simulate(cmd),
        Some(Command::Replay(cmd)) => replay(cmd),
        Some(Command::Order(cmd)) => trade_order(cmd),
        Some(Command::Cancel(cmd)) => trade_cancel(cmd),
        Some(Command::Summary(args)) => summary(&args),
        Some(Command::Loadgen(cmd)) => loadgen(cmd),
        Some(Command::Watch(cmd)) => watch(cmd),
        None => serve(cli.serve),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn init_logs() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
}

fn serve(args: ServeArgs) -> Result<(), String> {
    init_logs();
    let instruments = load_instruments(&args.instruments)?.with_rate_scale(args.rate_scale)?;
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

/// The accounts of `--accounts FILE`, else of `TICKWIRE_ACCOUNTS`, else one
/// demo account with a random token (`true`: the demo).
fn load_accounts(
    path: &Option<PathBuf>,
    instruments: &Instruments,
) -> Result<(Accounts, bool), String> {
    Ok(match (path, std::env::var("TICKWIRE_ACCOUNTS")) {
        (Some(path), _) => (
            Accounts::load(path, instruments).map_err(|e| e.to_string())?,
            false,
        ),
        (None, Ok(value)) => (Accounts::from_env_value(&value, instruments)?, false),
        (None, Err(_)) => (Accounts::demo(instruments), true),
    })
}

fn print_accounts(accounts: &Accounts, demo: bool, address: SocketAddr) {
    if demo && let Some(token) = accounts.token_of(0) {
        say!("  account      demo, token {token}");
        say!("  trade in the UI: http://{address}/#token={token}");
    } else {
        let names: Vec<&str> = accounts.iter().map(|a| a.name.as_str()).collect();
        say!("  accounts     {}", names.join(", "));
    }
}

/// Binds, prints the URLs (and what `extra` adds), and serves until Ctrl-C
/// or SIGTERM.
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

fn run_server(
    listen: SocketAddr,
    config: Config,
    extra: impl FnOnce(SocketAddr),
) -> Result<(), String> {
    let runtime =
        tokio::runtime::Runtime::new().map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(async move {
        let listener = listen_on(listen).map_err(|e| format!("cannot listen on {listen}: {e}"))?;
        let address = listener.local_addr().map_err(|e| e.to_string())?;
        say!(
            "tickwire {} serving {} symbols",
            env!("CARGO_PKG_VERSION"),
            config.instruments.len()
        );
        say!("  web UI       http://{address}/");
        say!("  WebSocket    ws://{address}/ws");
        say!("  instruments  http://{address}/api/instruments");
        say!("  health       http://{address}/healthz");
        say!("  metrics      http://{address}/metrics");
        extra(address);
        gateway::serve(listener, config, gateway::shutdown_signal())
            .await
            .map_err(|e| e.to_string())
    })
}

fn simulate(cmd: SimulateCmd) -> Result<(), String> {
    use std::io::IsTerminal;
    let instruments = load_instruments(&cmd.instruments)?.with_rate_scale(cmd.rate_scale)?;
    let seed = cmd.seed.unwrap_or_else(rand::random);
    let duration_ns = record::parse_duration(&cmd.duration)?;
    let options = SimulateOptions {
        instruments,
        seed,
        duration_ns,
        start: cmd.start,
        snapshot_every_s: cmd.snapshot_every,
    };
    let cannot = |e: std::io::Error| format!("cannot write {}: {e}", cmd.out.display());
    let mut writer = RecordWriter::create(&cmd.out).map_err(cannot)?;
    let bar = std::io::stderr()
        .is_terminal()
        .then(|| indicatif::ProgressBar::new(duration_ns / NANOS_PER_SEC));
    let clock = Instant::now();
    let stats = record::simulate(&options, &mut writer, |done| {
        if let Some(bar) = &bar {
            bar.set_position(done / NANOS_PER_SEC);
        }
    })
    .map_err(cannot)?;
    drop(writer);
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let elapsed = clock.elapsed().as_secs_f64();
    say!(
        "{}: {} events, {} messages, {} simulated s, seed {seed}, in {elapsed:.2} s ({:.0} events/s)",
        cmd.out.display(),
        stats.events,
        stats.messages,
        duration_ns / NANOS_PER_SEC,
        stats.events as f64 / elapsed.max(1e-9)
    );
    Ok(())
}

fn replay(cmd: ReplayCmd) -> Result<(), String> {
    init_logs();
    let header = record::open(&cmd.file).map_err(|e| e.to_string())?.header;
    let instruments =
        if cmd.symbols.is_empty() {
            header.instruments.clone()
        } else {
            let mut chosen = Vec::new();
            for symbol in &cmd.symbols {
                let found = header.instruments.get(symbol);
                chosen.push(found.cloned().ok_or_else(|| {
                    format!("--symbols: {symbol} is not in {}", cmd.file.display())
                })?);
            }
            Instruments::from_list(chosen)?
        };
    let from = cmd
        .from
        .as_deref()
        .map(|t| record::parse_time(t, header.start))
        .transpose()?;
    let to = cmd
        .to
        .as_deref()
        .map(|t| record::parse_time(t, header.start))
        .transpose()?;
    if !(cmd.speed.is_finite() && cmd.speed > 0.0) {
        return Err(format!("--speed {} must be a positive number", cmd.speed));
    }
    let (accounts, demo) = load_accounts(&cmd.accounts, &instruments)?;
    let mut config = Config::new(instruments, header.seed.unwrap_or(0));
    config.accounts = accounts.clone();
    let speed = (!cmd.max_speed).then_some(cmd.speed);
    config.replay = Some(ReplayOptions {
        file: cmd.file.clone(),
        speed,
        from,
        to,
        repeat: cmd.repeat,
        wait_for: cmd.wait_for,
    });
    let file = cmd.file.display().to_string();
    run_server(cmd.listen, config, move |address| {
        match speed {
            Some(speed) => say!("  replaying    {file} at x{speed}"),
            None => say!("  replaying    {file} as fast as the clients read"),
        }
        print_accounts(&accounts, demo, address);
    })
}

fn loadgen(cmd: LoadgenCmd) -> Result<(), String> {
    let mut traders = cmd.traders;
    if cmd.orders_per_sec > 0.0 && traders == 0 {
        traders = 1;
    }
    let options = tickwire::loadgen::LoadOptions {
        url: cmd.url,
        connections: cmd.connections,
        symbols: cmd.symbols,
        channels: cmd.channels,
        duration: Duration::from_nanos(record::parse_duration(&cmd.duration)?),
        ramp: Duration::from_nanos(record::parse_duration(&cmd.ramp)?),
        traders,
        orders_per_sec: cmd.orders_per_sec,
        tokens: cmd.token,
        server_pid: cmd.server_pid,
        progress: !cmd.quiet,
        one_symbol_each: cmd.one_symbol_each,
    };
    // One thread: the generator is measured (and pinned) as one core.
    let report = client_runtime()?.block_on(tickwire::loadgen::run(options))?;
    if cmd.json {
        println!("{}", report.to_json());
    } else {
        print!("{}", report.to_table());
    }
    if report.connected == 0 {
        return Err("no connection could be opened".to_string());
    }
    Ok(())
}

fn watch(cmd: WatchCmd) -> Result<(), String> {
    use std::io::IsTerminal;
    let screen = std::io::stdout().is_terminal();
    let options = tickwire::watch::WatchOptions {
        url: cmd.url,
        symbols: cmd.symbols,
        channels: cmd.channels,
        duration: cmd
            .duration
            .as_deref()
            .map(record::parse_duration)
            .transpose()?
            .map(Duration::from_nanos),
        screen,
    };
    let counters = client_runtime()?.block_on(tickwire::watch::run(options))?;
    if screen {
        println!("{}", counters.summary());
    } else {
        eprintln!("{}", counters.summary());
    }
    Ok(())
}

fn client_runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))
}

fn trade_order(cmd: OrderCmd) -> Result<(), String> {
    let args = client::OrderArgs {
        side: cmd.side,
        symbol: cmd.symbol,
        qty: cmd.qty,
        limit: cmd.limit,
        tif: cmd.tif,
        post_only: cmd.post_only,
        client_order_id: cmd.client_order_id,
        follow: !cmd.no_follow,
    };
    let (url, token) = (cmd.connection.url, cmd.connection.token);
    client_runtime()?.block_on(client::order(&url, &token, &args, |line| {
        println!("{line}")
    }))
}

fn trade_cancel(cmd: CancelCmd) -> Result<(), String> {
    let args = client::CancelArgs {
        symbol: cmd.symbol,
        order_id: cmd.order_id,
        client_order_id: cmd.client_order_id,
    };
    let (url, token) = (cmd.connection.url, cmd.connection.token);
    client_runtime()?.block_on(client::cancel(&url, &token, &args, |line| {
        println!("{line}")
    }))
}

fn summary(args: &SummaryArgs) -> Result<(), String> {
    let instruments = load_instruments(&args.instruments)?;
    let seed = args.seed.unwrap_or_else(rand::random);
    println!(
        "tickwire {}: simulating {} s of each symbol, seed {seed}",
        env!("CARGO_PKG_VERSION"),
        args.seconds
    );
    println!("(repeat this run with --seed {seed})\n");
    for instrument in instruments.iter() {
        println!(
            "{}",
            tickwire::summary::summarize_symbol(instrument.clone(), seed, args.seconds)
        );
    }
    Ok(())
}
