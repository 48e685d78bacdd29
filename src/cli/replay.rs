//! `tickwire replay feed.jsonl.zst --speed 10`: a recording served over the
//! same protocol. The recording is opened once here (its header chooses the
//! instruments) and handed to the server for its first pass.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;
use tickwire::gateway::{Config, OpenedRecording, ReplayOptions, defaults};
use tickwire::instrument::Instruments;
use tickwire::record;

use super::{CliError, load_accounts, print_accounts, run_server, say};

#[derive(Args, Debug)]
pub struct ReplayCmd {
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
    #[arg(long, default_value = defaults::LISTEN)]
    listen: SocketAddr,
    /// Worker threads (default: one per core this process may run on).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=1024))]
    workers: Option<u16>,
    /// Paper trading: orders are taken and filled against the replayed
    /// book and trades (a queue-position model; docs/testing.md), with
    /// positions and P&L as live; the public streams do not change.
    #[arg(long)]
    paper: bool,
    /// Accounts file, as for serve: clients can authenticate; without
    /// --paper their orders are answered with replay_mode.
    #[arg(long)]
    accounts: Option<PathBuf>,
    #[command(flatten)]
    faults: super::faults::FaultArgs,
}

pub fn run(cmd: ReplayCmd) -> Result<(), CliError> {
    super::init_logs();
    let recording = record::open(&cmd.file)?;
    let header = &recording.header;
    let instruments = if cmd.symbols.is_empty() {
        header.instruments.clone()
    } else {
        let mut chosen = Vec::new();
        for symbol in &cmd.symbols {
            let found = header.instruments.get(symbol).cloned().ok_or_else(|| {
                let message = format!("{symbol} is not in {}", cmd.file.display());
                CliError::option("--symbols", message)
            })?;
            chosen.push(found);
        }
        Instruments::from_list(chosen).map_err(|e| CliError::option("--symbols", e))?
    };
    let time = |flag, text: &Option<String>| {
        text.as_deref()
            .map(|t| record::parse_time(t, header.start))
            .transpose()
            .map_err(|e| CliError::option(flag, e))
    };
    let (from, to) = (time("--from", &cmd.from)?, time("--to", &cmd.to)?);
    if !(cmd.speed.is_finite() && cmd.speed > 0.0) {
        let message = format!("{} must be a positive number", cmd.speed);
        return Err(CliError::option("--speed", message));
    }
    let (accounts, demo) = load_accounts(&cmd.accounts, &instruments)?;
    let mut config = Config::new(instruments, header.seed.unwrap_or(0));
    config.accounts = accounts.clone();
    cmd.faults.apply(&mut config)?;
    let speed = (!cmd.max_speed).then_some(cmd.speed);
    config.replay = Some(ReplayOptions {
        file: cmd.file.clone(),
        speed,
        from,
        to,
        paper: cmd.paper,
        repeat: cmd.repeat,
        wait_for: cmd.wait_for,
        opened: Some(OpenedRecording::new(recording)),
    });
    let file = cmd.file.display().to_string();
    run_server(cmd.listen, cmd.workers, config, move |address| {
        match speed {
            Some(speed) => say!("  replaying    {file} at x{speed}"),
            None => say!("  replaying    {file} as fast as the clients read"),
        }
        print_accounts(&accounts, demo, address);
    })
}
