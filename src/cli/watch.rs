//! `tickwire watch BTC-USD ETH-USD`: a verified live view in the terminal
//! (JSON lines when piped).

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use tickwire::gateway::defaults;

use super::{CliError, client_runtime, duration};

#[derive(Args, Debug)]
pub struct WatchCmd {
    /// The server's WebSocket URL.
    #[arg(long, default_value = defaults::WS_URL)]
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
    /// Also write every message received to this file, one a line: a
    /// capture `tickwire import --format tickwire` turns into a recording.
    #[arg(long)]
    capture: Option<PathBuf>,
}

pub fn run(cmd: WatchCmd) -> Result<(), CliError> {
    use std::io::IsTerminal;
    let screen = std::io::stdout().is_terminal();
    let limit = cmd
        .duration
        .as_deref()
        .map(|text| duration("--duration", text))
        .transpose()?;
    let options = tickwire::watch::WatchOptions {
        url: cmd.url,
        symbols: cmd.symbols,
        channels: cmd.channels,
        duration: limit.map(Duration::from_nanos),
        screen,
        capture: cmd.capture,
    };
    let counters = client_runtime()?
        .block_on(tickwire::watch::run(options))
        .map_err(CliError::Client)?;
    if screen {
        println!("{}", counters.summary());
    } else {
        eprintln!("{}", counters.summary());
    }
    Ok(())
}
