//! The tickwire binary.
//!
//! ```text
//! cargo run --release                                   # serve on 127.0.0.1:8080, embedded instruments
//! cargo run --release -- serve --seed 42 --rate-scale 10
//! cargo run --release -- summary --seed 42 --seconds 600  # simulate offline, print the books
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand};
use tickwire::client;
use tickwire::engine::{Event, Output};
use tickwire::fanout::LagPolicy;
use tickwire::gateway::{self, Config};
use tickwire::instrument::{Instrument, Instruments};
use tickwire::market::Market;
use tickwire::trading::Accounts;
use tickwire::types::{NANOS_PER_SEC, Price, Side};

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
    /// Simulate each symbol offline, as fast as possible, and print its book.
    Summary(SummaryArgs),
    /// Place an order and print its acknowledgement and fills as they come.
    Order(OrderCmd),
    /// Cancel an order.
    Cancel(CancelCmd),
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
    /// Directory of the built web UI served at `/`.
    #[arg(long, default_value = "clients/web/dist")]
    web_dir: PathBuf,
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

fn load_instruments(path: &Option<PathBuf>) -> Result<Instruments, String> {
    match path {
        Some(path) => Instruments::load(path).map_err(|e| e.to_string()),
        None => Ok(Instruments::embedded_default()),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Summary(args)) => summary(&args),
        Some(Command::Serve(args)) => serve(args),
        Some(Command::Order(cmd)) => trade_order(cmd),
        Some(Command::Cancel(cmd)) => trade_cancel(cmd),
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

fn serve(args: ServeArgs) -> Result<(), String> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let instruments = load_instruments(&args.instruments)?.with_rate_scale(args.rate_scale)?;
    let seed = args.seed.unwrap_or_else(rand::random);
    let (accounts, demo) = match (&args.accounts, std::env::var("TICKWIRE_ACCOUNTS")) {
        (Some(path), _) => (
            Accounts::load(path, &instruments).map_err(|e| e.to_string())?,
            false,
        ),
        (None, Ok(value)) => (Accounts::from_env_value(&value, &instruments)?, false),
        (None, Err(_)) => (Accounts::demo(&instruments), true),
    };
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
    config.web_dir = Some(args.web_dir);
    let runtime =
        tokio::runtime::Runtime::new().map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
        let address = listener.local_addr().map_err(|e| e.to_string())?;
        println!(
            "tickwire {} serving {} symbols",
            env!("CARGO_PKG_VERSION"),
            config.instruments.len()
        );
        println!("  web UI       http://{address}/");
        println!("  WebSocket    ws://{address}/ws");
        println!("  instruments  http://{address}/api/instruments");
        println!("  health       http://{address}/healthz");
        println!("  metrics      http://{address}/metrics");
        println!("  seed         {seed} (repeat this run with --seed {seed})");
        if demo && let Some(token) = accounts.token_of(0) {
            println!("  account      demo, token {token}");
            println!("  trade in the UI: http://{address}/#token={token}");
        } else {
            println!(
                "  accounts     {}",
                accounts
                    .iter()
                    .map(|a| a.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        gateway::serve(listener, config, gateway::shutdown_signal())
            .await
            .map_err(|e| e.to_string())
    })
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
        summarize_symbol(instrument.clone(), seed, args.seconds);
    }
    Ok(())
}

fn summarize_symbol(instrument: Instrument, seed: u64, seconds: u64) {
    let start = 1_700_000_000 * NANOS_PER_SEC;
    let end = start + seconds * NANOS_PER_SEC;
    let mut market = Market::new(instrument.clone(), seed, start);
    let mut out = Output::with_capacity(64);
    let (mut events, mut trades, mut updates, mut two_sided, mut spread_total) =
        (0u64, 0u64, 0u64, 0u64, 0i64);
    let clock = Instant::now();
    while market.next_sim_at() < end {
        out.clear();
        market.step_sim(&mut out);
        events += 1;
        for event in &out.events {
            match event {
                Event::Trade { .. } => trades += 1,
                Event::BookUpdate { .. } => updates += 1,
                _ => {}
            }
        }
        let book = market.engine().book();
        if let (Some(bid), Some(ask)) = (book.best_bid(), book.best_ask()) {
            two_sided += 1;
            spread_total += ask.0 - bid.0;
        }
    }
    let elapsed = clock.elapsed().as_secs_f64();
    let book = market.engine().book();
    let fmt_price = |p: Option<Price>| p.map_or("-".to_string(), |p| instrument.format_price(p));
    println!("{}", instrument.symbol);
    println!(
        "  events {events} ({:.0}/s simulated, {:.0}/s on this machine), trades {trades}, book updates {updates}",
        events as f64 / seconds.max(1) as f64,
        events as f64 / elapsed.max(1e-9),
    );
    println!(
        "  best bid {} / ask {}, last {}, fair value {}",
        fmt_price(book.best_bid()),
        fmt_price(book.best_ask()),
        fmt_price(market.engine().last_trade().map(|(p, _)| p)),
        fmt_price(Some(Price(market.sim().fair_value().round() as i64)))
    );
    println!(
        "  depth {} bid levels, {} ask levels, {} orders; two-sided {:.1}% of the time, mean spread {:.2} ticks\n",
        book.level_count(Side::Buy),
        book.level_count(Side::Sell),
        book.order_count(),
        100.0 * two_sided as f64 / events.max(1) as f64,
        spread_total as f64 / two_sided.max(1) as f64
    );
}
