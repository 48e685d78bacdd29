//! What a snapshot holds: every live symbol's market (engine, book,
//! simulator with its generator's state, statistics) and heartbeat `seq`,
//! and every account's orders, ledger and private log. The configuration
//! it was taken under travels with it (seed, instruments inside each
//! market, account names), so a start with a different one is refused
//! instead of silently misapplying the journal.

use serde::{Deserialize, Serialize};

use crate::market::Market;
use crate::trading::{AccountOrders, Ledger, PrivateLog};
use crate::types::UnixNanos;

/// The snapshot format; a different one is refused with a clear error.
pub const VERSION: u32 = 1;

#[derive(Clone, Serialize, Deserialize)]
pub struct SymbolState {
    pub market: Market,
    pub heartbeat_seq: u64,
}

#[derive(Clone, Serialize, Deserialize)]
pub struct AccountState {
    pub name: String,
    pub orders: AccountOrders,
    pub ledger: Ledger,
    pub log: PrivateLog,
}

#[derive(Serialize, Deserialize)]
pub struct ServerState {
    pub version: u32,
    pub seed: u64,
    /// When it was taken (engine clock), for the logs.
    pub taken_at: UnixNanos,
    /// In symbol id order.
    pub symbols: Vec<SymbolState>,
    /// In the order of the accounts configuration at the time.
    pub accounts: Vec<AccountState>,
    /// The next connection id (orders remember their connection).
    pub next_conn: u64,
}
