//! `--faults SPEC` and `--allow-fault-requests` of `serve` and `replay`:
//! faults on demand for testing clients (`tickwire::faults`,
//! docs/testing.md).

use clap::Args;
use tickwire::faults::FaultSpec;
use tickwire::gateway::Config;

use super::{CliError, say};

#[derive(Args, Debug, Clone, Default)]
pub struct FaultArgs {
    /// Faults in every connection's market data, for testing clients
    /// (docs/testing.md), e.g. "seed=7;drop:book:3@after=100;close:abrupt@after=30s".
    #[arg(long)]
    faults: Option<String>,
    /// Let each client set its own connection's faults ({"op":"faults"}):
    /// for testing clients only, never on a server real clients use.
    #[arg(long)]
    allow_fault_requests: bool,
}

impl FaultArgs {
    /// Sets the faults of `config`, saying loudly that they are on.
    pub fn apply(&self, config: &mut Config) -> Result<(), CliError> {
        if let Some(text) = &self.faults {
            let spec = FaultSpec::parse(text).map_err(|e| CliError::option("--faults", e))?;
            if !spec.is_empty() {
                say!(
                    "FAULTS ON: every connection gets \"{}\" (seed {})",
                    spec.text,
                    spec.seed
                );
                config.faults = Some(spec);
            }
        }
        if self.allow_fault_requests {
            say!(
                "FAULT REQUESTS ON: clients may break their own connections ({{\"op\":\"faults\"}})"
            );
            config.allow_fault_requests = true;
        }
        Ok(())
    }
}
