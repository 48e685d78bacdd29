//! Taking snapshots while serving. Every symbol task is asked to pause
//! between inputs (after its queued effects have gone); once all have,
//! nobody appends to the journal or books an account, so their states and
//! the accounts form one consistent cut. The journal then rotates to a new
//! segment (the snapshot's number), the tasks resume, and the snapshot is
//! encoded and written off the runtime. A pause lasts a clone of each
//! market and account; the writing does not hold anyone.
//!
//! Two snapshots are kept, with the segments from the older one on, so a
//! damaged newest snapshot can still be recovered from; older files go
//! once a newer snapshot is durable.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::RecoveryError;
use super::state::{AccountState, ServerState, SymbolState, VERSION};
use crate::gateway::commands::SymbolCommand;
use crate::gateway::market::live::LiveSymbol;
use crate::gateway::shared::Shared;
use crate::journal::{DataDir, Journal, snapshot};

pub struct Snapshots {
    dir: Arc<DataDir>,
    journal: Arc<Journal>,
    /// The newest durable snapshot (= the segment being written).
    current: u64,
    /// The one before it, kept with its segments.
    previous: u64,
}

/// The accounts' part of a snapshot, in configuration order.
fn accounts_of(shared: &Shared) -> Vec<AccountState> {
    shared
        .accounts
        .iter()
        .map(|account| {
            let state = account.state();
            AccountState {
                name: account.config.name.clone(),
                orders: state.orders.clone(),
                ledger: state.ledger.clone(),
                log: state.log.clone(),
            }
        })
        .collect()
}

fn server_state(shared: &Shared, symbols: Vec<SymbolState>) -> ServerState {
    ServerState {
        version: VERSION,
        seed: shared.config.seed,
        taken_at: shared.clock.now(),
        symbols,
        accounts: accounts_of(shared),
        next_conn: shared.next_conn.load(Relaxed),
    }
}

/// The state of symbols held here (at start, and at shutdown once their
/// tasks have ended).
pub fn state_of(shared: &Shared, symbols: &[LiveSymbol]) -> ServerState {
    let symbols = symbols
        .iter()
        .map(|s| SymbolState {
            market: s.market.clone(),
            heartbeat_seq: s.heartbeat_seq,
        })
        .collect();
    server_state(shared, symbols)
}

/// Encodes and writes snapshot `index` (whole or not at all).
pub fn write(dir: &DataDir, index: u64, state: &ServerState) -> Result<(), RecoveryError> {
    let bytes = snapshot::encode(state).map_err(|why| RecoveryError::Snapshot {
        path: dir.snapshot_path(index).display().to_string(),
        why,
    })?;
    dir.write_snapshot(index, &bytes)?;
    Ok(())
}

/// For the crash tests only: `TICKWIRE_TEST_SNAPSHOT_PAUSE_MS` holds each
/// periodic snapshot this long between the journal's rotation and the
/// snapshot's write, so a kill can be aimed at a snapshot in progress.
fn test_pause() -> Duration {
    std::env::var("TICKWIRE_TEST_SNAPSHOT_PAUSE_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(Duration::ZERO, Duration::from_millis)
}

impl Snapshots {
    pub fn new(dir: Arc<DataDir>, journal: Arc<Journal>, current: u64, previous: u64) -> Snapshots {
        Snapshots {
            dir,
            journal,
            current,
            previous,
        }
    }

    pub fn journal(&self) -> &Arc<Journal> {
        &self.journal
    }

    /// Deletes what is older than the two newest snapshots.
    pub fn remove_old(&self) -> Result<usize, RecoveryError> {
        if self.previous == 0 {
            return Ok(0);
        }
        Ok(self.dir.remove_before(self.previous)?)
    }

    /// Writes snapshot `index` off the runtime (after `pause`, for the
    /// crash tests), makes it the newest, and deletes what it makes old;
    /// returns how many files went.
    async fn store(
        &mut self,
        index: u64,
        state: ServerState,
        pause: Duration,
    ) -> Result<usize, RecoveryError> {
        let dir = self.dir.clone();
        tokio::task::spawn_blocking(move || {
            std::thread::sleep(pause);
            write(&dir, index, &state)
        })
        .await
        .map_err(|e| RecoveryError::Io(std::io::Error::other(e.to_string())))??;
        self.previous = self.current;
        self.current = index;
        self.remove_old()
    }

    /// Takes a snapshot while serving (the tasks pause for the cut).
    pub async fn take(&mut self, shared: &Arc<Shared>) -> Result<(), RecoveryError> {
        let started = Instant::now();
        let mut waits = Vec::with_capacity(shared.symbols.len());
        let mut resumes = Vec::with_capacity(shared.symbols.len());
        for id in shared.instruments.ids() {
            let (state, wait) = oneshot::channel();
            let (resume, resumed) = oneshot::channel();
            shared
                .command(
                    id,
                    SymbolCommand::Pause {
                        state,
                        resume: resumed,
                    },
                )
                .await;
            waits.push(wait);
            resumes.push(resume);
        }
        let mut symbols = Vec::with_capacity(waits.len());
        for wait in waits {
            match wait.await {
                Ok(state) => symbols.push(state),
                // A task that ended (the server is stopping): no snapshot
                // now; the final one follows.
                Err(_) => return Ok(()),
            }
        }
        let state = server_state(shared, symbols);
        let index = self.current + 1;
        let rotated = self.journal.rotate(index).await;
        for resume in resumes {
            let _ = resume.send(());
        }
        let paused_us = started.elapsed().as_micros() as u64;
        match rotated {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(e.into()),
            Err(_) => return Ok(()),
        }
        let removed = self.store(index, state, test_pause()).await?;
        shared.metrics.snapshots.fetch_add(1, Relaxed);
        tracing::info!(
            snapshot = index,
            paused_us,
            ms = started.elapsed().as_millis() as u64,
            removed,
            "snapshot taken"
        );
        Ok(())
    }

    /// The snapshot at shutdown, from the symbols the stopped tasks gave
    /// back; then the journal is closed.
    pub async fn finish(
        mut self,
        shared: &Arc<Shared>,
        symbols: &[LiveSymbol],
    ) -> Result<(), RecoveryError> {
        let state = state_of(shared, symbols);
        let index = self.current + 1;
        let rotated = self.journal.rotate(index).await;
        if let Ok(Err(e)) = rotated {
            return Err(e.into());
        }
        self.store(index, state, Duration::ZERO).await?;
        let journal = self.journal.clone();
        let _ = tokio::task::spawn_blocking(move || journal.close()).await;
        tracing::info!(snapshot = index, "final snapshot written");
        Ok(())
    }
}
