//! `tickwire summary --seed 42 --seconds 600`: each symbol simulated offline,
//! as fast as possible, and its book printed.

use std::path::PathBuf;

use clap::Args;

use super::{CliError, load_instruments};

#[derive(Args, Debug)]
pub struct SummaryArgs {
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

pub fn run(args: &SummaryArgs) -> Result<(), CliError> {
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
