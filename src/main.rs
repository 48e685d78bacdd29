//! The tickwire binary: parses the command line and runs the command
//! (`cli/`, a module per command).
//!
//! ```text
//! cargo run --release                                       # serve on 127.0.0.1:8080, embedded instruments
//! cargo run --release -- serve --seed 42 --record feed.jsonl.zst
//! cargo run --release -- simulate --seed 42 --duration 60s --out feed.jsonl.zst
//! cargo run --release -- replay feed.jsonl.zst --speed 10
//! cargo run --release -- import --format tardis book.csv.gz trades.csv.gz --instruments i.toml --out feed.jsonl.zst
//! cargo run --release -- order --token T buy BTC-USD 0.5 --limit 64000.50
//! cargo run --release -- summary --seed 42 --seconds 600    # simulate offline, print the books
//! cargo run --release -- watch BTC-USD ETH-USD               # a live ladder in the terminal
//! ```

mod cli;

use std::process::ExitCode;

use clap::Parser;
use cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command.unwrap_or(Command::Serve(cli.serve)) {
        Command::Serve(args) => cli::serve::run(args),
        Command::Engine(cmd) => cli::cluster::run_engine(cmd),
        Command::Gateway(cmd) => cli::cluster::run_gateway(cmd),
        Command::Simulate(cmd) => cli::simulate::run(cmd),
        Command::Replay(cmd) => cli::replay::run(cmd),
        Command::Import(cmd) => cli::import::run(cmd),
        Command::Order(cmd) => cli::trade::order(cmd),
        Command::Cancel(cmd) => cli::trade::cancel(cmd),
        Command::Amend(cmd) => cli::trade::amend(cmd),
        Command::CancelAll(cmd) => cli::trade::cancel_all(cmd),
        Command::Status(cmd) => cli::trade::status(cmd),
        Command::OpenOrders(cmd) => cli::trade::open_orders(cmd),
        Command::Account(cmd) => cli::trade::account(cmd),
        Command::Summary(args) => cli::summary::run(&args),
        Command::Loadgen(cmd) => cli::loadgen::run(cmd),
        Command::Watch(cmd) => cli::watch::run(cmd),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
