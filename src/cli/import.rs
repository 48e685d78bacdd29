//! `tickwire import --format tardis|binance|tickwire FILE... [--instruments
//! FILE] --out feed.jsonl.zst`: market data recorded elsewhere, as a
//! recording that `replay` serves.

use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, ValueEnum};
use tickwire::gateway::defaults;
use tickwire::import::{self, ImportOptions, import, parse_symbol_map};
use tickwire::instrument::Instruments;

use super::{CliError, say};

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Format {
    /// Tardis CSV: incremental_book_L2 and trades files, plain or gzip.
    Tardis,
    /// Binance: trades and aggTrades dumps (CSV, plain or zip), depthUpdate
    /// streams with REST snapshots captured as JSON lines.
    Binance,
    /// A capture of tickwire's own protocol (`tickwire watch --capture`).
    Tickwire,
}

#[derive(Args, Debug)]
pub struct ImportCmd {
    /// The source's format.
    #[arg(long, value_enum)]
    format: Format,
    /// The source files (a symbol's book and trades files together; they
    /// are merged in time order).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// The source symbol of Binance trade dumps whose file name does not
    /// say it (they are named SYMBOL-trades-DATE).
    #[arg(long)]
    symbol: Option<String>,
    /// The recording to write (.jsonl, or .jsonl.zst to compress).
    #[arg(long)]
    out: PathBuf,
    /// Instruments file (TOML) with every imported symbol's tick and lot
    /// sizes (after --symbol-map); if omitted, they are inferred from the
    /// data (the largest steps every price and quantity seen is a multiple of).
    #[arg(long)]
    instruments: Option<PathBuf>,
    /// Rename source symbols: BTCUSDT=BTC-USD,ETHUSDT=ETH-USD.
    #[arg(long, default_value = "")]
    symbol_map: String,
    /// Seconds between book snapshots in the recording.
    #[arg(long, default_value_t = defaults::SNAPSHOT_EVERY_S)]
    snapshot_every: u64,
}

pub fn run(cmd: ImportCmd) -> Result<(), CliError> {
    let options = ImportOptions {
        format: match cmd.format {
            Format::Tardis => import::Format::Tardis,
            Format::Binance => import::Format::Binance,
            Format::Tickwire => import::Format::Tickwire,
        },
        files: cmd.files,
        symbol: cmd.symbol,
        out: cmd.out,
        instruments: match &cmd.instruments {
            Some(path) => Some(Instruments::load(path)?),
            None => None,
        },
        symbol_map: parse_symbol_map(&cmd.symbol_map)
            .map_err(|e| CliError::option("--symbol-map", e))?,
        snapshot_every_s: cmd.snapshot_every,
    };
    let clock = Instant::now();
    let imported = import(&options)?;
    let stats = &imported.stats;
    let seconds = clock.elapsed().as_secs_f64();
    say!(
        "imported {} rows, {} events ({} book updates, {} trades, {} source snapshots) into {} in {seconds:.2} s = {:.0} rows/s",
        stats.rows,
        stats.events,
        stats.book_updates,
        stats.trades,
        stats.snapshots_in_source,
        options.out.display(),
        stats.rows as f64 / seconds.max(1e-9)
    );
    if stats.skipped_before_snapshot > 0 {
        say!(
            "  left out {} book changes before the first snapshot of their symbol (no book to apply them to)",
            stats.skipped_before_snapshot
        );
    }
    if stats.inferred_sides > 0 {
        say!(
            "  {} trades had no taker side: inferred from the book (at the ask a buy, at the bid a sell) or the tick rule",
            stats.inferred_sides
        );
    }
    if stats.snapshot_differences > 0 {
        say!(
            "  {} differed at the top of the book from the book rebuilt from the updates before them",
            count(stats.snapshot_differences, "source snapshot")
        );
    }
    if stats.gaps > 0 {
        say!(
            "  {} in the source's sequences, recorded as warnings (replay logs them):",
            count(stats.gaps, "gap")
        );
        for warning in &stats.warnings {
            say!("    {warning}");
        }
        if stats.gaps > stats.warnings.len() as u64 {
            say!("    ...");
        }
    }
    if !imported.inferred.is_empty() {
        say!(
            "  inferred from the data (give --instruments with the exchange's sizes to override):"
        );
        for i in imported
            .instruments
            .iter()
            .filter(|i| imported.inferred.contains(&i.symbol))
        {
            say!(
                "    {}: tick_size {}, lot_size {}, price_decimals {}, qty_decimals {}",
                i.symbol,
                i.tick_size,
                i.lot_size,
                i.price_decimals,
                i.qty_decimals
            );
        }
    }
    Ok(())
}

/// `1 gap`, `2 gaps`.
fn count(n: u64, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}
