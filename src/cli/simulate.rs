//! `tickwire simulate --seed 42 --duration 60s --out feed.jsonl.zst`: a
//! recording of the simulated markets, written as fast as possible.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use tickwire::gateway::defaults;
use tickwire::record::{self, RecordWriter, SimulateOptions};
use tickwire::types::NANOS_PER_SEC;

use super::{CliError, duration, load_instruments, say, scaled};

#[derive(Args, Debug)]
pub struct SimulateCmd {
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
    #[arg(long, default_value_t = defaults::SNAPSHOT_EVERY_S)]
    snapshot_every: u64,
    /// Engine time of the recording's start, ns since the Unix epoch.
    #[arg(long, default_value_t = 1_767_225_600_000_000_000)]
    start: u64,
    /// A scripted market scenario (TOML), timed from the recording's start.
    #[arg(long)]
    scenario: Option<PathBuf>,
}

pub fn run(cmd: SimulateCmd) -> Result<(), CliError> {
    use std::io::IsTerminal;
    let instruments = scaled(load_instruments(&cmd.instruments)?, cmd.rate_scale)?;
    let seed = cmd.seed.unwrap_or_else(rand::random);
    let duration_ns = duration("--duration", &cmd.duration)?;
    let scenario = match &cmd.scenario {
        Some(path) => Some(tickwire::scenario::Scenario::load(path, &instruments)?),
        None => None,
    };
    let options = SimulateOptions {
        scenario,
        instruments,
        seed,
        duration_ns,
        start: cmd.start,
        snapshot_every_s: cmd.snapshot_every,
    };
    let cannot = |source| CliError::Write {
        path: cmd.out.clone(),
        source,
    };
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
