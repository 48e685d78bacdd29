//! The tickwire binary. Until the gateway exists, `cargo run --release` runs
//! the simulated markets of the embedded instruments over a span of simulated
//! time, as fast as the machine allows, and prints what their books look like.
//!
//! ```text
//! cargo run --release                              # embedded defaults
//! cargo run --release -- --seed 42 --seconds 600   # a longer, repeatable run
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use tickwire::engine::{Event, Output};
use tickwire::instrument::{Instrument, Instruments};
use tickwire::market::Market;
use tickwire::types::{NANOS_PER_SEC, Side};

/// A simulated exchange feed. This build runs the simulated order books and
/// prints a summary (the WebSocket gateway comes next).
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Instruments file (TOML); the embedded feeds/default.toml if omitted.
    #[arg(long)]
    instruments: Option<PathBuf>,
    /// Seed of the simulated order flow (random if omitted; printed so a run
    /// can be repeated).
    #[arg(long)]
    seed: Option<u64>,
    /// Simulated seconds to run each symbol for.
    #[arg(long, default_value_t = 60)]
    seconds: u64,
}

/// What one symbol's run looked like.
#[derive(Default)]
struct Summary {
    events: u64,
    trades: u64,
    book_updates: u64,
    two_sided: u64,
    spread_ticks_total: i64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let instruments = match &args.instruments {
        Some(path) => match Instruments::load(path) {
            Ok(i) => i,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        },
        None => Instruments::embedded_default(),
    };
    let seed = args.seed.unwrap_or_else(rand::random);
    println!(
        "tickwire {}: simulating {} s of each symbol, seed {seed}",
        env!("CARGO_PKG_VERSION"),
        args.seconds
    );
    println!("(repeat this run with --seed {seed})\n");
    for instrument in instruments.iter() {
        run_symbol(instrument.clone(), seed, args.seconds);
    }
    ExitCode::SUCCESS
}

fn run_symbol(instrument: Instrument, seed: u64, seconds: u64) {
    let start = 1_700_000_000 * NANOS_PER_SEC;
    let end = start + seconds * NANOS_PER_SEC;
    let mut market = Market::new(instrument.clone(), seed, start);
    let mut out = Output::with_capacity(64);
    let mut summary = Summary::default();
    let clock = Instant::now();
    while market.next_sim_at() < end {
        out.clear();
        market.step_sim(&mut out);
        summary.events += 1;
        for event in &out.events {
            match event {
                Event::Trade { .. } => summary.trades += 1,
                Event::BookUpdate { .. } => summary.book_updates += 1,
                _ => {}
            }
        }
        let book = market.engine().book();
        if let (Some(bid), Some(ask)) = (book.best_bid(), book.best_ask()) {
            summary.two_sided += 1;
            summary.spread_ticks_total += ask.0 - bid.0;
        }
    }
    let elapsed = clock.elapsed().as_secs_f64();
    let book = market.engine().book();
    let fmt_price = |p: Option<tickwire::types::Price>| {
        p.map_or("-".to_string(), |p| instrument.format_price(p))
    };
    println!("{}", instrument.symbol);
    println!(
        "  events {} ({:.0}/s simulated, {:.0}/s on this machine), trades {}, book updates {}",
        summary.events,
        summary.events as f64 / seconds as f64,
        summary.events as f64 / elapsed.max(1e-9),
        summary.trades,
        summary.book_updates
    );
    println!(
        "  best bid {} / ask {}, last {}, fair value {}",
        fmt_price(book.best_bid()),
        fmt_price(book.best_ask()),
        fmt_price(market.engine().last_trade().map(|(p, _)| p)),
        fmt_price(Some(tickwire::types::Price(
            market.sim().fair_value().round() as i64
        )))
    );
    println!(
        "  depth {} bid levels, {} ask levels, {} orders; two-sided {:.1}% of the time, mean spread {:.2} ticks\n",
        book.level_count(Side::Buy),
        book.level_count(Side::Sell),
        book.order_count(),
        100.0 * summary.two_sided as f64 / summary.events.max(1) as f64,
        summary.spread_ticks_total as f64 / summary.two_sided.max(1) as f64
    );
}
