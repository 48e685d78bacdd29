//! Durability of a live server (`docs/durability.md`): at start, the newest
//! snapshot and the journal after it rebuild every market and account
//! exactly; then a fresh snapshot is written and the journal continues in
//! a new segment; while serving, snapshots are taken periodically and at
//! shutdown (`snapshots`), and old segments go once a newer snapshot is
//! durable.
//!
//! Layout: `state` (what a snapshot holds), `snapshots` (taking them while
//! the symbol tasks pause), this file (recovery).

mod snapshots;
pub mod state;

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

use crate::fanout::{LagPolicy, Outbox};
use crate::gateway::market::live::LiveSymbol;
use crate::gateway::shared::Shared;
use crate::journal::{self, DataDir, Journal, ReadError, Record, snapshot};
use crate::market::Market;
use crate::types::SymbolId;

pub use snapshots::Snapshots;
pub use state::{AccountState, ServerState, SymbolState};

/// Why a data directory cannot be used; each says what to do.
#[derive(Debug, thiserror::Error)]
pub enum RecoveryError {
    #[error(transparent)]
    Dir(#[from] journal::DirError),
    #[error(
        "{0}\n  acknowledged orders may follow the damage, so tickwire will not start over it. Restore the data directory from a backup, or start with --from-last-snapshot to keep the newest good snapshot and the whole records before the damage (the damaged segments are kept, renamed *.damaged)"
    )]
    Damaged(ReadError),
    #[error("{path}: {why}")]
    Snapshot { path: String, why: String },
    #[error("{0}")]
    Mismatch(String),
    #[error("cannot write the data directory: {0}")]
    Io(#[from] std::io::Error),
}

/// What recovery hands the server: the symbols as they were, and the data
/// directory with its journal running.
pub struct Recovered {
    pub symbols: Vec<LiveSymbol>,
    pub snapshots: Option<Snapshots>,
}

/// Fresh markets, as a server with no past starts them.
fn fresh_symbols(shared: &Shared) -> Vec<LiveSymbol> {
    let start = shared
        .clock
        .now()
        .saturating_sub(crate::gateway::market::live::WARM_UP.as_nanos() as u64);
    shared
        .instruments
        .with_ids()
        .map(|(id, instrument)| {
            let market = Market::new(instrument.clone(), shared.config.seed, start);
            LiveSymbol::new(id, market, 0)
        })
        .collect()
}

/// Rebuilds the live symbols from the data directory (or starts fresh),
/// then starts the journal. Without a data directory, fresh symbols and no
/// journal.
pub fn recover(shared: &Arc<Shared>) -> Result<Recovered, RecoveryError> {
    let Some(path) = &shared.config.data_dir else {
        return Ok(Recovered {
            symbols: fresh_symbols(shared),
            snapshots: None,
        });
    };
    let started = Instant::now();
    let dir = DataDir::open(path)?;
    let snapshot_numbers = dir.snapshots()?;
    let (mut symbols, from) = match load_newest(shared, &dir, &snapshot_numbers)? {
        Some((symbols, index)) => (symbols, index),
        None => {
            if !dir.segments()?.is_empty() {
                return Err(RecoveryError::Mismatch(format!(
                    "{} has journal segments but no readable snapshot: it cannot be recovered; restore it from a backup or give another --data-dir",
                    dir.path().display()
                )));
            }
            tracing::info!(dir = %dir.path().display(), "a new data directory");
            (fresh_symbols(shared), 0)
        }
    };
    // The journal after the snapshot, record by record.
    let nobody = Arc::new(Outbox::new(
        0,
        LagPolicy::default(),
        shared.instruments.clone(),
    ));
    let mut max_conn = 0u64;
    let mut apply = |record: Record| -> Result<(), String> {
        let symbol = record.symbol();
        let Some(live) = symbols.get_mut(symbol.index()) else {
            return Err(format!(
                "a record of symbol number {} of {}",
                symbol.0,
                shared.instruments.len()
            ));
        };
        if let Record::Client { input, .. } = &record {
            max_conn = max_conn.max(input.conn);
        }
        live.reapply(shared, &record, &nobody)
    };
    let read = journal::read(&dir, from.max(1), &mut apply);
    let end = match read {
        Ok(end) => end,
        Err(e @ ReadError::Corrupt { .. }) if shared.config.from_last_snapshot => {
            tracing::error!(error = %e, "--from-last-snapshot: keeping the whole records before the damage; the damaged segments are renamed *.damaged");
            set_aside_damaged(&dir, &e)?;
            journal::ReadEnd {
                segment: from,
                valid_len: None,
                torn: None,
                records: 0,
            }
        }
        Err(e) => return Err(RecoveryError::Damaged(e)),
    };
    if let Some((file, offset)) = &end.torn {
        tracing::warn!(
            file = %file.display(),
            offset,
            "the journal's last record was cut short by a crash and is dropped (it was never acknowledged)"
        );
        if let Some(len) = end.valid_len {
            std::fs::OpenOptions::new()
                .write(true)
                .open(file)
                .and_then(|f| f.set_len(len).and_then(|_| f.sync_all()))?;
        }
    }
    let next_conn = shared.next_conn.load(Relaxed).max(max_conn + 1);
    shared.next_conn.store(next_conn, Relaxed);
    // Past every number in use (segments set aside included).
    let last = dir
        .segments()?
        .into_iter()
        .chain(dir.snapshots()?)
        .chain([end.segment, from])
        .max()
        .unwrap_or(0);
    tracing::info!(
        snapshot = from,
        records = end.records,
        ms = started.elapsed().as_millis() as u64,
        "recovered"
    );
    // A fresh snapshot of the recovered state starts the next segment, so
    // the next start replays nothing from before this one.
    let index = last + 1;
    let state = snapshots::state_of(shared, &symbols);
    snapshots::write(&dir, index, &state)?;
    let journal = Journal::start(&dir, index)?;
    for live in &mut symbols {
        live.journal = Some(journal.clone());
    }
    let snapshots = Snapshots::new(Arc::new(dir), journal, index, from);
    snapshots.remove_old()?;
    Ok(Recovered {
        symbols,
        snapshots: Some(snapshots),
    })
}

/// The seed a data directory's newest readable snapshot was taken with, so
/// a restart without `--seed` continues the same markets. Reads without
/// the lock (the server takes it when it starts).
pub fn saved_seed(path: &std::path::Path) -> Option<u64> {
    let mut names: Vec<_> = std::fs::read_dir(path)
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("snapshot-") && n.ends_with(".bin"))
        })
        .collect();
    names.sort();
    names.iter().rev().find_map(|p| {
        let bytes = std::fs::read(p).ok()?;
        snapshot::decode::<ServerState>(&bytes).ok().map(|s| s.seed)
    })
}

/// Loads the newest snapshot that reads whole, trying older ones (with a
/// warning) if it does not. Returns the symbols and the snapshot's number.
fn load_newest(
    shared: &Shared,
    dir: &DataDir,
    numbers: &[u64],
) -> Result<Option<(Vec<LiveSymbol>, u64)>, RecoveryError> {
    let mut errors = Vec::new();
    for &n in numbers.iter().rev() {
        let path = dir.snapshot_path(n);
        let decoded = std::fs::read(&path)
            .map_err(|e| e.to_string())
            .and_then(|bytes| snapshot::decode::<ServerState>(&bytes));
        match decoded {
            Ok(state) => {
                if !errors.is_empty() {
                    tracing::warn!(snapshot = %path.display(), skipped = ?errors, "newer snapshots are damaged; recovering from an older one and the journal after it");
                }
                return restore(shared, state)
                    .map(|symbols| Some((symbols, n)))
                    .map_err(|why| RecoveryError::Snapshot {
                        path: path.display().to_string(),
                        why,
                    });
            }
            Err(why) => errors.push(format!("{}: {why}", path.display())),
        }
    }
    if let Some(newest) = errors.first() {
        return Err(RecoveryError::Snapshot {
            path: dir.path().display().to_string(),
            why: format!("no snapshot can be read ({newest})"),
        });
    }
    Ok(None)
}

/// Puts a snapshot's state into the server: markets into live symbols,
/// accounts into the shared accounts (matched by name and position).
fn restore(shared: &Shared, mut state: ServerState) -> Result<Vec<LiveSymbol>, String> {
    if state.version != state::VERSION {
        return Err(format!(
            "snapshot format {} is not this tickwire's ({})",
            state.version,
            state::VERSION
        ));
    }
    if state.seed != shared.config.seed {
        return Err(format!(
            "the data directory was written with --seed {}, this server has {}; use the same seed or another --data-dir",
            state.seed, shared.config.seed
        ));
    }
    let configured: Vec<&str> = shared
        .instruments
        .iter()
        .map(|i| i.symbol.as_str())
        .collect();
    let saved: Vec<&str> = state
        .symbols
        .iter()
        .map(|s| s.market.instrument().symbol.as_str())
        .collect();
    if configured != saved {
        return Err(format!(
            "the data directory holds the markets {saved:?}, this server is configured for {configured:?}; serve the same instruments or use another --data-dir"
        ));
    }
    for (s, instrument) in state.symbols.iter_mut().zip(shared.instruments.iter()) {
        s.market.adopt_names(instrument);
        if s.market.instrument() != instrument {
            return Err(format!(
                "instrument {} is configured differently from when the data directory was written; restore its settings or use another --data-dir",
                instrument.symbol
            ));
        }
    }
    for (i, saved) in state.accounts.iter().enumerate() {
        match shared.accounts.get(i) {
            Some(account) if account.config.name == saved.name => {}
            other => {
                return Err(format!(
                    "account {:?} holds state at position {} of the data directory, but the accounts configured there are {:?}; keep existing accounts in the same order (add new ones at the end)",
                    saved.name,
                    i + 1,
                    other.map(|a| a.config.name.as_str())
                ));
            }
        }
    }
    for (account, saved) in shared.accounts.iter().zip(state.accounts) {
        let mut live = account.state();
        live.orders = saved.orders;
        live.ledger = saved.ledger;
        live.log = saved.log;
    }
    shared.next_conn.store(state.next_conn.max(1), Relaxed);
    Ok(state
        .symbols
        .into_iter()
        .enumerate()
        .map(|(i, s)| LiveSymbol::new(SymbolId(i as u16), s.market, s.heartbeat_seq))
        .collect())
}

/// Renames the damaged segment and every later one to `*.damaged`.
fn set_aside_damaged(dir: &DataDir, error: &ReadError) -> Result<(), RecoveryError> {
    let ReadError::Corrupt { path, .. } = error else {
        return Ok(());
    };
    let damaged = dir
        .segments()?
        .into_iter()
        .find(|&n| dir.segment_path(n) == *path);
    if let Some(first) = damaged {
        for n in dir.segments()?.into_iter().filter(|&n| n >= first) {
            let from = dir.segment_path(n);
            std::fs::rename(&from, from.with_extension("log.damaged"))?;
        }
        dir.sync()?;
    }
    Ok(())
}
