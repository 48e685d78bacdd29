//! Cluster mode's two roles (`docs/cluster.md`): `tickwire engine` (the
//! markets, journal and trading of `serve`, publishing on NATS, taking no
//! WebSocket clients) and `tickwire gateway` (WebSocket clients and HTTP,
//! the markets from the engine over NATS).

use std::time::Duration;

use clap::Args;
use tickwire::gateway::{BusConfig, BusRole, Config};

use super::serve::{ConnectionArgs, ServeArgs};
use super::{CliError, run_server, say};

/// The NATS server of the cluster.
const DEFAULT_NATS: &str = "nats://127.0.0.1:4222";

#[derive(Args, Debug)]
pub struct EngineCmd {
    /// The NATS server (e.g. nats://127.0.0.1:4222).
    #[arg(long, default_value = DEFAULT_NATS)]
    nats: String,
    #[command(flatten)]
    serve: ServeArgs,
}

pub fn run_engine(cmd: EngineCmd) -> Result<(), CliError> {
    super::serve::run_with_bus(cmd.serve, Some(BusConfig::new(&cmd.nats, BusRole::Engine)))
}

#[derive(Args, Debug)]
pub struct GatewayCmd {
    /// The NATS server (e.g. nats://127.0.0.1:4222).
    #[arg(long, default_value = DEFAULT_NATS)]
    nats: String,
    /// Seconds to wait for the engine's instruments at start-up.
    #[arg(long, default_value_t = 30)]
    engine_wait: u64,
    /// Milliseconds to wait for the engine's answer to a symbol's state
    /// request (on the symbol's first subscription, after a gap or an
    /// outage) before its subscribers are told `stream_interrupted` and it
    /// asks again.
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u64).range(1..=600_000))]
    state_timeout_ms: u64,
    #[command(flatten)]
    connection: ConnectionArgs,
}

pub fn run_gateway(cmd: GatewayCmd) -> Result<(), CliError> {
    super::init_logs();
    let instruments = super::client_runtime()?
        .block_on(tickwire::gateway::bus::fetch_instruments(
            &cmd.nats,
            Duration::from_secs(cmd.engine_wait),
        ))
        .map_err(CliError::Server)?;
    let mut config = Config::new(instruments, 0);
    cmd.connection.apply(&mut config)?;
    let mut bus = BusConfig::new(&cmd.nats, BusRole::Gateway);
    bus.state_timeout = Duration::from_millis(cmd.state_timeout_ms);
    config.bus = Some(bus);
    let nats = cmd.nats.clone();
    run_server(
        cmd.connection.listen(),
        cmd.connection.workers(),
        config,
        move |_| {
            say!("  bus          {nats} (cluster gateway: the markets come from the engine)");
        },
    )
}
